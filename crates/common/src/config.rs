//! Configuration from SSM Parameter Store, cached per process, overridable from the
//! environment (docs/contract.md §3).
//!
//! * `APP_CONFIG_PATH` (e.g. `/devops-agent/prod`) names the parameter path. Everything below
//!   it is read with one paginated, recursive `GetParametersByPath` with decryption; keys are
//!   the names relative to the path (`model/id`).
//! * The values are cached for `CONFIG_TTL_SECONDS` (default 300). When they expire, the
//!   first caller refreshes them while concurrent callers wait for that one refresh instead of
//!   starting their own. If the refresh fails, the last good values are served, a warning is
//!   logged, and the next attempt waits [`RETRY_AFTER_FAILURE`] (or the TTL, if shorter), so a
//!   broken SSM does not add its timeout to every request. A refresh that hangs counts as
//!   failed after [`STALE_REFRESH_TIMEOUT`].
//! * An environment variable named after the key in upper snake case (`model/id` →
//!   `MODEL_ID`, `tools/web-search/function` → `TOOLS_WEB_SEARCH_FUNCTION`) wins over SSM.
//!   Without `APP_CONFIG_PATH` no SSM call is made at all: local runs and tests configure the
//!   function through the environment alone.
//!
//! Nothing is fetched before the first request asks for it, so a cold start reaches the
//! Runtime API's first poll without waiting on SSM.
//!
//! Errors name the key (and where it may be set) but never a value: a SecureString must not
//! reach a log line or a response, not even inside "could not parse …".

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::{Mutex, OnceCell};

use crate::error::{ErrorCode, ToolError};

/// Cache lifetime when `CONFIG_TTL_SECONDS` is not set.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// After a failed refresh, the stale values are served this long before the next attempt.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Lifetime of values that are never refreshed (environment-only and fixed settings): a
/// century, far from `Instant` overflow.
const NEVER_EXPIRES: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Longest a refresh may take while the last good values could be served instead: well past
/// a failing SSM's three quick attempts, well short of a hung one's 5 s operation timeout.
pub const STALE_REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a `GetParametersByPath` sweep may take (all pages, retries included).
const SSM_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// A value that must not be printed: `Debug` shows `Secret(***)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it (an `Authorization` header, say).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The environment variable that overrides `key`: upper case, with `/`, `-` and `.` as `_`.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '/' | '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The environment variable named by [`env_name`].
    Environment,
    /// The SSM parameter under `APP_CONFIG_PATH`.
    Ssm,
}

/// One consistent view of the configuration: SSM values as of one refresh, plus the
/// environment overrides. Cheap to clone (`Arc`) and to hold for a whole request.
pub struct Settings {
    path: Option<String>,
    values: HashMap<String, String>,
    generation: u64,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys only: values can be SecureStrings.
        let mut keys: Vec<_> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Settings")
            .field("path", &self.path)
            .field("keys", &keys)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Settings {
    /// Settings from explicit values (tests, benches); environment overrides still apply.
    pub fn from_values(values: HashMap<String, String>) -> Self {
        Self {
            path: None,
            values,
            generation: 0,
        }
    }

    /// Increases with every successful refresh; lets a function rebuild what it derives
    /// from the settings (a client for a new URL, say) only when they changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The keys that came from SSM, sorted (for diagnostics; never the values).
    pub fn ssm_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.values.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// The value of `key`: its environment override, else its SSM value.
    pub fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        match std::env::var(env_name(key)) {
            Ok(value) => Some(Cow::Owned(value)),
            Err(_) => self.values.get(key).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    /// Where `key`'s value comes from, if it is set (a diagnostic that never shows a value).
    pub fn origin(&self, key: &str) -> Option<Origin> {
        if std::env::var_os(env_name(key)).is_some() {
            Some(Origin::Environment)
        } else if self.values.contains_key(key) {
            Some(Origin::Ssm)
        } else {
            None
        }
    }

    /// The value of `key`, or `CONFIG_ERROR` naming the key and where to set it.
    pub fn require(&self, key: &str) -> Result<Cow<'_, str>, ToolError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| self.missing(key))
    }

    /// `key` parsed as `T`; `None` when unset. A value that does not parse is a
    /// `CONFIG_ERROR` that names the key and the expected type, not the value.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>, ToolError> {
        match self.get(key) {
            None => Ok(None),
            Some(raw) => raw.trim().parse::<T>().map(Some).map_err(|_| {
                ToolError::config(format!(
                    "configuration key `{key}` is not a valid {}",
                    std::any::type_name::<T>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("value")
                ))
            }),
        }
    }

    /// `key` parsed as `T`, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ToolError> {
        Ok(self.parse(key)?.unwrap_or(default))
    }

    /// A secret (a SecureString, or its environment override), wrapped so it is not printed.
    pub fn secret(&self, key: &str) -> Option<Secret> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| Secret(v.into_owned()))
    }

    fn missing(&self, key: &str) -> ToolError {
        let env = env_name(key);
        match &self.path {
            Some(path) => ToolError::config(format!(
                "configuration key `{key}` is not set: add the SSM parameter {path}/{key} or the environment variable {env}"
            )),
            None => ToolError::config(format!(
                "configuration key `{key}` is not set: set the environment variable {env}"
            )),
        }
    }
}

/// Where the values come from.
enum Source {
    Environment,
    Ssm {
        path: String,
        client: OnceCell<aws_sdk_ssm::Client>,
    },
}

struct Cached {
    settings: Arc<Settings>,
    next_refresh: Instant,
}

/// The process-wide configuration. Build it once in `main` (no I/O happens until the first
/// [`AppConfig::settings`]) and share it by reference.
pub struct AppConfig {
    source: Source,
    ttl: Duration,
    cached: RwLock<Option<Cached>>,
    refresh: Mutex<()>,
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = match &self.source {
            Source::Environment => None,
            Source::Ssm { path, .. } => Some(path.as_str()),
        };
        f.debug_struct("AppConfig")
            .field("path", &path)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// Reads `APP_CONFIG_PATH` and `CONFIG_TTL_SECONDS`. The SSM client is built on the first
    /// refresh, from [`crate::aws::sdk_config`].
    pub fn from_env() -> Result<Self, ToolError> {
        let ttl = match std::env::var("CONFIG_TTL_SECONDS") {
            Err(_) => DEFAULT_TTL,
            Ok(raw) => Duration::from_secs(raw.trim().parse::<u64>().map_err(|_| {
                ToolError::config("CONFIG_TTL_SECONDS must be a whole number of seconds")
            })?),
        };
        match std::env::var("APP_CONFIG_PATH") {
            Ok(path) if !path.trim().is_empty() => Self::ssm(path.trim(), ttl, OnceCell::new()),
            _ => Ok(Self::environment_only()),
        }
    }

    /// Configuration from the environment alone; never calls SSM.
    pub fn environment_only() -> Self {
        Self {
            source: Source::Environment,
            ttl: DEFAULT_TTL,
            cached: RwLock::new(None),
            refresh: Mutex::new(()),
        }
    }

    /// Fixed values that never refresh (tests, benches, embedding); environment overrides
    /// still apply.
    pub fn fixed(values: HashMap<String, String>) -> Self {
        let config = Self::environment_only();
        config.store(Arc::new(Settings::from_values(values)), NEVER_EXPIRES);
        config
    }

    /// Configuration from SSM `path` through `client`, cached for `ttl`.
    pub fn with_ssm_client(
        client: aws_sdk_ssm::Client,
        path: &str,
        ttl: Duration,
    ) -> Result<Self, ToolError> {
        Self::ssm(path, ttl, OnceCell::new_with(Some(client)))
    }

    fn ssm(
        path: &str,
        ttl: Duration,
        client: OnceCell<aws_sdk_ssm::Client>,
    ) -> Result<Self, ToolError> {
        if !path.starts_with('/') || path.len() > 1011 {
            return Err(ToolError::config(
                "APP_CONFIG_PATH must be an SSM parameter path starting with '/'",
            ));
        }
        let path = path.trim_end_matches('/').to_owned();
        Ok(Self {
            source: Source::Ssm { path, client },
            ttl,
            cached: RwLock::new(None),
            refresh: Mutex::new(()),
        })
    }

    /// The cache lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The current settings, refreshed from SSM if they expired (see the module docs).
    pub async fn settings(&self) -> Result<Arc<Settings>, ToolError> {
        let Source::Ssm { path, client } = &self.source else {
            return Ok(self.environment_settings());
        };
        let seen = match self.current() {
            Some((settings, fresh)) if fresh => return Ok(settings),
            Some((settings, _)) => Some(settings.generation),
            None => None,
        };

        let _refreshing = self.refresh.lock().await;
        // While we waited, another caller may have refreshed (or failed and rescheduled):
        // take its outcome rather than calling SSM again.
        if let Some((settings, fresh)) = self.current()
            && (fresh || Some(settings.generation) != seen)
        {
            return Ok(settings);
        }

        let fetched = if seen.is_some() {
            // The last good values are at hand: a hung SSM must not hold the request up for
            // longer than this, nor fail it.
            tokio::time::timeout(STALE_REFRESH_TIMEOUT, fetch(client, path))
                .await
                .unwrap_or_else(|_| {
                    Err(ToolError::new(
                        ErrorCode::UpstreamTimeout,
                        "SSM Parameter Store did not answer in time",
                    ))
                })
        } else {
            fetch(client, path).await
        };
        match fetched {
            Ok(values) => {
                let settings = Arc::new(Settings {
                    path: Some(path.clone()),
                    values,
                    generation: seen.map_or(1, |g| g + 1),
                });
                self.store(settings.clone(), self.ttl);
                Ok(settings)
            }
            Err(error) => match self.current() {
                Some((stale, _)) => {
                    tracing::warn!(
                        code = error.code.as_str(),
                        error = %error.message,
                        "configuration refresh failed; serving the last good values"
                    );
                    self.store(stale.clone(), self.ttl.min(RETRY_AFTER_FAILURE));
                    Ok(stale)
                }
                None => Err(error),
            },
        }
    }

    fn current(&self) -> Option<(Arc<Settings>, bool)> {
        let cached = self
            .cached
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cached
            .as_ref()
            .map(|c| (c.settings.clone(), Instant::now() < c.next_refresh))
    }

    fn store(&self, settings: Arc<Settings>, valid_for: Duration) {
        let mut cached = self
            .cached
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *cached = Some(Cached {
            settings,
            next_refresh: Instant::now() + valid_for,
        });
    }

    fn environment_settings(&self) -> Arc<Settings> {
        if let Some((settings, _)) = self.current() {
            return settings;
        }
        let settings = Arc::new(Settings {
            path: None,
            values: HashMap::new(),
            generation: 0,
        });
        self.store(settings.clone(), NEVER_EXPIRES);
        settings
    }
}

/// One sweep of the path: every page of `GetParametersByPath`, recursive, decrypted.
async fn fetch(
    client: &OnceCell<aws_sdk_ssm::Client>,
    path: &str,
) -> Result<HashMap<String, String>, ToolError> {
    let client = client
        .get_or_init(|| async {
            let sdk = crate::aws::sdk_config().await;
            let timeouts = TimeoutConfig::builder()
                .operation_timeout(SSM_OPERATION_TIMEOUT)
                .connect_timeout(Duration::from_secs(2))
                .build();
            aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(sdk)
                    .timeout_config(timeouts)
                    .build(),
            )
        })
        .await;
    let prefix = format!("{path}/");
    let mut values = HashMap::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let mut error = ToolError::from_sdk("SSM Parameter Store", &e);
            error.message = format!("reading configuration under {path}: {}", error.message);
            error
        })?;
        for parameter in page.parameters.unwrap_or_default() {
            let (Some(name), Some(value)) = (parameter.name, parameter.value) else {
                continue;
            };
            let Some(key) = name.strip_prefix(&prefix) else {
                continue;
            };
            // SecureStrings arrive decrypted; a StringList is its comma-separated text.
            values.insert(key.to_owned(), value);
        }
    }
    tracing::debug!(path, keys = values.len(), "configuration loaded from SSM");
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_contract() {
        assert_eq!(env_name("model/id"), "MODEL_ID");
        assert_eq!(env_name("agent/max_cycles"), "AGENT_MAX_CYCLES");
        assert_eq!(
            env_name("tools/web-search/function"),
            "TOOLS_WEB_SEARCH_FUNCTION"
        );
    }

    #[test]
    fn typed_getters_name_the_key_never_the_value() {
        let settings = Settings::from_values(HashMap::from([
            (
                "unit-test-config/max".to_owned(),
                "not-a-number-s3cr3t".to_owned(),
            ),
            ("unit-test-config/n".to_owned(), " 8 ".to_owned()),
        ]));
        let err = settings.parse::<u32>("unit-test-config/max").unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::ConfigError);
        assert!(
            err.message.contains("`unit-test-config/max`") && err.message.contains("u32"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("s3cr3t"));
        assert_eq!(
            settings.parse::<u32>("unit-test-config/n").unwrap(),
            Some(8)
        );
        assert_eq!(
            settings.parse_or("unit-test-config/absent", 3u32).unwrap(),
            3
        );

        let missing = settings.require("unit-test-config/absent").unwrap_err();
        assert!(
            missing.message.contains("UNIT_TEST_CONFIG_ABSENT"),
            "{}",
            missing.message
        );
        assert!(!format!("{settings:?}").contains("s3cr3t"));
        assert_eq!(
            format!("{:?}", settings.secret("unit-test-config/max").unwrap()),
            "Secret(***)"
        );
    }

    #[test]
    fn a_path_must_be_absolute() {
        let err = AppConfig::ssm("relative/path", DEFAULT_TTL, OnceCell::new()).unwrap_err();
        assert!(err.message.contains("APP_CONFIG_PATH"));
    }
}
