//! The tools the model may call: an explicit registry built from `common::tools` (no
//! discovery), each mapped to the Lambda function that implements it, and the Lambda Invoke
//! call that runs one.

use std::{collections::HashMap, future::Future, time::Duration};

use aws_sdk_lambda::primitives::Blob;
use common::{ErrorCode, Settings, ToolError};
use serde_json::Value;

use crate::model::ToolSpec;

/// Longest tool result handed to the model, in bytes; longer ones are cut with a visible
/// note (a Prometheus answer can be 5 MB; the model needs its head, not all of it).
pub const MAX_TOOL_RESULT_BYTES: usize = 16_000;

/// The tools and the functions behind them.
#[derive(Debug, Clone)]
pub struct Registry {
    /// What the model is told.
    pub specs: Vec<ToolSpec>,
    functions: HashMap<String, String>,
}

/// Checks what Bedrock would reject: a name outside `[a-zA-Z0-9_-]{1,64}`, an empty
/// description, a schema that is not of type `object`.
pub fn check_spec(spec: &ToolSpec) -> Result<(), ToolError> {
    let valid_name = (1..=64).contains(&spec.name.len())
        && spec
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(ToolError::internal(&format!(
            "tool name {:?} is not [a-zA-Z0-9_-]{{1,64}}",
            spec.name
        )));
    }
    if spec.description.trim().is_empty() {
        return Err(ToolError::internal(&format!(
            "tool {} has no description",
            spec.name
        )));
    }
    if spec.input_schema["type"] != "object" {
        return Err(ToolError::internal(&format!(
            "tool {}'s input schema is not of type object",
            spec.name
        )));
    }
    Ok(())
}

impl Registry {
    /// Every tool of `common::tools::ALL`, each mapped to `tools/<function>/function` or its
    /// default function name.
    pub fn from_settings(settings: &Settings) -> Result<Self, ToolError> {
        let mut specs = Vec::with_capacity(common::tools::ALL.len());
        let mut functions = HashMap::new();
        for tool in common::tools::ALL {
            let parsed = tool.parsed();
            let spec = ToolSpec {
                name: parsed["name"].as_str().unwrap_or_default().to_owned(),
                description: parsed["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                input_schema: parsed["input_schema"].clone(),
            };
            check_spec(&spec)?;
            let key = format!("tools/{}/function", tool.function);
            let function = settings
                .get(&key)
                .map(|f| f.trim().to_owned())
                .unwrap_or_else(|| tool.function.to_owned());
            functions.insert(spec.name.clone(), function);
            specs.push(spec);
        }
        Ok(Self { specs, functions })
    }

    /// The function implementing tool `name`, if it is a tool.
    pub fn function(&self, name: &str) -> Option<&str> {
        self.functions.get(name).map(String::as_str)
    }
}

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
    fn the_registry_holds_every_tool_with_its_function() {
        let settings = Settings::from_values(HashMap::from([(
            "tools/web-search/function".to_owned(),
            "arn:aws:lambda:us-east-1:123456789012:function:search-prod".to_owned(),
        )]));
        let r = Registry::from_settings(&settings).unwrap();
        let names: Vec<&str> = r.specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "prometheus_metadata",
                "prometheus_query",
                "prometheus_range_query",
                "eks_info",
                "web_search"
            ]
        );
        assert_eq!(
            r.function("web_search"),
            Some("arn:aws:lambda:us-east-1:123456789012:function:search-prod")
        );
        assert_eq!(r.function("eks_info"), Some("eks-info"));
        assert_eq!(r.function("delete_cluster"), None);
    }

    #[test]
    fn what_bedrock_rejects_is_caught() {
        let spec = |name: &str, description: &str, kind: &str| ToolSpec {
            name: name.into(),
            description: description.into(),
            input_schema: serde_json::json!({"type": kind}),
        };
        assert!(check_spec(&spec("ok_name-1", "does things", "object")).is_ok());
        assert!(check_spec(&spec("has space", "d", "object")).is_err());
        assert!(check_spec(&spec(&"n".repeat(65), "d", "object")).is_err());
        assert!(check_spec(&spec("", "d", "object")).is_err());
        assert!(check_spec(&spec("n", "  ", "object")).is_err());
        assert!(check_spec(&spec("n", "d", "array")).is_err());
    }

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
