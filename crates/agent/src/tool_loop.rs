//! The bounded tool-use loop of one question. One cycle is one model call; when the model asks
//! for tools, every requested call runs concurrently, each within the smaller of
//! `agent/tool_timeout_seconds` and the Lambda's time left, through the Lambda Invoke API
//! ([`crate::invoker`]); each result goes back as a `toolResult` (an error result with the
//! tool's envelope on failure, on timeout and for an unknown tool), cut to
//! [`crate::invoker::MAX_TOOL_RESULT_BYTES`] with a visible note. The loop ends when the model answers, at
//! `agent/max_cycles` (`stop_reason: "max_cycles"`, with the best text so far), or on any
//! other stop reason, reported as the model gave it: `max_tokens` (a tool call cut off by the
//! limit is never run), `stop_sequence`, `guardrail_intervened`, `content_filtered`, or one
//! this code does not know yet.
//!
//! Model errors ([`ModelError`]): throttling, unavailability, model timeouts, internal and
//! stream errors are retried with exponential backoff and full jitter while the deadline
//! allows; a context overflow first replaces the oldest large tool result with a note, then
//! drops the oldest exchanges, and tries again, at most [`MAX_OVERFLOW_TRIMS`] times;
//! anything else ends the request with its envelope.
//!
//! With a daily token budget ([`crate::budget`]), every model call is checked against it and
//! charged after it. A caller already over budget gets `THROTTLED` before the first call; a
//! budget used up between calls ends the loop like `agent/max_cycles` does (`stop_reason:
//! "token_budget"`, the best text so far), so the tool results already paid for reach the
//! caller and the session instead of being thrown away with an error.
//!
//! The loop knows nothing of how the answer travels: it reports progress to an
//! [`AnswerEvents`].

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use common::{
    Deadline, ErrorCode, ToolError, invoke::invoke_within, retry::Backoff, telemetry::Metrics,
};
use futures_util::future::{Either, join_all};
use serde_json::Value;
use tracing::Instrument;

use crate::{
    budget::DailyBudget,
    conversation::{Block, Message, Role, drop_oldest_turn, shrink_oldest_tool_result},
    events::AnswerEvents,
    invoker::{Invoker, ToolAnswer, evidence_input, tool_timeout},
    io::ToolCall,
    model::{Model, ModelError, ModelReply, ModelRequest, StopReason, Usage},
    registry::Registry,
    sessions::SESSION_TIMEOUT,
    settings::AgentSettings,
};

/// Context-overflow trims per model call before giving up.
pub const MAX_OVERFLOW_TRIMS: usize = 6;
/// Retries of a retryable model error: waits of up to 0.5, 1, 2, 4 s (capped by the deadline).
pub const MODEL_RETRY: Backoff = Backoff {
    retries: 4,
    base: Duration::from_millis(500),
    cap: Duration::from_secs(8),
};
/// A model call is not started with less time than this left.
pub const MIN_MODEL_TIME: Duration = Duration::from_secs(1);
/// Largest model reply accepted, in bytes of text and tool input. Far above any real model's
/// output limit (64k tokens is about 256 KB), far below Lambda's 6 MB response and what a
/// session item can hold: a reply this big is a broken or hostile server, not an answer.
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// What the loop produced for one question.
#[derive(Debug)]
pub struct LoopOutcome {
    /// The model's last non-empty text (or why there is none, at `max_cycles`).
    pub response: String,
    /// Why the loop stopped.
    pub stop_reason: String,
    /// Model calls made.
    pub cycles: u32,
    /// Tool calls, in the order they were requested.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens over every model call.
    pub usage: Usage,
}

/// One question's loop: the model, the tools, and what bounds them.
pub struct ToolLoop<'a, M, I> {
    /// The model provider.
    pub model: &'a M,
    /// Runs a tool's function.
    pub invoker: &'a I,
    /// The tools the model may call and the functions behind them.
    pub registry: &'a Registry,
    /// The model's settings and the loop's bounds.
    pub settings: &'a AgentSettings,
    /// When the function must have answered.
    pub deadline: &'a Deadline,
    /// Where progress goes as it happens.
    pub events: &'a dyn AnswerEvents,
    /// The caller's daily token budget, when one is configured.
    pub budget: Option<&'a DailyBudget>,
}

impl<M: Model, I: Invoker> ToolLoop<'_, M, I> {
    /// One model call with retries and context trimming. Trimming shortens `history` itself,
    /// so what is stored afterwards is what fits. When the events stream, so does the reply,
    /// its text forwarded as it arrives; a failure after some text went out is not retried
    /// (the caller has seen part of an answer a retry would repeat) but reported.
    async fn converse(&self, history: &mut Vec<Message>) -> Result<ModelReply, ToolError> {
        let (settings, deadline) = (self.settings, self.deadline);
        let (mut retry, mut trims) = (0, 0);
        loop {
            let budget = model_time_left(deadline);
            if budget < MIN_MODEL_TIME {
                return Err(out_of_model_time());
            }
            let request = ModelRequest {
                system: &settings.system_prompt,
                messages: history,
                tools: &self.registry.specs,
                inference: &settings.inference,
                guardrail: settings.guardrail.as_ref(),
                cache_prompt: settings.cache_prompt,
            };
            let forwarded = AtomicBool::new(false);
            let on_text = |delta: &str| {
                if !delta.is_empty() {
                    forwarded.store(true, Ordering::Relaxed);
                    self.events.text(delta);
                }
            };
            let call = if self.events.streaming() {
                Either::Left(self.model.converse_stream(&request, &on_text))
            } else {
                Either::Right(self.model.converse(&request))
            };
            let error = match tokio::time::timeout(budget, call).await {
                Err(_) => {
                    return Err(ToolError::new(
                        ErrorCode::UpstreamTimeout,
                        "the model did not answer before the function's deadline",
                    ));
                }
                Ok(Ok(reply)) => return check_reply_size(reply),
                Ok(Err(error)) if forwarded.load(Ordering::Relaxed) => {
                    return Err(error.error().clone());
                }
                Ok(Err(error)) => error,
            };
            match error {
                ModelError::Fatal(e) => return Err(e),
                ModelError::Retryable(e) => {
                    let wait = MODEL_RETRY.delay(retry);
                    // The same reserve as the budget above: a retry that could not be sent
                    // must not turn the real failure into a timeout.
                    let left = model_time_left(deadline);
                    if retry >= MODEL_RETRY.retries || left < wait + MIN_MODEL_TIME {
                        return Err(e);
                    }
                    tracing::info!(
                        retry = retry + 1,
                        code = e.code.as_str(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying the model"
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                ModelError::ContextOverflow(_) => {
                    if trims >= MAX_OVERFLOW_TRIMS
                        || !(shrink_oldest_tool_result(history) || drop_oldest_turn(history))
                    {
                        return Err(ToolError::new(
                            ErrorCode::PayloadTooLarge,
                            "the conversation does not fit the model's context window even after trimming; start a new session or ask a narrower question",
                        ));
                    }
                    trims += 1;
                    tracing::info!(trims, "conversation trimmed to fit the model's context");
                }
            }
        }
    }

    /// One tool call, bounded by `timeout`; never fails: a failure is an error result.
    async fn call_tool(
        &self,
        id: String,
        name: String,
        input: &Value,
        timeout: Duration,
    ) -> (Block, ToolCall) {
        let registry = self.registry;
        let started = Instant::now();
        let outcome = match registry.function(&name) {
            None => Err(ToolError::new(
                ErrorCode::NotFound,
                format!(
                    "there is no tool named {name}; the tools are {}",
                    registry
                        .specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(function) => {
                let payload = serde_json::to_vec(input).unwrap_or_else(|_| b"{}".to_vec());
                invoke_within(self.invoker, &name, function, payload, timeout).await
            }
        };
        let answer = match outcome {
            Ok(payload) => ToolAnswer::of_payload(&payload),
            Err(e) => ToolAnswer::failed(&e),
        };
        let error = answer.error.is_some();
        let duration = started.elapsed();
        tracing::info!(tool = %name, error, duration_ms = duration.as_millis() as u64, "tool call");
        tracing::debug!(tool = %name, result = %answer.content, "tool result");
        Metrics::new("DevOpsAgent")
            .dimension("Function", "agent")
            .dimension("Tool", name.clone())
            .dimension("Status", if error { "error" } else { "success" })
            .count("ToolCalls", 1)
            .milliseconds("ToolDuration", duration)
            .emit();
        let call = ToolCall {
            name,
            status: if error { "error" } else { "success" },
            duration_ms: duration.as_millis() as u64,
            input: evidence_input(input),
            result_preview: answer.preview(),
            error: answer.error,
        };
        self.events.tool(&call);
        let content = answer.content;
        (Block::ToolResult { id, error, content }, call)
    }

    /// The loop over `history` (a valid window ending with the question); the messages it
    /// adds are pushed onto `history`.
    pub async fn run(&self, history: &mut Vec<Message>) -> Result<LoopOutcome, ToolError> {
        let max_cycles = self.settings.max_cycles;
        let mut outcome = LoopOutcome {
            response: String::new(),
            stop_reason: String::new(),
            cycles: 0,
            tool_calls: Vec::new(),
            usage: Usage::default(),
        };
        loop {
            if outcome.cycles == max_cycles {
                outcome.stop_reason = "max_cycles".to_owned();
                if outcome.response.is_empty() {
                    outcome.response = format!(
                        "The agent stopped after {} model calls (agent/max_cycles) before the model gave a final answer.",
                        max_cycles
                    );
                }
                return Ok(outcome);
            }
            if let Some(Err(e)) = self.budget.map(DailyBudget::check) {
                if outcome.cycles == 0 {
                    return Err(e);
                }
                outcome.stop_reason = "token_budget".to_owned();
                if outcome.response.is_empty() {
                    outcome.response = format!(
                        "The agent stopped before the model gave a final answer: {}.",
                        e.message
                    );
                }
                return Ok(outcome);
            }
            outcome.cycles += 1;
            let span = tracing::info_span!("cycle", n = outcome.cycles);
            let reply = self.converse(history).instrument(span.clone()).await?;
            outcome.usage += reply.usage;
            if let Some(budget) = self.budget {
                let tokens = self.settings.prices.budget_tokens(&reply.usage);
                budget
                    .charge(tokens, self.deadline.budget(SESSION_TIMEOUT)?)
                    .await?;
            }
            let text = reply.message.text();
            if !text.trim().is_empty() {
                outcome.response = text;
            }
            let mut message = reply.message;
            if reply.stop_reason != StopReason::ToolUse {
                // A tool use in a reply cut off by max_tokens (or stopped otherwise) is never
                // run, and is not kept: a tool use without a result would break the history.
                message
                    .content
                    .retain(|b| !matches!(b, Block::ToolUse { .. }));
                if !message.content.is_empty() {
                    history.push(message);
                }
                outcome.stop_reason = reply.stop_reason.as_str().to_owned();
                return Ok(outcome);
            }
            let uses: Vec<(String, String, Value)> = message
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolUse { id, name, input } => {
                        Some((id.clone(), name.clone(), input.clone()))
                    }
                    _ => None,
                })
                .collect();
            history.push(message);
            if uses.is_empty() {
                outcome.stop_reason = reply.stop_reason.as_str().to_owned();
                return Ok(outcome);
            }
            let timeout = tool_timeout(self.settings.tool_timeout, self.deadline);
            let calls = uses.iter().map(|(id, name, input)| {
                let span = tracing::info_span!("tool", name = %name, id = %id);
                self.call_tool(id.clone(), name.clone(), input, timeout)
                    .instrument(span)
            });
            let results = join_all(calls).instrument(span).await;
            let mut content = Vec::with_capacity(results.len());
            for (block, call) in results {
                content.push(block);
                outcome.tool_calls.push(call);
            }
            history.push(Message {
                role: Role::User,
                content,
            });
        }
    }
}

/// Refuses a reply over [`MAX_REPLY_BYTES`] (`PAYLOAD_TOO_LARGE`): passing it on would break
/// the 6 MB response limit and the session store.
fn check_reply_size(reply: ModelReply) -> Result<ModelReply, ToolError> {
    let size: usize = reply
        .message
        .content
        .iter()
        .map(|block| match block {
            Block::Text { text } => text.len(),
            Block::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
            Block::ToolResult { content, .. } => content.len(),
        })
        .sum();
    if size > MAX_REPLY_BYTES {
        return Err(ToolError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the model's reply is {size} bytes, over the {MAX_REPLY_BYTES} bytes the agent accepts"
            ),
        ));
    }
    Ok(reply)
}

/// The time a model call may take: what is left of the invocation, less the reserve for
/// answering.
pub fn model_time_left(deadline: &Deadline) -> Duration {
    deadline
        .remaining()
        .saturating_sub(common::deadline::ANSWER_RESERVE)
}

/// Less than [`MIN_MODEL_TIME`] is left for the model.
pub fn out_of_model_time() -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamTimeout,
        "too little of the function's time is left to ask the model",
    )
}
