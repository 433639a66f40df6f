//! Running a tool: the Lambda Invoke call, its timeout and the tool → function map are
//! `common::invoke`'s (shared with the MCP server, re-exported here); this module holds how a
//! tool's answer is handed to the model.

use common::{ErrorCode, ToolError};
use serde_json::Value;

pub use common::invoke::{Invoker, LambdaInvoker, tool_timeout};

use crate::io::{
    MAX_EVIDENCE_ERROR_BYTES, MAX_EVIDENCE_INPUT_BYTES, MAX_RESULT_PREVIEW_BYTES, ToolCallError,
};

/// Longest tool result handed to the model, in bytes; longer ones are cut with a visible
/// note (a Prometheus answer can be 5 MB; the model needs its head, not all of it).
pub const MAX_TOOL_RESULT_BYTES: usize = 16_000;

/// What one tool call gives the model, and the failure it reports as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolAnswer {
    /// The answer as JSON text, cut to [`MAX_TOOL_RESULT_BYTES`]: the `toolResult` content.
    pub content: String,
    /// The error envelope's code and message when the call failed.
    pub error: Option<ToolCallError>,
}

impl ToolAnswer {
    /// A tool's response payload. An answer that is not JSON is not an answer (every tool
    /// answers a JSON object): the model is told the tool failed, rather than handed bytes to
    /// interpret as data.
    pub fn of_payload(payload: &[u8]) -> Self {
        let Ok(parsed) = serde_json::from_slice::<Value>(payload) else {
            return Self::failed(&ToolError::new(
                ErrorCode::UpstreamError,
                format!(
                    "the tool answered with {} bytes that are not JSON",
                    payload.len()
                ),
            ));
        };
        let error = parsed
            .get("error")
            .filter(|e| e.get("code").is_some())
            .map(|e| {
                let field = |name: &str| match &e[name] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                ToolCallError {
                    code: field("code"),
                    message: truncate(&field("message"), MAX_EVIDENCE_ERROR_BYTES),
                }
            });
        let text = String::from_utf8_lossy(payload);
        Self {
            content: truncate(&text, MAX_TOOL_RESULT_BYTES),
            error,
        }
    }

    /// A call that failed before the tool answered (not reached, timed out, no such tool):
    /// the agent's own envelope.
    pub fn failed(error: &ToolError) -> Self {
        Self {
            content: serde_json::json!({"error": {"code": error.code, "message": error.message, "retryable": error.retryable}})
                .to_string(),
            error: Some(ToolCallError {
                code: error.code.as_str().to_owned(),
                message: truncate(&error.message, MAX_EVIDENCE_ERROR_BYTES),
            }),
        }
    }

    /// The start of the answer an operator sees next to the call; none for a failure, whose
    /// code and message say more.
    pub fn preview(&self) -> Option<String> {
        match self.error {
            Some(_) => None,
            None => Some(truncate(&self.content, MAX_RESULT_PREVIEW_BYTES)),
        }
    }
}

/// The arguments a model sent, as evidence: the value itself when its JSON fits
/// [`MAX_EVIDENCE_INPUT_BYTES`], else the start of that JSON with a marker.
pub fn evidence_input(input: &Value) -> Value {
    let json = input.to_string();
    if json.len() <= MAX_EVIDENCE_INPUT_BYTES {
        return input.clone();
    }
    Value::String(truncate(&json, MAX_EVIDENCE_INPUT_BYTES))
}

/// `text` cut to at most `max` bytes at a character boundary, with a note saying so.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[truncated by the agent: the first {end} of {} bytes]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_cut_visibly_and_errors_recognised() {
        let answer = ToolAnswer::of_payload(
            br#"{"error": {"code": "THROTTLED", "message": "m", "retryable": true}}"#,
        );
        assert!(answer.content.contains("THROTTLED"));
        assert_eq!(
            answer.error,
            Some(ToolCallError {
                code: "THROTTLED".into(),
                message: "m".into()
            })
        );
        assert_eq!(answer.preview(), None);
        let answer = ToolAnswer::of_payload(br#"{"status":"success","data":{"#);
        let error = answer.error.unwrap();
        assert_eq!(error.code, "UPSTREAM_ERROR");
        assert!(error.message.contains("not JSON"), "{error:?}");
        let answer = ToolAnswer::of_payload(br#"{"results": []}"#);
        assert_eq!(answer.content, r#"{"results": []}"#);
        assert_eq!(answer.error, None);
        assert_eq!(answer.preview().as_deref(), Some(r#"{"results": []}"#));
        let big = "é".repeat(20_000);
        let cut = truncate(&big, 1_001);
        assert!(cut.starts_with(&"é".repeat(500)));
        assert!(cut.ends_with("[truncated by the agent: the first 1000 of 40000 bytes]"));
    }

    #[test]
    fn the_preview_is_the_start_of_the_answer() {
        let payload = format!(r#"{{"lines": "{}"}}"#, "x".repeat(5_000));
        let preview = ToolAnswer::of_payload(payload.as_bytes())
            .preview()
            .unwrap();
        assert!(preview.starts_with(r#"{"lines": "xxx"#), "{preview}");
        assert!(
            preview.ends_with(&format!(
                "[truncated by the agent: the first {MAX_RESULT_PREVIEW_BYTES} of {} bytes]",
                payload.len()
            )),
            "{preview}"
        );
    }

    #[test]
    fn a_failure_before_the_tool_answered_is_the_agents_envelope() {
        let answer = ToolAnswer::failed(&ToolError::new(
            ErrorCode::UpstreamTimeout,
            "the tool k8s_info did not answer within 20000 ms",
        ));
        let envelope: Value = serde_json::from_str(&answer.content).unwrap();
        assert_eq!(envelope["error"]["code"], "UPSTREAM_TIMEOUT");
        assert_eq!(answer.error.unwrap().code, "UPSTREAM_TIMEOUT");
    }
}
