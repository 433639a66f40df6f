//! A real Prometheus (Debian's `prometheus` package) with a deterministic data set.
//!
//! The data is written as OpenMetrics, turned into TSDB blocks by
//! `promtool tsdb create-blocks-from openmetrics`, and placed in a fresh data directory
//! before Prometheus starts; nothing is scraped, so the data never changes and tests can
//! assert exact values. Retention is set to 100 years, so the fixed timestamps (2026-01-01)
//! are never deleted.

use std::{fmt::Write as _, path::Path, process::Command, time::Duration};

use tempfile::TempDir;

use crate::{
    Result,
    process::{ServerProcess, free_port},
};

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
        let dir = tempfile::Builder::new().prefix("prometheus-").tempdir()?;
        let data = dir.path().join("data");
        let input = dir.path().join("data.om");
        std::fs::write(&input, openmetrics())?;
        backfill(&input, &data, &dir.path().join("promtool.log"))?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
        )?;

        // Prometheus cannot announce a port it picked; retry if another process took ours.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut command = Command::new("prometheus");
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--storage.tsdb.retention.time=100y")
                .arg("--log.level=warn");
            let mut process = ServerProcess::spawn(
                "prometheus",
                &mut command,
                &dir.path().join("prometheus.log"),
            )?;
            let url = format!("http://127.0.0.1:{port}");
            match process
                .wait_ready(&format!("{url}/-/ready"), Duration::from_secs(30))
                .await
            {
                Ok(()) => {
                    return Ok(Self {
                        process,
                        url,
                        _dir: dir,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| "prometheus did not start".into()))
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
