//! Amazon Bedrock's Converse API as a [`Model`]: the conversation and tools translated to the
//! SDK's types, the reply and errors translated back.

use std::collections::BTreeMap;

use aws_sdk_bedrockruntime::{
    Client,
    error::ProvideErrorMetadata,
    types::{
        CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ContentBlockStart,
        ConversationRole, ConverseOutput, ConverseStreamOutput, GuardrailConfiguration,
        GuardrailStreamConfiguration, GuardrailStreamProcessingMode, GuardrailTrace,
        InferenceConfiguration, Message as SdkMessage, StopReason as SdkStop, SystemContentBlock,
        TokenUsage, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock,
        ToolResultContentBlock, ToolResultStatus, ToolSpecification, ToolUseBlock,
        error::ConverseStreamOutputError,
    },
};
use aws_smithy_types::{Document, Number, error::operation::BuildError};
use common::{ErrorCode, ToolError};
use serde_json::Value;

use crate::{
    conversation::{Block, Message, Role},
    model::{
        Model, ModelError, ModelReply, ModelRequest, OnText, StopReason, Usage, is_context_overflow,
    },
};

/// Bedrock's Converse API. The client is built on first use from the process-wide SDK
/// configuration, with the SDK's own retries off: the agent's loop retries (with its own
/// backoff, inside the deadline), and two layers would multiply the attempts.
#[derive(Debug, Default)]
pub struct Bedrock {
    client: tokio::sync::OnceCell<Client>,
}

impl Bedrock {
    /// A model whose client is built on the first request.
    pub fn new() -> Self {
        Self::default()
    }

    /// A model using `client`.
    pub fn with_client(client: Client) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config =
                    aws_sdk_bedrockruntime::config::Builder::from(common::aws::sdk_config().await)
                        .retry_config(
                            aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled(),
                        )
                        .build();
                Client::from_conf(config)
            })
            .await
    }
}

/// JSON → Smithy document.
pub fn to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(to_document).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_document(v)))
                .collect(),
        ),
    }
}

/// Smithy document → JSON (a non-finite float, which JSON cannot hold, becomes `null`).
pub fn to_json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Document::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn built(e: BuildError) -> ModelError {
    ModelError::Fatal(ToolError::internal(&format!(
        "a Bedrock request could not be built: {e}"
    )))
}

fn to_sdk(message: &Message) -> Result<SdkMessage, ModelError> {
    let mut content = Vec::with_capacity(message.content.len());
    for block in &message.content {
        content.push(match block {
            Block::Text { text } => ContentBlock::Text(text.clone()),
            Block::ToolUse { id, name, input } => ContentBlock::ToolUse(
                ToolUseBlock::builder()
                    .tool_use_id(id)
                    .name(name)
                    .input(to_document(input))
                    .build()
                    .map_err(built)?,
            ),
            Block::ToolResult { id, error, content } => ContentBlock::ToolResult(
                ToolResultBlock::builder()
                    .tool_use_id(id)
                    .content(ToolResultContentBlock::Text(content.clone()))
                    .status(if *error {
                        ToolResultStatus::Error
                    } else {
                        ToolResultStatus::Success
                    })
                    .build()
                    .map_err(built)?,
            ),
        });
    }
    SdkMessage::builder()
        .role(match message.role {
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        })
        .set_content(Some(content))
        .build()
        .map_err(built)
}

/// A Bedrock message → ours; content blocks this agent does not use (images, documents,
/// reasoning) are left out.
pub fn from_sdk(message: &SdkMessage) -> Message {
    let content = message
        .content()
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(Block::Text { text: text.clone() }),
            ContentBlock::ToolUse(tool) => Some(Block::ToolUse {
                id: tool.tool_use_id().to_owned(),
                name: tool.name().to_owned(),
                input: to_json(tool.input()),
            }),
            // Reasoning, citations, images: not part of what the agent keeps.
            _ => None,
        })
        .collect();
    Message {
        role: Role::Assistant,
        content,
    }
}

fn stop_reason(reason: &SdkStop) -> StopReason {
    match reason {
        SdkStop::EndTurn => StopReason::EndTurn,
        SdkStop::ToolUse => StopReason::ToolUse,
        SdkStop::MaxTokens => StopReason::MaxTokens,
        SdkStop::StopSequence => StopReason::StopSequence,
        SdkStop::GuardrailIntervened => StopReason::GuardrailIntervened,
        SdkStop::ContentFiltered => StopReason::ContentFiltered,
        other => StopReason::Other(other.as_str().to_owned()),
    }
}

/// Sorts a Converse failure: throttling, unavailability, model timeouts and internal and
/// stream errors are retried; a context overflow is trimmed; the rest is final.
pub fn classify<E, R>(err: &aws_sdk_bedrockruntime::error::SdkError<E, R>) -> ModelError
where
    E: ProvideErrorMetadata + std::error::Error,
    R: std::fmt::Debug,
{
    use aws_sdk_bedrockruntime::error::SdkError;
    let (code, message) = match err {
        SdkError::ServiceError(service) => (
            service.err().code().unwrap_or_default(),
            service.err().message().unwrap_or_default(),
        ),
        SdkError::TimeoutError(_) => {
            return ModelError::Retryable(ToolError::new(
                ErrorCode::UpstreamTimeout,
                "Amazon Bedrock did not answer in time",
            ));
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return ModelError::Retryable(ToolError::new(
                ErrorCode::Unavailable,
                "could not reach Amazon Bedrock",
            ));
        }
        _ => {
            return ModelError::Fatal(ToolError::internal(
                "the request to Amazon Bedrock could not be sent",
            ));
        }
    };
    classify_code(code, message)
}

/// A failed Converse or ConverseStream call. Bedrock's own exceptions are sorted by their
/// code ([`classify_code`]); everything else goes through `common`'s mapping: a bare error
/// body (`{}` from a proxy or load balancer) carries no AWS code, so its HTTP status decides
/// (429 is throttling, 5xx is worth retrying), as for any other upstream.
fn classify_call<E>(
    err: &aws_sdk_bedrockruntime::error::SdkError<
        E,
        aws_sdk_bedrockruntime::config::http::HttpResponse,
    >,
) -> ModelError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    use aws_sdk_bedrockruntime::error::SdkError;
    let by_transport = match err {
        SdkError::ServiceError(service) => service.err().code().is_none_or(str::is_empty),
        // Refused, timed out, not HTTP, no credentials: the same mapping as every other AWS
        // call, so the agent and the tools name one fault alike.
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    if !by_transport {
        return classify(err);
    }
    let e = ToolError::from_sdk("Amazon Bedrock", err);
    if e.retryable {
        ModelError::Retryable(e)
    } else {
        ModelError::Fatal(e)
    }
}

/// A failure inside a ConverseStream answer, after Bedrock has answered: the connection was
/// made, so nothing here is "could not reach". An exception's type travels in the frame's
/// `:exception-type` header, not in the payload, so it is read from the variant; bytes that
/// are not event-stream frames (a server that frames the stream as Server-Sent Events text)
/// cannot become frames on a retry, so they end the request saying so.
fn classify_stream<R: std::fmt::Debug>(
    err: &aws_sdk_bedrockruntime::error::SdkError<ConverseStreamOutputError, R>,
) -> ModelError {
    use aws_sdk_bedrockruntime::error::SdkError;
    let service = match err {
        SdkError::ServiceError(service) => service,
        SdkError::ResponseError(_) => {
            return ModelError::Fatal(ToolError::new(
                ErrorCode::UpstreamError,
                "Amazon Bedrock's ConverseStream reply could not be decoded: it is not AWS event-stream frames (a server that frames it as Server-Sent Events text does not speak Bedrock's protocol)",
            ));
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return ModelError::Retryable(ToolError::new(
                ErrorCode::UpstreamError,
                "the connection to Amazon Bedrock broke during its streamed reply",
            ));
        }
        _ => return classify(err),
    };
    let e = service.err();
    let code = match e {
        ConverseStreamOutputError::ModelStreamErrorException(_) => "ModelStreamErrorException",
        ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
        ConverseStreamOutputError::ServiceUnavailableException(_) => "ServiceUnavailableException",
        ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
        ConverseStreamOutputError::ValidationException(_) => "ValidationException",
        _ => e.code().unwrap_or("InternalFailure"),
    };
    classify_code(code, e.message().unwrap_or_default())
}

fn classify_code(code: &str, message: &str) -> ModelError {
    let detail: String = message.chars().take(300).collect();
    let error = |kind: ErrorCode, retryable: bool| ToolError {
        code: kind,
        message: format!("Amazon Bedrock returned {code}: {detail}"),
        retryable,
    };
    match code {
        "ThrottlingException" | "TooManyRequestsException" => {
            ModelError::Retryable(error(ErrorCode::Throttled, true))
        }
        "ServiceUnavailableException" | "ModelNotReadyException" => {
            ModelError::Retryable(error(ErrorCode::Unavailable, true))
        }
        "ModelTimeoutException" => ModelError::Retryable(error(ErrorCode::UpstreamTimeout, true)),
        "InternalServerException" | "ModelStreamErrorException" | "InternalFailure" => {
            ModelError::Retryable(error(ErrorCode::UpstreamError, true))
        }
        "ValidationException" if is_context_overflow(message) => {
            ModelError::ContextOverflow(error(ErrorCode::PayloadTooLarge, false))
        }
        "AccessDeniedException" => ModelError::Fatal(error(ErrorCode::AccessDenied, false)),
        "ResourceNotFoundException" => ModelError::Fatal(ToolError::config(format!(
            "Amazon Bedrock does not know the configured model/id in this region: {detail}"
        ))),
        _ => ModelError::Fatal(error(ErrorCode::UpstreamError, false)),
    }
}

/// What Converse and ConverseStream requests share, built once per call.
struct Parts {
    system: Vec<SystemContentBlock>,
    messages: Vec<SdkMessage>,
    inference: InferenceConfiguration,
    tools: Option<ToolConfiguration>,
}

impl Parts {
    fn new(request: &ModelRequest<'_>) -> Result<Self, ModelError> {
        let cache_point = || {
            CachePointBlock::builder()
                .r#type(CachePointType::Default)
                .build()
                .map_err(built)
        };
        let mut system = vec![SystemContentBlock::Text(request.system.to_owned())];
        let mut tools = Vec::with_capacity(request.tools.len() + 1);
        for tool in request.tools {
            tools.push(Tool::ToolSpec(
                ToolSpecification::builder()
                    .name(&tool.name)
                    .description(&tool.description)
                    .input_schema(ToolInputSchema::Json(to_document(&tool.input_schema)))
                    .build()
                    .map_err(built)?,
            ));
        }
        if request.cache_prompt {
            system.push(SystemContentBlock::CachePoint(cache_point()?));
            tools.push(Tool::CachePoint(cache_point()?));
        }
        let inference = request.inference;
        Ok(Self {
            system,
            messages: request
                .messages
                .iter()
                .map(to_sdk)
                .collect::<Result<Vec<_>, _>>()?,
            inference: InferenceConfiguration::builder()
                .max_tokens(inference.max_tokens)
                .temperature(inference.temperature)
                .set_top_p(inference.top_p)
                .set_stop_sequences(
                    (!inference.stop_sequences.is_empty())
                        .then(|| inference.stop_sequences.clone()),
                )
                .build(),
            // Bedrock requires the tool configuration whenever the history holds tool use,
            // so it is always sent when there are tools.
            tools: if tools.is_empty() {
                None
            } else {
                Some(
                    ToolConfiguration::builder()
                        .set_tools(Some(tools))
                        .build()
                        .map_err(built)?,
                )
            },
        })
    }
}

fn usage(u: &TokenUsage) -> Usage {
    Usage {
        input_tokens: u.input_tokens().max(0) as u64,
        output_tokens: u.output_tokens().max(0) as u64,
        total_tokens: u.total_tokens().max(0) as u64,
        cache_read_input_tokens: u.cache_read_input_tokens().unwrap_or(0).max(0) as u64,
        cache_write_input_tokens: u.cache_write_input_tokens().unwrap_or(0).max(0) as u64,
    }
}

fn context_window_exceeded() -> ModelError {
    ModelError::ContextOverflow(ToolError::new(
        ErrorCode::PayloadTooLarge,
        "Amazon Bedrock stopped: the model's context window was exceeded",
    ))
}

/// A content block of a streamed reply while its deltas arrive.
enum Partial {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: String,
    },
}

impl Model for Bedrock {
    async fn converse(&self, request: &ModelRequest<'_>) -> Result<ModelReply, ModelError> {
        let parts = Parts::new(request)?;
        let mut call = self
            .client()
            .await
            .converse()
            .model_id(&request.inference.model_id)
            .set_system(Some(parts.system))
            .set_messages(Some(parts.messages))
            .inference_config(parts.inference)
            .set_tool_config(parts.tools);
        if let Some(guardrail) = request.guardrail {
            call = call.guardrail_config(
                GuardrailConfiguration::builder()
                    .guardrail_identifier(&guardrail.id)
                    .guardrail_version(&guardrail.version)
                    .trace(GuardrailTrace::Enabled)
                    .build(),
            );
        }
        let out = call.send().await.map_err(|e| classify_call(&e))?;
        if *out.stop_reason() == SdkStop::ModelContextWindowExceeded {
            return Err(context_window_exceeded());
        }
        let message = match out.output() {
            Some(ConverseOutput::Message(message)) => from_sdk(message),
            _ => {
                return Err(ModelError::Fatal(ToolError::new(
                    ErrorCode::UpstreamError,
                    "Amazon Bedrock answered without a message",
                )));
            }
        };
        Ok(ModelReply {
            message,
            stop_reason: stop_reason(out.stop_reason()),
            usage: out.usage().map_or(Usage::default(), usage),
        })
    }

    /// ConverseStream: text deltas go to `on_text` as they arrive; a tool call's input is
    /// assembled from its deltas and parsed when the block ends.
    async fn converse_stream<'a>(
        &'a self,
        request: &'a ModelRequest<'a>,
        on_text: OnText<'a>,
    ) -> Result<ModelReply, ModelError> {
        let parts = Parts::new(request)?;
        let mut call = self
            .client()
            .await
            .converse_stream()
            .model_id(&request.inference.model_id)
            .set_system(Some(parts.system))
            .set_messages(Some(parts.messages))
            .inference_config(parts.inference)
            .set_tool_config(parts.tools);
        if let Some(guardrail) = request.guardrail {
            // Sync: the guardrail sees each chunk before the caller does.
            call = call.guardrail_config(
                GuardrailStreamConfiguration::builder()
                    .guardrail_identifier(&guardrail.id)
                    .guardrail_version(&guardrail.version)
                    .trace(GuardrailTrace::Enabled)
                    .stream_processing_mode(GuardrailStreamProcessingMode::Sync)
                    .build(),
            );
        }
        let mut out = call.send().await.map_err(|e| classify_call(&e))?;
        let mut blocks: BTreeMap<i32, Partial> = BTreeMap::new();
        let (mut stop, mut used) = (None, Usage::default());
        while let Some(event) = out.stream.recv().await.map_err(|e| classify_stream(&e))? {
            match event {
                ConverseStreamOutput::ContentBlockStart(start) => {
                    if let Some(ContentBlockStart::ToolUse(tool)) = start.start() {
                        blocks.insert(
                            start.content_block_index(),
                            Partial::ToolUse {
                                id: tool.tool_use_id().to_owned(),
                                name: tool.name().to_owned(),
                                input: String::new(),
                            },
                        );
                    }
                }
                ConverseStreamOutput::ContentBlockDelta(delta) => {
                    let index = delta.content_block_index();
                    match delta.delta() {
                        Some(ContentBlockDelta::Text(text)) => {
                            match blocks
                                .entry(index)
                                .or_insert_with(|| Partial::Text(String::new()))
                            {
                                Partial::Text(so_far) => so_far.push_str(text),
                                Partial::ToolUse { .. } => continue,
                            }
                            on_text(text);
                        }
                        Some(ContentBlockDelta::ToolUse(tool)) => {
                            if let Some(Partial::ToolUse { input, .. }) = blocks.get_mut(&index) {
                                input.push_str(tool.input());
                            }
                        }
                        // Reasoning, citations, images: not part of what the agent keeps.
                        _ => {}
                    }
                }
                ConverseStreamOutput::MessageStop(end) => {
                    stop = Some(end.stop_reason().clone());
                }
                ConverseStreamOutput::Metadata(meta) => {
                    if let Some(u) = meta.usage() {
                        used = usage(u);
                    }
                }
                _ => {}
            }
        }
        let Some(stop) = stop else {
            return Err(ModelError::Retryable(ToolError::new(
                ErrorCode::UpstreamError,
                "Amazon Bedrock's stream ended before the message did",
            )));
        };
        if stop == SdkStop::ModelContextWindowExceeded {
            return Err(context_window_exceeded());
        }
        let stop_reason = stop_reason(&stop);
        let mut content = Vec::with_capacity(blocks.len());
        for block in blocks.into_values() {
            content.push(match block {
                Partial::Text(text) => Block::Text { text },
                Partial::ToolUse { id, name, input } => {
                    let input = if input.trim().is_empty() {
                        Ok(Value::Object(serde_json::Map::new()))
                    } else {
                        serde_json::from_str(&input)
                    };
                    match input {
                        Ok(input) => Block::ToolUse { id, name, input },
                        // A call cut off by max_tokens is dropped by the loop anyway.
                        Err(_) if stop_reason != StopReason::ToolUse => continue,
                        Err(_) => {
                            return Err(ModelError::Fatal(ToolError::new(
                                ErrorCode::UpstreamError,
                                format!(
                                    "Amazon Bedrock streamed an input for {name} that is not JSON"
                                ),
                            )));
                        }
                    }
                }
            });
        }
        Ok(ModelReply {
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason,
            usage: used,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_and_documents_round_trip() {
        let value =
            json!({"a": [1, -2, 2.5, "s", true, null, {"b": {}}], "big": 18446744073709551615u64});
        assert_eq!(to_json(&to_document(&value)), value);
    }
}
