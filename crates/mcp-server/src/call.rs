//! `tools/call` once the tool is known to be exposed: the arguments checked
//! ([`crate::arguments`]), the tool's Lambda invoked through `common::invoke` (the agent's
//! invoker and function map) within the function's deadline, and its answer carried back as
//! an MCP tool result.
//!
//! | what happened | `isError` | `structuredContent` | `content[0].text` |
//! |---|---|---|---|
//! | the tool answered a result | `false` | the result object | the same JSON, as the tool sent it |
//! | the tool answered its error envelope (`INVALID_INPUT`, `UNAVAILABLE`, …) | `true` | the envelope | the same JSON |
//! | the arguments failed the schema check (no invoke) | `true` | an `INVALID_INPUT` envelope naming every problem | the same JSON |
//! | the Lambda crashed or timed out, or the call outlived the deadline | `true` | an `UPSTREAM_ERROR` / `UPSTREAM_TIMEOUT` envelope, as the agent reports it | the same JSON |
//! | the tool answered something that is not a JSON object | `true` | an `UPSTREAM_ERROR` envelope | the same JSON |
//!
//! Both revisions make input validation a tool execution error (`isError`), not a protocol
//! error, so a model reads it and corrects its call. Envelopes this server writes carry its
//! own Lambda request id; a tool's carry the tool's.

use std::time::Duration;

use common::{
    Deadline, ErrorCode, ToolError,
    invoke::{Invoker, invoke_within, tool_timeout},
    tools::ToolDefinition,
};
use serde_json::{Map, Value, json};

use crate::{arguments, catalog, settings::McpSettings};

/// How a call ended, for the audit line and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The tool answered a result.
    Ok,
    /// The tool, or this server for it, answered an error envelope with this code.
    Error(String),
}

impl Status {
    /// `ok`, or the envelope's code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ok => "ok",
            Self::Error(code) => code,
        }
    }
}

/// A tool result (`CallToolResult` without the revision's own fields) and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `{"content", "structuredContent", "isError"}`.
    pub result: Value,
    /// How it ended.
    pub status: Status,
}

/// Calls `tool` with `arguments` (see the module docs).
pub async fn call<I: Invoker>(
    invoker: &I,
    settings: &McpSettings,
    tool: &ToolDefinition,
    arguments: Map<String, Value>,
    deadline: &Deadline,
    request_id: &str,
) -> Outcome {
    if let Err(problems) = arguments::check(catalog::input_schema(tool), &arguments) {
        let e = ToolError::invalid_input(format!("{}: {problems}", tool.name));
        return failed(&e, request_id);
    }
    let Some(function) = settings.functions.function(tool.name) else {
        return failed(
            &ToolError::internal("an exposed tool has no function"),
            request_id,
        );
    };
    let payload = serde_json::to_vec(&Value::Object(arguments)).unwrap_or_else(|_| b"{}".to_vec());
    let timeout = tool_timeout(Duration::MAX, deadline);
    // Boxed: the SDK's future nests so deeply that the runtime's future type would exceed
    // the compiler's layout depth (as `common::event` boxes every handler).
    let invoked: std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>> = Box::pin(invoke_within(
        invoker, tool.name, function, payload, timeout,
    ));
    match invoked.await {
        Ok(answer) => of_answer(tool.name, answer, request_id),
        Err(e) => failed(&e, request_id),
    }
}

/// The result for a tool's answer: a JSON object, a result or an envelope.
fn of_answer(tool: &str, answer: Vec<u8>, request_id: &str) -> Outcome {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&answer) else {
        return failed(
            &ToolError::new(
                ErrorCode::UpstreamError,
                format!(
                    "the tool {tool} answered with {} bytes that are not a JSON object",
                    answer.len()
                ),
            ),
            request_id,
        );
    };
    let code = object
        .get("error")
        .and_then(|e| e.get("code"))
        .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
    // Parsed as JSON, so it is UTF-8.
    let text = String::from_utf8(answer).unwrap_or_default();
    let status = match code {
        Some(code) => Status::Error(code),
        None => Status::Ok,
    };
    Outcome {
        result: result(text, Value::Object(object), status != Status::Ok),
        status,
    }
}

/// The `isError` result for an error this server reports for the tool.
pub fn failed(error: &ToolError, request_id: &str) -> Outcome {
    let envelope = serde_json::to_value(error.envelope(request_id)).unwrap_or(Value::Null);
    Outcome {
        result: result(envelope.to_string(), envelope, true),
        status: Status::Error(error.code.as_str().to_owned()),
    }
}

fn result(text: String, structured: Value, is_error: bool) -> Value {
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": structured,
        "isError": is_error,
    })
}

/// The same result without `structuredContent`, for an answer too large to carry twice.
pub fn text_only(result: &Value) -> Value {
    let mut result = result.clone();
    if let Some(object) = result.as_object_mut() {
        object.remove("structuredContent");
    }
    result
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
    };

    use common::Settings;

    use super::*;

    /// Answers every call with a fixed result and records what it was sent.
    #[derive(Clone)]
    struct Answering {
        answer: Result<Vec<u8>, ToolError>,
        calls: Arc<Mutex<Vec<(String, Value)>>>,
    }

    impl Answering {
        fn new(answer: Result<&str, ToolError>) -> Self {
            Self {
                answer: answer.map(|a| a.as_bytes().to_vec()),
                calls: Arc::default(),
            }
        }
    }

    impl Invoker for Answering {
        async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, ToolError> {
            self.calls.lock().unwrap().push((
                function.to_owned(),
                serde_json::from_slice(&payload).unwrap(),
            ));
            self.answer.clone()
        }
    }

    fn settings() -> McpSettings {
        McpSettings::from_settings(&Settings::from_values(HashMap::from([(
            "tools/prometheus-query/function".to_owned(),
            "devops-agent-dev-PrometheusQuery".to_owned(),
        )])))
        .unwrap()
    }

    async fn run(invoker: &Answering, arguments: Value) -> Outcome {
        let s = settings();
        let tool = s.tool("prometheus_query").unwrap().to_owned();
        call(
            invoker,
            &s,
            &tool,
            arguments.as_object().unwrap().clone(),
            &Deadline::after(Duration::from_secs(30)),
            "req-1",
        )
        .await
    }

    #[tokio::test]
    async fn a_result_is_structured_content_and_the_same_text() {
        let answer = r#"{"result_type":"vector","series":[]}"#;
        let invoker = Answering::new(Ok(answer));
        let out = run(&invoker, json!({"query": "up"})).await;
        assert_eq!(out.status, Status::Ok);
        assert_eq!(out.result["isError"], false);
        assert_eq!(out.result["content"][0]["type"], "text");
        assert_eq!(out.result["content"][0]["text"], answer);
        assert_eq!(
            out.result["structuredContent"],
            json!({"result_type": "vector", "series": []})
        );
        // The function comes from the map, the payload is the arguments.
        assert_eq!(
            invoker.calls.lock().unwrap().as_slice(),
            [(
                "devops-agent-dev-PrometheusQuery".to_owned(),
                json!({"query": "up"})
            )]
        );
    }

    #[tokio::test]
    async fn a_tool_envelope_is_an_error_result() {
        let envelope = r#"{"error":{"code":"UNAVAILABLE","message":"Prometheus refused the connection","retryable":true,"request_id":"t"}}"#;
        let out = run(&Answering::new(Ok(envelope)), json!({"query": "up"})).await;
        assert_eq!(out.status, Status::Error("UNAVAILABLE".into()));
        assert_eq!(out.result["isError"], true);
        assert_eq!(out.result["content"][0]["text"], envelope);
        assert_eq!(
            out.result["structuredContent"]["error"]["code"],
            "UNAVAILABLE"
        );
    }

    #[tokio::test]
    async fn bad_arguments_never_reach_the_tool() {
        let invoker = Answering::new(Ok("{}"));
        let out = run(&invoker, json!({"max_series": "many", "q": 1})).await;
        assert_eq!(out.status, Status::Error("INVALID_INPUT".into()));
        let e = &out.result["structuredContent"]["error"];
        assert_eq!(e["request_id"], "req-1");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.starts_with("prometheus_query: query is required")
                && message.contains("max_series must be an integer")
                && message.contains("unknown argument q"),
            "{message}"
        );
        assert!(invoker.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_crash_or_garbage_is_the_agents_envelope() {
        let crash = ToolError {
            code: ErrorCode::UpstreamError,
            message: "the tool function prometheus-query failed (Unhandled)".into(),
            retryable: true,
        };
        let out = run(&Answering::new(Err(crash)), json!({"query": "up"})).await;
        assert_eq!(out.status, Status::Error("UPSTREAM_ERROR".into()));
        let e = &out.result["structuredContent"]["error"];
        assert_eq!(
            (&e["retryable"], &e["request_id"]),
            (&json!(true), &json!("req-1"))
        );
        let out = run(&Answering::new(Ok("[1, 2]")), json!({"query": "up"})).await;
        assert_eq!(out.status, Status::Error("UPSTREAM_ERROR".into()));
        assert!(
            out.result["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("not a JSON object")
        );
        assert!(text_only(&out.result).get("structuredContent").is_none());
    }
}
