//! Wires configuration, the Prometheus client and the Lambda runtime; nothing slow happens
//! before the first poll (configuration and credentials load on the first request).

use common::{AppConfig, prometheus::PrometheusApi};
use prometheus_metadata::PrometheusMetadata;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = AppConfig::from_env()?;
    let http = common::http::client(concat!(
        "devops-agent-prometheus-metadata/",
        env!("CARGO_PKG_VERSION")
    ))?;
    common::serve(PrometheusMetadata {
        api: PrometheusApi::new(http),
        config,
    })
    .await
}
