//! Runs the local stack until interrupted, for `make dev` and for trying functions by hand:
//! Prometheus with the test data set, evaluating `tests/stack/rules.yml` every second and
//! sending its alerts to a real Alertmanager (`AlwaysFiring` firing, `PendingForever` pending,
//! with a day-long silence on `PendingForever`, "planned maintenance of staging"), and moto
//! seeded with the EKS/AMP fixtures and the local configuration under `/devops-agent/local` in
//! SSM. EKS goes through a proxy that adds
//! the add-on APIs moto lacks (healthy default add-ons on every cluster), so `eks-info`'s
//! `list_addons` and `cluster_health` answer locally as they would in AWS. The same proxy
//! points DescribeCluster of `prod-eu` at the Kubernetes API double (TLS with its own test CA,
//! EKS IAM tokens for moto's region; a cluster in trouble, `tests/stack/k8s_fixtures.json`),
//! so `k8s-info` reads a real-protocol API server: "what is wrong in prod-eu?". `cloudwatch`
//! reaches moto through the CloudWatch double (CBOR, alarm history), seeded with the same
//! cluster's broken `api` workload: its Container Insights logs, firing alarms and metrics;
//! `cloudtrail` gets the LookupEvents double's last 48 h of changes to it. `web-search` gets
//! the loopback search engines (DuckDuckGo's page by default; no traffic leaves the machine).
//! The agent gets the Converse double as its model, answering every question with a fixed
//! text that says it is the local stand-in (no Bedrock runs offline).
//!
//! `stack <env-file>` writes the variables a function needs to use the stack
//! (`AWS_ENDPOINT_URL`, `APP_CONFIG_PATH`, `PROMETHEUS_URL`, `ALERTMANAGER_URL`, …) to
//! `<env-file>` in the `KEY=VALUE` format `cargo lambda watch --env-file` reads, then waits
//! for SIGINT/SIGTERM and stops every server.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use integration_tests::{
    alertmanager::Alertmanager,
    bedrock::{ConverseDouble, text},
    cloudtrail::CloudTrailDouble,
    cloudwatch::{ALARM_5XX, CLUSTER, COMPOSITE_ALARM, CloudWatchDouble},
    eks::{HEALTHY_ADDONS, point_cluster_at, serve_addons},
    k8s::KubernetesApi,
    moto::{self, Moto},
    prometheus::Prometheus,
    proxy::FaultProxy,
    search::SearchEngines,
};

/// The cluster whose API server the Kubernetes API double is (one of moto's seeded clusters).
const K8S_CLUSTER: &str = "prod-eu";

/// The configuration a local run starts with (non-secret, like the SAM template's).
const LOCAL_CONFIG: &[(&str, &str)] = &[
    ("agent/max_cycles", "8"),
    ("agent/tool_timeout_seconds", "20"),
    ("agent/window_size", "20"),
    ("model/temperature", "0.3"),
    ("model/max_tokens", "2048"),
];

#[tokio::main]
async fn main() -> integration_tests::Result<()> {
    let env_file = std::env::args().nth(1).ok_or("usage: stack <env-file>")?;
    let alertmanager = Alertmanager::start().await?;
    let prometheus = Prometheus::start_alerting(Some(alertmanager.url())).await?;
    alertmanager
        .silence(
            &[("alertname", "PendingForever", false)],
            "planned maintenance of staging",
            Duration::ZERO,
            Duration::from_secs(24 * 3600),
        )
        .await?;
    let (moto, fixtures) = Moto::start_seeded().await?;
    let ssm = aws_sdk_ssm::Client::new(&Moto::sdk_config_for(moto.endpoint()).await);
    for (key, value) in LOCAL_CONFIG {
        ssm.put_parameter()
            .name(format!("/devops-agent/local/{key}"))
            .value(*value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await?;
    }
    moto.create_sessions_table("agent-sessions").await?;
    let eks = FaultProxy::start(moto.endpoint()).await?;
    for cluster in fixtures.clusters.keys() {
        serve_addons(&eks, cluster, &HEALTHY_ADDONS);
    }
    let kubernetes = KubernetesApi::start(K8S_CLUSTER, moto::REGION)?;
    point_cluster_at(&eks, K8S_CLUSTER, kubernetes.url(), &kubernetes.ca_base64());
    // CloudWatch through its double (moto answers neither its CBOR protocol nor alarm
    // history), seeded with the logs, alarms and metrics of the local cluster's broken `api`
    // workload; CloudTrail's recent changes to it from the LookupEvents double.
    let cloudwatch = CloudWatchDouble::start(moto.endpoint()).await?;
    cloudwatch.seed().await?;
    let cloudtrail = CloudTrailDouble::start().await?;
    let engines = SearchEngines::start().await?;
    let converse = ConverseDouble::start().await?;
    converse.fall_back_to(text(
        "This is the local stand-in for Amazon Bedrock (make dev): the agent's loop, tools and sessions are real, the model's answer is fixed.",
        "end_turn",
    ));
    let mut lines: Vec<String> = moto
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.push("APP_CONFIG_PATH=/devops-agent/local".to_owned());
    lines.push(format!("PROMETHEUS_URL={}", prometheus.url()));
    lines.push(format!("ALERTMANAGER_URL={}", alertmanager.url()));
    lines.push(format!("AWS_ENDPOINT_URL_EKS={}", eks.url()));
    lines.push(format!("AWS_ENDPOINT_URL_CLOUDWATCH={}", cloudwatch.url()));
    lines.push(format!(
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS={}",
        cloudwatch.url()
    ));
    lines.push(format!("AWS_ENDPOINT_URL_CLOUDTRAIL={}", cloudtrail.url()));
    lines.push(format!("WEBSEARCH_URL={}", engines.url()));
    lines.push(format!(
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME={}",
        converse.url()
    ));
    lines.push("MODEL_ID=local-stand-in".to_owned());
    lines.push("AGENT_SESSIONS_TABLE=agent-sessions".to_owned());
    lines.push("AWS_LAMBDA_LOG_LEVEL=info".to_owned());
    std::fs::write(&env_file, lines.join("\n") + "\n")?;
    println!(
        "prometheus   {} (data set 2026-01-01T00:00Z to 01:00Z)",
        prometheus.url()
    );
    println!(
        "alertmanager {} (alerts of tests/stack/rules.yml; a silence on PendingForever)",
        alertmanager.url()
    );
    println!(
        "moto         {} (clusters: {})",
        moto.endpoint(),
        fixtures
            .clusters
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "eks          {} (moto plus the add-on APIs; {K8S_CLUSTER}'s endpoint is the Kubernetes API below)",
        eks.url()
    );
    println!(
        "kubernetes   {} (API server of {K8S_CLUSTER}: crash-looping, OOMKilled and pending pods, NotReady node, …)",
        kubernetes.url()
    );
    println!(
        "cloudwatch   {} (moto behind a CBOR double: {CLUSTER}'s Container Insights logs, alarms {ALARM_5XX} and {COMPOSITE_ALARM} firing, metrics)",
        cloudwatch.url()
    );
    println!(
        "cloudtrail   {} (LookupEvents: the last 48 h of changes to {CLUSTER})",
        cloudtrail.url()
    );
    println!(
        "search       {} (DuckDuckGo, Brave, Tavily, SearXNG stand-ins)",
        engines.url()
    );
    println!("environment  {env_file}");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(converse);
    drop(engines);
    drop(cloudtrail);
    drop(cloudwatch);
    drop(eks);
    drop(kubernetes);
    drop(moto);
    drop(prometheus);
    drop(alertmanager);
    Ok(())
}
