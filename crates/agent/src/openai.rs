//! Any OpenAI-compatible chat-completions endpoint as a [`Model`]: Ollama, llama.cpp's
//! server, vLLM, LM Studio or OpenAI itself, at `POST {model/base_url}/v1/chat/completions`.
//!
//! The conversation maps one to one: a user text is a `user` message, an assistant turn is an
//! `assistant` message with `tool_calls` (arguments as a JSON string), and each tool result
//! is a `tool` message naming its call. Tools are `function` tools with the same JSON Schema.
//! Streaming uses `stream: true`: `data:` chunks whose `delta.content` is text and whose
//! `delta.tool_calls[i].function.arguments` are pieces of a call's arguments, then
//! `data: [DONE]`.
//!
//! What Converse has and this API does not: guardrails (configuring one with this provider
//! is a `CONFIG_ERROR`, see [`crate::Limits`]) and cache points (servers that cache a prompt
//! prefix do it on their own; `cached_tokens` is reported as cache reads when they say).
//!
//! Errors follow the loop's rules: 429 and 5xx (and a connection that fails) are retried,
//! a 400 saying the context is too long is trimmed, anything else is final. The API key, if
//! any, goes in the `Authorization` header only, never into a log or an error.
//!
//! Requests go through the same hyper/rustls connector the AWS SDK clients use
//! ([`common::aws::connector`]): a second HTTP client in the binary would cost a quarter of a
//! megabyte of the agent's zip.

use std::{collections::BTreeMap, pin::Pin};

use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::{
    client::{
        http::HttpConnector,
        orchestrator::{HttpRequest, HttpResponse},
        result::ConnectorError,
    },
    http::Request,
};
use aws_smithy_types::body::SdkBody;
use common::{ErrorCode, Secret, ToolError};
use http_body::Body as _;
use serde_json::{Map, Value, json};

use crate::{
    conversation::{Block, Message, Role},
    model::{
        Model, ModelError, ModelReply, ModelRequest, OnText, Provider, StopReason, Usage,
        is_context_overflow,
    },
};

/// Largest answer read from the server (a reply is a few kilobytes of JSON).
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The OpenAI-compatible provider; its connector is built on first use.
#[derive(Debug, Default)]
pub struct OpenAiCompatible {
    connector: std::sync::OnceLock<Connector>,
}

impl OpenAiCompatible {
    /// A provider whose connector is built on the first request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends the request; the response once its status is a success.
    async fn send(
        &self,
        request: &ModelRequest<'_>,
        stream: bool,
    ) -> Result<HttpResponse, ModelError> {
        let Provider::OpenAi { base_url, api_key } = &request.inference.provider else {
            return Err(ModelError::Fatal(ToolError::internal(
                "the OpenAI-compatible provider got a request for another provider",
            )));
        };
        let payload = serde_json::to_vec(&body(request, stream)).map_err(|_| {
            ModelError::Fatal(ToolError::internal("the request could not be serialised"))
        })?;
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(completions_url(base_url))
            .header("content-type", "application/json")
            .header(
                "accept",
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .header("user-agent", "devops-agent");
        if let Some(key) = api_key {
            builder = builder.header("authorization", format!("Bearer {}", Secret::expose(key)));
        }
        let request = builder
            .body(SdkBody::from(payload))
            .ok()
            .and_then(|r| Request::try_from(r).ok())
            .ok_or_else(|| {
                // The base URL or the key does not fit in a request; neither is echoed.
                ModelError::Fatal(ToolError::config(
                    "configuration keys `model/base_url` and `model/api_key` must fit in an HTTP request",
                ))
            })?;
        let connector = self.connector.get_or_init(common::aws::connector);
        let mut response: HttpResponse = connector
            .call(HttpRequest::from(request))
            .await
            .map_err(|e| connection_error(&e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let mut text = read_all(response.body_mut(), 64 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        // A server's message is passed on to the caller; the key it may quote never is.
        if let Some(key) = api_key
            .as_ref()
            .map(Secret::expose)
            .filter(|k| !k.is_empty())
        {
            text = text.replace(key, "[redacted]");
        }
        Err(classify(status, &text))
    }
}

/// A failed connection or exchange: retried, named without the URL.
fn connection_error(e: &ConnectorError) -> ModelError {
    ModelError::Retryable(if e.is_timeout() {
        ToolError::new(
            ErrorCode::UpstreamTimeout,
            format!("{UPSTREAM} did not answer in time"),
        )
    } else if e.is_io() {
        ToolError::new(
            ErrorCode::Unavailable,
            format!("could not connect to {UPSTREAM}"),
        )
    } else {
        ToolError::new(
            ErrorCode::UpstreamError,
            format!("request to {UPSTREAM} failed"),
        )
    })
}

/// The next piece of a response body; `None` at its end.
async fn next_chunk(body: &mut SdkBody) -> Result<Option<Vec<u8>>, ModelError> {
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data.to_vec()));
                }
            }
            Some(Err(_)) => {
                return Err(ModelError::Retryable(ToolError::new(
                    ErrorCode::UpstreamError,
                    format!("{UPSTREAM}'s answer broke off"),
                )));
            }
        }
    }
}

/// The whole body, refused past `max` bytes.
async fn read_all(body: &mut SdkBody, max: usize) -> Result<Vec<u8>, ModelError> {
    let mut out = Vec::new();
    while let Some(chunk) = next_chunk(body).await? {
        if out.len() + chunk.len() > max {
            return Err(ModelError::Fatal(ToolError::new(
                ErrorCode::PayloadTooLarge,
                format!("{UPSTREAM} answered with more than {max} bytes"),
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

const UPSTREAM: &str = "the OpenAI-compatible model server";

/// `{base}/v1/chat/completions`, whether or not the base already ends in `/v1`.
pub fn completions_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base.strip_suffix("/v1").unwrap_or(base);
    format!("{base}/v1/chat/completions")
}

/// Sorts an error answer: 429 and 5xx are retried, a context overflow is trimmed, the rest
/// is final. The server's own message is kept (cut), never the request.
pub fn classify(status: u16, body: &str) -> ModelError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = json
        .pointer("/error/message")
        .or_else(|| json.get("error").filter(|e| e.is_string()))
        .or_else(|| json.get("message"))
        .and_then(Value::as_str)
        .unwrap_or(body);
    let code = json
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let detail: String = message.chars().take(300).collect();
    let error = |kind: ErrorCode, retryable: bool| ToolError {
        code: kind,
        message: format!("{UPSTREAM} answered HTTP {status}: {detail}"),
        retryable,
    };
    match status {
        429 => ModelError::Retryable(error(ErrorCode::Throttled, true)),
        503 => ModelError::Retryable(error(ErrorCode::Unavailable, true)),
        500..=599 => ModelError::Retryable(error(ErrorCode::UpstreamError, true)),
        400 | 413 if code == "context_length_exceeded" || is_context_overflow(message) => {
            ModelError::ContextOverflow(error(ErrorCode::PayloadTooLarge, false))
        }
        // Servers that refuse a key like to quote it, whole or in part ("Incorrect API key
        // provided: sk-ab…"): their words are left out, only the status is said.
        401 | 403 => ModelError::Fatal(ToolError {
            code: ErrorCode::AccessDenied,
            message: format!("{UPSTREAM} refused the request (HTTP {status}): check model/api_key"),
            retryable: false,
        }),
        404 => ModelError::Fatal(ToolError::config(format!(
            "{UPSTREAM} does not know the configured model/id or path (HTTP 404): {detail}"
        ))),
        _ => ModelError::Fatal(error(ErrorCode::UpstreamError, false)),
    }
}

/// The request body.
pub fn body(request: &ModelRequest<'_>, stream: bool) -> Value {
    let inference = request.inference;
    let mut body = json!({
        "model": inference.model_id,
        "messages": to_messages(request.system, request.messages),
        "temperature": inference.temperature,
        "max_tokens": inference.max_tokens,
        "stream": stream,
    });
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    if let Some(top_p) = inference.top_p {
        body["top_p"] = json!(top_p);
    }
    if !inference.stop_sequences.is_empty() {
        body["stop"] = json!(inference.stop_sequences);
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema}})
            })
            .collect();
    }
    body
}

/// The conversation in chat-completions form, after the system prompt.
pub fn to_messages(system: &str, messages: &[Message]) -> Vec<Value> {
    let mut out = vec![json!({"role": "system", "content": system})];
    for message in messages {
        match message.role {
            Role::User => {
                // Tool results first (they answer the previous assistant turn), then text.
                let mut text = Vec::new();
                for block in &message.content {
                    match block {
                        Block::ToolResult { id, content, .. } => out
                            .push(json!({"role": "tool", "tool_call_id": id, "content": content})),
                        Block::Text { text: t } => text.push(t.as_str()),
                        Block::ToolUse { .. } => {}
                    }
                }
                if !text.is_empty() {
                    out.push(json!({"role": "user", "content": text.join("\n")}));
                }
            }
            Role::Assistant => {
                let text = message.text();
                let calls: Vec<Value> = message
                    .content
                    .iter()
                    .filter_map(|b| match b {
                        Block::ToolUse { id, name, input } => Some(json!({
                            "id": id, "type": "function",
                            "function": {"name": name, "arguments": input.to_string()}})),
                        _ => None,
                    })
                    .collect();
                let mut m = json!({"role": "assistant",
                                   "content": if text.is_empty() { Value::Null } else { Value::String(text) }});
                if !calls.is_empty() {
                    m["tool_calls"] = Value::Array(calls);
                }
                out.push(m);
            }
        }
    }
    out
}

fn stop_reason(finish: &str) -> StopReason {
    match finish {
        "stop" => StopReason::EndTurn,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "length" => StopReason::MaxTokens,
        "content_filter" => StopReason::ContentFiltered,
        other => StopReason::Other(other.to_owned()),
    }
}

fn usage(u: &Value) -> Usage {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n("/prompt_tokens"),
        output_tokens: n("/completion_tokens"),
        total_tokens: n("/total_tokens"),
        cache_read_input_tokens: n("/prompt_tokens_details/cached_tokens"),
        cache_write_input_tokens: 0,
    }
}

fn malformed(what: &str) -> ModelError {
    ModelError::Retryable(ToolError::new(
        ErrorCode::UpstreamError,
        format!("{UPSTREAM} sent {what}"),
    ))
}

/// A tool call's arguments, parsed. A model that writes arguments which are not a JSON
/// object gets them back as an error from the tool, not a failed request: `{}` with the text
/// kept under a key no tool accepts.
fn arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"unparsed_arguments": raw}),
    }
}

/// A call's id; some servers (older Ollama) send none, and a result must name its call.
fn call_id(id: Option<&str>, index: u64) -> String {
    match id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("call_{index}"),
    }
}

/// A reply (`choices[0].message`) as the agent's message.
pub fn from_reply(reply: &Value) -> Result<ModelReply, ModelError> {
    let choice = reply
        .pointer("/choices/0")
        .ok_or_else(|| malformed("an answer without choices"))?;
    let message = &choice["message"];
    let mut content = Vec::new();
    if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
        content.push(Block::Text {
            text: text.to_owned(),
        });
    }
    for (n, call) in message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        content.push(Block::ToolUse {
            id: call_id(call["id"].as_str(), n as u64),
            name: call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            input: arguments(call["function"]["arguments"].as_str().unwrap_or_default()),
        });
    }
    Ok(ModelReply {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason: stop_reason(choice["finish_reason"].as_str().unwrap_or("stop")),
        usage: usage(&reply["usage"]),
    })
}

/// A streamed reply while its chunks arrive.
#[derive(Debug, Default)]
pub struct Chunks {
    text: String,
    /// By the call's `index`: id, name, arguments so far.
    calls: BTreeMap<u64, (String, String, String)>,
    finish: Option<String>,
    usage: Usage,
    done: bool,
}

impl Chunks {
    /// Takes one `data:` payload; hands its text to `on_text`.
    pub fn push(&mut self, data: &str, on_text: OnText<'_>) -> Result<(), ModelError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value =
            serde_json::from_str(data).map_err(|_| malformed("a stream chunk that is not JSON"))?;
        if let Some(error) = chunk.get("error") {
            let message = error["message"].as_str().unwrap_or("stream error");
            return Err(ModelError::Retryable(ToolError::new(
                ErrorCode::UpstreamError,
                format!(
                    "{UPSTREAM} failed mid-stream: {}",
                    message.chars().take(300).collect::<String>()
                ),
            )));
        }
        if chunk["usage"].is_object() {
            self.usage = usage(&chunk["usage"]);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return Ok(());
        };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            self.text.push_str(text);
            on_text(text);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(0);
            let entry = self.calls.entry(index).or_default();
            if let Some(id) = call["id"].as_str() {
                entry.0 = id.to_owned();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.1.push_str(name);
            }
            if let Some(args) = call["function"]["arguments"].as_str() {
                entry.2.push_str(args);
            }
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            self.finish = Some(finish.to_owned());
        }
        Ok(())
    }

    /// The whole reply, once the stream has ended.
    pub fn finish(self) -> Result<ModelReply, ModelError> {
        let Some(finish) = self.finish else {
            return Err(malformed("a stream that ended before its finish_reason"));
        };
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Block::Text { text: self.text });
        }
        for (index, (id, name, args)) in self.calls {
            content.push(Block::ToolUse {
                id: call_id(Some(&id), index),
                name,
                input: arguments(&args),
            });
        }
        Ok(ModelReply {
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason: stop_reason(&finish),
            usage: self.usage,
        })
    }
}

impl Model for OpenAiCompatible {
    async fn converse(&self, request: &ModelRequest<'_>) -> Result<ModelReply, ModelError> {
        let mut response = self.send(request, false).await?;
        let bytes = read_all(response.body_mut(), MAX_ANSWER_BYTES).await?;
        let reply: Value =
            serde_json::from_slice(&bytes).map_err(|_| malformed("an answer that is not JSON"))?;
        from_reply(&reply)
    }

    async fn converse_stream<'a>(
        &'a self,
        request: &'a ModelRequest<'a>,
        on_text: OnText<'a>,
    ) -> Result<ModelReply, ModelError> {
        let mut response = self.send(request, true).await?;
        let mut chunks = Chunks::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut read = 0usize;
        while let Some(bytes) = next_chunk(response.body_mut()).await? {
            read += bytes.len();
            if read > MAX_ANSWER_BYTES {
                return Err(malformed("a stream over the answer budget"));
            }
            pending.extend_from_slice(&bytes);
            // Server-sent events: one `data:` line per chunk, events end with a blank line.
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    chunks.push(data.trim_start(), on_text)?;
                }
            }
            if chunks.done {
                break;
            }
        }
        chunks.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_takes_a_base_with_or_without_v1() {
        for base in [
            "http://127.0.0.1:11434",
            "http://127.0.0.1:11434/",
            "http://127.0.0.1:11434/v1",
        ] {
            assert_eq!(
                completions_url(base),
                "http://127.0.0.1:11434/v1/chat/completions"
            );
        }
    }

    #[test]
    fn the_history_maps_to_chat_messages_and_replies_back() {
        let history = vec![
            Message {
                role: Role::User,
                content: vec![Block::Text {
                    text: "Is prod up?".into(),
                }],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Block::Text {
                        text: "Checking.".into(),
                    },
                    Block::ToolUse {
                        id: "c1".into(),
                        name: "prometheus_query".into(),
                        input: json!({"query": "up"}),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![Block::ToolResult {
                    id: "c1".into(),
                    error: false,
                    content: "{\"value\": 1}".into(),
                }],
            },
        ];
        let messages = to_messages("sys", &history);
        assert_eq!(
            messages,
            vec![
                json!({"role": "system", "content": "sys"}),
                json!({"role": "user", "content": "Is prod up?"}),
                json!({"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "prometheus_query", "arguments": "{\"query\":\"up\"}"}}]}),
                json!({"role": "tool", "tool_call_id": "c1", "content": "{\"value\": 1}"}),
            ]
        );
        // The assistant message, as a server would echo it, comes back as the same blocks.
        let reply = json!({"choices": [{"message": messages[2], "finish_reason": "tool_calls"}],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}});
        let back = from_reply(&reply).unwrap();
        assert_eq!(back.message, history[1]);
        assert_eq!(back.stop_reason, StopReason::ToolUse);
        assert_eq!(back.usage.total_tokens, 12);
    }

    #[test]
    fn streamed_chunks_assemble_text_and_tool_calls() {
        let seen = std::sync::Mutex::new(String::new());
        let on_text = |t: &str| seen.lock().unwrap().push_str(t);
        let mut chunks = Chunks::default();
        for data in [
            r#"{"choices":[{"delta":{"role":"assistant","content":"Let "}}]}"#,
            r#"{"choices":[{"delta":{"content":"me check."}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"eks_info","arguments":"{\"action\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"list_clusters\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}"#,
            "[DONE]",
        ] {
            chunks.push(data, &on_text).unwrap();
        }
        let reply = chunks.finish().unwrap();
        assert_eq!(*seen.lock().unwrap(), "Let me check.");
        assert_eq!(
            reply.message.content,
            vec![
                Block::Text {
                    text: "Let me check.".into()
                },
                Block::ToolUse {
                    id: "c1".into(),
                    name: "eks_info".into(),
                    input: json!({"action": "list_clusters"})
                }
            ]
        );
        assert_eq!(
            (reply.stop_reason, reply.usage.total_tokens),
            (StopReason::ToolUse, 8)
        );
    }

    #[test]
    fn errors_are_sorted_like_bedrocks() {
        assert!(
            matches!(classify(429, "{}"), ModelError::Retryable(e) if e.code == ErrorCode::Throttled)
        );
        assert!(matches!(
            classify(502, "bad gateway"),
            ModelError::Retryable(_)
        ));
        let overflow = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        assert!(matches!(
            classify(400, overflow),
            ModelError::ContextOverflow(_)
        ));
        assert!(matches!(
            classify(400, r#"{"error":"maximum context length exceeded"}"#),
            ModelError::ContextOverflow(_)
        ));
        assert!(
            matches!(classify(400, r#"{"error":{"message":"bad temperature"}}"#), ModelError::Fatal(e) if e.code == ErrorCode::UpstreamError)
        );
        assert!(
            matches!(classify(401, "{}"), ModelError::Fatal(e) if e.code == ErrorCode::AccessDenied)
        );
    }
}
