//! One handler, three entry shapes (docs/contract.md §1), told apart by the event itself.
//!
//! | shape | recognised by | arguments | answer |
//! |---|---|---|---|
//! | direct (Invoke API, `cargo lambda invoke`, AgentCore Gateway) | an object without `requestContext` | the event | the result object or the error envelope |
//! | API Gateway REST (v1) | `requestContext` + `httpMethod` | JSON body (POST, base64 decoded) or query string (GET) | an HTTP response whose body is the object above |
//! | HTTP API (v2), Function URL | `requestContext` + `routeKey`/`rawPath` | as v1 | as v1 |
//!
//! A function implements [`Handler`] for its typed input and output; [`dispatch`] does the
//! rest: shape detection, body decoding, strict deserialisation (an unknown field is an
//! error, never a silent default), the AgentCore tool-name check, panic containment, the
//! response budget and the answer in the caller's shape. The input types are expected to use
//! `#[serde(deny_unknown_fields)]`; numbers in GET query strings are parsed into the field's
//! type, so `?max_results=5` works like `{"max_results": 5}`.
//!
//! A payload that is not JSON at all (Lambda's Invoke API refuses those, emulators may not)
//! and an HTTP body that is not JSON are both answered with `INVALID_INPUT`.

use std::{future::Future, panic::AssertUnwindSafe, time::Instant};

use futures_util::FutureExt;
use lambda_runtime::{Context, LambdaInvocation};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value, value::RawValue};

use crate::{
    caller::Caller,
    deadline::{ANSWER_RESERVE, Deadline},
    error::{ErrorCode, ToolError},
    telemetry,
};

/// Largest request body accepted from an HTTP caller, after base64 decoding. Every input in
/// the contract fits in a few tens of kilobytes (the largest is a 10,000-character prompt).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Largest response we hand to the runtime. Lambda refuses synchronous responses over 6 MB;
/// tools aim for a 5 MB budget themselves, this is the last guard.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 - 16 * 1024;

/// The key AgentCore Gateway puts in the client context's `custom` map: `<target>___<tool>`.
pub const AGENTCORE_TOOL_NAME_KEY: &str = "bedrockAgentCoreToolName";

/// The key of the stand-in event for a payload that was not JSON (see [`NotJsonGuard`]); a NUL
/// keeps it out of any real input.
const NOT_JSON_MARKER: &str = "\u{0}payload-is-not-json";

/// Replaces a payload that is not JSON with an event [`dispatch`] answers with
/// `INVALID_INPUT`. Without it, `lambda_runtime` answers such a payload itself with a Lambda
/// function error (Lambda's Invoke API refuses them, but emulators and other callers of the
/// Runtime API may not).
#[derive(Clone)]
pub(crate) struct NotJsonGuard<S>(pub(crate) S);

impl<S> lambda_runtime::tower::Service<LambdaInvocation> for NotJsonGuard<S>
where
    S: lambda_runtime::tower::Service<LambdaInvocation>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.body) {
            let marker = serde_json::json!({ NOT_JSON_MARKER: e.to_string() });
            invocation.body = marker.to_string().into_bytes().into();
        }
        self.0.call(invocation)
    }
}

/// Why the payload was not JSON, when `event` is the stand-in [`NotJsonGuard`] put in its
/// place; for a function that reads events itself (the MCP server answers a parse error).
pub fn not_json(event: &Value) -> Option<&str> {
    event.get(NOT_JSON_MARKER).and_then(Value::as_str)
}

/// A function's domain logic with typed input and output.
pub trait Handler: Send + Sync {
    /// The tool name, as the agent and AgentCore Gateway call it (e.g. `prometheus_query`).
    /// `-` and `_` are interchangeable when a caller names it.
    const NAME: &'static str;
    /// The arguments; should be `#[serde(deny_unknown_fields)]`.
    type Input: DeserializeOwned + Send;
    /// The result object.
    type Output: Serialize + Send;

    /// Answers one invocation.
    fn handle(
        &self,
        input: Self::Input,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// How the event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Lambda Invoke API, `cargo lambda invoke`, AgentCore Gateway.
    Direct,
    /// API Gateway REST API proxy integration (payload format 1.0).
    ApiGatewayRest,
    /// API Gateway HTTP API (payload format 2.0) or a Lambda Function URL.
    HttpApi,
}

impl Shape {
    /// Short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::ApiGatewayRest => "apigw-rest",
            Self::HttpApi => "http-api",
        }
    }
}

/// What a handler knows about the invocation besides its input.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's request id, echoed in error envelopes.
    pub request_id: String,
    /// When the function must have answered; see [`Deadline::budget`].
    pub deadline: Deadline,
    /// The entry shape the event came in.
    pub shape: Shape,
    /// Who is asking, as the entry shape proves it ([`crate::caller`]).
    pub caller: Caller,
}

impl Invocation {
    /// An invocation for calling a handler outside Lambda (tests, benches): a direct invoke
    /// with no declared caller.
    pub fn local(deadline: Deadline) -> Self {
        Self {
            request_id: "local".to_owned(),
            deadline,
            shape: Shape::Direct,
            caller: Caller::Direct,
        }
    }
}

/// Where the arguments are.
enum Arguments {
    /// A JSON object (the direct event, or the parsed body).
    Json(Value),
    /// A POST body, not parsed yet.
    Body(Vec<u8>),
    /// A URL-encoded query string (GET).
    Query(String),
}

/// Answers one Lambda event in the caller's shape: the result object or the error envelope
/// for a direct invoke, an HTTP response around it for API Gateway and Function URLs. Never
/// fails and never panics: a panic in the handler becomes an `INTERNAL` envelope.
pub async fn dispatch<H: Handler>(handler: &H, event: Value, context: &Context) -> Box<RawValue> {
    handle_event(handler, event, context, |invocation, outcome| {
        render(invocation.shape, &invocation.request_id, outcome)
    })
    .await
}

/// The one pipeline every event goes through, whatever carries the answer back: shape
/// detection and strict decoding, the AgentCore tool-name check, the handler under the
/// deadline net with panics contained, then `respond`, and the log line and EMF record of how
/// it ended. `respond` turns the outcome into the answer ([`dispatch`]: JSON in the caller's
/// shape; the agent's Function URL: an HTTP or event-stream body) and gives back the error it
/// answered with, if any, for the report: rendering can fail a result that did not fit.
pub async fn handle_event<H, A>(
    handler: &H,
    event: Value,
    context: &Context,
    respond: impl FnOnce(&Invocation, Result<H::Output, ToolError>) -> (A, Option<ToolError>),
) -> A
where
    H: Handler,
{
    let started = Instant::now();
    let deadline = Deadline::from_epoch_millis(context.deadline);
    tracing::debug!(
        deadline_ms = context.deadline,
        remaining_ms = deadline.remaining().as_millis() as u64,
        "invocation received"
    );
    // Read before `classify` takes the event apart; an event with `requestContext` is an HTTP
    // one (or refused by `classify`).
    let caller = match &event {
        Value::Object(http) if http.contains_key("requestContext") => {
            Ok(Caller::of_http_event(http))
        }
        _ => Caller::of_direct_invoke(context),
    };
    let (shape, arguments) = classify(event);
    let invocation = Invocation {
        request_id: context.request_id.clone(),
        deadline,
        shape,
        caller: caller.clone().unwrap_or(Caller::Direct),
    };
    let input = arguments
        .and_then(|args| caller.map(|_| args))
        .and_then(|args| check_tool_name::<H>(context).map(|()| args))
        .and_then(decode::<H::Input>);
    let outcome = match input {
        Ok(input) => run(handler, input, &invocation).await,
        Err(e) => Err(e),
    };
    let (answer, error) = respond(&invocation, outcome);
    report(H::NAME, shape.as_str(), started, error.as_ref());
    answer
}

/// Logs how an invocation ended and writes its EMF record (`Invocations`, `Errors`,
/// `Duration` by `Function`). [`handle_event`] calls it for every event; a function that
/// answers HTTP events itself (the MCP server) calls it once per event, so every function
/// shows on the dashboard alike.
pub fn report(function: &str, shape: &str, started: Instant, error: Option<&ToolError>) {
    let elapsed = started.elapsed();
    match error {
        None => tracing::info!(
            function,
            shape,
            duration_ms = elapsed.as_millis() as u64,
            "answered"
        ),
        Some(e) => tracing::warn!(
            function,
            shape,
            duration_ms = elapsed.as_millis() as u64,
            code = e.code.as_str(),
            retryable = e.retryable,
            error = %e.message,
            "answered with an error"
        ),
    }
    telemetry::Metrics::new("DevOpsAgent")
        .dimension("Function", function.to_owned())
        .count("Invocations", 1)
        .count("Errors", u64::from(error.is_some()))
        .milliseconds("Duration", elapsed)
        .emit();
}

async fn run<H: Handler>(
    handler: &H,
    input: H::Input,
    invocation: &Invocation,
) -> Result<H::Output, ToolError> {
    // Type-erased and boxed: a handler's future nests SDK and HTTP futures so deeply that the
    // runtime's future type would exceed the compiler's layout depth, and is large. One
    // allocation per invocation buys a small, shallow future for every function.
    let handled: std::pin::Pin<Box<dyn Future<Output = Result<H::Output, ToolError>> + Send + '_>> =
        Box::pin(handler.handle(input, invocation));
    guarded(H::NAME, &invocation.deadline, handled).await
}

/// Runs `work` as [`handle_event`] runs a handler: a panic becomes an `INTERNAL` error
/// (logged with `function`), and work still running half an [`ANSWER_RESERVE`] before
/// `deadline` is given up with a retryable `UPSTREAM_TIMEOUT`. For a function that takes
/// events apart itself (the MCP server) and still wants the same net.
pub async fn guarded<T>(
    function: &str,
    deadline: &Deadline,
    work: impl Future<Output = Result<T, ToolError>>,
) -> Result<T, ToolError> {
    within_deadline(deadline, contain_panics(function, work)).await
}

/// Runs `work` until half an [`ANSWER_RESERVE`] before `deadline`, then gives up with a
/// retryable `UPSTREAM_TIMEOUT`: whatever step hangs, the function still answers before
/// Lambda kills it, and the caller learns why instead of seeing a bare `Task timed out`.
/// Every upstream call has its own budget, ending a full reserve before the deadline, and
/// names its upstream when it runs out; this is the net under all of them, so it fires later.
async fn within_deadline<T>(
    deadline: &Deadline,
    work: impl Future<Output = Result<T, ToolError>>,
) -> Result<T, ToolError> {
    let left = deadline.remaining();
    match tokio::time::timeout(left.saturating_sub(ANSWER_RESERVE / 2), work).await {
        Ok(result) => result,
        Err(_) => Err(ToolError::new(
            ErrorCode::UpstreamTimeout,
            format!(
                "the function ran out of time: it had {} ms before its deadline",
                left.as_millis()
            ),
        )),
    }
}

/// Runs `work`, turning a panic into an `INTERNAL` error (logged with `function`) instead of
/// unwinding into the runtime.
async fn contain_panics<T>(
    function: &str,
    work: impl Future<Output = Result<T, ToolError>>,
) -> Result<T, ToolError> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(function, "handler panicked");
            Err(ToolError::internal(
                "the function failed unexpectedly; the request id locates its log lines",
            ))
        }
    }
}

/// Tells the shape apart and extracts where the arguments are.
fn classify(event: Value) -> (Shape, Result<Arguments, ToolError>) {
    let Value::Object(mut event) = event else {
        let kind = json_kind(&event);
        return (
            Shape::Direct,
            Err(ToolError::invalid_input(format!(
                "the event must be a JSON object, got {kind}"
            ))),
        );
    };
    if let Some(Value::String(reason)) = event.get(NOT_JSON_MARKER) {
        let message = format!("the event is not valid JSON: {}", cut_input_message(reason));
        return (Shape::Direct, Err(ToolError::invalid_input(message)));
    }
    if !event.contains_key("requestContext") {
        return (Shape::Direct, Ok(Arguments::Json(Value::Object(event))));
    }
    // `rawPath` only exists in payload format 2.0; it is checked first because cargo-lambda's
    // Function URL emulation sends a union of both formats, with `"httpMethod": "GET"` on a
    // POST.
    let v2 = event.contains_key("rawPath");
    if event.contains_key("httpMethod") && !v2 {
        let method = string_field(&event, "httpMethod")
            .unwrap_or_default()
            .to_ascii_uppercase();
        let args = http_arguments(&method, &mut event, rest_query_string);
        (Shape::ApiGatewayRest, args)
    } else if v2 || event.contains_key("routeKey") {
        let method = event
            .get("requestContext")
            .and_then(|c| c.get("http"))
            .and_then(|h| h.get("method"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let args = http_arguments(&method, &mut event, |event| {
            Ok(string_field(event, "rawQueryString")
                .unwrap_or_default()
                .to_owned())
        });
        (Shape::HttpApi, args)
    } else {
        (
            Shape::Direct,
            Err(ToolError::invalid_input(
                "the event has `requestContext` but neither `httpMethod` (API Gateway REST) nor `routeKey`/`rawPath` (HTTP API, Function URL); send the arguments as a plain JSON object instead",
            )),
        )
    }
}

fn http_arguments(
    method: &str,
    event: &mut Map<String, Value>,
    query: impl FnOnce(&Map<String, Value>) -> Result<String, ToolError>,
) -> Result<Arguments, ToolError> {
    match method {
        "POST" => body_bytes(event).map(Arguments::Body),
        "GET" => query(event).map(Arguments::Query),
        "" => Err(ToolError::invalid_input("the HTTP event has no method")),
        other => Err(ToolError::invalid_input(format!(
            "HTTP method {other} is not supported: POST a JSON object, or GET with query parameters"
        ))),
    }
}

fn body_bytes(event: &mut Map<String, Value>) -> Result<Vec<u8>, ToolError> {
    let bytes = http_body(event)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ToolError::invalid_input(
            "the request body is empty: POST a JSON object with the arguments",
        ));
    }
    Ok(bytes)
}

/// Takes the body out of an HTTP event (API Gateway v1 or v2, Function URL), base64-decoded
/// when `isBase64Encoded` says so; at most [`MAX_BODY_BYTES`], refused before decoding when
/// larger (`PAYLOAD_TOO_LARGE`, naming the size sent and the limit). A missing body is empty.
pub fn http_body(event: &mut Map<String, Value>) -> Result<Vec<u8>, ToolError> {
    let base64 = event
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match event.remove("body") {
        Some(Value::String(body)) => body,
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            return Err(ToolError::invalid_input(format!(
                "`body` must be a string, got {}",
                json_kind(&other)
            )));
        }
    };
    // Refuse before decoding: base64 is 4/3 of the bytes it carries.
    let limit = if base64 {
        MAX_BODY_BYTES / 3 * 4 + 4
    } else {
        MAX_BODY_BYTES
    };
    if body.len() > limit {
        // Report what the caller sent, not its base64 text (a 300 KB file is 400 KB of it).
        let sent = if base64 {
            base64_decoded_len(&body)
        } else {
            body.len()
        };
        return Err(too_large(sent));
    }
    let bytes = if base64 {
        aws_smithy_types::base64::decode(&body).map_err(|_| {
            ToolError::invalid_input("the request body is marked base64 but is not valid base64")
        })?
    } else {
        body.into_bytes()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large(bytes.len()));
    }
    Ok(bytes)
}

/// How many bytes base64 `text` carries (padded or not), without decoding it.
fn base64_decoded_len(text: &str) -> usize {
    let text = text.trim_end().trim_end_matches('=');
    text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1)
}

fn too_large(bytes: usize) -> ToolError {
    ToolError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is {bytes} bytes; the limit is {MAX_BODY_BYTES} bytes"),
    )
}

/// REST API (v1) events carry the query already split; re-encode it so that one decoder
/// (serde_urlencoded, which parses numbers into numeric fields) serves v1 and v2 alike.
fn rest_query_string(event: &Map<String, Value>) -> Result<String, ToolError> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(Value::Object(multi)) = event.get("multiValueQueryStringParameters") {
        for (key, values) in multi {
            for value in values.as_array().into_iter().flatten() {
                pairs.push((key, value.as_str().unwrap_or_default()));
            }
        }
    } else if let Some(Value::Object(single)) = event.get("queryStringParameters") {
        for (key, value) in single {
            pairs.push((key, value.as_str().unwrap_or_default()));
        }
    }
    serde_urlencoded::to_string(&pairs)
        .map_err(|_| ToolError::invalid_input("the query string could not be read"))
}

/// Deserialises the typed input; errors name the field (`max_results: invalid type …`).
fn decode<I: DeserializeOwned>(arguments: Arguments) -> Result<I, ToolError> {
    match arguments {
        Arguments::Json(value) => {
            serde_path_to_error::deserialize(value).map_err(|e| input_error(&e))
        }
        Arguments::Body(bytes) => {
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(
                    match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                        Ok(_) => ToolError::invalid_input("the request body must be a JSON object"),
                        Err(e) => ToolError::invalid_input(format!(
                            "the request body is not valid JSON: {e}"
                        )),
                    },
                );
            }
            let de = &mut serde_json::Deserializer::from_slice(&bytes);
            serde_path_to_error::deserialize(de).map_err(|e| {
                if e.inner().is_syntax() || e.inner().is_eof() {
                    ToolError::invalid_input(format!(
                        "the request body is not valid JSON: {}",
                        e.inner()
                    ))
                } else {
                    input_error(&e)
                }
            })
        }
        Arguments::Query(query) => serde_urlencoded::from_str(&query).map_err(|e| {
            ToolError::invalid_input(format!(
                "query string: {}",
                cut_input_message(&e.to_string())
            ))
        }),
    }
}

fn input_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ToolError {
    let path = e.path().to_string();
    let inner = cut_input_message(&e.inner().to_string());
    if path == "." {
        ToolError::invalid_input(inner)
    } else {
        ToolError::invalid_input(format!("{path}: {inner}"))
    }
}

/// serde's messages quote the offending value; a caller's 10,000-character string is cut so
/// that envelopes and log lines stay short.
fn cut_input_message(message: &str) -> String {
    const MAX: usize = 400;
    match message.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// AgentCore Gateway names the tool it means in the client context; a Lambda behind a
/// target answers only for its own tool.
fn check_tool_name<H: Handler>(context: &Context) -> Result<(), ToolError> {
    let Some(requested) = context
        .client_context
        .as_ref()
        .and_then(|c| c.custom.get(AGENTCORE_TOOL_NAME_KEY))
    else {
        return Ok(());
    };
    let tool = requested
        .rsplit_once("___")
        .map_or(requested.as_str(), |(_, tool)| tool);
    let same = tool.len() == H::NAME.len()
        && tool
            .bytes()
            .zip(H::NAME.bytes())
            .all(|(a, b)| a == b || (a == b'-' || a == b'_') && (b == b'-' || b == b'_'));
    if same {
        Ok(())
    } else {
        Err(ToolError::invalid_input(format!(
            "unknown tool `{}`: this function serves `{}`",
            cut_input_message(tool),
            H::NAME
        )))
    }
}

fn string_field<'a>(event: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

/// What a JSON value is, with its article ("a string", "an array"), for messages that say
/// what was sent instead of what was wanted.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The HTTP response API Gateway (both payload formats) and Function URLs accept.
#[derive(Serialize)]
struct HttpResponse<'a> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    headers: HttpHeaders,
    body: &'a str,
    #[serde(rename = "isBase64Encoded")]
    is_base64_encoded: bool,
    /// Payload format 2.0 (HTTP APIs, Function URLs) only; REST APIs refuse fields they do not
    /// know. Always empty: sent because cargo-lambda 1.9's Function URL cannot read a 2.0
    /// response without it (answers HTTP 500), although AWS treats it as optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<[&'a str; 0]>,
}

#[derive(Serialize)]
struct HttpHeaders {
    #[serde(rename = "content-type")]
    content_type: &'static str,
}

/// Renders the outcome in the caller's shape; returns the error too, for logging.
fn render<O: Serialize>(
    shape: Shape,
    request_id: &str,
    outcome: Result<O, ToolError>,
) -> (Box<RawValue>, Option<ToolError>) {
    let (body, error) = match outcome.and_then(|output| serialize_output(&output)) {
        Ok(body) => (body, None),
        Err(e) => (envelope_json(&e, request_id), Some(e)),
    };
    let raw = match shape {
        Shape::Direct => Some(body),
        Shape::ApiGatewayRest | Shape::HttpApi => serde_json::value::to_raw_value(&HttpResponse {
            status_code: error.as_ref().map_or(200, |e| e.code.http_status()),
            headers: HttpHeaders {
                content_type: "application/json",
            },
            body: body.get(),
            is_base64_encoded: false,
            cookies: (shape == Shape::HttpApi).then_some([]),
        })
        .ok(),
    };
    match raw {
        // Escaping inside an HTTP body can push a result over the limit after the check.
        Some(raw) if raw.get().len() <= MAX_RESPONSE_BYTES => (raw, error),
        _ => {
            let e = ToolError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the result does not fit Lambda's response limit of {MAX_RESPONSE_BYTES} bytes"
                ),
            );
            let (raw, _) = render::<()>(shape, request_id, Err(e.clone()));
            (raw, Some(e))
        }
    }
}

/// Serialises straight into a `RawValue` (no re-parse), refusing what Lambda would refuse.
fn serialize_output<O: Serialize>(output: &O) -> Result<Box<RawValue>, ToolError> {
    let body = serde_json::value::to_raw_value(output)
        .map_err(|_| ToolError::internal("the result could not be serialised"))?;
    if body.get().len() > MAX_RESPONSE_BYTES {
        return Err(ToolError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the result is {} bytes; Lambda's response limit is {MAX_RESPONSE_BYTES} bytes",
                body.get().len()
            ),
        ));
    }
    Ok(body)
}

fn envelope_json(error: &ToolError, request_id: &str) -> Box<RawValue> {
    // A struct of strings, a bool and an enum always serialises; the fallback is unreachable.
    serde_json::value::to_raw_value(&error.envelope(request_id)).unwrap_or_else(|_| {
        RawValue::from_string(r#"{"error":{"code":"INTERNAL","message":"internal error (a bug)","retryable":false,"request_id":""}}"#.to_owned())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Question {
        prompt: String,
    }

    fn decode_event<I: DeserializeOwned>(event: Value) -> (Shape, Result<I, ToolError>) {
        let (shape, arguments) = classify(event);
        (shape, arguments.and_then(decode))
    }

    #[tokio::test]
    async fn work_that_never_ends_is_answered_before_the_deadline() {
        let deadline = Deadline::after(std::time::Duration::from_millis(400));
        let started = Instant::now();
        let e = within_deadline(&deadline, std::future::pending::<Result<(), ToolError>>())
            .await
            .unwrap_err();
        assert_eq!((e.code, e.retryable), (ErrorCode::UpstreamTimeout, true));
        assert!(e.message.contains("ran out of time"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_millis(400));
        // Work that is done is never cut, even with no time left.
        let done = within_deadline(&Deadline::after(std::time::Duration::ZERO), async {
            Ok::<_, ToolError>(7)
        })
        .await;
        assert_eq!(done.unwrap(), 7);
    }

    #[test]
    fn a_body_over_the_limit_is_reported_at_the_size_the_caller_sent() {
        // A 300 KB file sent as a form or octet-stream arrives base64-encoded (400 KB of text).
        let sent = 300 * 1024;
        for padding in 0..3 {
            let bytes = vec![7u8; sent + padding];
            let encoded = aws_smithy_types::base64::encode(&bytes);
            assert_eq!(base64_decoded_len(&encoded), bytes.len());
            let mut event = Map::new();
            event.insert("isBase64Encoded".into(), Value::Bool(true));
            event.insert("body".into(), Value::String(encoded));
            let e = body_bytes(&mut event).unwrap_err();
            assert_eq!(e.code, ErrorCode::PayloadTooLarge);
            assert_eq!(
                e.message,
                format!(
                    "the request body is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
                    bytes.len()
                )
            );
        }
    }

    /// cargo-lambda's Function URL emulation sends a union of payload formats 1.0 and 2.0,
    /// with `"httpMethod": "GET"` on a POST; `rawPath` decides.
    #[test]
    fn a_v2_event_with_a_stray_http_method_is_read_as_v2() {
        let event = json!({
            "version": "2.0", "rawPath": "/", "rawQueryString": null, "httpMethod": "GET",
            "routeKey": "$default", "headers": {"content-type": "application/json"},
            "requestContext": {"domainName": "localhost", "http": {"method": "POST", "path": "/"}},
            "body": "{\"prompt\": \"up?\"}", "isBase64Encoded": false
        });
        let (shape, input) = decode_event::<Question>(event);
        assert_eq!(shape, Shape::HttpApi);
        assert_eq!(
            input.unwrap(),
            Question {
                prompt: "up?".to_owned()
            }
        );
        // A REST (v1) event still reads its own method.
        let rest = json!({"httpMethod": "POST", "path": "/", "resource": "/",
                          "requestContext": {}, "body": "{\"prompt\": \"v1\"}"});
        let (shape, input) = decode_event::<Question>(rest);
        assert_eq!(
            (shape, input.unwrap().prompt.as_str()),
            (Shape::ApiGatewayRest, "v1")
        );
    }
}
