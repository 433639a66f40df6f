//! The agent's Function URL (`InvokeMode: RESPONSE_STREAM`): a chat page, answers streamed
//! as Server-Sent Events, and the plain JSON answer.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | the chat page ([`PAGE`], embedded in the binary) |
//! | `POST /` with `Accept: text/event-stream` | SSE (docs/contract.md §2): `text` `{"delta"}` as the model writes, `tool` `{"name", "status", "duration_ms", "input", "result_preview" or "error"}` as each call ends, then one `done` (the output object) or `error` (the envelope) |
//! | `POST /` otherwise | the output object or the envelope as JSON, with its HTTP status |
//! | any other path | `NOT_FOUND` |
//!
//! Lambda streams a response only for a Function URL in `RESPONSE_STREAM` mode (and
//! `InvokeWithResponseStream`); API Gateway and the Invoke API need the buffered answer. So
//! a Function URL event is recognised by its domain, `<url-id>.lambda-url.<region>.on.aws`,
//! or `localhost` for cargo-lambda's emulator; every other event goes to the shared
//! [`common::event::dispatch`]. Both go through `common`'s one pipeline,
//! [`common::event::handle_event`] (decoding, deadline net, panic containment, report); this
//! module only chooses how the outcome is carried back.
//!
//! Once the SSE headers are out, nothing can change the status any more: every failure,
//! including a panic, becomes an `error` event, and the body always ends with `done` or
//! `error`. The work runs inside the response body: when the client goes away and the
//! runtime drops the body, the model call and the tool calls in flight are dropped with it.

use std::{
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

use common::{Answer, ByteStream, ErrorCode, Handler, Invocation, ToolError};
use futures_util::Stream;
use lambda_runtime::{Context, FunctionResponse, LambdaEvent, MetadataPrelude, StreamResponse};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{
    agent::Agent,
    events::{AnswerEvents, Buffered},
    invoker::Invoker,
    io::{AgentInput, AgentOutput, ToolCall},
    model::Model,
};

/// The chat page: one static file, no framework, no build step.
pub const PAGE: &str = include_str!("page.html");

/// Headers of the page: it may run only its own inline script and style and talk only to
/// its own origin, so even text that slipped past its `textContent`-only rendering could
/// neither load nor send anything.
pub const PAGE_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// The media type that asks for a streamed answer.
pub const EVENT_STREAM: &str = "text/event-stream";

/// Sends the events of one streamed answer to the response body.
#[derive(Debug, Clone)]
pub struct Emitter {
    tx: mpsc::UnboundedSender<String>,
}

impl Emitter {
    /// An emitter and the receiving end of its events (already SSE-encoded).
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    fn send(&self, event: &str, data: &impl Serialize) {
        // A closed channel means the client left; the work is being dropped anyway.
        let _ = self.tx.send(sse(event, data));
    }

    /// The last event: `done` with the output, or `error` with the envelope.
    pub fn finish(&self, outcome: &Result<AgentOutput, ToolError>, request_id: &str) {
        match outcome {
            Ok(output) => self.send("done", output),
            Err(e) => self.send("error", &e.envelope(request_id)),
        }
    }
}

impl AnswerEvents for Emitter {
    fn streaming(&self) -> bool {
        true
    }

    /// A `text` event.
    fn text(&self, delta: &str) {
        #[derive(Serialize)]
        struct Text<'a> {
            delta: &'a str,
        }
        self.send("text", &Text { delta });
    }

    /// A `tool` event.
    fn tool(&self, call: &ToolCall) {
        self.send("tool", call);
    }
}

/// One Server-Sent Event. `data` is compact JSON, which holds no raw newline, so one `data:`
/// line carries it.
pub fn sse(event: &str, data: &impl Serialize) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    format!("event: {event}\ndata: {json}\n\n")
}

/// Whether `event` came through a Function URL (see the module docs).
pub fn is_function_url(event: &Value) -> bool {
    event.get("rawPath").is_some()
        && event
            .pointer("/requestContext/domainName")
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains(".lambda-url.") || d == "localhost")
}

fn header<'a>(event: &'a Value, name: &str) -> &'a str {
    // Function URLs and API Gateway v2 lower-case header names.
    event
        .get("headers")
        .and_then(|h| h.get(name))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Answers one event: a Function URL event is streamed, any other is dispatched buffered.
pub async fn answer_event<M, I>(agent: &'static Agent<M, I>, event: LambdaEvent<Value>) -> Answer
where
    M: Model + 'static,
    I: Invoker + 'static,
{
    let LambdaEvent { payload, context } = event;
    if is_function_url(&payload) {
        FunctionResponse::StreamingResponse(function_url(agent, payload, &context).await)
    } else {
        FunctionResponse::BufferedResponse(common::event::dispatch(agent, payload, &context).await)
    }
}

/// Answers a Function URL event (see the module docs for the routes).
pub async fn function_url<M, I>(
    agent: &'static Agent<M, I>,
    event: Value,
    context: &Context,
) -> StreamResponse<ByteStream>
where
    M: Model + 'static,
    I: Invoker + 'static,
{
    let path = event.get("rawPath").and_then(Value::as_str).unwrap_or("/");
    let method = event
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    if path != "/" && !path.is_empty() {
        let e = ToolError::new(
            ErrorCode::NotFound,
            format!(
                "nothing at {}: GET / is the chat page, POST / asks the agent",
                cut(path)
            ),
        );
        return json_response(404, &e.envelope(&context.request_id));
    }
    let query = event
        .get("rawQueryString")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if method == "GET" && query.is_empty() {
        let mut page = response(
            200,
            "text/html; charset=utf-8",
            Box::pin(futures_util::stream::once(async { Ok(PAGE.to_owned()) })),
        );
        let headers = &mut page.metadata_prelude.headers;
        for (name, value) in PAGE_HEADERS {
            headers.insert(*name, http::HeaderValue::from_static(value));
        }
        return page;
    }
    if !header(&event, "accept").contains(EVENT_STREAM) {
        let answering = Answering {
            agent,
            events: &Buffered,
        };
        return common::event::handle_event(&answering, event, context, |invocation, outcome| {
            match outcome {
                Ok(output) => (json_response(200, &output), None),
                Err(e) => (
                    json_response(e.code.http_status(), &e.envelope(&invocation.request_id)),
                    Some(e),
                ),
            }
        })
        .await;
    }
    let (emitter, events) = Emitter::channel();
    let context = context.clone();
    let work = async move {
        let answering = Answering {
            agent,
            events: &emitter,
        };
        common::event::handle_event(&answering, event, &context, |invocation, outcome| {
            emitter.finish(&outcome, &invocation.request_id);
            ((), outcome.err())
        })
        .await;
    };
    let mut sse = response(
        200,
        "text/event-stream; charset=utf-8",
        Box::pin(WorkStream {
            work: Some(Box::pin(work)),
            events,
        }),
    );
    sse.metadata_prelude
        .headers
        .insert("cache-control", "no-cache".parse().expect("a header value"));
    sse
}

/// The agent answering one Function URL request, its progress going to `events`: the
/// [`Handler`] that `common`'s pipeline runs.
struct Answering<'a, M, I> {
    agent: &'a Agent<M, I>,
    events: &'a dyn AnswerEvents,
}

impl<M: Model, I: Invoker> Handler for Answering<'_, M, I> {
    const NAME: &'static str = <Agent<M, I> as Handler>::NAME;
    type Input = AgentInput;
    type Output = AgentOutput;

    async fn handle(
        &self,
        input: AgentInput,
        invocation: &Invocation,
    ) -> Result<AgentOutput, ToolError> {
        self.agent.answer(input, invocation, self.events).await
    }
}

fn response(status: u16, content_type: &str, body: ByteStream) -> StreamResponse<ByteStream> {
    let mut prelude = MetadataPrelude {
        status_code: http::StatusCode::from_u16(status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        ..MetadataPrelude::default()
    };
    if let Ok(value) = content_type.parse() {
        prelude.headers.insert("content-type", value);
    }
    StreamResponse {
        metadata_prelude: prelude,
        stream: body,
    }
}

fn json_response(status: u16, body: &impl Serialize) -> StreamResponse<ByteStream> {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "null".to_owned());
    response(
        status,
        "application/json",
        Box::pin(futures_util::stream::once(async move { Ok(json) })),
    )
}

fn cut(path: &str) -> String {
    path.chars().take(100).collect()
}

/// The SSE body: drives the work while handing out the events it queued. It ends after the
/// work has finished (dropping the sender) and every queued event is out; dropping it drops
/// the work.
struct WorkStream {
    work: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    events: mpsc::UnboundedReceiver<String>,
}

impl Stream for WorkStream {
    type Item = Result<String, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if let Some(work) = self.work.as_mut()
            && work.as_mut().poll(cx).is_ready()
        {
            self.work = None;
        }
        match self.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => {
                // Send what is queued in one chunk: fewer, larger writes.
                let mut chunk = event;
                while let Ok(more) = self.events.try_recv() {
                    chunk.push_str(&more);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_is_one_data_line() {
        assert_eq!(
            sse("text", &json!({"delta": "a\nb"})),
            "event: text\ndata: {\"delta\":\"a\\nb\"}\n\n"
        );
    }

    #[test]
    fn function_urls_are_told_from_api_gateway() {
        let event = |domain: &str| json!({"rawPath": "/", "requestContext": {"domainName": domain, "http": {"method": "POST"}}});
        assert!(is_function_url(&event(
            "abcdefghijklmnop.lambda-url.us-east-1.on.aws"
        )));
        assert!(is_function_url(&event("localhost")));
        assert!(!is_function_url(&event(
            "abc123.execute-api.us-east-1.amazonaws.com"
        )));
        assert!(!is_function_url(&event("agent.example.com")));
        assert!(!is_function_url(&json!({"prompt": "x"})));
    }
}
