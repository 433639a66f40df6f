//! Amazon Bedrock's Converse API on loopback (`POST /model/{modelId}/converse`, restJson1),
//! driven by a script per test, so the agent's real SDK client runs against real HTTP: no
//! Bedrock runs offline.
//!
//! Each request takes the next scripted step: a reply (an assistant message, a stop reason
//! and token usage, as Bedrock serialises them) or an error (a status, `x-amzn-errortype` and
//! a message, as Bedrock's errors arrive). Every request body is kept, so tests can check
//! what the model was sent: the tool configuration, tool results, the trimmed history.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
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
}

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

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Step>>,
    fallback: Mutex<Option<Step>>,
    requests: Mutex<Vec<(String, Value)>>,
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

async fn converse(
    State(shared): State<Arc<Shared>>,
    Path(model): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    shared.requests.lock().unwrap().push((model, body));
    let step = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| shared.fallback.lock().unwrap().clone());
    match step {
        Some(Step::Reply(body)) => (StatusCode::OK, Json(body)).into_response(),
        Some(Step::Error(status, kind, message)) => {
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
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("x-amzn-errortype", "InternalServerException")],
            Json(json!({"message": "the test script has no step left"})),
        )
            .into_response(),
    }
}
