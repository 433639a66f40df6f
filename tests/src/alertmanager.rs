//! A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, receiving the alerts
//! of [`Prometheus::start_alerting`](crate::prometheus::Prometheus::start_alerting).
//!
//! It runs with its own config, port and storage directory, clustering off, and one `null`
//! receiver (nothing is notified), grouping with no wait so an alert shows in
//! `GET /api/v2/alerts` as soon as it arrives. Tests shape its state through API v2:
//! [`Alertmanager::silence`] (active or pending), [`Alertmanager::expire`], and
//! [`Alertmanager::inject`] for alerts no rule produces.

use std::{
    process::Command,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{Result, process::ServerProcess};

/// The configuration: every alert goes to a receiver that sends nothing.
const CONFIG: &str = r#"route:
  receiver: "null"
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
"#;

/// A running Alertmanager on 127.0.0.1.
#[derive(Debug)]
pub struct Alertmanager {
    process: ServerProcess,
    url: String,
    _dir: TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager on a free port with a fresh storage directory.
    pub async fn start() -> Result<Self> {
        Self::start_with_route_prefix("").await
    }

    /// [`start`](Self::start), serving everything under `prefix` (`/alertmanager`: the API
    /// at `/alertmanager/api/v2/…`, as AMP's Alertmanager is under its workspace);
    /// [`url`](Self::url) then ends with the prefix.
    pub async fn start_with_route_prefix(prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_end_matches('/');
        let dir = tempfile::Builder::new().prefix("alertmanager-").tempdir()?;
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, CONFIG)?;
        let storage = dir.path().join("data");
        std::fs::create_dir(&storage)?;

        let route_prefix = if prefix.is_empty() { "/" } else { prefix };
        let (process, url) = ServerProcess::spawn_ready(
            "alertmanager",
            &dir.path().join("alertmanager.log"),
            |port| {
                let mut command = Command::new("prometheus-alertmanager");
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.path={}", storage.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--cluster.listen-address=")
                    .arg(format!("--web.route-prefix={route_prefix}"))
                    .arg("--log.level=warn");
                command
            },
            |port| format!("http://127.0.0.1:{port}{prefix}"),
        )
        .await
        .map_err(|e| format!("{e} (install Debian's `prometheus-alertmanager`)"))?;
        Ok(Self {
            process,
            url,
            _dir: dir,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:40123` (with the route prefix, if any).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Stops the server now (tests of an upstream that went away).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Creates a silence and returns its id. `matchers` are `(label, value, is_regex)`, all
    /// equality matchers; it starts `starts_in` from now (zero: active at once; later:
    /// pending) and lasts `lasts`.
    pub async fn silence(
        &self,
        matchers: &[(&str, &str, bool)],
        comment: &str,
        starts_in: Duration,
        lasts: Duration,
    ) -> Result<String> {
        let starts = SystemTime::now().duration_since(UNIX_EPOCH)? + starts_in;
        let ends = starts + lasts;
        let matchers: Vec<Value> = matchers
            .iter()
            .map(|(name, value, is_regex)| {
                json!({"name": name, "value": value, "isRegex": is_regex, "isEqual": true})
            })
            .collect();
        let body = json!({
            "matchers": matchers,
            // Whole seconds, so a start of "now" is a moment in the past: active at once.
            "startsAt": common::time::format_rfc3339(1000 * starts.as_secs() as i64),
            "endsAt": common::time::format_rfc3339(1000 * ends.as_secs() as i64),
            "createdBy": "integration-tests",
            "comment": comment,
        });
        let answer = self
            .send(reqwest::Method::POST, "/api/v2/silences", Some(&body))
            .await?;
        answer["silenceID"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("alertmanager answered a silence without an id: {answer}").into()
            })
    }

    /// Expires the silence `id` (`DELETE /api/v2/silence/{id}`).
    pub async fn expire(&self, id: &str) -> Result<()> {
        self.send(
            reqwest::Method::DELETE,
            &format!("/api/v2/silence/{id}"),
            None,
        )
        .await
        .map(drop)
    }

    /// Posts `alerts` (a JSON array of `{"labels": {…}, "annotations": {…}, …}`) directly, as
    /// a Prometheus would.
    pub async fn inject(&self, alerts: Value) -> Result<()> {
        self.send(reqwest::Method::POST, "/api/v2/alerts", Some(&alerts))
            .await
            .map(drop)
    }

    /// The alerts Alertmanager holds (`GET /api/v2/alerts`).
    pub async fn alerts(&self) -> Result<Value> {
        self.send(reqwest::Method::GET, "/api/v2/alerts", None)
            .await
    }

    /// The silences Alertmanager holds, expired ones too (`GET /api/v2/silences`).
    pub async fn silences(&self) -> Result<Value> {
        self.send(reqwest::Method::GET, "/api/v2/silences", None)
            .await
    }

    /// Polls `GET /api/v2/alerts` until an alert named `alertname` is there, or fails after
    /// `timeout` naming the alerts it saw.
    pub async fn wait_for_alert(&self, alertname: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let seen = self.alerts().await;
            if let Ok(alerts) = &seen
                && alerts
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["labels"]["alertname"] == alertname)
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let seen = match seen {
                    Ok(alerts) => {
                        let names: Vec<String> = alerts
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                format!(
                                    "{} ({})",
                                    a["labels"]["alertname"].as_str().unwrap_or("?"),
                                    a["status"]["state"].as_str().unwrap_or("?")
                                )
                            })
                            .collect();
                        format!("alerts [{}]", names.join(", "))
                    }
                    Err(e) => format!("error: {e}"),
                };
                return Err(format!(
                    "alert {alertname} did not reach alertmanager at {} within {timeout:?}; last seen: {seen}",
                    self.url
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a request to the API and returns its JSON answer (`null` for an empty body);
    /// a non-2xx status is an error with the body.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = crate::http_client()
            .request(method.clone(), format!("{}{path}", self.url))
            .timeout(Duration::from_secs(5));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(
                format!("alertmanager answered {method} {path} with {status}: {text}").into(),
            );
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_str(&text)?)
    }
}
