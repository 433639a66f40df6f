//! What the agent takes and gives (docs/contract.md §2.8): the question, the answer with the
//! evidence of how it was found, and the checks a question passes before any work starts.

use common::{ToolError, retry::random_u64};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Usage;

/// Longest prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 10_000;
/// Longest session id.
pub const MAX_SESSION_ID: usize = 100;

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// The operator's question.
    pub prompt: String,
    /// The conversation to continue; a new one is started when absent.
    #[serde(default)]
    pub session_id: Option<String>,
}

impl AgentInput {
    /// Checks the prompt's length and the session id's characters against the contract.
    pub fn check(&self) -> Result<(), ToolError> {
        let chars = self.prompt.chars().count();
        if self.prompt.trim().is_empty() || chars > MAX_PROMPT_CHARS {
            return Err(ToolError::invalid_input(format!(
                "prompt must be 1 to {MAX_PROMPT_CHARS} characters (not only spaces), got {chars}"
            )));
        }
        if let Some(id) = &self.session_id {
            let valid = (1..=MAX_SESSION_ID).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            if !valid {
                return Err(ToolError::invalid_input(format!(
                    "session_id must be 1 to {MAX_SESSION_ID} of [A-Za-z0-9._:-]"
                )));
            }
        }
        Ok(())
    }
}

/// A new session id: 128 random bits, hex.
pub fn new_session_id() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// Longest tool input kept as evidence, in bytes of its JSON: a PromQL expression or a Logs
/// Insights query fits whole; a model sending a megabyte of arguments does not fill the answer.
pub const MAX_EVIDENCE_INPUT_BYTES: usize = 2_048;
/// The start of each tool result kept as evidence, in bytes: enough for an operator to see
/// what came back; the whole result went to the model.
pub const MAX_RESULT_PREVIEW_BYTES: usize = 1_024;
/// Longest tool error message kept as evidence, in bytes.
pub const MAX_EVIDENCE_ERROR_BYTES: usize = 1_024;

/// One tool call, as reported to the caller: what was asked, how it ended, and the start of
/// what came back, so that an operator can check the answer against its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    /// The tool's name, as the model called it.
    pub name: String,
    /// `success` or `error`.
    pub status: &'static str,
    /// How long the call took, the Lambda invocation included.
    pub duration_ms: u64,
    /// The arguments the model sent: the object itself, or, when its JSON is over
    /// [`MAX_EVIDENCE_INPUT_BYTES`], that JSON as a string cut with a marker.
    pub input: Value,
    /// The first [`MAX_RESULT_PREVIEW_BYTES`] of the tool's answer, as the model read it
    /// (absent on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_preview: Option<String>,
    /// Why the call failed (absent on success): the tool's own envelope, or the agent's when
    /// the tool could not be reached, timed out or does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ToolCallError>,
}

/// A failed tool call's code and message: a gap in the evidence, which the model is told to
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCallError {
    /// The envelope's code (`ACCESS_DENIED`, `UPSTREAM_TIMEOUT`, …).
    pub code: String,
    /// The envelope's message, cut at [`MAX_EVIDENCE_ERROR_BYTES`].
    pub message: String,
}

/// Tokens, and what they cost when prices are configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OutputUsage {
    /// Input, output and cache tokens over every model call.
    #[serde(flatten)]
    pub tokens: Usage,
    /// Dollars, rounded to a millionth, when every kind of token used has a price
    /// (`model/price_*_per_mtok`); absent otherwise: no cost is invented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// The function's output.
#[derive(Debug, Serialize)]
pub struct AgentOutput {
    /// The session this answer belongs to (the given one or a new one).
    pub session_id: String,
    /// The model's answer.
    pub response: String,
    /// Why the loop stopped: `end_turn`, `max_cycles`, `max_tokens`, or the model's own reason.
    pub stop_reason: String,
    /// Model calls made.
    pub cycles: u32,
    /// Tool calls, in the order they were requested.
    pub tool_calls: Vec<ToolCall>,
    /// Input, output and cache tokens over every model call, and their cost.
    pub usage: OutputUsage,
    /// Time from the request to the answer.
    pub latency_ms: u64,
    /// The model or inference profile that answered.
    pub model_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(prompt: &str, session_id: Option<&str>) -> AgentInput {
        AgentInput {
            prompt: prompt.to_owned(),
            session_id: session_id.map(str::to_owned),
        }
    }

    #[test]
    fn a_prompt_must_have_words_and_fit_the_limit() {
        assert!(input("why is p99 up?", None).check().is_ok());
        assert!(input(&"é".repeat(MAX_PROMPT_CHARS), None).check().is_ok());
        for bad in [
            String::new(),
            " \n\t".to_owned(),
            "x".repeat(MAX_PROMPT_CHARS + 1),
        ] {
            let e = input(&bad, None).check().unwrap_err();
            assert_eq!(e.code, common::ErrorCode::InvalidInput);
            assert!(e.message.contains("10000 characters"), "{e}");
        }
    }

    #[test]
    fn a_session_id_is_short_and_plain() {
        for good in ["incident-42", "a.b:c_d-E", &"x".repeat(MAX_SESSION_ID)] {
            assert!(input("q", Some(good)).check().is_ok(), "{good}");
        }
        for bad in [
            "",
            "has space",
            "semi;colon",
            "ü",
            &"x".repeat(MAX_SESSION_ID + 1),
        ] {
            let e = input("q", Some(bad)).check().unwrap_err();
            assert!(
                e.message.contains("session_id must be 1 to 100"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn new_session_ids_are_valid_and_distinct() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a, b);
        assert!(input("q", Some(&a)).check().is_ok());
        assert_eq!(a.len(), 32);
    }
}
