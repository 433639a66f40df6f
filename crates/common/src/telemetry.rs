//! Logs and metrics for Lambda.
//!
//! [`init`] installs a JSON `tracing` subscriber. `lambda_runtime` opens a span per
//! invocation carrying `requestId` and `xrayTraceId`; the subscriber prints the current span
//! on every line, so each log line can be traced to its request without the handler passing
//! ids around.
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls), else
//! `RUST_LOG`, else `info`. Whatever the level asked for, the HTTP and AWS SDK internals stay
//! at `info`: at `debug`/`trace` they print request and response details, and a response
//! can hold a decrypted SecureString. Our own targets follow the requested level.
//!
//! [`Metrics`] writes one CloudWatch Embedded Metric Format record: a JSON line on stdout
//! that CloudWatch Logs turns into metrics, with no API call and no client to build.

use std::{
    io::Write,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value, json};
use tracing_subscriber::{EnvFilter, filter::LevelFilter};

/// Targets that never log below `info`, whatever `RUST_LOG` says (see the module docs).
const QUIET_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_sdk_ssm",
    "aws_config",
    "aws_sigv4",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "reqwest",
];

/// Installs the JSON subscriber. Safe to call once per process; a second call is ignored.
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .try_init();
}

/// The filter [`init`] uses: the requested level for everything, except [`QUIET_TARGETS`].
pub fn filter() -> EnvFilter {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let requested = if requested.trim().is_empty() {
        "info".to_owned()
    } else {
        requested.to_ascii_lowercase()
    };
    // Lambda's controls use bare levels (DEBUG, WARN, FATAL); RUST_LOG may be directives.
    let requested = if requested == "fatal" {
        "error".to_owned()
    } else {
        requested
    };
    let mut filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(&requested);
    for target in QUIET_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// One Embedded Metric Format record: a namespace, dimensions and metric values.
///
/// ```
/// use std::time::Duration;
/// common::telemetry::Metrics::new("DevOpsAgent")
///     .dimension("Function", "prometheus_query")
///     .count("Invocations", 1)
///     .milliseconds("Duration", Duration::from_millis(12))
///     .emit();
/// ```
#[derive(Debug)]
pub struct Metrics {
    namespace: &'static str,
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, &'static str, f64)>,
}

impl Metrics {
    /// A record in CloudWatch `namespace`.
    pub fn new(namespace: &'static str) -> Self {
        Self {
            namespace,
            dimensions: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Adds a dimension (every metric of the record is reported per its value).
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    /// Adds a `Count` metric.
    pub fn count(mut self, name: &'static str, value: u64) -> Self {
        self.metrics.push((name, "Count", value as f64));
        self
    }

    /// Adds a `Milliseconds` metric.
    pub fn milliseconds(mut self, name: &'static str, value: Duration) -> Self {
        self.metrics
            .push((name, "Milliseconds", value.as_secs_f64() * 1000.0));
        self
    }

    /// Adds a metric with any CloudWatch unit (`Bytes`, `None`, …).
    pub fn value(mut self, name: &'static str, unit: &'static str, value: f64) -> Self {
        self.metrics.push((name, unit, value));
        self
    }

    /// The record as EMF JSON.
    pub fn to_json(&self) -> Value {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut record = Map::new();
        record.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [self.dimensions.iter().map(|(n, _)| *n).collect::<Vec<_>>()],
                    "Metrics": self.metrics.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            record.insert((*name).into(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            record.insert((*name).into(), json!(value));
        }
        Value::Object(record)
    }

    /// Writes the record as one line on stdout, where the Lambda log agent picks it up.
    pub fn emit(self) {
        let line = self.to_json().to_string();
        let mut out = std::io::stdout().lock();
        // A closed stdout must not fail the invocation; the metric is lost, nothing else.
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_record_declares_every_metric_and_dimension() {
        let v = Metrics::new("DevOpsAgent")
            .dimension("Function", "eks_info")
            .count("Invocations", 1)
            .milliseconds("Duration", Duration::from_micros(1500))
            .to_json();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "DevOpsAgent");
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(
            cw["Metrics"],
            json!([{"Name": "Invocations", "Unit": "Count"}, {"Name": "Duration", "Unit": "Milliseconds"}])
        );
        assert_eq!(v["Function"], "eks_info");
        assert_eq!(v["Invocations"], 1.0);
        assert_eq!(v["Duration"], 1.5);
        assert!(v["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
