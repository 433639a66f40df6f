//! A function binary run against a Lambda Runtime API served here.
//!
//! The server implements the Runtime API that `lambda_runtime` speaks in AWS:
//! `GET /2018-06-01/runtime/invocation/next` hands out one queued event with its
//! `Lambda-Runtime-*` headers (request id, deadline, function ARN, trace id, client
//! context), and `POST …/{id}/response` or `…/{id}/error` completes it. Tests choose the
//! deadline and the client context per invocation, which the AWS service would not let them.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::{Notify, oneshot};

use crate::{Result, process::ServerProcess, profile_dir};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function posted a response (our functions always do, errors included).
    Response(Value),
    /// The function posted a Lambda function error (`/error`): never expected from ours.
    FunctionError(Value),
}

impl Outcome {
    /// The response, or a panic naming the function error (for tests).
    pub fn response(self) -> Value {
        match self {
            Self::Response(v) => v,
            Self::FunctionError(e) => panic!("expected a response, got a function error: {e}"),
        }
    }
}

/// Lambda's limit on a buffered response, in bytes (6 MB as Lambda counts it).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Per-invocation options.
#[derive(Debug, Clone)]
pub struct Invoke {
    /// Time until the deadline sent as `Lambda-Runtime-Deadline-Ms`.
    pub deadline_in: Duration,
    /// `Lambda-Runtime-Client-Context` (JSON), e.g. AgentCore Gateway's tool name.
    pub client_context: Option<Value>,
    /// How long the test waits for the answer.
    pub wait: Duration,
}

impl Default for Invoke {
    fn default() -> Self {
        Self {
            deadline_in: Duration::from_secs(30),
            client_context: None,
            wait: Duration::from_secs(60),
        }
    }
}

struct Pending {
    id: String,
    body: Bytes,
    deadline_ms: u64,
    client_context: Option<String>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    polls: AtomicU64,
    init_error: Mutex<Option<String>>,
    /// Every answer posted, as sent, for the suite's secrets scan ([`crate::canary`]).
    answers: Mutex<String>,
}

/// A Runtime API server on a free loopback port.
pub struct RuntimeApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    next_id: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the server.
    pub async fn start() -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // Bodies past Lambda's limit must reach the handler to be refused the way
            // Lambda refuses them (axum's own default would cut them at 2 MB).
            .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
            .with_state(shared.clone());
        let (addr, server) = crate::serve_loopback(app).await?;
        Ok(Self {
            shared,
            addr,
            next_id: AtomicU64::new(1),
            server,
        })
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event and waits for the function's answer.
    pub async fn invoke(&self, event: &[u8], options: &Invoke) -> Result<Outcome> {
        self.enqueue(event, options)?.wait(options.wait).await
    }

    /// Queues an event; the answer arrives through the returned handle.
    pub fn enqueue(&self, event: &[u8], options: &Invoke) -> Result<PendingAnswer> {
        let id = format!("req-{:04}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        let deadline = SystemTime::now() + options.deadline_in;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH)?.as_millis() as u64;
        self.shared.queue.lock().unwrap().push_back(Pending {
            id: id.clone(),
            body: Bytes::copy_from_slice(event),
            deadline_ms,
            client_context: options.client_context.as_ref().map(Value::to_string),
        });
        self.shared.queued.notify_one();
        Ok(PendingAnswer {
            id,
            rx,
            shared: self.shared.clone(),
        })
    }

    /// How many times the function has polled for an event.
    pub fn polls(&self) -> u64 {
        self.shared.polls.load(Ordering::Relaxed)
    }
}

/// An invocation in flight.
pub struct PendingAnswer {
    id: String,
    rx: oneshot::Receiver<Outcome>,
    shared: Arc<Shared>,
}

impl PendingAnswer {
    /// Waits up to `wait` for the function's answer.
    pub async fn wait(self, wait: Duration) -> Result<Outcome> {
        match tokio::time::timeout(wait, self.rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the runtime API dropped the invocation".into()),
            Err(_) => {
                let init = self.shared.init_error.lock().unwrap().clone();
                Err(format!(
                    "no answer to {} within {wait:?} (init error: {init:?})",
                    self.id
                )
                .into())
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        crate::canary::keep("runtime-api-answers", &self.shared.answers.lock().unwrap());
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.polls.fetch_add(1, Ordering::Relaxed);
    loop {
        // notify_one stores a permit when nobody waits, so an event queued between the
        // check and the await is not missed.
        if let Some(p) = shared.queue.lock().unwrap().pop_front() {
            let mut headers = HeaderMap::new();
            let mut put = |name: &'static str, value: &str| {
                if let Ok(v) = HeaderValue::from_str(value) {
                    headers.insert(name, v);
                }
            };
            put("lambda-runtime-aws-request-id", &p.id);
            put("lambda-runtime-deadline-ms", &p.deadline_ms.to_string());
            put(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:under-test",
            );
            put(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            );
            if let Some(cc) = &p.client_context {
                put("lambda-runtime-client-context", cc);
            }
            return (StatusCode::OK, headers, p.body).into_response();
        }
        shared.queued.notified().await;
    }
}

fn complete(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    record(&shared, &body);
    let streamed = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|m| m == "streaming");
    if !streamed && body.len() > MAX_RESPONSE_BYTES {
        // What Lambda does: the Runtime API refuses the response and the invocation fails.
        complete(
            &shared,
            &id,
            Outcome::FunctionError(serde_json::json!({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": format!("Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).", body.len()),
            })),
        );
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let outcome = if streamed {
        streamed_response(&body)
    } else {
        parse(&body)
    };
    complete(&shared, &id, Outcome::Response(outcome))
}

/// A streamed HTTP response (`application/vnd.awslambda.http-integration-response`): a JSON
/// prelude (status, headers, cookies), eight NUL bytes, then the body. Rendered like a
/// buffered HTTP answer, `{"statusCode", "headers", "body"}`, plus `"streamed": true`.
fn streamed_response(body: &Bytes) -> Value {
    let Some(split) = body.windows(8).position(|w| w == [0u8; 8]) else {
        return serde_json::json!({"streamed": true, "error": "no prelude separator",
            "raw": String::from_utf8_lossy(body)});
    };
    let prelude = parse(&body.slice(..split));
    serde_json::json!({
        "streamed": true,
        "statusCode": prelude["statusCode"],
        "headers": prelude["headers"],
        "body": String::from_utf8_lossy(&body[split + 8..]),
    })
}

async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, &body);
    complete(&shared, &id, Outcome::FunctionError(parse(&body)))
}

fn record(shared: &Shared, body: &Bytes) {
    let mut answers = shared.answers.lock().unwrap();
    // No more than is kept: a fuzz or soak run answers millions of times.
    if answers.len() < crate::canary::MAX_KEPT_BYTES {
        answers.push_str(&String::from_utf8_lossy(body));
        answers.push('\n');
    }
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    record(&shared, &body);
    *shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// A function's answers to its sample events, one per entry shape, as result objects.
#[derive(Debug)]
pub struct SampleAnswers {
    /// `direct.json`.
    pub direct: Value,
    /// `apigw-rest.json`'s body.
    pub apigw_rest: Value,
    /// `apigw-http.json`'s body.
    pub apigw_http: Value,
    /// `function-url.json`'s body.
    pub function_url: Value,
    /// `agentcore.json`, sent with `agentcore-client-context.json`.
    pub agentcore: Value,
}

/// Path of a workspace binary in the profile the tests were built with.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = profile_dir().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built: run `cargo build --workspace --bins` first",
            path.display()
        )
        .into())
    }
}

/// A function process polling its own [`RuntimeApi`].
pub struct LambdaFunction {
    api: RuntimeApi,
    process: ServerProcess,
    _dir: TempDir,
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        crate::canary::keep("function", &self.logs());
    }
}

impl LambdaFunction {
    /// Starts `binary` (a path, or a name for [`binary`]) with the Lambda environment plus
    /// `env`. The environment is otherwise empty, so nothing from the developer's shell (or
    /// real AWS credentials) leaks into a test.
    pub async fn start(binary_name: &str, env: &[(String, String)]) -> Result<Self> {
        let path = if Path::new(binary_name).is_absolute() {
            PathBuf::from(binary_name)
        } else {
            binary(binary_name)?
        };
        let api = RuntimeApi::start().await?;
        let dir = tempfile::Builder::new().prefix("lambda-").tempdir()?;
        let mut command = Command::new(&path);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env(
                "AWS_LAMBDA_FUNCTION_NAME",
                binary_name.rsplit('/').next().unwrap_or(binary_name),
            )
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
            .env("AWS_REGION", "us-east-1")
            // Tests talk to loopback only: no credentials or region chain may reach for the
            // instance metadata address.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().map(|(k, v)| (k, v)));
        let process =
            ServerProcess::spawn(binary_name, &mut command, &dir.path().join("function.log"))?;
        Ok(Self {
            api,
            process,
            _dir: dir,
        })
    }

    /// Invokes with a JSON event and default options.
    pub async fn invoke(&self, event: &Value) -> Result<Outcome> {
        self.invoke_with(event.to_string().as_bytes(), &Invoke::default())
            .await
    }

    /// Invokes with raw event bytes and options.
    pub async fn invoke_with(&self, event: &[u8], options: &Invoke) -> Result<Outcome> {
        self.api.invoke(event, options).await
    }

    /// Invokes `events/<function>/agentcore.json` with the client context AgentCore Gateway
    /// sends (`agentcore-client-context.json` beside it).
    pub async fn invoke_agentcore_sample(&self, function: &str) -> Result<Outcome> {
        let options = Invoke {
            client_context: Some(crate::sample_event(
                function,
                "agentcore-client-context.json",
            )),
            ..Invoke::default()
        };
        self.invoke_with(
            crate::sample_event(function, "agentcore.json")
                .to_string()
                .as_bytes(),
            &options,
        )
        .await
    }

    /// Invokes every sample event of `events/<function>/` (one per entry shape) and returns
    /// each answer as its result object: an HTTP answer must be a 200 with a JSON body. The
    /// one way each function's test sends its samples, so a sample cannot go untested.
    pub async fn answer_every_sample_event(&self, function: &str) -> SampleAnswers {
        let answer = |file: &'static str| async move {
            let event = crate::sample_event(function, file);
            self.invoke(&event)
                .await
                .unwrap_or_else(|e| panic!("events/{function}/{file}: {e}"))
                .response()
        };
        let http = |answer: Value, file: &str| {
            assert_eq!(
                answer["statusCode"], 200,
                "events/{function}/{file}: {answer}"
            );
            let body = answer["body"].as_str().unwrap_or_default();
            serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("events/{function}/{file}: {e}: {body}"))
        };
        SampleAnswers {
            direct: answer("direct.json").await,
            apigw_rest: http(answer("apigw-rest.json").await, "apigw-rest.json"),
            apigw_http: http(answer("apigw-http.json").await, "apigw-http.json"),
            function_url: http(answer("function-url.json").await, "function-url.json"),
            agentcore: self
                .invoke_agentcore_sample(function)
                .await
                .unwrap_or_else(|e| panic!("events/{function}/agentcore.json: {e}"))
                .response(),
        }
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// The function's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Fails if the function process has exited (it should live across invocations).
    pub fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid())
    }

    /// Runtime API polls so far.
    pub fn polls(&self) -> u64 {
        self.api.polls()
    }
}

/// `VmHWM` of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Time from spawning `binary` to its first answer through the Runtime API, and its peak
/// RSS at that moment. The event is queued before the process starts, as in a cold start.
pub async fn cold_start(
    binary: &Path,
    event: &Value,
    env: &[(String, String)],
) -> Result<(Duration, u64)> {
    let api = RuntimeApi::start().await?;
    let dir = tempfile::Builder::new().prefix("coldstart-").tempdir()?;
    // Queued before the process exists, as Lambda holds the event during a cold start.
    let answer = api.enqueue(event.to_string().as_bytes(), &Invoke::default())?;
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        // Tests talk to loopback only: no credentials or region chain may reach for the
        // instance metadata address.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (k, v)));
    let started = Instant::now();
    let process =
        ServerProcess::spawn("coldstart", &mut command, &dir.path().join("function.log"))?;
    let outcome = answer.wait(Duration::from_secs(20)).await?;
    let elapsed = started.elapsed();
    let rss = peak_rss_kib(process.pid()).unwrap_or(0);
    drop(process);
    match outcome {
        Outcome::Response(_) => Ok((elapsed, rss)),
        Outcome::FunctionError(e) => Err(format!("function error: {e}").into()),
    }
}

/// Cold-start and warm timings of one function answering one event, for the measurement
/// scripts (never asserted on in tests).
#[derive(Debug, Clone)]
pub struct Timings {
    /// Process start to first answer, one process per run, sorted.
    pub cold: Vec<Duration>,
    /// One invocation of a warm process, sorted.
    pub warm: Vec<Duration>,
    /// The warm process's peak RSS after all runs, in KiB.
    pub peak_rss_kib: u64,
}

impl Timings {
    /// Measures `cold_runs` cold starts, then `warm_runs` invocations of one process (after
    /// one unmeasured warm-up invocation).
    pub async fn measure(
        binary: &Path,
        event: &Value,
        env: &[(String, String)],
        cold_runs: usize,
        warm_runs: usize,
    ) -> Result<Self> {
        let mut cold = Vec::with_capacity(cold_runs);
        for _ in 0..cold_runs {
            cold.push(cold_start(binary, event, env).await?.0);
        }
        cold.sort();
        let f = LambdaFunction::start(binary.to_str().ok_or("binary path")?, env).await?;
        f.invoke(event).await?.response();
        let mut warm = Vec::with_capacity(warm_runs);
        for _ in 0..warm_runs {
            let started = Instant::now();
            f.invoke(event).await?.response();
            warm.push(started.elapsed());
        }
        warm.sort();
        Ok(Self {
            cold,
            warm,
            peak_rss_kib: f.peak_rss_kib().unwrap_or(0),
        })
    }

    /// The `p`th percentile of sorted `samples`, in milliseconds.
    pub fn ms(samples: &[Duration], p: usize) -> f64 {
        samples
            .get((samples.len() * p / 100).min(samples.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }
}
