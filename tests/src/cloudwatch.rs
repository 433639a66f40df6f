//! The CloudWatch double (`stack/cloudwatch_double.py`): CloudWatch and CloudWatch Logs in
//! their real wire protocols, in front of moto, for the real Rust SDK clients.
//!
//! Why it exists: aws-sdk-cloudwatch speaks Smithy RPCv2 CBOR (`POST
//! /service/GraniteServiceVersion20100801/operation/<Operation>`, CBOR bodies, timestamps as
//! CBOR tag 1), and moto 5.2.5 answers that with 404: it only knows CloudWatch's query and
//! awsJson1_0 protocols. The double decodes each CBOR request, asks moto the same operation in
//! awsJson1_0, and encodes moto's answer back in CBOR by botocore's output shapes; moto's errors
//! become rpcv2Cbor errors the SDK parses into its typed variants (the `x-amzn-query-error`
//! header included: CloudWatch is query-compatible, and the SDK takes codes such as
//! `InvalidParameterValue` from it). CloudWatch Logs (awsJson1_1) passes through to moto.
//!
//! What moto lacks, the double serves itself:
//!
//! * **DescribeAlarmHistory**: from the changes it saw pass through. A SetAlarmState that changes
//!   an alarm's state value is a `StateUpdate` item (`Alarm updated from OK to ALARM`, with
//!   HistoryData `{"version":"1.0","oldState":{..},"newState":{..,"stateReasonData":{..}}}`);
//!   creating, updating or deleting an alarm a `ConfigurationUpdate`. Filters, ScanBy (newest
//!   first by default), MaxRecords and NextToken behave as AWS's; AlarmTypes omitted means metric
//!   alarms only, as on AWS. History items carry the time the double saw the change: seeding
//!   cannot backdate them.
//! * **Composite alarms**: moto has no PutCompositeAlarm (and its PutMetricAlarm drops
//!   AlarmRule); the double keeps the rule and answers them as CompositeAlarms.
//! * **Alarm states as AWS sets them**: moto creates alarms in OK, AWS in INSUFFICIENT_DATA
//!   (`Unchecked: Initial alarm creation`); the double puts moto's right.
//! * **DescribeAlarms filters**: moto applies one filter and ignores AlarmTypes; the double
//!   applies them all (AlarmTypes omitted: metric alarms only), ChildrenOfAlarmName and
//!   ParentsOfAlarmName by the rules, sorted by name, paged.
//! * **Logs Insights scripts**: moto's queries complete at once and ignore some commands, so a
//!   query that stays `Running`, or one refused as malformed, is scripted through
//!   [`CloudWatchDouble::script_insights`]; [`CloudWatchDouble::stopped_queries`] tells which
//!   queries StopQuery was called for (moto has no StopQuery).
//!
//! Every AWS operation received is listed by [`CloudWatchDouble::requests`], so a test can prove
//! that invalid input sent nothing. [`CloudWatchDouble::seed`] creates, through the double and
//! with the real SDK clients, the traces of a broken EKS workload: see [`CloudWatchFixtures`].

use std::{
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricDatum, StandardUnit, StateValue, Statistic,
};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_smithy_types::{DateTime, date_time::Format};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{Result, moto::Moto, process::ServerProcess, stack_file, venv};

/// The EKS cluster whose workload the fixtures describe.
pub const CLUSTER: &str = "prod-eu";
/// Container Insights' application log group (Fluent Bit's container logs).
pub const APPLICATION_LOG_GROUP: &str = "/aws/containerinsights/prod-eu/application";
/// Container Insights' performance log group (embedded-metric-format events).
pub const PERFORMANCE_LOG_GROUP: &str = "/aws/containerinsights/prod-eu/performance";
/// The EKS control plane's log group (API server audit, scheduler).
pub const CLUSTER_LOG_GROUP: &str = "/aws/eks/prod-eu/cluster";
/// The log group with a retention policy ([`RETENTION_DAYS`]); the others never expire.
pub const RETENTION_LOG_GROUP: &str = APPLICATION_LOG_GROUP;
/// Retention of [`RETENTION_LOG_GROUP`], in days.
pub const RETENTION_DAYS: i32 = 30;
/// The Kubernetes namespace of the broken workload.
pub const NAMESPACE: &str = "prod";
/// The crash-looping pod.
pub const CRASHING_POD: &str = "api-5f6a8e-x1";
/// The node it runs on.
pub const NODE: &str = "ip-10-0-1-10.eu-west-1.compute.internal";
/// The api container's id (Fluent Bit puts it in the log stream's name).
pub const CONTAINER_ID: &str = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a";
/// The last line the api container writes before each crash that is not an OOM kill.
pub const CRASH_LINE: &str =
    "panic: connection refused to postgres (api-db.prod.svc.cluster.local:5432)";
/// Why the container was killed the other times (Container Insights'
/// `container_last_termination_reason`, the API server's `lastState.terminated.reason`).
pub const OOM_REASON: &str = "OOMKilled";
/// The database password one application log line leaks; a tool must scrub it.
pub const LOG_PASSWORD: &str = "hunter2-canary";
/// The access key id another application log line leaks; a tool must scrub it.
pub const LOG_AWS_KEY: &str = "AKIAQ3EGCWCANARY0042";
/// Metric alarm on the load balancer's 5xx count, in ALARM.
pub const ALARM_5XX: &str = "api-5xx-high";
/// Metric alarm on p99 latency, OK.
pub const ALARM_LATENCY: &str = "api-latency-p99";
/// Composite alarm over the two, in ALARM.
pub const COMPOSITE_ALARM: &str = "api-degraded";
/// The composite alarm's rule.
pub const COMPOSITE_RULE: &str = "ALARM(\"api-5xx-high\") OR ALARM(\"api-latency-p99\")";
/// The SNS topic every alarm notifies.
pub const ONCALL_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:prod-eu-oncall";
/// Namespace of the seeded metrics.
pub const METRIC_NAMESPACE: &str = "ContainerInsights";
/// CPU of the api pod, percent of its limit: [`CloudWatchFixtures::cpu`].
pub const CPU_METRIC: &str = "pod_cpu_utilization";
/// Memory of the api pod, percent of its limit: [`CloudWatchFixtures::memory`].
pub const MEMORY_METRIC: &str = "pod_memory_utilization";
/// The dimensions of both metrics, as Container Insights sets them for a pod.
pub const METRIC_DIMENSIONS: [(&str, &str); 3] = [
    ("ClusterName", CLUSTER),
    ("Namespace", NAMESPACE),
    ("PodName", "api"),
];
/// Points per seeded metric: one a minute over the last hour.
pub const METRIC_POINTS: usize = 60;

/// One log event the seed wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededEvent {
    /// Its log group.
    pub log_group: String,
    /// Its log stream.
    pub log_stream: String,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The message, as written.
    pub message: String,
}

/// One point of a seeded metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// Seconds since the epoch, on a whole minute.
    pub timestamp: i64,
    /// The value (percent).
    pub value: f64,
}

/// One seeded alarm and the state it was left in.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededAlarm {
    /// The alarm's name.
    pub name: String,
    /// `MetricAlarm` or `CompositeAlarm`.
    pub alarm_type: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// The StateReason of its last SetAlarmState.
    pub reason: String,
    /// Its state values from creation on (`INSUFFICIENT_DATA` first), oldest first: the
    /// `StateUpdate` history items are the transitions between consecutive ones.
    pub states: Vec<String>,
}

/// What [`CloudWatchDouble::seed`] created: a api service in namespace `prod` of EKS cluster
/// [`CLUSTER`] crash-looping for the last hour, alternately OOM-killed ([`OOM_REASON`]) and
/// panicking on its database ([`CRASH_LINE`]), and what CloudWatch saw of it.
///
/// * Logs, all within the hour before [`Self::seeded_at_ms`], oldest first per stream:
///   [`APPLICATION_LOG_GROUP`] (Fluent Bit JSON lines of the api container: start-up, a
///   connection string with [`LOG_PASSWORD`], static credentials with [`LOG_AWS_KEY`],
///   `connection refused`, [`CRASH_LINE`]), [`PERFORMANCE_LOG_GROUP`] (Container Insights Pod and
///   Container events every five minutes, restarts rising, `container_last_termination_reason`
///   [`OOM_REASON`]), [`CLUSTER_LOG_GROUP`] (API server audit events patching the pod's status
///   with `lastState.terminated.reason` OOMKilled, exit code 137, and a scheduler line).
///   [`RETENTION_LOG_GROUP`] keeps [`RETENTION_DAYS`] days.
/// * Alarms: [`ALARM_5XX`] (INSUFFICIENT_DATA → OK → ALARM), [`ALARM_LATENCY`]
///   (INSUFFICIENT_DATA → OK) and the composite [`COMPOSITE_ALARM`] over both
///   (INSUFFICIENT_DATA → ALARM), all notifying [`ONCALL_TOPIC`].
/// * Metrics: [`CPU_METRIC`] and [`MEMORY_METRIC`] in [`METRIC_NAMESPACE`] with
///   [`METRIC_DIMENSIONS`], [`METRIC_POINTS`] points each, one a minute ending on the last whole
///   minute (memory climbing to 99 % and dropping at each restart, CPU following).
#[derive(Debug, Clone)]
pub struct CloudWatchFixtures {
    /// When seeding began, milliseconds since the epoch.
    pub seeded_at_ms: i64,
    /// Every log event written, per group and stream in the order written.
    pub log_events: Vec<SeededEvent>,
    /// The alarms, metric alarms first.
    pub alarms: Vec<SeededAlarm>,
    /// The [`CPU_METRIC`] points, oldest first.
    pub cpu: Vec<MetricPoint>,
    /// The [`MEMORY_METRIC`] points, oldest first.
    pub memory: Vec<MetricPoint>,
}

impl CloudWatchFixtures {
    /// The events of one log group, oldest first.
    pub fn events_in(&self, log_group: &str) -> Vec<&SeededEvent> {
        let mut events: Vec<&SeededEvent> = self
            .log_events
            .iter()
            .filter(|e| e.log_group == log_group)
            .collect();
        events.sort_by_key(|e| e.timestamp_ms);
        events
    }

    /// The seeded alarm `name`.
    pub fn alarm(&self, name: &str) -> Option<&SeededAlarm> {
        self.alarms.iter().find(|a| a.name == name)
    }

    /// The first and last metric timestamps (seconds since the epoch), both metrics alike.
    pub fn metric_window(&self) -> (i64, i64) {
        (
            self.cpu.first().map(|p| p.timestamp).unwrap_or_default(),
            self.cpu.last().map(|p| p.timestamp).unwrap_or_default(),
        )
    }
}

/// A running CloudWatch double in front of a moto server.
#[derive(Debug)]
pub struct CloudWatchDouble {
    process: ServerProcess,
    url: String,
    client: reqwest::Client,
    _dir: TempDir,
}

impl CloudWatchDouble {
    /// Starts the double on a free loopback port in front of moto at `moto_endpoint` (a base
    /// URL, e.g. [`Moto::endpoint`]), and waits until it answers.
    pub async fn start(moto_endpoint: &str) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("cloudwatch-").tempdir()?;
        let mut command = Command::new(venv()?.join("bin/python"));
        command.arg(stack_file("cloudwatch_double.py")).args([
            "--moto",
            moto_endpoint,
            "--port",
            "0",
        ]);
        // The double binds port 0 and announces the port: no window for another process to
        // take a port picked in advance.
        let (mut process, port) = ServerProcess::spawn_announcing(
            "cloudwatch double",
            &mut command,
            &dir.path().join("double.log"),
        )?;
        let url = format!("http://127.0.0.1:{port}");
        process
            .wait_ready(&format!("{url}/_double/requests"), Duration::from_secs(30))
            .await?;
        Ok(Self {
            process,
            url,
            client: crate::http_client(),
            _dir: dir,
        })
    }

    /// Base URL, `http://127.0.0.1:<port>`: the endpoint for both SDK clients.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The double's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What the double wrote to stderr: tracebacks, and moto's failures it turned into errors.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// An SDK configuration pointed at the double (moto's region and test credentials, the
    /// functions' HTTP client and retries): see [`Moto::sdk_config_for`].
    pub async fn sdk_config(&self) -> SdkConfig {
        Moto::sdk_config_for(&self.url).await
    }

    /// A CloudWatch client (RPCv2 CBOR) on the double.
    pub async fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config().await)
    }

    /// A CloudWatch Logs client (awsJson1_1) on the double.
    pub async fn logs_client(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config().await)
    }

    /// Scripts the next StartQuery (scripts queue, one per StartQuery). Either a run:
    ///
    /// ```json
    /// {"statuses": ["Running", "Running", "Complete"],
    ///  "results": [[{"field": "@timestamp", "value": "2026-01-01 10:00:00.000"},
    ///               {"field": "@message", "value": "panic: ..."},
    ///               {"field": "@ptr", "value": "CmAKJwoj..."}]],
    ///  "statistics": {"recordsMatched": 3, "recordsScanned": 100, "bytesScanned": 4096}}
    /// ```
    ///
    /// StartQuery still goes to moto (which checks the log groups and makes the query id); each
    /// GetQueryResults then answers the next status, the last one repeating, with all of
    /// `results` and `statistics` every time. Or a refusal, answered by StartQuery without
    /// asking moto:
    ///
    /// ```json
    /// {"error": "MalformedQueryException", "message": "unexpected symbol found ...",
    ///  "queryCompileError": {"location": {"startCharOffset": 7, "endCharOffset": 9},
    ///                        "message": "unexpected symbol found"}}
    /// ```
    ///
    /// (status 400 unless `"status"` says otherwise; keys besides `error` and `status` go into
    /// the error body). A malformed script is refused with the reason.
    pub async fn script_insights(&self, script: Value) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/_double/insights", self.url))
            .json(&script)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the double refused the Insights script ({status}): {body}").into())
        }
    }

    /// The query ids StopQuery was called for, in order. Panics (with the double's log) if the
    /// double does not answer: a test cannot go on without its double.
    pub async fn stopped_queries(&self) -> Vec<String> {
        self.control_list("stopped").await
    }

    /// Every AWS operation the double received, in order (`DescribeAlarms`, `StartQuery`, …;
    /// the double's own calls to moto and the control requests are not included). Panics like
    /// [`Self::stopped_queries`].
    pub async fn requests(&self) -> Vec<String> {
        self.control_list("requests").await
    }

    async fn control_list(&self, what: &str) -> Vec<String> {
        let url = format!("{}/_double/{what}", self.url);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}; log:\n{}", self.logs()));
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not a JSON list of strings: {e}"))
    }

    /// Creates, through the double with the real SDK clients, the traces of the broken workload
    /// described at [`CloudWatchFixtures`], and returns what was created.
    pub async fn seed(&self) -> Result<CloudWatchFixtures> {
        let config = self.sdk_config().await;
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
        let seeded_at_ms = i64::try_from(now.as_millis())?;
        let log_events =
            seed_logs(&aws_sdk_cloudwatchlogs::Client::new(&config), seeded_at_ms).await?;
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
        let alarms = seed_alarms(&cloudwatch, now.as_secs() as i64).await?;
        let (cpu, memory) = seed_metrics(&cloudwatch, now.as_secs() as i64).await?;
        Ok(CloudWatchFixtures {
            seeded_at_ms,
            log_events,
            alarms,
            cpu,
            memory,
        })
    }
}

/// `2026-11-30T14:05:00Z` for epoch seconds `secs`.
fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// The `30/11/26 14:05:00` AWS writes datapoint times as in threshold-crossing reasons.
fn reason_time(secs: i64) -> String {
    let t = rfc3339(secs);
    // t is YYYY-MM-DDTHH:MM:SSZ.
    format!("{}/{}/{} {}", &t[8..10], &t[5..7], &t[2..4], &t[11..19])
}

/// One Fluent Bit record of the api container, as Container Insights ships it.
fn container_line(ms: i64, stream: &str, log: &str) -> String {
    json!({
        "time": format!("{}.{:03}Z", &rfc3339(ms / 1000)[..19], ms % 1000),
        "stream": stream,
        "_p": "F",
        "log": log,
        "kubernetes": {
            "pod_name": CRASHING_POD,
            "namespace_name": NAMESPACE,
            "pod_id": "0b7e3c1a-5d2f-4e8b-9a6c-1f3d5b7e9a2c",
            "host": NODE,
            "container_name": "api",
            "docker_id": CONTAINER_ID,
            "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api:2.3.1",
        },
    })
    .to_string()
}

/// How long each life of the api container lasts, in minutes.
const LIFE_MINUTES: i64 = 9;
/// How many minutes ago the first life the logs show began.
const FIRST_LIFE_MINUTES_AGO: i64 = 57;

/// Minutes into its current life the api container was `minutes_ago` minutes before now
/// (0 just after a restart, 8 just before the next).
fn age_at(minutes_ago: i64) -> i64 {
    (FIRST_LIFE_MINUTES_AGO - minutes_ago).rem_euclid(LIFE_MINUTES)
}

/// Memory (percent of the limit) of the api pod `minutes_ago` minutes before now: it
/// climbs through each life of the container to 99 % and drops when the container restarts.
fn memory_at(minutes_ago: i64) -> f64 {
    41.0 + 7.25 * age_at(minutes_ago) as f64
}

/// CPU (percent of the limit) of the api pod then: garbage collection works harder as
/// memory fills.
fn cpu_at(minutes_ago: i64) -> f64 {
    (22.5 + 8.5 * age_at(minutes_ago) as f64).min(96.0)
}

/// Writes the three log groups and returns the events written.
async fn seed_logs(logs: &aws_sdk_cloudwatchlogs::Client, now_ms: i64) -> Result<Vec<SeededEvent>> {
    const MINUTE: i64 = 60_000;
    let app_stream = format!(
        "{NODE}-application.var.log.containers.{CRASHING_POD}_{NAMESPACE}_api-{CONTAINER_ID}.log"
    );
    let perf_stream = format!("{NODE}-performance");
    let audit_stream = "kube-apiserver-audit-5b8f4c2e9d7a1f3b6c0e8a2d4f6b1c3e".to_owned();
    let scheduler_stream = "kube-scheduler-9e1c3a5f7b2d4e6a8c0f1b3d5e7a9c2f".to_owned();
    let mut events = Vec::new();
    let mut push = |group: &str, stream: &str, ms: i64, message: String| {
        events.push(SeededEvent {
            log_group: group.to_owned(),
            log_stream: stream.to_owned(),
            timestamp_ms: ms,
            message,
        });
    };

    // Six lives of the api container, nine minutes each, the first starting 57 minutes
    // ago, the last ending 3 minutes ago; even ones end OOM-killed, odd ones in a panic on the
    // database.
    for life in 0..6i64 {
        let start = now_ms - FIRST_LIFE_MINUTES_AGO * MINUTE + life * LIFE_MINUTES * MINUTE;
        let restarts = 2 + life;
        let app = |offset_ms: i64| start + offset_ms;
        let end = app((LIFE_MINUTES - 1) * MINUTE);
        push(
            APPLICATION_LOG_GROUP,
            &app_stream,
            app(0),
            container_line(
                app(0),
                "stdout",
                "level=info msg=\"starting api\" version=2.3.1 commit=9f3e2ab",
            ),
        );
        if life == 1 {
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                app(150),
                container_line(
                    app(150),
                    "stdout",
                    &format!(
                        "level=debug msg=\"db config\" dsn=\"postgres://api:{LOG_PASSWORD}@api-db.prod.svc.cluster.local:5432/orders?sslmode=require\" password={LOG_PASSWORD}"
                    ),
                ),
            );
        }
        if life == 3 {
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                app(200),
                container_line(
                    app(200),
                    "stderr",
                    &format!(
                        "level=warn msg=\"using static AWS credentials from env\" aws_access_key_id={LOG_AWS_KEY} region=eu-west-1"
                    ),
                ),
            );
        }
        push(
            APPLICATION_LOG_GROUP,
            &app_stream,
            app(400),
            container_line(
                app(400),
                "stdout",
                "level=info msg=\"listening\" addr=:8080",
            ),
        );
        if life % 2 == 0 {
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                end,
                container_line(
                    end,
                    "stderr",
                    "level=warn msg=\"cart cache above soft limit\" heap_mb=1984 limit_mb=2048",
                ),
            );
        } else {
            let refused = end;
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                refused,
                container_line(
                    refused,
                    "stderr",
                    "level=error msg=\"db ping failed\" err=\"dial tcp 10.100.37.12:5432: connect: connection refused\" attempt=5",
                ),
            );
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                refused + 20,
                container_line(refused + 20, "stderr", CRASH_LINE),
            );
            push(
                APPLICATION_LOG_GROUP,
                &app_stream,
                refused + 21,
                container_line(refused + 21, "stderr", "goroutine 1 [running]:"),
            );
        }

        // Container Insights' performance events, in the middle and at the end of each life.
        for offset in [4 * MINUTE, end - start + 30_000] {
            let ms = start + offset;
            let minutes_ago = (now_ms - ms) / MINUTE;
            push(
                PERFORMANCE_LOG_GROUP,
                &perf_stream,
                ms,
                json!({
                    "Type": "Pod",
                    "Timestamp": ms.to_string(),
                    "Version": "0",
                    "ClusterName": CLUSTER,
                    "Namespace": NAMESPACE,
                    "PodName": "api",
                    "NodeName": NODE,
                    "Service": "api",
                    "kubernetes": {"host": NODE, "namespace_name": NAMESPACE,
                                   "pod_name": CRASHING_POD, "service_name": "api"},
                    "pod_status": "Running",
                    "pod_cpu_utilization": cpu_at(minutes_ago),
                    "pod_memory_utilization": memory_at(minutes_ago),
                    "pod_number_of_container_restarts": restarts,
                    "pod_number_of_running_containers": 1,
                    "pod_number_of_containers": 1,
                })
                .to_string(),
            );
            push(
                PERFORMANCE_LOG_GROUP,
                &perf_stream,
                ms + 1,
                json!({
                    "Type": "Container",
                    "Timestamp": (ms + 1).to_string(),
                    "Version": "0",
                    "ClusterName": CLUSTER,
                    "Namespace": NAMESPACE,
                    "PodName": "api",
                    "NodeName": NODE,
                    "kubernetes": {"host": NODE, "namespace_name": NAMESPACE,
                                   "pod_name": CRASHING_POD, "container_name": "api",
                                   "docker": {"container_id": CONTAINER_ID}},
                    "container_status": "Running",
                    "container_last_termination_reason": if life % 2 == 1 { OOM_REASON } else { "Error" },
                    "number_of_container_restarts": restarts,
                    "container_memory_limit": 2147483648u64,
                })
                .to_string(),
            );
        }

        // The API server records the kubelet's status patch after each OOM kill.
        if life % 2 == 0 {
            let ms = start + LIFE_MINUTES * MINUTE - 5_000;
            push(
                CLUSTER_LOG_GROUP,
                &audit_stream,
                ms,
                json!({
                    "kind": "Event",
                    "apiVersion": "audit.k8s.io/v1",
                    "level": "RequestResponse",
                    "auditID": format!("7c1e9a3b-2d4f-4a6c-8e0b-{:012x}", ms),
                    "stage": "ResponseComplete",
                    "requestURI": format!("/api/v1/namespaces/{NAMESPACE}/pods/{CRASHING_POD}/status"),
                    "verb": "patch",
                    "user": {"username": format!("system:node:{NODE}"), "groups": ["system:nodes"]},
                    "objectRef": {"resource": "pods", "namespace": NAMESPACE, "name": CRASHING_POD,
                                  "apiVersion": "v1", "subresource": "status"},
                    "responseStatus": {"code": 200},
                    "requestObject": {"status": {"containerStatuses": [{
                        "name": "api",
                        "restartCount": restarts + 1,
                        "lastState": {"terminated": {"exitCode": 137, "reason": OOM_REASON}},
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    }]}},
                    "requestReceivedTimestamp": format!("{}.{:06}Z", &rfc3339(ms / 1000)[..19], (ms % 1000) * 1000),
                })
                .to_string(),
            );
        }
    }
    let scheduled = now_ms - (FIRST_LIFE_MINUTES_AGO + 1) * MINUTE;
    push(CLUSTER_LOG_GROUP, &scheduler_stream, scheduled, {
        // klog's header: Lmmdd hh:mm:ss.uuuuuu threadid file:line]
        let t = rfc3339(scheduled / 1000);
        format!(
            "I{}{} {}.{:06}      11 schedule_one.go:286] \"Successfully bound pod to node\" pod=\"{NAMESPACE}/{CRASHING_POD}\" node=\"{NODE}\" evaluatedNodes=3 feasibleNodes=2",
            &t[5..7],
            &t[8..10],
            &t[11..19],
            (scheduled % 1000) * 1000
        )
    });

    for group in [
        APPLICATION_LOG_GROUP,
        PERFORMANCE_LOG_GROUP,
        CLUSTER_LOG_GROUP,
    ] {
        logs.create_log_group().log_group_name(group).send().await?;
    }
    logs.put_retention_policy()
        .log_group_name(RETENTION_LOG_GROUP)
        .retention_in_days(RETENTION_DAYS)
        .send()
        .await?;
    // One PutLogEvents per stream, its events in time order as the API requires.
    let mut streams: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.log_group.clone(), e.log_stream.clone()))
        .collect();
    streams.sort();
    streams.dedup();
    for (group, stream) in streams {
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name(&stream)
            .send()
            .await?;
        let mut batch: Vec<&SeededEvent> = events
            .iter()
            .filter(|e| e.log_group == group && e.log_stream == stream)
            .collect();
        batch.sort_by_key(|e| e.timestamp_ms);
        let mut request = logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name(&stream);
        for event in batch {
            request = request.log_events(
                InputLogEvent::builder()
                    .timestamp(event.timestamp_ms)
                    .message(&event.message)
                    .build()?,
            );
        }
        request.send().await?;
    }
    Ok(events)
}

/// The three alarms, in their states.
async fn seed_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    now: i64,
) -> Result<Vec<SeededAlarm>> {
    let elb = [
        ("LoadBalancer", "app/prod-eu-prod/5f0c2a9d7e1b3c4d"),
        ("TargetGroup", "targetgroup/api/9a8b7c6d5e4f3a2b"),
    ];
    let dimensions = || {
        elb.iter()
            .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
            .collect::<Vec<_>>()
    };
    cloudwatch
        .put_metric_alarm()
        .alarm_name(ALARM_5XX)
        .alarm_description("api answers more than 50 requests a minute with a 5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .set_dimensions(Some(dimensions()))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(3)
        .threshold(50.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(ONCALL_TOPIC)
        .ok_actions(ONCALL_TOPIC)
        .send()
        .await?;
    cloudwatch
        .put_metric_alarm()
        .alarm_name(ALARM_LATENCY)
        .alarm_description("api's p99 response time above 1.5 s for 5 minutes")
        .namespace("AWS/ApplicationELB")
        .metric_name("TargetResponseTime")
        .set_dimensions(Some(dimensions()))
        .extended_statistic("p99")
        .period(60)
        .evaluation_periods(5)
        .threshold(1.5)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .alarm_actions(ONCALL_TOPIC)
        .send()
        .await?;
    cloudwatch
        .put_composite_alarm()
        .alarm_name(COMPOSITE_ALARM)
        .alarm_description("api is failing or slow")
        .alarm_rule(COMPOSITE_RULE)
        .alarm_actions(ONCALL_TOPIC)
        .send()
        .await?;

    let minute = now - now % 60;
    let points = |values: [f64; 3], start: i64| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:.1} ({})", reason_time(start + 60 * i as i64)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let quiet = [0.0, 1.0, 0.0];
    let ok_reason = format!(
        "Threshold Crossed: 3 out of the last 3 datapoints [{}] were not greater than the threshold (50.0) (minimum 3 datapoints for ALARM -> OK transition).",
        points(quiet, minute - 45 * 60)
    );
    let failing = [212.0, 198.0, 240.0];
    let alarm_reason = format!(
        "Threshold Crossed: 3 out of the last 3 datapoints [{}] were greater than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM transition).",
        points(failing, minute - 4 * 60)
    );
    let reason_data = |values: [f64; 3], start: i64| {
        json!({
            "version": "1.0",
            "queryDate": format!("{}.000+0000", &rfc3339(now)[..19]),
            "startDate": format!("{}.000+0000", &rfc3339(start)[..19]),
            "statistic": "Sum",
            "period": 60,
            "recentDatapoints": values,
            "threshold": 50.0,
            "evaluatedDatapoints": values.iter().enumerate().map(|(i, v)| json!({
                "timestamp": format!("{}.000+0000", &rfc3339(start + 60 * i as i64)[..19]),
                "sampleCount": 1200.0,
                "value": v,
            })).collect::<Vec<_>>(),
        })
        .to_string()
    };
    set_state(
        cloudwatch,
        ALARM_5XX,
        StateValue::Ok,
        &ok_reason,
        Some(reason_data(quiet, minute - 45 * 60)),
    )
    .await?;
    set_state(
        cloudwatch,
        ALARM_5XX,
        StateValue::Alarm,
        &alarm_reason,
        Some(reason_data(failing, minute - 4 * 60)),
    )
    .await?;
    let latency_reason = "Threshold Crossed: 5 out of the last 5 datapoints [0.42 (…), 0.39 (…), 0.44 (…), 0.41 (…), 0.40 (…)] were not greater than the threshold (1.5) (minimum 5 datapoints for ALARM -> OK transition).".replace("(…)", &format!("({})", reason_time(minute - 60)));
    set_state(
        cloudwatch,
        ALARM_LATENCY,
        StateValue::Ok,
        &latency_reason,
        None,
    )
    .await?;
    let arn_5xx = format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{ALARM_5XX}");
    let composite_reason = format!(
        "{arn_5xx} transitioned to ALARM at {}",
        DateTime::from_secs(now)
            .fmt(Format::HttpDate)
            .unwrap_or_default()
    );
    let composite_data = json!({"triggeringAlarms": [{
        "arn": arn_5xx,
        "state": {"value": "ALARM", "timestamp": format!("{}.000+0000", &rfc3339(now)[..19])},
    }]})
    .to_string();
    set_state(
        cloudwatch,
        COMPOSITE_ALARM,
        StateValue::Alarm,
        &composite_reason,
        Some(composite_data),
    )
    .await?;

    let alarm = |name: &str, alarm_type: &str, states: &[&str], reason: &str| SeededAlarm {
        name: name.to_owned(),
        alarm_type: alarm_type.to_owned(),
        state: states.last().copied().unwrap_or_default().to_owned(),
        reason: reason.to_owned(),
        states: states.iter().map(|s| (*s).to_owned()).collect(),
    };
    Ok(vec![
        alarm(
            ALARM_5XX,
            "MetricAlarm",
            &["INSUFFICIENT_DATA", "OK", "ALARM"],
            &alarm_reason,
        ),
        alarm(
            ALARM_LATENCY,
            "MetricAlarm",
            &["INSUFFICIENT_DATA", "OK"],
            &latency_reason,
        ),
        alarm(
            COMPOSITE_ALARM,
            "CompositeAlarm",
            &["INSUFFICIENT_DATA", "ALARM"],
            &composite_reason,
        ),
    ])
}

async fn set_state(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    name: &str,
    state: StateValue,
    reason: &str,
    data: Option<String>,
) -> Result<()> {
    cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .set_state_reason_data(data)
        .send()
        .await?;
    Ok(())
}

/// The CPU and memory points, in one PutMetricData (large enough that the SDK gzips it).
async fn seed_metrics(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    now: i64,
) -> Result<(Vec<MetricPoint>, Vec<MetricPoint>)> {
    let last = now - now % 60 - 60; // the last whole minute
    let series = |value_at: fn(i64) -> f64| -> Vec<MetricPoint> {
        (0..METRIC_POINTS as i64)
            .rev()
            .map(|minutes_ago| MetricPoint {
                timestamp: last - 60 * minutes_ago,
                value: value_at(minutes_ago + 1),
            })
            .collect()
    };
    let cpu = series(cpu_at);
    let memory = series(memory_at);
    let dimensions: Vec<Dimension> = METRIC_DIMENSIONS
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect();
    let mut request = cloudwatch.put_metric_data().namespace(METRIC_NAMESPACE);
    for (metric, points) in [(CPU_METRIC, &cpu), (MEMORY_METRIC, &memory)] {
        for point in points {
            request = request.metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(Some(dimensions.clone()))
                    .timestamp(DateTime::from_secs(point.timestamp))
                    .value(point.value)
                    .unit(StandardUnit::Percent)
                    .build(),
            );
        }
    }
    request.send().await?;
    Ok((cpu, memory))
}
