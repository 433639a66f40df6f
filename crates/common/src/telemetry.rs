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
use tracing_subscriber::{
    filter::{LevelFilter, Targets},
    layer::SubscriberExt,
};

/// Targets that never log below `info`, whatever `RUST_LOG` says (see the module docs).
const QUIET_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_smithy_runtime_api",
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
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true);
    let subscriber = tracing_subscriber::registry().with(logs).with(filter());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The filter [`init`] uses: the requested level (or `target=level` directives, as in
/// `RUST_LOG`), except that the AWS SDK and HTTP internals never go below `info`. A `Targets` filter, not
/// an `EnvFilter`: same directive syntax for targets and levels, no regex engine in the
/// binary.
pub fn filter() -> Targets {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    filter_for(&requested)
}

/// [`filter`] for a given `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG` value.
pub fn filter_for(requested: &str) -> Targets {
    let requested = requested.to_ascii_lowercase();
    // Lambda's advanced logging controls say FATAL where tracing says error.
    let requested = requested.replace("fatal", "error");
    let mut filter = requested
        .trim()
        .parse::<Targets>()
        .ok()
        .filter(|_| !requested.trim().is_empty())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let default = filter.default_level().unwrap_or(LevelFilter::INFO);
    let capped = default.min(LevelFilter::INFO);
    for target in QUIET_TARGETS {
        let asked = filter
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, level)| level);
        filter = filter.with_target(*target, asked.map_or(capped, |l| l.min(LevelFilter::INFO)));
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
    fn sdk_internals_never_go_below_info() {
        use tracing::Level;
        let trace = filter_for("TRACE");
        assert!(trace.would_enable("common::event", &Level::TRACE));
        assert!(trace.would_enable("aws_smithy_runtime::client::orchestrator", &Level::INFO));
        assert!(!trace.would_enable("aws_smithy_runtime::client::orchestrator", &Level::DEBUG));
        assert!(!trace.would_enable("hyper_util::client", &Level::TRACE));

        // Asking for an SDK target at trace explicitly is still capped.
        let explicit = filter_for("info,aws_sdk_ssm=trace");
        assert!(!explicit.would_enable("aws_sdk_ssm", &Level::DEBUG));

        // A quieter level stays quiet for everyone.
        let warn = filter_for("WARN");
        assert!(!warn.would_enable("common::event", &Level::INFO));
        assert!(!warn.would_enable("aws_config", &Level::INFO));
        assert!(warn.would_enable("aws_config", &Level::WARN));

        // Unset or unparseable: info.
        for value in ["", "not a level=="] {
            let f = filter_for(value);
            assert!(
                f.would_enable("common", &Level::INFO) && !f.would_enable("common", &Level::DEBUG),
                "{value:?}"
            );
        }
        assert!(filter_for("FATAL").would_enable("common", &Level::ERROR));
    }

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
