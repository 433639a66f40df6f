//! The local test stack: real servers on loopback that the functions are tested against.
//!
//! * [`prometheus::Prometheus`]: Debian's `prometheus`, with its own config, port and data
//!   directory, holding a deterministic data set backfilled with `promtool` (see
//!   [`prometheus::dataset`] for the exact series and values); with
//!   [`prometheus::Prometheus::start_alerting`] it also evaluates `stack/rules.yml`.
//! * [`alertmanager::Alertmanager`]: Debian's `prometheus-alertmanager`, receiving those
//!   rules' alerts, with silences and injected alerts set up through its API v2.
//! * [`moto::Moto`]: moto's server for SSM, EKS, AMP, STS and DynamoDB, seeded with
//!   clusters and workspaces by `stack/seed_moto.py`.
//! * [`lambda::LambdaFunction`]: a function binary run against a Lambda Runtime API served
//!   here, so every test goes through the real runtime protocol (`lambda_runtime` polls
//!   `/invocation/next` and posts its answer) with control over deadline and client context.
//! * [`verifier::SigV4Verifier`]: botocore recomputing every SigV4 signature, optionally
//!   forwarding verified requests to Prometheus (an AMP stand-in).
//! * [`proxy::FaultProxy`]: an HTTP proxy in front of any of them that counts requests and
//!   can fail, hold or pass them, for cache and fault tests, or answer chosen requests
//!   itself: [`eks`] uses that for the EKS add-on APIs moto lacks.
//! * [`bedrock::ConverseDouble`]: Bedrock's Converse API, scripted per test.
//! * [`watch::CargoLambdaWatch`]: `cargo lambda watch`, the Lambda Invoke API running the
//!   workspace's function binaries.
//! * [`search::SearchEngines`]: DuckDuckGo, Brave, Tavily and SearXNG on loopback, each in
//!   its own wire format, serving realistic pages and answers from `fixtures/web-search/`.
//! * [`k8s::KubernetesApi`]: an EKS cluster's Kubernetes API server over TLS (a test CA per
//!   start), taking only EKS IAM tokens checked with botocore, serving a broken cluster from
//!   `stack/k8s_fixtures.json`; [`eks::point_cluster_at`] makes moto's DescribeCluster name it.
//! * [`cloudwatch::CloudWatchDouble`]: the CloudWatch API in Smithy RPCv2 CBOR (which moto
//!   cannot serve) and CloudWatch Logs, in front of moto, with the alarm history, composite
//!   alarms and scripted Logs Insights queries moto lacks; seeded with a broken EKS workload's
//!   logs, alarms and metrics.
//!
//! Every server binds 127.0.0.1 on a free port and is stopped by PID when its handle drops,
//! so a failing test still cleans up; children also get `PR_SET_PDEATHSIG`, so they die
//! with the test process even if it is killed.
//!
//! The Python parts run from the venv that `scripts/test.sh` installs under
//! `target/stack-venv` (or `$TEST_STACK_VENV`).

pub mod alertmanager;
pub mod bedrock;
pub mod browser;
pub mod canary;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod eks;
pub mod fault;
pub mod investigator;
pub mod k8s;
pub mod lambda;
pub mod local_stack;
pub mod moto;
pub mod process;
pub mod prometheus;
pub mod proxy;
pub mod search;
pub mod verifier;
pub mod watch;

use std::path::PathBuf;

/// Crates under `crates/` with a binary that are not Lambdas, so in no template function and
/// no zip: `cli` is `devops-agent`, the terminal client an operator runs on their own machine
/// (`tests/template.rs`, `tests/tool_pieces.rs` and `scripts/build-zips.sh` skip it).
pub const NOT_LAMBDAS: [&str; 1] = ["cli"];

/// Lambda crates that are not tools (no entry in `common::tools::ALL`, no AgentCore events):
/// the agent, which calls the tools, and the MCP server, which serves them
/// (`tests/tool_pieces.rs`, `tests/template.rs`).
pub const NON_TOOL_LAMBDAS: [&str; 2] = ["agent", "mcp-server"];

/// Errors of the stack itself (a server that would not start): tests fail with the text.
pub type StackError = Box<dyn std::error::Error + Send + Sync>;

/// Result of stack operations.
pub type Result<T> = std::result::Result<T, StackError>;

/// A reqwest client for talking to the stack: the functions' own (`common::http::client`).
pub fn http_client() -> reqwest::Client {
    common::http::client("integration-tests").expect("the HTTP client builds")
}

/// Serves `app` on a free loopback port; the task stops when the handle is aborted or the
/// runtime ends.
pub async fn serve_loopback(
    app: axum::Router,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, server))
}

/// Headers that describe one hop's connection, not the message: never relayed.
const HOP_BY_HOP: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// Sends a request received by a stand-in (the fault proxy, the fault server) on to the real
/// server at `upstream` (a base URL; `target` is the path and query), and returns its answer
/// with the hop-by-hop headers left out both ways; `None` if the upstream could not be reached.
pub async fn relay(
    client: &reqwest::Client,
    upstream: &str,
    method: reqwest::Method,
    target: &str,
    mut headers: reqwest::header::HeaderMap,
    body: impl Into<reqwest::Body>,
) -> Option<(
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    axum::body::Bytes,
)> {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let response = client
        .request(method, format!("{upstream}{target}"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status();
    let mut answer_headers = response.headers().clone();
    for name in HOP_BY_HOP {
        answer_headers.remove(name);
    }
    let bytes = response.bytes().await.unwrap_or_default();
    Some((status, answer_headers, bytes))
}

/// A server answering every request with `status` and `body` (an upstream that throttles,
/// fails or sends garbage); returns its base URL.
pub async fn answering(status: u16, body: &'static str) -> Result<String> {
    let status = axum::http::StatusCode::from_u16(status)?;
    let app = axum::Router::new().fallback(move || async move { (status, body) });
    let (addr, _server) = serve_loopback(app).await?;
    Ok(format!("http://{addr}"))
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The Cargo profile directory the tests were built into (`target/debug`).
pub fn profile_dir() -> PathBuf {
    // Test binaries live in <target>/<profile>/deps/.
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(|deps| deps.parent())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| workspace_root().join("target/debug"))
}

/// The venv with moto, botocore and cargo-lambda.
pub fn venv() -> Result<PathBuf> {
    let venv = std::env::var_os("TEST_STACK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/stack-venv"));
    if venv.join("bin/python").exists() {
        Ok(venv)
    } else {
        Err(format!(
            "the test stack is not installed ({} has no bin/python): run `make test`, which installs it",
            venv.display()
        )
        .into())
    }
}

/// A sample event, `events/<function>/<name>` (tests use them, so they stay true).
pub fn sample_event(function: &str, name: &str) -> serde_json::Value {
    let path = workspace_root().join("events").join(function).join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file of `tests/stack/`.
pub fn stack_file(name: &str) -> PathBuf {
    workspace_root().join("tests/stack").join(name)
}

/// Runs `handler` on a JSON `input` as the entry adapter would (deserialise, then handle),
/// with `deadline` left, and returns the output as JSON. A deserialisation error becomes
/// `INVALID_INPUT` with serde's message, as in the adapter. It is [`handle_by`] with
/// `Deadline::after(deadline)`.
pub async fn handle<H: common::Handler>(
    handler: &H,
    input: serde_json::Value,
    deadline: std::time::Duration,
) -> std::result::Result<serde_json::Value, common::ToolError> {
    handle_by(handler, input, common::Deadline::after(deadline)).await
}

/// [`handle`] with the [`common::Deadline`] itself, made by the caller, for tests that check
/// the answer came before the deadline the function was given: create the deadline, call,
/// then assert `deadline.remaining() > Duration::ZERO` (`remaining` is zero once it has
/// passed). Timing the call from an `Instant` of the test's own would measure from a
/// different moment than the function's deadline.
pub async fn handle_by<H: common::Handler>(
    handler: &H,
    input: serde_json::Value,
    deadline: common::Deadline,
) -> std::result::Result<serde_json::Value, common::ToolError> {
    let input = serde_json::from_value(input)
        .map_err(|e| common::ToolError::invalid_input(e.to_string()))?;
    let out = handler
        .handle(input, &common::Invocation::local(deadline))
        .await?;
    serde_json::to_value(out).map_err(|_| common::ToolError::internal("unserialisable output"))
}
