//! The whole local stack `make dev` runs, as one value: Prometheus with the test data set,
//! evaluating `tests/stack/rules.yml` every second and sending its alerts to a real
//! Alertmanager (`AlwaysFiring` firing, `PendingForever` pending, with a day-long silence on
//! `PendingForever`, "planned maintenance of staging"); moto seeded with the EKS/AMP fixtures,
//! the local configuration under `/devops-agent/local` in SSM and the sessions table; EKS
//! through a proxy that adds the add-on APIs moto lacks and points DescribeCluster of
//! `prod-eu` at the Kubernetes API double (a cluster in trouble,
//! `tests/stack/k8s_fixtures.json`); CloudWatch through its double (CBOR, alarm history),
//! seeded with the same cluster's broken `api` workload: its Container Insights logs, firing
//! alarms and metrics; CloudTrail's LookupEvents double with the last 48 h of changes to it;
//! the loopback search engines; the sample runbooks of `runbooks/` in moto's S3 (bucket
//! [`RUNBOOKS_BUCKET`], configured as `runbooks/bucket` and `runbooks/prefix` in SSM); and the
//! Converse double as the model, answering as the [`Investigator`] (no Bedrock runs offline).
//!
//! `make dev` (`tests/examples/stack.rs`) writes [`LocalStack::env`] for `cargo lambda watch`;
//! the investigation, MCP and terminal-client tests run the same stack ([`LocalStack::watch`]).

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;

use crate::{
    Result,
    alertmanager::Alertmanager,
    bedrock::ConverseDouble,
    cloudtrail::CloudTrailDouble,
    cloudwatch::{ALARM_5XX, CLUSTER, COMPOSITE_ALARM, CloudWatchDouble},
    eks::{HEALTHY_ADDONS, point_cluster_at, serve_addons},
    investigator::Investigator,
    k8s::KubernetesApi,
    moto::{self, Moto, RUNBOOKS_BUCKET},
    process::free_port,
    prometheus::Prometheus,
    proxy::FaultProxy,
    search::SearchEngines,
    watch::CargoLambdaWatch,
};

/// The cluster whose API server the Kubernetes API double is (one of moto's seeded clusters).
pub const K8S_CLUSTER: &str = "prod-eu";
/// The sessions table in moto.
pub const SESSIONS_TABLE: &str = "agent-sessions";
/// Where the local configuration lives in SSM.
pub const CONFIG_PATH: &str = "/devops-agent/local";

/// The configuration a local run starts with (non-secret, like the SAM template's).
const LOCAL_CONFIG: &[(&str, &str)] = &[
    ("agent/max_cycles", "8"),
    ("agent/tool_timeout_seconds", "20"),
    ("agent/window_size", "20"),
    ("model/temperature", "0.3"),
    ("model/max_tokens", "2048"),
    ("runbooks/bucket", RUNBOOKS_BUCKET),
    ("runbooks/prefix", "runbooks/"),
];

/// Every server of the local stack; dropping it stops them all.
pub struct LocalStack {
    /// The model: the Converse double answering as the [`Investigator`].
    pub converse: ConverseDouble,
    /// The search engines.
    pub engines: SearchEngines,
    /// CloudTrail's LookupEvents double.
    pub cloudtrail: CloudTrailDouble,
    /// CloudWatch and CloudWatch Logs (the double in front of moto).
    pub cloudwatch: CloudWatchDouble,
    /// EKS: moto behind the add-on proxy.
    pub eks: FaultProxy,
    /// The API server of [`K8S_CLUSTER`].
    pub kubernetes: KubernetesApi,
    /// moto: SSM, EKS, AMP, STS, DynamoDB, S3.
    pub moto: Moto,
    /// The seeded clusters' names.
    pub clusters: Vec<String>,
    /// Prometheus with the data set.
    pub prometheus: Prometheus,
    /// Alertmanager, fed by Prometheus.
    pub alertmanager: Alertmanager,
}

impl LocalStack {
    /// Starts and seeds every server.
    pub async fn start() -> Result<Self> {
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
                .name(format!("{CONFIG_PATH}/{key}"))
                .value(*value)
                .r#type(ParameterType::String)
                .overwrite(true)
                .send()
                .await?;
        }
        moto.create_sessions_table(SESSIONS_TABLE).await?;
        moto.seed_runbooks(RUNBOOKS_BUCKET).await?;
        let eks = FaultProxy::start(moto.endpoint()).await?;
        let clusters: Vec<String> = fixtures.clusters.keys().cloned().collect();
        for cluster in &clusters {
            serve_addons(&eks, cluster, &HEALTHY_ADDONS);
        }
        let kubernetes = KubernetesApi::start(K8S_CLUSTER, moto::REGION)?;
        point_cluster_at(&eks, K8S_CLUSTER, kubernetes.url(), &kubernetes.ca_base64());
        let cloudwatch = CloudWatchDouble::start(moto.endpoint()).await?;
        cloudwatch.seed().await?;
        let cloudtrail = CloudTrailDouble::start().await?;
        let engines = SearchEngines::start().await?;
        let converse = ConverseDouble::start().await?;
        converse.respond_with(Investigator::new(&clusters, K8S_CLUSTER).responder());
        Ok(Self {
            converse,
            engines,
            cloudtrail,
            cloudwatch,
            eks,
            kubernetes,
            moto,
            clusters,
            prometheus,
            alertmanager,
        })
    }

    /// What a function needs to use the stack, as `KEY=VALUE` pairs for `cargo lambda watch
    /// --env-file` (everything but `AWS_ENDPOINT_URL_LAMBDA`, which names the watcher itself).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.env();
        env.extend(
            [
                ("APP_CONFIG_PATH", CONFIG_PATH.to_owned()),
                ("PROMETHEUS_URL", self.prometheus.url().to_owned()),
                ("ALERTMANAGER_URL", self.alertmanager.url().to_owned()),
                ("AWS_ENDPOINT_URL_EKS", self.eks.url()),
                (
                    "AWS_ENDPOINT_URL_CLOUDWATCH",
                    self.cloudwatch.url().to_owned(),
                ),
                (
                    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                    self.cloudwatch.url().to_owned(),
                ),
                ("AWS_ENDPOINT_URL_CLOUDTRAIL", self.cloudtrail.url()),
                ("WEBSEARCH_URL", self.engines.url()),
                ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.converse.url()),
                ("MODEL_ID", "local-investigator".to_owned()),
                ("AGENT_SESSIONS_TABLE", SESSIONS_TABLE.to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// Every function under `cargo lambda watch` on this stack, as `make dev` runs them: the
    /// agent's and the MCP server's tool calls reach the same watcher through the Invoke
    /// API. `extra` adds or overrides variables (a test's settings).
    pub async fn watch(&self, extra: &[(&str, &str)]) -> Result<CargoLambdaWatch> {
        let port = free_port()?;
        let mut env = self.env();
        env.push((
            "AWS_ENDPOINT_URL_LAMBDA".to_owned(),
            format!("http://127.0.0.1:{port}"),
        ));
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        CargoLambdaWatch::start_on(port, &env).await
    }

    /// One line per server, for `make dev`'s banner.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "prometheus   {} (data set 2026-01-01T00:00Z to 01:00Z)",
                self.prometheus.url()
            ),
            format!(
                "alertmanager {} (alerts of tests/stack/rules.yml; a silence on PendingForever)",
                self.alertmanager.url()
            ),
            format!(
                "moto         {} (clusters: {})",
                self.moto.endpoint(),
                self.clusters.join(", ")
            ),
            format!(
                "eks          {} (moto plus the add-on APIs; {K8S_CLUSTER}'s endpoint is the Kubernetes API below)",
                self.eks.url()
            ),
            format!(
                "kubernetes   {} (API server of {K8S_CLUSTER}: crash-looping, OOMKilled and pending pods, NotReady node, …)",
                self.kubernetes.url()
            ),
            format!(
                "cloudwatch   {} (moto behind a CBOR double: {CLUSTER}'s Container Insights logs, alarms {ALARM_5XX} and {COMPOSITE_ALARM} firing, metrics)",
                self.cloudwatch.url()
            ),
            format!(
                "cloudtrail   {} (LookupEvents: the last 48 h of changes to {CLUSTER})",
                self.cloudtrail.url()
            ),
            format!(
                "search       {} (DuckDuckGo, Brave, Tavily, SearXNG stand-ins)",
                self.engines.url()
            ),
            format!(
                "runbooks     {}/{RUNBOOKS_BUCKET}/runbooks/ (moto's S3: the four samples of runbooks/)",
                self.moto.endpoint()
            ),
            format!(
                "model        {} (the local investigator: picks tools by keyword and quotes them; no language model)",
                self.converse.url()
            ),
        ]
    }
}
