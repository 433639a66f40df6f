//! Wires the Prometheus client and the Lambda runtime; nothing slow happens before the first
//! poll (configuration and credentials load on the first request).

use common::prometheus::PrometheusTool;
use prometheus_alerts::PrometheusAlerts;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let prometheus = PrometheusTool::from_env(concat!(
        "devops-agent-prometheus-alerts/",
        env!("CARGO_PKG_VERSION")
    ))?;
    common::serve(PrometheusAlerts { prometheus }).await
}
