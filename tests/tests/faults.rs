//! The fault matrix: every function, run as its real binary through the Lambda Runtime API,
//! meets every fault its neighbours can produce, and must answer with the contract's exact
//! envelope code and `retryable`, before its deadline, and then answer the next healthy
//! request from the same process.
//!
//! Each function's main neighbour (Prometheus, the search engine, EKS, Bedrock) sits behind a
//! [`FaultServer`]; its configuration comes from moto's SSM behind a [`FaultProxy`] with a
//! zero cache lifetime, so every request reads SSM and an SSM outage can be timed to hit the
//! cold start or a refresh.
//!
//! One test per function, so a failure names the function, and its message every row that
//! differs; each test starts the servers its function needs and runs all the rows against
//! one process (plus the fresh ones the cold-start, TLS and credential rows need). Each
//! prints its table and writes it to `target/artifacts/fault-matrix/<function>.md`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use aws_sdk_ssm::types::ParameterType;
use integration_tests::{
    bedrock::{ConverseDouble, text, tool_uses},
    cloudtrail::CloudTrailDouble,
    eks::point_cluster_at,
    fault::{FAULT_MATRIX_FUNCTIONS, Fault, FaultServer, Oversize},
    k8s::KubernetesApi,
    lambda::{Invoke, LambdaFunction, Outcome},
    moto::{Moto, RUNBOOKS_BUCKET},
    prometheus::Prometheus,
    proxy::{FaultProxy, Mode},
    search::{API_KEY, SearchEngines},
    watch::CargoLambdaWatch,
};
use serde_json::{Value, json};

/// The deadline of the hang and trickle rows: a hang must be cut by the function's own
/// deadline budget, not by the test.
const SHORT_DEADLINE: Duration = Duration::from_millis(2500);

/// The deadline of every other row: room for the retries of quick failures.
const DEADLINE: Duration = Duration::from_secs(8);

/// The deadline of the "deadline nearly spent" row: less than the answer reserve plus the
/// smallest upstream budget, so no upstream call may start.
const NEARLY_SPENT: Duration = Duration::from_millis(150);

const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

/// What one function needs around it for the matrix.
struct Subject {
    /// The column's title.
    column: &'static str,
    function: &'static str,
    /// An event that succeeds when nothing is broken.
    healthy: Value,
    upstream: FaultServer,
    /// The variable that points the function at its upstream (for the TLS row, which
    /// points it at the fault server with `https://`).
    upstream_var: &'static str,
    ssm: Option<FaultProxy>,
    env: Vec<(String, String)>,
    /// For the agent's tool Lambdas: the model double that asks for one tool call per
    /// request, so the cell is what the model was told about the faulted call.
    tool_probe: Option<ConverseDouble>,
    /// Each neighbour-fault row in a new process: for a function that calls the faulted
    /// neighbour only on its first request (k8s-info describes a cluster once per process).
    cold_per_row: bool,
}

impl Subject {
    /// Invokes `f` with the subject's event, the model's tool call scripted first.
    async fn ask(&self, f: &LambdaFunction, deadline: Duration) -> (Outcome, Duration, Duration) {
        if let Some(converse) = &self.tool_probe {
            converse.take_requests();
            converse.script([
                tool_uses(
                    None,
                    &[("w", "web_search", json!({"query": "eks upgrade"}))],
                ),
                text("Done.", "end_turn"),
            ]);
        }
        invoke(f, &self.healthy, deadline).await
    }

    /// The cell for an answer: the agent's envelope if it failed, else (for the tool probe)
    /// the envelope the model received as the tool's result.
    fn cell(&self, answer: (Outcome, Duration, Duration), upstream_requests: usize) -> Cell {
        let mut cell = classify(answer, upstream_requests);
        if let (Some(converse), "ok") = (&self.tool_probe, cell.code.as_str()) {
            let told = converse
                .take_requests()
                .iter()
                .filter_map(|(_, body)| body["messages"].as_array()?.last().cloned())
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .find_map(|b| b.get("toolResult").cloned());
            match told {
                None => cell.code = "NO TOOL RESULT".into(),
                Some(result) => {
                    let text = result["content"][0]["text"].as_str().unwrap_or_default();
                    let told: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                    if let Some(error) = told.get("error") {
                        cell.code = error["code"].as_str().unwrap_or("?").to_owned();
                        cell.retryable = error["retryable"].as_bool();
                        cell.detail = format!("told the model: {}", error["message"]);
                    } else if result["status"] == "error" {
                        cell.code = "ERROR WITHOUT ENVELOPE".into();
                        cell.detail = text.chars().take(200).collect();
                    } else if told.get("truncated") == Some(&Value::Bool(true))
                        || text.contains("truncated")
                    {
                        cell.detail = "truncated".into();
                    }
                }
            }
        }
        cell
    }
}

/// One cell: what the function answered to one fault.
#[derive(Debug, Clone, PartialEq)]
struct Cell {
    /// The envelope code, or `ok` for a success.
    code: String,
    retryable: Option<bool>,
    /// The envelope's message, or whether a success says `"truncated": true`.
    detail: String,
    elapsed: Duration,
    deadline: Duration,
    /// Requests the faulted neighbour received during the row.
    upstream_requests: usize,
}

impl Cell {
    fn short(&self) -> String {
        match self.retryable {
            Some(r) => format!(
                "{} {} {} ms",
                self.code,
                if r { "r" } else { "-" },
                self.elapsed.as_millis()
            ),
            None if self.detail == "truncated" => {
                format!("ok, truncated {} ms", self.elapsed.as_millis())
            }
            None => format!("{} {} ms", self.code, self.elapsed.as_millis()),
        }
    }
}

/// The rows, in the order they run (the cold-start row must be each process's first).
const ROWS: &[&str] = &[
    "SSM unavailable at cold start",
    "connection refused",
    "hang past deadline",
    "slow trickle",
    "HTTP 429",
    "HTTP 500",
    "HTTP 503",
    "malformed body",
    "oversized body (>6 MB)",
    "HTTP protocol error",
    "TLS handshake failure",
    "SSM unavailable at refresh",
    "SSM hangs at cold start",
    "SSM hangs at refresh",
    "deadline nearly spent",
    "credentials missing",
];

/// What each row must produce: `(code, retryable)`; `("ok", None)` is a success.
fn expected(column: &str, row: &str) -> Option<(&'static str, Option<bool>)> {
    let function = column.split(' ').next().unwrap_or(column);
    let uses_ssm = !matches!(
        function,
        "eks-info" | "k8s-info" | "cloudwatch" | "cloudtrail"
    );
    Some(match row {
        "SSM unavailable at cold start" if uses_ssm => ("UNAVAILABLE", Some(true)),
        "SSM unavailable at cold start" => return None,
        "connection refused" => ("UNAVAILABLE", Some(true)),
        "hang past deadline" | "slow trickle" => ("UPSTREAM_TIMEOUT", Some(true)),
        "HTTP 429" => ("THROTTLED", Some(true)),
        "HTTP 500" => ("UPSTREAM_ERROR", Some(true)),
        "HTTP 503" => ("UNAVAILABLE", Some(true)),
        "malformed body" => ("UPSTREAM_ERROR", Some(false)),
        // Cut to the caller's limits (and said so) where the answer is a list of results;
        // refused where it cannot be cut (a model reply) or a read cap comes first.
        // The agent cuts a tool's answer for the model (and says so); a stored session
        // that big cannot be read back, and is named as unreadable.
        "oversized body (>6 MB)" if column == "agent → tool Lambda" => ("ok", None),
        "oversized body (>6 MB)" if column == "agent → sessions" => {
            ("UPSTREAM_ERROR", Some(false))
        }
        // web-search: the engine's page, not the caller's request, was too big.
        "oversized body (>6 MB)" if function == "web-search" => ("UPSTREAM_ERROR", Some(false)),
        // runbooks: a ListObjectsV2 page over its 4 MB read cap is not one S3 sends.
        "oversized body (>6 MB)" if function == "runbooks" => ("UPSTREAM_ERROR", Some(false)),
        "oversized body (>6 MB)" if function == "agent" => ("PAYLOAD_TOO_LARGE", Some(false)),
        "oversized body (>6 MB)" => ("ok", None),
        "HTTP protocol error" => ("UPSTREAM_ERROR", Some(true)),
        "TLS handshake failure" => ("UNAVAILABLE", Some(true)),
        // The last good configuration keeps serving.
        "SSM unavailable at refresh" if uses_ssm => ("ok", None),
        "SSM unavailable at refresh" => return None,
        "SSM hangs at cold start" if uses_ssm => ("UPSTREAM_TIMEOUT", Some(true)),
        "SSM hangs at refresh" if uses_ssm => ("ok", None),
        "SSM hangs at cold start" | "SSM hangs at refresh" => return None,
        "deadline nearly spent" => ("UPSTREAM_TIMEOUT", Some(true)),
        "credentials missing" => ("CONFIG_ERROR", Some(false)),
        other => panic!("no expectation for {other}"),
    })
}

fn classify(
    (outcome, elapsed, deadline): (Outcome, Duration, Duration),
    upstream_requests: usize,
) -> Cell {
    let (code, retryable, detail) = match outcome {
        Outcome::FunctionError(e) => ("FUNCTION_ERROR".to_owned(), None, e.to_string()),
        Outcome::Response(answer) => match answer.get("error") {
            Some(error) => (
                error["code"].as_str().unwrap_or("?").to_owned(),
                error["retryable"].as_bool(),
                error["message"].as_str().unwrap_or_default().to_owned(),
            ),
            None if answer["truncated"] == true => ("ok".to_owned(), None, "truncated".to_owned()),
            None => ("ok".to_owned(), None, String::new()),
        },
    };
    Cell {
        code,
        retryable,
        detail,
        elapsed,
        deadline,
        upstream_requests,
    }
}

async fn invoke(
    f: &LambdaFunction,
    event: &Value,
    deadline: Duration,
) -> (Outcome, Duration, Duration) {
    let options = Invoke {
        deadline_in: deadline,
        client_context: None,
        wait: deadline + Duration::from_secs(20),
    };
    let started = Instant::now();
    let outcome = f
        .invoke_with(event.to_string().as_bytes(), &options)
        .await
        .unwrap_or_else(|e| panic!("no answer: {e}\n{}", f.logs()));
    (outcome, started.elapsed(), deadline)
}

/// Asserts the process answers a healthy request after `after`.
async fn still_healthy(f: &mut LambdaFunction, s: &Subject, after: &str) {
    f.check_running()
        .unwrap_or_else(|e| panic!("{} died after {after}: {e}", s.column));
    let answer = s.ask(f, Duration::from_secs(10)).await;
    let cell = s.cell(answer, 0);
    assert!(
        cell.code == "ok",
        "{} is not healthy after {after}: {cell:?}\n{}",
        s.column,
        f.logs()
    );
}

async fn run_matrix(s: Subject) -> (&'static str, BTreeMap<&'static str, Cell>) {
    let mut cells = BTreeMap::new();
    let mut f = LambdaFunction::start(s.function, &s.env).await.unwrap();

    if let Some(ssm) = &s.ssm {
        ssm.set_mode(Mode::Fail(503));
        let answer = s.ask(&f, DEADLINE).await;
        cells.insert(ROWS[0], s.cell(answer, s.upstream.requests()));
        ssm.set_mode(Mode::Pass);
        still_healthy(&mut f, &s, ROWS[0]).await;
    }

    for (row, fault) in [
        ("connection refused", Fault::Refused),
        ("hang past deadline", Fault::Hang),
        ("slow trickle", Fault::Trickle),
        ("HTTP 429", Fault::Status(429)),
        ("HTTP 500", Fault::Status(500)),
        ("HTTP 503", Fault::Status(503)),
        ("malformed body", Fault::Malformed),
        ("oversized body (>6 MB)", Fault::Oversized),
        ("HTTP protocol error", Fault::NotHttp),
    ] {
        if s.cold_per_row {
            f = LambdaFunction::start(s.function, &s.env).await.unwrap();
        }
        s.upstream.set(fault).await.unwrap();
        let before = s.upstream.requests();
        let deadline = match fault {
            Fault::Hang | Fault::Trickle => SHORT_DEADLINE,
            // Parsing 7 MB in a debug build takes seconds (eks-info: 6.5 s here).
            Fault::Oversized => 3 * DEADLINE,
            _ => DEADLINE,
        };
        let answer = s.ask(&f, deadline).await;
        cells.insert(row, s.cell(answer, s.upstream.requests() - before));
        s.upstream.set(Fault::Pass).await.unwrap();
        still_healthy(&mut f, &s, row).await;
    }

    if let Some(ssm) = &s.ssm {
        let row = "SSM unavailable at refresh";
        ssm.set_mode(Mode::Fail(503));
        let tried = ssm.seen().len();
        let answer = s.ask(&f, DEADLINE).await;
        assert!(
            ssm.seen().len() > tried,
            "{}: the zero-TTL cache must have tried SSM",
            s.column
        );
        cells.insert(row, s.cell(answer, 0));
        ssm.set_mode(Mode::Pass);
        still_healthy(&mut f, &s, row).await;
    }

    if let Some(ssm) = &s.ssm {
        // A hung SSM with the last good values at hand: they are served, late but not failed.
        // The deadline leaves room for the 2 s given up on SSM and then a model call (the
        // agent needs 1 s), and is shorter than the SDK's 5 s operation timeout: waiting that
        // out would not do.
        let row = "SSM hangs at refresh";
        ssm.hold();
        let answer = s.ask(&f, Duration::from_secs(4)).await;
        cells.insert(row, s.cell(answer, 0));
        ssm.open();
        still_healthy(&mut f, &s, row).await;

        // A hung SSM at a cold start: nothing to serve, and the deadline bounds the wait.
        let row = "SSM hangs at cold start";
        ssm.hold();
        let mut cold = LambdaFunction::start(s.function, &s.env).await.unwrap();
        let answer = s.ask(&cold, SHORT_DEADLINE).await;
        cells.insert(row, s.cell(answer, 0));
        ssm.open();
        still_healthy(&mut cold, &s, row).await;
    }

    let row = "deadline nearly spent";
    let before = s.upstream.requests();
    let answer = s.ask(&f, NEARLY_SPENT).await;
    let cell = s.cell(answer, s.upstream.requests() - before);
    assert_eq!(
        cell.upstream_requests, 0,
        "{}: no upstream call may start with the deadline nearly spent",
        s.column
    );
    cells.insert(row, cell);
    still_healthy(&mut f, &s, row).await;

    // TLS handshake failure: a second process told to reach the upstream with https.
    let row = "TLS handshake failure";
    let mut env: Vec<_> = s
        .env
        .iter()
        .filter(|(k, _)| k != s.upstream_var)
        .cloned()
        .collect();
    env.push((
        s.upstream_var.to_owned(),
        s.upstream.url().replace("http://", "https://"),
    ));
    let mut tls = LambdaFunction::start(s.function, &env).await.unwrap();
    let before = s.upstream.requests();
    let answer = s.ask(&tls, DEADLINE).await;
    let cell = s.cell(answer, s.upstream.requests() - before);
    assert!(
        cell.upstream_requests > 0,
        "{}: the https client reached the fault server",
        s.column
    );
    cells.insert(row, cell);
    tls.check_running()
        .unwrap_or_else(|e| panic!("{} died after a TLS failure: {e}", s.column));

    // Credentials missing: a second process of the same function with none anywhere.
    let row = "credentials missing";
    let env: Vec<_> = s
        .env
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("AWS_ACCESS_KEY")
                && !k.starts_with("AWS_SECRET")
                && k != "AWS_SESSION_TOKEN"
        })
        .cloned()
        .collect();
    let mut bare = LambdaFunction::start(s.function, &env).await.unwrap();
    let before = s.upstream.requests();
    let answer = s.ask(&bare, DEADLINE).await;
    cells.insert(row, s.cell(answer, s.upstream.requests() - before));
    bare.check_running()
        .unwrap_or_else(|e| panic!("{} died without credentials: {e}", s.column));

    f.check_running().unwrap();
    (s.column, cells)
}

/// moto's credentials and region for a function, and no catch-all endpoint: each subject
/// points the services it uses somewhere itself.
fn env_for(moto: &Moto) -> Vec<(String, String)> {
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env
}

/// Stores `parameters` under `path` in moto's SSM and starts the fault proxy in front of SSM.
/// Returns the proxy and the environment of a function that reads `path` through it, with a
/// zero cache TTL so that an SSM fault can be timed to hit a cold start or a refresh.
async fn configured(
    moto: &Moto,
    path: &str,
    parameters: &[(&str, &str, ParameterType)],
) -> (FaultProxy, Vec<(String, String)>) {
    for (key, value, kind) in parameters {
        moto.put_parameter(&format!("{path}/{key}"), value, kind.clone())
            .await
            .unwrap();
    }
    let ssm = FaultProxy::start(moto.endpoint()).await.unwrap();
    let mut env = env_for(moto);
    env.push(("AWS_ENDPOINT_URL_SSM".into(), ssm.url()));
    env.push(("APP_CONFIG_PATH".into(), path.into()));
    env.push(("CONFIG_TTL_SECONDS".into(), "0".into()));
    (ssm, env)
}

/// A Prometheus answer of `result_type` with more series than any limit allows.
fn prometheus_oversize(item: &str, result_type: &str) -> Oversize {
    Oversize {
        prefix: format!(r#"{{"status":"success","data":{{"resultType":"{result_type}","result":["#),
        item: item.into(),
        suffix: "]}}".into(),
    }
}

async fn prometheus_subject(
    function: &'static str,
    healthy: Value,
    oversize: Oversize,
    moto: &Moto,
    prometheus: &Prometheus,
) -> Subject {
    let path = format!("/faults/{function}");
    let upstream = FaultServer::start(prometheus.url(), &oversize)
        .await
        .unwrap();
    let (ssm, env) = configured(
        moto,
        &path,
        &[("prometheus/url", &upstream.url(), ParameterType::String)],
    )
    .await;
    Subject {
        column: function,
        upstream_var: "PROMETHEUS_URL",
        function,
        healthy,
        upstream,
        ssm: Some(ssm),
        env,
        tool_probe: None,
        cold_per_row: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_query() {
    let moto = Moto::start().await.unwrap();
    let prometheus = Prometheus::start().await.unwrap();
    let s = prometheus_subject(
        "prometheus-query",
        json!({"query": "up", "time": "2026-01-01T00:30:00Z"}),
        prometheus_oversize(
            r#"{"metric":{"__name__":"up","job":"node","instance":"ip-10-0-0-{n}.eu-west-1.compute.internal:9100"},"value":[1767225600,"1"]}"#,
            "vector",
        ),
        &moto,
        &prometheus,
    )
    .await;
    judge("prometheus-query", vec![run_matrix(s).await]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_range_query() {
    let moto = Moto::start().await.unwrap();
    let prometheus = Prometheus::start().await.unwrap();
    let s = prometheus_subject(
        "prometheus-range-query",
        json!({"query": "up", "start": "2026-01-01T00:10:00Z", "end": "2026-01-01T00:20:00Z", "step": "1m"}),
        prometheus_oversize(
            r#"{"metric":{"__name__":"up","instance":"ip-10-0-0-{n}:9100"},"values":[[1767226200,"1"],[1767226260,"1"],[1767226320,"0"]]}"#,
            "matrix",
        ),
        &moto,
        &prometheus,
    )
    .await;
    judge("prometheus-range-query", vec![run_matrix(s).await]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metadata() {
    let moto = Moto::start().await.unwrap();
    let prometheus = Prometheus::start().await.unwrap();
    let s = prometheus_subject(
        "prometheus-metadata",
        json!({"action": "list_metrics"}),
        Oversize {
            prefix: r#"{"status":"success","data":["#.into(),
            item: r#""node_exporter_metric_number_{n}_total""#.into(),
            suffix: "]}".into(),
        },
        &moto,
        &prometheus,
    )
    .await;
    judge("prometheus-metadata", vec![run_matrix(s).await]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alerts() {
    let moto = Moto::start().await.unwrap();
    let prometheus = Prometheus::start().await.unwrap();
    let s = prometheus_subject(
        "prometheus-alerts",
        json!({"action": "alerts", "state": "any"}),
        Oversize {
            prefix: r#"{"status":"success","data":{"alerts":["#.into(),
            item: r#"{"labels":{"alertname":"KubePodCrashLooping","severity":"warning","namespace":"prod","pod":"api-{n}"},"annotations":{"summary":"Pod prod/api-{n} is crash looping."},"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"1e+00"}"#.into(),
            suffix: "]}}".into(),
        },
        &moto,
        &prometheus,
    )
    .await;
    judge("prometheus-alerts", vec![run_matrix(s).await]);
}

/// web-search through Brave (JSON, keyed): the production engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_search() {
    let moto = Moto::start().await.unwrap();
    let engines = SearchEngines::start().await.unwrap();
    let upstream = FaultServer::start(
        &engines.url(),
        &Oversize {
            prefix: r#"{"type":"search","web":{"type":"search","results":["#.into(),
            item: r#"{"title":"Result {n}","url":"https://example.com/{n}","description":"A result that is long enough to matter when there are very many of them."}"#.into(),
            suffix: "]}}".into(),
        },
    )
    .await
    .unwrap();
    let (ssm, env) = configured(
        &moto,
        "/faults/web-search",
        &[
            ("websearch/provider", "brave", ParameterType::String),
            ("websearch/url", &upstream.url(), ParameterType::String),
            ("websearch/api_key", API_KEY, ParameterType::SecureString),
        ],
    )
    .await;
    let s = Subject {
        column: "web-search",
        upstream_var: "WEBSEARCH_URL",
        function: "web-search",
        healthy: json!({"query": "kubernetes pod crashloopbackoff", "max_results": 3}),
        upstream,
        ssm: Some(ssm),
        env,
        tool_probe: None,
        cold_per_row: false,
    };
    judge("web-search", vec![run_matrix(s).await]);
}

/// eks-info: EKS through the SDK; it reads no configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eks_info() {
    let moto = Moto::start().await.unwrap();
    let upstream = FaultServer::start(
        moto.endpoint(),
        &Oversize {
            prefix: r#"{"clusters":["#.into(),
            // Long names (EKS allows 100 characters): fewer items to parse in a debug build.
            item: format!(r#""cluster-{{n}}-{}""#, "x".repeat(88)),
            suffix: "]}".into(),
        },
    )
    .await
    .unwrap();
    let mut env = env_for(&moto);
    env.push(("AWS_ENDPOINT_URL_EKS".into(), upstream.url()));
    let s = Subject {
        column: "eks-info",
        upstream_var: "AWS_ENDPOINT_URL_EKS",
        function: "eks-info",
        healthy: json!({"action": "list_clusters"}),
        upstream,
        ssm: None,
        env,
        tool_probe: None,
        cold_per_row: false,
    };
    judge("eks-info", vec![run_matrix(s).await]);
}

/// cloudwatch: CloudWatch Logs (moto's DescribeLogGroups, awsJson1_1) through the fault
/// server; the other actions go through the same `call` and error mapping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch() {
    let moto = Moto::start().await.unwrap();
    let upstream = FaultServer::start(
        moto.endpoint(),
        &Oversize {
            prefix: r#"{"logGroups":["#.into(),
            item: format!(
                r#"{{"logGroupName":"/aws/containerinsights/prod-eu/group-{{n}}-{}","storedBytes":1}}"#,
                "x".repeat(60)
            ),
            suffix: "]}".into(),
        },
    )
    .await
    .unwrap();
    let mut env = env_for(&moto);
    env.push(("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS".into(), upstream.url()));
    let s = Subject {
        column: "cloudwatch",
        upstream_var: "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        function: "cloudwatch",
        healthy: json!({"action": "log_groups"}),
        upstream,
        ssm: None,
        env,
        tool_probe: None,
        cold_per_row: false,
    };
    judge("cloudwatch", vec![run_matrix(s).await]);
}

/// cloudtrail: LookupEvents (the CloudTrail double: moto has none) through the fault server.
/// The function retries a retryable failure itself, 600 ms apart, inside the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudtrail() {
    let moto = Moto::start().await.unwrap();
    let double = CloudTrailDouble::start().await.unwrap();
    let upstream = FaultServer::start(
        &double.url(),
        &Oversize {
            prefix: r#"{"Events":["#.into(),
            item: format!(
                r#"{{"EventId":"e-{{n}}","EventName":"UpdateNodegroupConfig","ReadOnly":"false","EventTime":1.7e9,"EventSource":"eks.amazonaws.com","Username":"{}"}}"#,
                "x".repeat(60)
            ),
            suffix: "]}".into(),
        },
    )
    .await
    .unwrap();
    let mut env = env_for(&moto);
    env.push(("AWS_ENDPOINT_URL_CLOUDTRAIL".into(), upstream.url()));
    let s = Subject {
        column: "cloudtrail",
        upstream_var: "AWS_ENDPOINT_URL_CLOUDTRAIL",
        function: "cloudtrail",
        healthy: json!({"action": "changes"}),
        upstream,
        ssm: None,
        env,
        tool_probe: None,
        cold_per_row: false,
    };
    judge("cloudtrail", vec![run_matrix(s).await]);
}

/// runbooks: S3 (moto, holding the sample runbooks) through the fault server, read with the
/// function's signed REST calls; its bucket from SSM with a zero cache lifetime, so the
/// catalogue `list` answers from is read again for every row, as configuration is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbooks() {
    let moto = Moto::start().await.unwrap();
    moto.seed_runbooks(RUNBOOKS_BUCKET).await.unwrap();
    let upstream = FaultServer::start(
        moto.endpoint(),
        &Oversize {
            prefix: format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{RUNBOOKS_BUCKET}</Name><Prefix>runbooks/</Prefix><IsTruncated>false</IsTruncated>"#
            ),
            item: r#"<Contents><Key>runbooks/generated/runbook-{n}.md</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><Size>1</Size></Contents>"#.into(),
            suffix: "</ListBucketResult>".into(),
        },
    )
    .await
    .unwrap();
    let (ssm, mut env) = configured(
        &moto,
        "/faults/runbooks",
        &[("runbooks/bucket", RUNBOOKS_BUCKET, ParameterType::String)],
    )
    .await;
    env.push(("AWS_ENDPOINT_URL_S3".into(), upstream.url()));
    let s = Subject {
        column: "runbooks",
        upstream_var: "AWS_ENDPOINT_URL_S3",
        function: "runbooks",
        healthy: json!({"action": "list"}),
        upstream,
        ssm: Some(ssm),
        env,
        tool_probe: None,
        cold_per_row: false,
    };
    judge("runbooks", vec![run_matrix(s).await]);
}

/// k8s-info: EKS (DescribeCluster, once per process: each row starts a new one) in front of
/// the Kubernetes API double; the API server's own failures (401, 403, 410, an unreachable
/// endpoint, a certificate from another CA) are in `tests/k8s_info.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k8s_info() {
    let (moto, _) = Moto::start_seeded().await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    let api = KubernetesApi::start("prod-eu", integration_tests::moto::REGION).unwrap();
    point_cluster_at(&proxy, "prod-eu", api.url(), &api.ca_base64());
    let upstream = FaultServer::start(
        &proxy.url(),
        &Oversize {
            prefix: format!(
                r#"{{"cluster":{{"name":"prod-eu","status":"ACTIVE","endpoint":"{}","certificateAuthority":{{"data":"{}"}},"tags":{{"#,
                api.url(),
                api.ca_base64()
            ),
            item: r#""team-{n}":"a tag value long enough to make the answer big""#.into(),
            suffix: "}}}".into(),
        },
    )
    .await
    .unwrap();
    let mut env = env_for(&moto);
    env.push(("AWS_ENDPOINT_URL_EKS".into(), upstream.url()));
    let s = Subject {
        column: "k8s-info",
        upstream_var: "AWS_ENDPOINT_URL_EKS",
        function: "k8s-info",
        healthy: json!({"action": "list_nodes", "cluster_name": "prod-eu"}),
        upstream,
        ssm: None,
        env,
        tool_probe: None,
        cold_per_row: true,
    };
    judge("k8s-info", vec![run_matrix(s).await]);
}

/// The agent has three neighbours, each a column: Bedrock, its tool Lambdas and its sessions
/// table. They share one moto and run side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent() {
    let moto = Moto::start().await.unwrap();
    let engines = SearchEngines::start().await.unwrap();
    let converse = ConverseDouble::start().await.unwrap();
    converse.fall_back_to(text("All good.", "end_turn"));
    let mut subjects = Vec::new();

    // Bedrock Converse through the SDK; tools are not called (the model answers).
    {
        let upstream = FaultServer::start(
            &converse.url(),
            &Oversize {
                prefix: r#"{"output":{"message":{"role":"assistant","content":["#.into(),
                item: r#"{"text":"Paragraph {n} of an answer that never ends. "}"#.into(),
                suffix: r#"]}},"stopReason":"end_turn","usage":{"inputTokens":10,"outputTokens":10,"totalTokens":20},"metrics":{"latencyMs":1}}"#.into(),
            },
        )
        .await
        .unwrap();
        let (ssm, mut env) = configured(
            &moto,
            "/faults/agent",
            &[("model/id", MODEL, ParameterType::String)],
        )
        .await;
        env.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(), upstream.url()));
        subjects.push(Subject {
            column: "agent",
            upstream_var: "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
            function: "agent",
            healthy: json!({"prompt": "Is the cluster fine?"}),
            upstream,
            ssm: Some(ssm),
            env,
            tool_probe: None,
            cold_per_row: false,
        });
    }

    // Its tool Lambdas (the Invoke API of `cargo lambda watch` running web-search): each
    // request, the model asks for one web search; the cell is what the model was told.
    let watch = CargoLambdaWatch::start(&[
        ("WEBSEARCH_URL".to_owned(), engines.url()),
        ("AWS_LAMBDA_LOG_LEVEL".to_owned(), "warn".to_owned()),
    ])
    .await
    .unwrap();
    // Its first invocation of a function builds and starts it: not part of any row.
    watch.warm(&["web-search"]).await.unwrap();
    {
        let upstream = FaultServer::start(
            &watch.url(),
            &Oversize {
                prefix: r#"{"provider":"brave","results":["#.into(),
                item: r#"{"rank":{n},"title":"Result","url":"https://example.com/","snippet":"A result."}"#.into(),
                suffix: "]}".into(),
            },
        )
        .await
        .unwrap();
        let (ssm, mut env) = configured(
            &moto,
            "/faults/agent-tools",
            &[
                ("model/id", MODEL, ParameterType::String),
                // A tool call that hangs must leave the model time to answer.
                ("agent/tool_timeout_seconds", "1", ParameterType::String),
            ],
        )
        .await;
        let probe = ConverseDouble::start().await.unwrap();
        env.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(), probe.url()));
        env.push(("AWS_ENDPOINT_URL_LAMBDA".into(), upstream.url()));
        subjects.push(Subject {
            column: "agent → tool Lambda",
            upstream_var: "AWS_ENDPOINT_URL_LAMBDA",
            function: "agent",
            healthy: json!({"prompt": "How do I upgrade EKS?"}),
            upstream,
            ssm: Some(ssm),
            env,
            tool_probe: Some(probe),
            cold_per_row: false,
        });
    }

    // Its sessions table (DynamoDB in moto).
    {
        moto.create_sessions_table("fault-sessions").await.unwrap();
        let upstream = FaultServer::start(
            moto.endpoint(),
            &Oversize {
                prefix: r#"{"Item":{"session_id":{"S":"fault-matrix"},"version":{"N":"1"},"history":{"L":["#.into(),
                item: r#"{"S":"message {n} of a history nobody could have stored"}"#.into(),
                suffix: "]}}}".into(),
            },
        )
        .await
        .unwrap();
        let (ssm, mut env) = configured(
            &moto,
            "/faults/agent-sessions",
            &[
                ("model/id", MODEL, ParameterType::String),
                (
                    "agent/sessions_table",
                    "fault-sessions",
                    ParameterType::String,
                ),
            ],
        )
        .await;
        env.push(("AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(), converse.url()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), upstream.url()));
        subjects.push(Subject {
            column: "agent → sessions",
            upstream_var: "AWS_ENDPOINT_URL_DYNAMODB",
            function: "agent",
            healthy: json!({"prompt": "Is the cluster fine?", "session_id": "fault-matrix"}),
            upstream,
            ssm: Some(ssm),
            env,
            tool_probe: None,
            cold_per_row: false,
        });
    }

    let results = futures_util::future::join_all(subjects.into_iter().map(run_matrix)).await;
    drop(watch);
    judge("agent", results);
}

/// Every function in [`FAULT_MATRIX_FUNCTIONS`] (which `tests/tool_pieces.rs` checks the
/// registered tools against) has its test in this file, named after it.
#[test]
fn every_listed_function_has_its_test() {
    let source = include_str!("faults.rs");
    for function in FAULT_MATRIX_FUNCTIONS {
        let test = format!("async fn {}()", function.replace('-', "_"));
        assert!(
            source.contains(&test),
            "{function} is in FAULT_MATRIX_FUNCTIONS but tests/faults.rs has no `{test}`"
        );
    }
}

/// Compares `function`'s columns with what each row must produce, prints its table and
/// writes it to `target/artifacts/fault-matrix/<function>.md`; fails naming every cell that
/// differs.
fn judge(function: &str, results: Vec<(&'static str, BTreeMap<&'static str, Cell>)>) {
    let mut table = String::from("| fault |");
    for (column, _) in &results {
        write!(table, " {column} |").unwrap();
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(results.len()));
    let mut mismatches = Vec::new();
    for row in ROWS {
        write!(table, "\n| {row} |").unwrap();
        for (column, cells) in &results {
            let want = expected(column, row);
            match (cells.get(row), want) {
                (None, None) => table.push_str(" n/a |"),
                (Some(cell), want) => {
                    write!(table, " {} |", cell.short()).unwrap();
                    let got = (cell.code.as_str(), cell.retryable);
                    if want != Some(got) {
                        mismatches.push(format!(
                            "{column} / {row}: got {got:?} ({}), want {want:?}",
                            cell.detail
                        ));
                    }
                    // k8s-info's oversized answer is EKS describing the cluster (its tags),
                    // not the list it returns: nothing of it is cut.
                    if got.0 == "ok"
                        && row.starts_with("oversized")
                        && cell.detail != "truncated"
                        && *column != "k8s-info"
                    {
                        mismatches.push(format!("{column} / {row}: not marked truncated"));
                    }
                    if cell.elapsed >= cell.deadline {
                        mismatches.push(format!(
                            "{column} / {row}: answered after {:?}, past its deadline",
                            cell.elapsed
                        ));
                    }
                }
                (None, Some(want)) => {
                    mismatches.push(format!("{column} / {row}: not run, want {want:?}"))
                }
            }
        }
    }
    table.push_str(
        "\n\nEach cell: envelope code (or ok), `r` if retryable / `-` if not, time to answer.\n",
    );
    println!("{table}");
    let artifacts = integration_tests::workspace_root().join("target/artifacts/fault-matrix");
    let _ = std::fs::create_dir_all(&artifacts);
    let _ = std::fs::write(artifacts.join(format!("{function}.md")), &table);
    assert!(
        mismatches.is_empty(),
        "{}\n\n{table}",
        mismatches.join("\n")
    );
}
