//! The smallest function built on `common`: it echoes a message. A test fixture, not a
//! product function (it is not in `template.yaml`).
//!
//! It exists for two jobs. `scripts/coldstart.sh` measures its cold start and peak memory
//! to show what the foundation costs before any tool logic runs, and the integration tests in
//! `tests/` drive it through the real Lambda Runtime API to exercise every entry shape, the
//! error envelope and the SSM configuration cache. Its `fail` field triggers the failure
//! paths those tests need; no product function has such a field.

use common::{Handler, Invocation, ToolError};
use serde::{Deserialize, Serialize};

/// Echo input. Limits are part of the test surface: `message` 1–1,000 characters,
/// `repeat` 1–10.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoInput {
    message: String,
    #[serde(default = "one")]
    repeat: u32,
    /// Reports whether this configuration key is set (never its value).
    config_key: Option<String>,
    /// `panic` or `oversize`: exercise the adapter's panic and response-size guards.
    fail: Option<Failure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Failure {
    Panic,
    Oversize,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Serialize)]
struct EchoOutput {
    echo: String,
    shape: &'static str,
    remaining_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<ConfigReport>,
}

#[derive(Debug, Serialize)]
struct ConfigReport {
    key: String,
    /// `environment`, `ssm`, or absent when the key is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'static str>,
    generation: u64,
}

struct Echo {
    config: common::AppConfig,
}

impl Handler for Echo {
    const NAME: &'static str = "echo";
    type Input = EchoInput;
    type Output = EchoOutput;

    async fn handle(
        &self,
        input: EchoInput,
        invocation: &Invocation,
    ) -> Result<EchoOutput, ToolError> {
        let chars = input.message.chars().count();
        if !(1..=1000).contains(&chars) {
            return Err(ToolError::invalid_input(format!(
                "message must be 1 to 1000 characters, got {chars}"
            )));
        }
        if !(1..=10).contains(&input.repeat) {
            return Err(ToolError::invalid_input(format!(
                "repeat must be between 1 and 10, got {}",
                input.repeat
            )));
        }
        let echo = match input.fail {
            Some(Failure::Panic) => panic!("echo was asked to panic"),
            // 7 MB: over Lambda's 6 MB response limit.
            Some(Failure::Oversize) => "x".repeat(7 * 1024 * 1024),
            None => input.message.repeat(input.repeat as usize),
        };
        let config = match input.config_key {
            None => None,
            Some(key) => {
                let settings = self.config.settings().await?;
                let origin = settings.origin(&key).map(|o| match o {
                    common::Origin::Environment => "environment",
                    common::Origin::Ssm => "ssm",
                });
                Some(ConfigReport {
                    origin,
                    key,
                    generation: settings.generation(),
                })
            }
        };
        Ok(EchoOutput {
            echo,
            shape: invocation.shape.as_str(),
            remaining_ms: invocation.deadline.remaining().as_millis() as u64,
            config,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = common::AppConfig::from_env()?;
    common::serve(Echo { config }).await
}
