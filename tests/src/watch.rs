//! `cargo lambda watch`: the Lambda Invoke API on loopback, running the workspace's function
//! binaries as real Lambda processes (cargo-lambda's own Runtime API emulator). The agent's
//! real Lambda SDK client reaches it through `AWS_ENDPOINT_URL_LAMBDA`.
//!
//! cargo-lambda starts one process per function on its first invocation and keeps it; the
//! whole process group is killed (by its id) when the handle drops.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use tempfile::TempDir;

use crate::{
    Result,
    process::{free_port, kill_group, spawn_group},
    workspace_root,
};

/// A running `cargo lambda watch`.
pub struct CargoLambdaWatch {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl CargoLambdaWatch {
    /// Starts the emulator with `env` for every function (written to an env file outside the
    /// work tree: cargo-lambda rebuilds on every write inside it).
    pub async fn start(env: &[(String, String)]) -> Result<Self> {
        Self::start_on(free_port()?, env).await
    }

    /// Starts the emulator on `port`, which the caller chose beforehand so that `env` can
    /// point functions back at it (the agent's `AWS_ENDPOINT_URL_LAMBDA`).
    pub async fn start_on(port: u16, env: &[(String, String)]) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("cargo-lambda-").tempdir()?;
        let env_file = dir.path().join("functions.env");
        let lines: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        std::fs::write(&env_file, lines.join("\n") + "\n")?;
        let log = std::fs::File::create(dir.path().join("watch.log"))?;
        let mut command = Command::new(crate::venv()?.join("bin/cargo-lambda"));
        command
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = spawn_group(&mut command)?;
        let watch = Self { child, port, dir };
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(watch);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("cargo lambda watch did not listen: {}", watch.logs()).into())
    }

    /// The endpoint for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Invokes each of `functions` once (with `{}`, which any of them answers quickly) and
    /// waits for the answers. cargo-lambda starts a function on its first invocation with
    /// `cargo run`, which compiles whatever is out of date and waits while another cargo holds
    /// the target directory: seconds to minutes that no short tool timeout under test should
    /// have to cover.
    pub async fn warm(&self, functions: &[&str]) -> Result<()> {
        let lambda =
            aws_sdk_lambda::Client::new(&crate::moto::Moto::sdk_config_for(&self.url()).await);
        for function in functions {
            lambda
                .invoke()
                .function_name(*function)
                .payload(aws_sdk_lambda::primitives::Blob::new(&b"{}"[..]))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "{function} did not start under cargo lambda watch: {}\n{}",
                        aws_sdk_lambda::error::DisplayErrorContext(&e),
                        self.logs()
                    )
                })?;
        }
        Ok(())
    }

    /// Sends the HTTP request a Function URL sample event (`events/<function>/function-url.json`)
    /// describes (its method, query string, content type and body) to cargo-lambda's Function
    /// URL for `function`, and returns the status and body that came back.
    pub async fn through_function_url(
        &self,
        function: &str,
        sample: &serde_json::Value,
    ) -> Result<(u16, String)> {
        let method = sample["requestContext"]["http"]["method"]
            .as_str()
            .ok_or("the sample has no requestContext.http.method")?;
        let mut url = format!("{}/lambda-url/{function}/", self.url());
        if let Some(query) = sample["rawQueryString"].as_str().filter(|q| !q.is_empty()) {
            url = format!("{url}?{query}");
        }
        let mut request = crate::http_client().request(method.parse()?, url);
        if let Some(kind) = sample["headers"]["content-type"].as_str() {
            request = request.header("content-type", kind);
        }
        if let Some(body) = sample["body"].as_str() {
            request = request.body(body.to_owned());
        }
        let response = request.timeout(Duration::from_secs(60)).send().await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// cargo-lambda's and the functions' output so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("watch.log")).unwrap_or_default()
    }
}

impl Drop for CargoLambdaWatch {
    fn drop(&mut self) {
        crate::canary::keep("cargo-lambda-watch", &self.logs());
        // The group: cargo-lambda and the function processes it started.
        kill_group(&mut self.child);
    }
}
