//! Running a tool: the Lambda Invoke call (behind [`Invoker`], so tests can run tools in
//! process), how long a call may take, and how its answer is handed to the model.

use std::{future::Future, time::Duration};

use aws_sdk_lambda::primitives::Blob;
use common::{ErrorCode, ToolError};
use serde_json::Value;

/// Longest tool result handed to the model, in bytes; longer ones are cut with a visible
/// note (a Prometheus answer can be 5 MB; the model needs its head, not all of it).
pub const MAX_TOOL_RESULT_BYTES: usize = 16_000;

/// Runs a function with a JSON payload and returns its response payload.
pub trait Invoker: Send + Sync {
    /// Invokes `function` synchronously; the caller bounds the time.
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, ToolError>> + Send;
}

/// The Lambda Invoke API; the client is built on first use.
#[derive(Debug, Default)]
pub struct LambdaInvoker {
    client: tokio::sync::OnceCell<aws_sdk_lambda::Client>,
}

impl LambdaInvoker {
    /// An invoker whose client is built on the first call.
    pub fn new() -> Self {
        Self::default()
    }

    /// An invoker using `client`.
    pub fn with_client(client: aws_sdk_lambda::Client) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, ToolError> {
        let client = self
            .client
            .get_or_init(|| async { aws_sdk_lambda::Client::new(common::aws::sdk_config().await) })
            .await;
        let out = client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                let mut error = ToolError::from_sdk("AWS Lambda", &e);
                if error.code == ErrorCode::NotFound {
                    error.message = format!("the tool function {function} does not exist");
                }
                error
            })?;
        if let Some(kind) = out.function_error() {
            // Our tools answer failures with the envelope; a function error is a crash or a
            // timeout of the tool itself.
            return Err(ToolError {
                code: ErrorCode::UpstreamError,
                message: format!("the tool function {function} failed ({kind})"),
                retryable: true,
            });
        }
        Ok(out
            .payload()
            .map(|p| p.as_ref().to_vec())
            .unwrap_or_default())
    }
}

/// What one tool call gives the model: the answer as JSON text, cut to
/// [`MAX_TOOL_RESULT_BYTES`], and whether it is an error. An answer that is not JSON is not
/// an answer (every tool answers a JSON object): the model is told the tool failed, rather
/// than handed bytes to interpret as data.
pub fn result_text(payload: &[u8]) -> (String, bool) {
    let Ok(parsed) = serde_json::from_slice::<Value>(payload) else {
        let error = ToolError::new(
            ErrorCode::UpstreamError,
            format!(
                "the tool answered with {} bytes that are not JSON",
                payload.len()
            ),
        );
        return (error_text(&error), true);
    };
    let is_error = parsed.get("error").is_some_and(|e| e.get("code").is_some());
    let text = String::from_utf8_lossy(payload);
    (truncate(&text, MAX_TOOL_RESULT_BYTES), is_error)
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

/// The envelope of an error, as a tool result's text.
pub fn error_text(error: &ToolError) -> String {
    serde_json::json!({"error": {"code": error.code, "message": error.message, "retryable": error.retryable}})
        .to_string()
}

/// How long a tool may run: `wanted`, or less when the deadline is nearer.
pub fn tool_timeout(wanted: Duration, deadline: &common::Deadline) -> Duration {
    deadline
        .remaining()
        .saturating_sub(common::deadline::ANSWER_RESERVE * 2)
        .min(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_cut_visibly_and_errors_recognised() {
        let (text, error) =
            result_text(br#"{"error": {"code": "THROTTLED", "message": "m", "retryable": true}}"#);
        assert!(error && text.contains("THROTTLED"));
        let (text, error) = result_text(br#"{"status":"success","data":{"#);
        assert!(
            error && text.contains("UPSTREAM_ERROR") && text.contains("not JSON"),
            "{text}"
        );
        let (text, error) = result_text(br#"{"results": []}"#);
        assert!(!error && text == r#"{"results": []}"#);
        let big = "é".repeat(20_000);
        let cut = truncate(&big, 1_001);
        assert!(cut.starts_with(&"é".repeat(500)));
        assert!(cut.ends_with("[truncated by the agent: the first 1000 of 40000 bytes]"));
    }
}
