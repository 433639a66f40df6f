//! A real Prometheus (Debian's `prometheus` package) with a deterministic data set.
//!
//! The data is written as OpenMetrics, turned into TSDB blocks by
//! `promtool tsdb create-blocks-from openmetrics`, and placed in a fresh data directory
//! before Prometheus starts; nothing is scraped, so the data never changes and tests can
//! assert exact values. Retention is set to 100 years, so the fixed timestamps (2026-01-01)
//! are never deleted.

use std::{
    fmt::Write as _,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use tempfile::TempDir;

use crate::{Result, process::ServerProcess};

/// The data set. Every series has a sample every [`STEP`] seconds from [`T0`] to [`T_END`]
/// inclusive ([`POINTS`] samples); sample `i` is at `T0 + i * STEP`.
pub mod dataset {
    /// 2026-01-01T00:00:00Z, the first sample.
    pub const T0: i64 = 1_767_225_600;
    /// Seconds between samples.
    pub const STEP: i64 = 15;
    /// Samples per series.
    pub const POINTS: i64 = 241;
    /// The last sample, one hour after [`T0`].
    pub const T_END: i64 = T0 + (POINTS - 1) * STEP;
    /// Number of `fanout_series` series (more than any `max_series` limit, 500).
    pub const FANOUT: usize = 600;

    /// `http_requests_total{job="api", instance, code}`: counters growing by a fixed amount
    /// per sample, so `rate(...[1m])` is exactly `increment / 15`.
    pub const HTTP_REQUESTS: &[(&str, &str, f64)] = &[
        // (instance, code, increment per sample)
        ("api-1", "200", 30.0),
        ("api-1", "500", 1.5),
        ("api-2", "200", 15.0),
    ];

    /// Value of `http_requests_total` for (`increment`) at sample `i`.
    pub fn http_requests(increment: f64, i: i64) -> f64 {
        increment * i as f64
    }

    /// `up{job, instance}`: constant.
    pub const UP: &[(&str, &str, f64)] = &[
        ("api", "api-1", 1.0),
        ("api", "api-2", 1.0),
        ("db", "db-1", 0.0),
    ];

    /// `temperature_celsius{sensor="a"}` at sample `i`: a sawtooth 20, 21, …, 29, 20, …
    pub fn temperature_a(i: i64) -> f64 {
        20.0 + (i % 10) as f64
    }

    /// `temperature_celsius{sensor="odd"}` at sample `i`: every 4th value is NaN, +Inf,
    /// -Inf in turn, the rest are `i` (so tests see how special values are spelled and
    /// kept out of min/max/avg).
    pub fn temperature_odd(i: i64) -> f64 {
        match i % 12 {
            3 => f64::NAN,
            7 => f64::INFINITY,
            11 => f64::NEG_INFINITY,
            _ => i as f64,
        }
    }

    /// `fanout_series{idx="000".."599"}`: constant, equal to the index.
    pub fn fanout(idx: usize) -> f64 {
        idx as f64
    }
}

/// Renders the data set as OpenMetrics text.
pub fn openmetrics() -> String {
    use dataset::*;
    let mut out = String::with_capacity(8 << 20);
    let samples = |out: &mut String, series: &str, value: &dyn Fn(i64) -> f64| {
        for i in 0..POINTS {
            let v = value(i);
            let v = if v.is_nan() {
                "NaN".to_owned()
            } else if v == f64::INFINITY {
                "+Inf".to_owned()
            } else if v == f64::NEG_INFINITY {
                "-Inf".to_owned()
            } else {
                v.to_string()
            };
            let _ = writeln!(out, "{series} {v} {}", T0 + i * STEP);
        }
    };
    out.push_str("# HELP http_requests HTTP requests served.\n# TYPE http_requests counter\n");
    for (instance, code, inc) in HTTP_REQUESTS {
        let series =
            format!(r#"http_requests_total{{job="api",instance="{instance}",code="{code}"}}"#);
        samples(&mut out, &series, &|i| http_requests(*inc, i));
    }
    out.push_str("# HELP up Whether the target is up.\n# TYPE up gauge\n");
    for (job, instance, v) in UP {
        samples(
            &mut out,
            &format!(r#"up{{job="{job}",instance="{instance}"}}"#),
            &|_| *v,
        );
    }
    out.push_str(
        "# HELP temperature_celsius Sensor temperature.\n# TYPE temperature_celsius gauge\n",
    );
    samples(
        &mut out,
        r#"temperature_celsius{sensor="a"}"#,
        &temperature_a,
    );
    samples(
        &mut out,
        r#"temperature_celsius{sensor="odd"}"#,
        &temperature_odd,
    );
    out.push_str("# HELP fanout_series Many series, for limits.\n# TYPE fanout_series gauge\n");
    for idx in 0..FANOUT {
        samples(
            &mut out,
            &format!(r#"fanout_series{{idx="{idx:03}"}}"#),
            &|_| fanout(idx),
        );
    }
    out.push_str("# EOF\n");
    out
}

/// A running Prometheus on 127.0.0.1 holding [`dataset`].
#[derive(Debug)]
pub struct Prometheus {
    process: ServerProcess,
    url: String,
    _dir: TempDir,
}

impl Prometheus {
    /// Backfills the data set into a fresh directory and starts Prometheus on a free port.
    pub async fn start() -> Result<Self> {
        Self::start_with("global:\n  scrape_interval: 15s\nscrape_configs: []\n", &[]).await
    }

    /// [`start`](Self::start), also evaluating `tests/stack/rules.yml` every second (see that
    /// file for the rules and what state each one ends up in) and, if `alertmanager` (its
    /// base URL, with its route prefix if it has one, or `host:port`) is given, sending the
    /// firing alerts there, re-sent every second (Prometheus's default waits a minute).
    /// Wait for the first evaluations with [`wait_for_rules`](Self::wait_for_rules).
    pub async fn start_alerting(alertmanager: Option<&str>) -> Result<Self> {
        let rules = crate::stack_file("rules.yml");
        let mut config = format!(
            "global:\n  scrape_interval: 15s\n  evaluation_interval: 1s\nscrape_configs: []\nrule_files:\n  - {rules:?}\n",
            rules = rules.display().to_string()
        );
        if let Some(alertmanager) = alertmanager {
            let address = alertmanager
                .trim_start_matches("http://")
                .trim_end_matches('/');
            let (target, prefix) = address.split_once('/').unwrap_or((address, ""));
            let _ = write!(
                config,
                "alerting:\n  alertmanagers:\n    - path_prefix: {:?}\n      static_configs:\n        - targets: [{target:?}]\n",
                format!("/{prefix}")
            );
        }
        Self::start_with(&config, &["--rules.alert.resend-delay=1s"]).await
    }

    /// Backfills the data set and starts Prometheus with `config` (prometheus.yml's text)
    /// and `extra_args` on a free port.
    async fn start_with(config_text: &str, extra_args: &[&str]) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("prometheus-").tempdir()?;
        let data = dir.path().join("data");
        let input = dir.path().join("data.om");
        std::fs::write(&input, openmetrics())?;
        backfill(&input, &data, &dir.path().join("promtool.log"))?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text)?;

        let (process, url) = ServerProcess::spawn_ready(
            "prometheus",
            &dir.path().join("prometheus.log"),
            |port| {
                let mut command = Command::new("prometheus");
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.tsdb.path={}", data.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--storage.tsdb.retention.time=100y")
                    .arg("--log.level=warn")
                    .args(extra_args);
                command
            },
            |port| format!("http://127.0.0.1:{port}"),
        )
        .await?;
        Ok(Self {
            process,
            url,
            _dir: dir,
        })
    }

    /// For a Prometheus from [`start_alerting`](Self::start_alerting): polls until every
    /// rule has been evaluated at least once (none has health `unknown`), `AlwaysFiring` is
    /// firing and `PendingForever` pending, or fails after `timeout` with what it last saw.
    pub async fn wait_for_rules(&self, timeout: Duration) -> Result<()> {
        let client = crate::http_client();
        let start = Instant::now();
        loop {
            let seen = self.rules_state(&client).await;
            match &seen {
                Ok(state) if state.ready() => return Ok(()),
                _ => {}
            }
            if start.elapsed() > timeout {
                let seen = match seen {
                    Ok(state) => format!("{state:?}"),
                    Err(e) => format!("error: {e}"),
                };
                return Err(format!(
                    "the rules of {} were not evaluated within {timeout:?}; last seen: {seen}",
                    self.url
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn rules_state(&self, client: &reqwest::Client) -> Result<RulesState> {
        let get = |path: &str| {
            let url = format!("{}{path}", self.url);
            async move {
                let response = client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok::<serde_json::Value, crate::StackError>(response.json().await?)
            }
        };
        let rules = get("/api/v1/rules").await?;
        let alerts = get("/api/v1/alerts").await?;
        let mut state = RulesState::default();
        for group in rules["data"]["groups"].as_array().into_iter().flatten() {
            for rule in group["rules"].as_array().into_iter().flatten() {
                state.rules.push(format!(
                    "{}={}",
                    rule["name"].as_str().unwrap_or("?"),
                    rule["health"].as_str().unwrap_or("?")
                ));
            }
        }
        for alert in alerts["data"]["alerts"].as_array().into_iter().flatten() {
            state.alerts.push(format!(
                "{}={}",
                alert["labels"]["alertname"].as_str().unwrap_or("?"),
                alert["state"].as_str().unwrap_or("?")
            ));
        }
        Ok(state)
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
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
}

/// Rule healths (`name=health`) and alert states (`alertname=state`) as last seen.
#[derive(Debug, Default)]
struct RulesState {
    rules: Vec<String>,
    alerts: Vec<String>,
}

impl RulesState {
    fn ready(&self) -> bool {
        !self.rules.is_empty()
            && !self.rules.iter().any(|r| r.ends_with("=unknown"))
            && self.alerts.iter().any(|a| a == "AlwaysFiring=firing")
            && self.alerts.iter().any(|a| a == "PendingForever=pending")
    }
}

fn backfill(input: &Path, data: &Path, log: &Path) -> Result<()> {
    let output = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(input)
        .arg(data)
        .output()
        .map_err(|e| format!("could not run promtool (install Debian's `prometheus`): {e}"))?;
    std::fs::write(
        log,
        [output.stdout.as_slice(), output.stderr.as_slice()].concat(),
    )?;
    if !output.status.success() {
        return Err(format!(
            "promtool failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}
