//! The seam between the loop and a model provider: one request, one reply, and errors sorted
//! by what the loop does with them (retry, trim the context, or give up).

use std::future::Future;

use common::ToolError;
use serde::Serialize;
use serde_json::Value;

use crate::conversation::Message;

/// Which API serves the model (`model/provider`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Amazon Bedrock's Converse API (the default).
    Bedrock,
    /// An OpenAI-compatible `POST {base_url}/v1/chat/completions` (Ollama, llama.cpp's
    /// server, vLLM, OpenAI).
    OpenAi {
        /// `model/base_url`, e.g. `http://127.0.0.1:11434`.
        base_url: String,
        /// `model/api_key` (SecureString), sent as a bearer token when set.
        api_key: Option<common::Secret>,
    },
}

/// Sampling settings (docs/contract.md §3: `model/*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inference {
    /// The API that serves the model.
    pub provider: Provider,
    /// Model or inference-profile id.
    pub model_id: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens per reply.
    pub max_tokens: i32,
    /// Nucleus sampling, if set.
    pub top_p: Option<f32>,
    /// Stop sequences.
    pub stop_sequences: Vec<String>,
}

/// A tool as the model is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name (`[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// Its input JSON Schema (type `object`).
    pub input_schema: Value,
}

/// A guardrail to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// Guardrail id or ARN.
    pub id: String,
    /// Version (`DRAFT` or a number).
    pub version: String,
}

/// One request to the model.
#[derive(Debug, Clone)]
pub struct ModelRequest<'a> {
    /// System prompt.
    pub system: &'a str,
    /// The conversation (a valid window).
    pub messages: &'a [Message],
    /// The tools.
    pub tools: &'a [ToolSpec],
    /// Sampling settings.
    pub inference: &'a Inference,
    /// Guardrail, if configured.
    pub guardrail: Option<&'a Guardrail>,
    /// Whether to mark the system prompt and tools as a cache prefix.
    pub cache_prompt: bool,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// It answered.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It ran out of tokens (a tool use in the reply may be cut off).
    MaxTokens,
    /// A stop sequence.
    StopSequence,
    /// A guardrail intervened.
    GuardrailIntervened,
    /// Content filtering.
    ContentFiltered,
    /// A reason this code does not know yet.
    Other(String),
}

impl StopReason {
    /// The reason as Bedrock spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::EndTurn => "end_turn",
            Self::ToolUse => "tool_use",
            Self::MaxTokens => "max_tokens",
            Self::StopSequence => "stop_sequence",
            Self::GuardrailIntervened => "guardrail_intervened",
            Self::ContentFiltered => "content_filtered",
            Self::Other(other) => other,
        }
    }
}

/// Token counts (docs/contract.md §2.8, `usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
    /// Prompt tokens read from the cache.
    pub cache_read_input_tokens: u64,
    /// Prompt tokens written to the cache.
    pub cache_write_input_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.total_tokens += other.total_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
    }
}

/// The model's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The assistant message.
    pub message: Message,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Tokens used.
    pub usage: Usage,
}

/// A failed request, sorted by what to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// Throttling, a 5xx, a model timeout or stream error: try again after a wait.
    Retryable(ToolError),
    /// The conversation does not fit the model's context: shorten it and try again.
    ContextOverflow(ToolError),
    /// Anything else: give up with this error.
    Fatal(ToolError),
}

impl ModelError {
    /// The envelope error inside.
    pub fn error(&self) -> &ToolError {
        match self {
            Self::Retryable(e) | Self::ContextOverflow(e) | Self::Fatal(e) => e,
        }
    }
}

/// Messages providers use for "the conversation is too long" (Bedrock's ValidationException
/// texts across model families, and OpenAI-style ones).
pub fn is_context_overflow(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "input is too long",
        "input length and `max_tokens` exceed context limit",
        "too many total text bytes",
        "prompt is too long",
        "maximum context length",
        "context_length_exceeded",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// Receives the reply's text piece by piece while the model generates it.
pub type OnText<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A model provider.
pub trait Model: Send + Sync {
    /// Sends one request and waits for the whole reply.
    fn converse(
        &self,
        request: &ModelRequest<'_>,
    ) -> impl Future<Output = Result<ModelReply, ModelError>> + Send;

    /// Sends one request and hands the reply's text to `on_text` as it arrives; returns the
    /// same reply as [`Model::converse`]. A provider without streaming answers in one piece.
    fn converse_stream<'a>(
        &'a self,
        request: &'a ModelRequest<'a>,
        on_text: OnText<'a>,
    ) -> impl Future<Output = Result<ModelReply, ModelError>> + Send + 'a {
        async move {
            let reply = self.converse(request).await?;
            on_text(&reply.message.text());
            Ok(reply)
        }
    }
}
