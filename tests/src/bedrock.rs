//! Amazon Bedrock's Converse API on loopback (`POST /model/{modelId}/converse`, restJson1)
//! and ConverseStream (`POST /model/{modelId}/converse-stream`, answered in the AWS
//! event-stream framing: prelude, headers, CRCs, written by `aws-smithy-eventstream`),
//! driven by a script per test, so the agent's real SDK client runs against real HTTP and
//! decodes real frames: no Bedrock runs offline.
//!
//! The same script also answers an OpenAI-compatible `POST /v1/chat/completions` (JSON, or
//! `stream: true` server-sent chunks), each step translated into that API's wire format,
//! so one scenario drives either provider.
//!
//! A streamed reply is the scripted reply cut the way Bedrock streams it: `messageStart`;
//! per block `contentBlockStart` (tool uses), `contentBlockDelta`s (text word by word, a
//! tool's input JSON in two halves) and `contentBlockStop`; `messageStop`; `metadata`. A
//! pace makes it arrive at a model's speed (first token, then per delta).
//!
//! Each request takes the next scripted step: a reply (an assistant message, a stop reason
//! and token usage, as Bedrock serialises them) or an error (a status, `x-amzn-errortype` and
//! a message, as Bedrock's errors arrive). Every request body is kept, so tests can check
//! what the model was sent: the tool configuration, tool results, the trimmed history.

use std::{
    collections::VecDeque,
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

use crate::Result;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// A 200 with this body.
    Reply(Value),
    /// An error: status, error type, message.
    Error(u16, &'static str, String),
    /// Streamed only: this text, then an exception frame (type, message) mid-stream.
    StreamError(String, &'static str, String),
    /// Streamed only: this reply's events as Server-Sent Events text (`event: contentBlockDelta`
    /// / `data: {…}`) instead of AWS event-stream frames, as some third-party Converse
    /// servers send them.
    SseFramed(Value),
}

/// Computes the answer to a request from its body (the messages so far, tool results
/// included), for a model stand-in that reacts to what it is sent.
pub type Responder = Arc<dyn Fn(&Value) -> Step + Send + Sync>;

/// Token usage every scripted reply reports: input, output.
pub const USAGE: (u64, u64) = (100, 20);
/// Cache tokens every scripted reply reports: read, written.
pub const CACHE: (u64, u64) = (30, 10);

fn reply(content: Value, stop: &str) -> Step {
    Step::Reply(json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": USAGE.0, "outputTokens": USAGE.1, "totalTokens": USAGE.0 + USAGE.1,
                  "cacheReadInputTokens": CACHE.0, "cacheWriteInputTokens": CACHE.1},
        "metrics": {"latencyMs": 3}
    }))
}

/// The model id the agent tests configure.
pub const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

/// The agent's configuration in a test: `model/id` [`MODEL`], then `settings`.
pub fn agent_config(settings: &[(&str, &str)]) -> common::AppConfig {
    let mut values = std::collections::HashMap::from([("model/id".to_owned(), MODEL.to_owned())]);
    values.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    common::AppConfig::fixed(values)
}

/// A Bedrock Runtime client for `endpoint` (the double, or a proxy in front of it) with the
/// SDK's retries off, so that the agent's own retries are the only ones a test sees.
pub async fn client(endpoint: &str) -> aws_sdk_bedrockruntime::Client {
    aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::config::Builder::from(
            &crate::moto::Moto::sdk_config_for(endpoint).await,
        )
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .build(),
    )
}

/// A text answer with `stop` (`end_turn`, `max_tokens`, `guardrail_intervened`, …).
pub fn text(answer: &str, stop: &str) -> Step {
    reply(json!([{"text": answer}]), stop)
}

/// A request for tool calls: `(id, tool name, input)`, with an optional leading text.
pub fn tool_uses(lead: Option<&str>, uses: &[(&str, &str, Value)]) -> Step {
    let mut content: Vec<Value> = lead.map(|t| json!({"text": t})).into_iter().collect();
    content.extend(uses.iter().map(
        |(id, name, input)| json!({"toolUse": {"toolUseId": id, "name": name, "input": input}}),
    ));
    reply(Value::Array(content), "tool_use")
}

/// An error as Bedrock sends it.
pub fn error(status: u16, kind: &'static str, message: &str) -> Step {
    Step::Error(status, kind, message.to_owned())
}

/// A streamed reply that sends `text` and then fails with Bedrock's
/// `modelStreamErrorException` (the exception frame's `:exception-type`).
pub fn stream_error(text: &str, message: &str) -> Step {
    Step::StreamError(
        text.to_owned(),
        "modelStreamErrorException",
        message.to_owned(),
    )
}

/// How fast a streamed reply arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// Before the first frame (the model's time to first token).
    pub first: Duration,
    /// Between deltas.
    pub per_delta: Duration,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Step>>,
    responder: Mutex<Option<Responder>>,
    fallback: Mutex<Option<Step>>,
    requests: Mutex<Vec<(String, Value)>>,
    /// `Authorization` of every chat-completions request.
    authorizations: Mutex<Vec<String>>,
    pace: Mutex<Pace>,
    /// Streams whose client went away before the last frame.
    abandoned: AtomicUsize,
}

/// The running double.
pub struct ConverseDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl ConverseDouble {
    /// Starts the double on a free loopback port with an empty script.
    pub async fn start() -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/model/{model}/converse", post(converse))
            .route("/model/{model}/converse-stream", post(converse_stream))
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(shared.clone());
        let (addr, server) = crate::serve_loopback(app).await?;
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    /// The endpoint for `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the script.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        *self.shared.script.lock().unwrap() = steps.into_iter().collect();
    }

    /// What to answer once the script is used up (by default an error saying so): `make dev`
    /// uses a fixed text answer.
    pub fn fall_back_to(&self, step: Step) {
        *self.shared.fallback.lock().unwrap() = Some(step);
    }

    /// Answers with `responder` once the script is used up, before any fallback.
    pub fn respond_with(&self, responder: Responder) {
        *self.shared.responder.lock().unwrap() = Some(responder);
    }

    /// Paces streamed replies (default: as fast as possible); a buffered reply then arrives
    /// when its stream would have ended.
    pub fn pace(&self, pace: Pace) {
        *self.shared.pace.lock().unwrap() = pace;
    }

    /// The `Authorization` header of every chat-completions request so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.shared.authorizations.lock().unwrap().clone()
    }

    /// How many streamed replies the client stopped reading before their end.
    pub fn abandoned_streams(&self) -> usize {
        self.shared.abandoned.load(Ordering::SeqCst)
    }

    /// Steps not used yet.
    pub fn left(&self) -> usize {
        self.shared.script.lock().unwrap().len()
    }

    /// `(model id, body)` of every request so far; clears the list.
    pub fn take_requests(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.shared.requests.lock().unwrap())
    }
}

impl Drop for ConverseDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn next_step(shared: &Shared, model: String, body: Value) -> Option<Step> {
    let scripted = shared.script.lock().unwrap().pop_front();
    let responder = shared.responder.lock().unwrap().clone();
    let step = scripted
        .or_else(|| responder.map(|respond| respond(&body)))
        .or_else(|| shared.fallback.lock().unwrap().clone());
    shared.requests.lock().unwrap().push((model, body));
    step
}

async fn converse(
    State(shared): State<Arc<Shared>>,
    Path(model): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    match next_step(&shared, model, body) {
        Some(Step::Reply(body)) => {
            let pace = *shared.pace.lock().unwrap();
            wait_as_if_streamed(pace, &reply_frames(&body)).await;
            (StatusCode::OK, Json(body)).into_response()
        }
        Some(Step::StreamError(..) | Step::SseFramed(_)) => error_response(
            500,
            "InternalServerException",
            "the test scripted a stream-only step for a Converse (not ConverseStream) call"
                .to_owned(),
        ),
        Some(Step::Error(status, kind, message)) => error_response(status, kind, message),
        None => no_step_left(),
    }
}

fn error_response(status: u16, kind: &str, message: String) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(json!({"message": message})),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", kind.parse().expect("a header value"));
    response
}

fn no_step_left() -> Response {
    error_response(
        500,
        "InternalServerException",
        "the test script has no step left".to_owned(),
    )
}

/// One event-stream frame.
fn frame(message_type: &str, type_header: &str, kind: &str, payload: &Value) -> Vec<u8> {
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_owned().into()),
        ))
        .add_header(Header::new(
            type_header.to_owned(),
            HeaderValue::String(kind.to_owned().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut out = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut out)
        .expect("a frame within the format's limits");
    out
}

fn event(kind: &str, payload: Value) -> Vec<u8> {
    frame("event", ":event-type", kind, &payload)
}

/// The frames of a streamed reply; `true` marks a frame that follows a delta's pause.
fn reply_frames(body: &Value) -> Vec<(bool, Vec<u8>)> {
    let mut frames = vec![(false, event("messageStart", json!({"role": "assistant"})))];
    let content = body["output"]["message"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, block) in content.iter().enumerate() {
        if let Some(text) = block["text"].as_str() {
            for word in text.split_inclusive(' ') {
                frames.push((
                    true,
                    event(
                        "contentBlockDelta",
                        json!({"contentBlockIndex": i, "delta": {"text": word}}),
                    ),
                ));
            }
        } else if let Some(tool) = block.get("toolUse") {
            frames.push((
                true,
                event(
                    "contentBlockStart",
                    json!({"contentBlockIndex": i, "start": {"toolUse": {
                        "toolUseId": tool["toolUseId"], "name": tool["name"]}}}),
                ),
            ));
            let input = tool["input"].to_string();
            for piece in halves(&input) {
                frames.push((
                    true,
                    event(
                        "contentBlockDelta",
                        json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": piece}}}),
                    ),
                ));
            }
        }
        frames.push((
            false,
            event("contentBlockStop", json!({"contentBlockIndex": i})),
        ));
    }
    frames.push((
        false,
        event("messageStop", json!({"stopReason": body["stopReason"]})),
    ));
    frames.push((
        false,
        event(
            "metadata",
            json!({"usage": body["usage"], "metrics": body["metrics"]}),
        ),
    ));
    frames
}

/// A reply's events as Server-Sent Events text: the same events Bedrock sends, framed the
/// way a third-party server does.
fn sse_events(body: &Value) -> Vec<(bool, Vec<u8>)> {
    let mut events = vec![json!({"messageStart": {"role": "assistant"}})];
    for (i, block) in body["output"]["message"]["content"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(text) = block["text"].as_str() {
            events.push(
                json!({"contentBlockDelta": {"contentBlockIndex": i, "delta": {"text": text}}}),
            );
        }
        events.push(json!({"contentBlockStop": {"contentBlockIndex": i}}));
    }
    events.push(json!({"messageStop": {"stopReason": body["stopReason"]}}));
    events.push(json!({"metadata": {"usage": body["usage"], "metrics": body["metrics"]}}));
    events
        .into_iter()
        .map(|e| {
            let (kind, data) = e
                .as_object()
                .and_then(|o| o.iter().next())
                .expect("one key");
            (
                true,
                format!("event: {kind}\ndata: {data}\n\n").into_bytes(),
            )
        })
        .collect()
}

/// A tool's input JSON in two pieces, cut at a character boundary, as models stream it.
fn halves(input: &str) -> [&str; 2] {
    let half = (input.len() / 2..=input.len())
        .find(|&h| input.is_char_boundary(h))
        .unwrap_or(input.len());
    [&input[..half], &input[half..]]
}

/// Paced, a buffered reply arrives when its stream (`frames`) would have ended.
async fn wait_as_if_streamed(pace: Pace, frames: &[(bool, Vec<u8>)]) {
    let deltas = frames.iter().filter(|(pause, _)| *pause).count();
    let wait = pace.first + pace.per_delta * deltas as u32;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// Counts a stream as abandoned when it is dropped before its last frame.
struct Watch {
    shared: Arc<Shared>,
    finished: bool,
}

impl Watch {
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn converse_stream(
    State(shared): State<Arc<Shared>>,
    Path(model): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let frames = match next_step(&shared, model, body) {
        Some(Step::Reply(body)) => reply_frames(&body),
        Some(Step::StreamError(text, kind, message)) => {
            let mut frames = reply_frames(&json!({
                "output": {"message": {"content": [{"text": text}]}}
            }));
            // Keep messageStart and the text deltas; the exception replaces the rest.
            frames.truncate(frames.len() - 3);
            frames.push((
                false,
                frame(
                    "exception",
                    ":exception-type",
                    kind,
                    &json!({"message": message}),
                ),
            ));
            frames
        }
        Some(Step::SseFramed(body)) => {
            let events = sse_events(&body);
            let pace = *shared.pace.lock().unwrap();
            return paced_body(shared, events, pace, "text/event-stream");
        }
        Some(Step::Error(status, kind, message)) => return error_response(status, kind, message),
        None => return no_step_left(),
    };
    let pace = *shared.pace.lock().unwrap();
    paced_body(shared, frames, pace, "application/vnd.amazon.eventstream")
}

/// A 200 whose body is `frames`, sent at `pace`; counted as abandoned if dropped early.
fn paced_body(
    shared: Arc<Shared>,
    frames: Vec<(bool, Vec<u8>)>,
    pace: Pace,
    content_type: &'static str,
) -> Response {
    let watch = Watch {
        shared,
        finished: false,
    };
    let state = (frames.into_iter(), watch, true);
    let body =
        futures_util::stream::unfold(state, move |(mut frames, mut watch, first)| async move {
            let Some((pause, frame)) = frames.next() else {
                watch.finish();
                return None;
            };
            let wait = if first {
                pace.first
            } else if pause {
                pace.per_delta
            } else {
                Duration::ZERO
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Some((Ok::<_, Infallible>(frame), (frames, watch, false)))
        });
    (
        StatusCode::OK,
        [("content-type", content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

/// A Converse stop reason as chat completions name it.
fn finish_reason(stop: &str) -> &str {
    match stop {
        "end_turn" | "stop_sequence" => "stop",
        "tool_use" => "tool_calls",
        "max_tokens" => "length",
        "content_filtered" | "guardrail_intervened" => "content_filter",
        other => other,
    }
}

fn openai_usage(usage: &Value) -> Value {
    json!({
        "prompt_tokens": usage["inputTokens"], "completion_tokens": usage["outputTokens"],
        "total_tokens": usage["totalTokens"],
        "prompt_tokens_details": {"cached_tokens": usage["cacheReadInputTokens"]},
    })
}

/// An error as an OpenAI-compatible server sends it.
fn openai_error(status: u16, kind: &str, message: String) -> Response {
    let code = if message.to_ascii_lowercase().contains("too long") {
        json!("context_length_exceeded")
    } else {
        Value::Null
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(json!({"error": {"message": message, "type": kind, "code": code}})),
    )
        .into_response()
}

fn sse_chunk(data: &Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

/// The chunks of a streamed chat completion; `true` marks a chunk after a delta's pause.
fn openai_chunks(reply: &Value, fail: Option<&str>) -> Vec<(bool, Vec<u8>)> {
    let chunk = |delta: Value, finish: Value| {
        sse_chunk(&json!({"object": "chat.completion.chunk",
                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))
    };
    let mut out = vec![(false, chunk(json!({"role": "assistant"}), Value::Null))];
    let content = reply["output"]["message"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut index = 0;
    for block in &content {
        if let Some(text) = block["text"].as_str() {
            for word in text.split_inclusive(' ') {
                out.push((true, chunk(json!({"content": word}), Value::Null)));
            }
        } else if let Some(tool) = block.get("toolUse") {
            out.push((
                true,
                chunk(
                    json!({"tool_calls": [{"index": index, "id": tool["toolUseId"], "type": "function",
                                           "function": {"name": tool["name"], "arguments": ""}}]}),
                    Value::Null,
                ),
            ));
            let input = tool["input"].to_string();
            for piece in halves(&input) {
                out.push((
                    true,
                    chunk(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                        Value::Null,
                    ),
                ));
            }
            index += 1;
        }
    }
    if let Some(message) = fail {
        out.push((false, sse_chunk(&json!({"error": {"message": message}}))));
        return out;
    }
    let stop = reply["stopReason"].as_str().unwrap_or("end_turn");
    out.push((false, chunk(json!({}), json!(finish_reason(stop)))));
    out.push((
        false,
        sse_chunk(&json!({"object": "chat.completion.chunk", "choices": [],
                          "usage": openai_usage(&reply["usage"])})),
    ));
    out.push((false, b"data: [DONE]\n\n".to_vec()));
    out
}

fn openai_reply(reply: &Value) -> Value {
    let content = reply["output"]["message"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let text: Vec<&str> = content.iter().filter_map(|b| b["text"].as_str()).collect();
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|b| b.get("toolUse"))
        .map(|t| {
            json!({"id": t["toolUseId"], "type": "function",
                   "function": {"name": t["name"], "arguments": t["input"].to_string()}})
        })
        .collect();
    let mut message = json!({"role": "assistant",
                             "content": if text.is_empty() { Value::Null } else { json!(text.join("\n")) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": "chatcmpl-double", "object": "chat.completion", "model": "double",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": finish_reason(reply["stopReason"].as_str().unwrap_or("end_turn"))}],
        "usage": openai_usage(&reply["usage"]),
    })
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        shared.authorizations.lock().unwrap().push(auth.to_owned());
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let step = next_step(&shared, model, body);
    let pace = *shared.pace.lock().unwrap();
    let chunks = match step {
        Some(Step::Error(status, kind, message)) => return openai_error(status, kind, message),
        None => {
            return openai_error(
                500,
                "server_error",
                "the test script has no step left".to_owned(),
            );
        }
        Some(Step::SseFramed(_)) => {
            return openai_error(
                500,
                "server_error",
                "a Bedrock-only step scripted for chat completions".to_owned(),
            );
        }
        Some(Step::StreamError(..)) if !stream => {
            return openai_error(
                500,
                "server_error",
                "a stream error scripted for a JSON answer".to_owned(),
            );
        }
        Some(Step::StreamError(text, _, message)) => openai_chunks(
            &json!({"output": {"message": {"content": [{"text": text}]}}}),
            Some(&message),
        ),
        Some(Step::Reply(reply)) if !stream => {
            wait_as_if_streamed(pace, &openai_chunks(&reply, None)).await;
            return (StatusCode::OK, Json(openai_reply(&reply))).into_response();
        }
        Some(Step::Reply(reply)) => openai_chunks(&reply, None),
    };
    paced_body(shared, chunks, pace, "text/event-stream")
}
