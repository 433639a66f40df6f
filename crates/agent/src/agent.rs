//! The agent's request flow: check the question, read the settings and the session, run the
//! tool loop over a window of the history ([`crate::tool_loop`]), save the turn, and report
//! it. [`Agent`] is the function's [`Handler`]; it holds the clients `main` built.

use std::time::Instant;

use common::{AppConfig, ErrorCode, Handler, Invocation, ToolError, telemetry::Metrics};

use crate::{
    conversation::{Message, push_prompt, window_start},
    events::{AnswerEvents, Buffered},
    invoker::Invoker,
    io::{AgentInput, AgentOutput, new_session_id},
    model::Model,
    registry::Registry,
    sessions::{SESSION_TIMEOUT, SessionStore},
    settings::AgentSettings,
    tool_loop::{MIN_MODEL_TIME, ToolLoop, model_time_left, out_of_model_time},
};

/// The handler: a model, a way to invoke tools, a DynamoDB client for sessions (built on
/// first use), and configuration.
pub struct Agent<M, I> {
    /// The model provider.
    pub model: M,
    /// The tool runner.
    pub invoker: I,
    /// Configuration (SSM-cached).
    pub config: AppConfig,
    dynamodb: tokio::sync::OnceCell<aws_sdk_dynamodb::Client>,
}

impl<M, I> Agent<M, I> {
    /// An agent whose DynamoDB client (for sessions) comes from the SDK configuration.
    pub fn new(model: M, invoker: I, config: AppConfig) -> Self {
        Self {
            model,
            invoker,
            config,
            dynamodb: tokio::sync::OnceCell::new(),
        }
    }

    /// An agent using `dynamodb` for sessions.
    pub fn with_dynamodb(self, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self {
            dynamodb: tokio::sync::OnceCell::new_with(Some(dynamodb)),
            ..self
        }
    }

    /// The store for `table`, its client built on first use.
    async fn sessions(&self, table: &str) -> SessionStore {
        let client = self
            .dynamodb
            .get_or_init(|| async {
                aws_sdk_dynamodb::Client::new(common::aws::sdk_config().await)
            })
            .await;
        SessionStore::new(client.clone(), table)
    }
}

impl<M: Model, I: Invoker> Handler for Agent<M, I> {
    const NAME: &'static str = "agent";
    type Input = AgentInput;
    type Output = AgentOutput;

    async fn handle(
        &self,
        input: AgentInput,
        invocation: &Invocation,
    ) -> Result<AgentOutput, ToolError> {
        self.answer(input, invocation, &Buffered).await
    }
}

impl<M: Model, I: Invoker> Agent<M, I> {
    /// Answers one question; `events` hears of the model's text and each finished tool call
    /// as they happen ([`Buffered`] ignores them; the streamed Function URL answer,
    /// `web::Emitter`, forwards them).
    pub async fn answer(
        &self,
        input: AgentInput,
        invocation: &Invocation,
        events: &dyn AnswerEvents,
    ) -> Result<AgentOutput, ToolError> {
        let started = Instant::now();
        input.check()?;
        let values = self.config.settings().await?;
        let settings = AgentSettings::from_settings(&values)?;
        let registry = Registry::from_settings(&values)?;
        let session_id = input.session_id.clone().unwrap_or_else(new_session_id);
        // With no time left for one model call, the request cannot be answered: say so before
        // reading (and then rewriting) the session.
        if model_time_left(&invocation.deadline) < MIN_MODEL_TIME {
            return Err(out_of_model_time());
        }
        let (mut history, version) = match &settings.sessions_table {
            Some(table) => {
                // The read may use what the model call will not need.
                let budget = SESSION_TIMEOUT
                    .min(model_time_left(&invocation.deadline).saturating_sub(MIN_MODEL_TIME));
                let store = self.sessions(table).await;
                let stored = tokio::time::timeout(budget, store.load(&session_id))
                    .await
                    .map_err(|_| sessions_too_slow())??;
                (stored.history, stored.version)
            }
            None => (Vec::new(), 0),
        };
        tracing::debug!(prompt = %input.prompt, "question");
        let before = history.len();
        push_prompt(&mut history, &input.prompt);
        // The messages this request adds (or extends): what a merge after a lost race keeps.
        let turn_start = if history.len() > before {
            before
        } else {
            before - 1
        };
        let start = window_start(&history, settings.window_size);
        let mut window = history.split_off(start);
        let turn_offset = turn_start.saturating_sub(start);
        let tool_loop = ToolLoop {
            model: &self.model,
            invoker: &self.invoker,
            registry: &registry,
            settings: &settings,
            deadline: &invocation.deadline,
            events,
        };
        let outcome = tool_loop.run(&mut window).await;
        let metrics = Metrics::new("DevOpsAgent").dimension("Function", "agent");
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                metrics
                    .dimension("ErrorCode", e.code.as_str())
                    .count("Errors", 1)
                    .milliseconds("Latency", started.elapsed())
                    .emit();
                return Err(e);
            }
        };
        if let Some(table) = &settings.sessions_table {
            let turn: Vec<Message> = window[turn_offset.min(window.len())..].to_vec();
            let mut stored = history;
            stored.extend(window);
            let budget = invocation.deadline.budget(SESSION_TIMEOUT)?;
            let store = self.sessions(table).await;
            let save = store.save_turn(&session_id, stored, version, &turn, settings.window_size);
            tokio::time::timeout(budget, save)
                .await
                .map_err(|_| sessions_too_slow())??;
        }
        tracing::debug!(response = %outcome.response, "answer");
        metrics
            .count("Cycles", u64::from(outcome.cycles))
            .count("ToolCalls", outcome.tool_calls.len() as u64)
            .count(
                "ToolErrors",
                outcome
                    .tool_calls
                    .iter()
                    .filter(|c| c.status == "error")
                    .count() as u64,
            )
            .count("InputTokens", outcome.usage.input_tokens)
            .count("OutputTokens", outcome.usage.output_tokens)
            .count(
                "CacheReadInputTokens",
                outcome.usage.cache_read_input_tokens,
            )
            .milliseconds("Latency", started.elapsed())
            .emit();
        Ok(AgentOutput {
            session_id,
            response: outcome.response,
            stop_reason: outcome.stop_reason,
            cycles: outcome.cycles,
            tool_calls: outcome.tool_calls,
            usage: outcome.usage,
            latency_ms: started.elapsed().as_millis() as u64,
            model_id: settings.inference.model_id,
        })
    }
}

/// The sessions table did not answer within its budget.
fn sessions_too_slow() -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamTimeout,
        "the sessions table did not answer in time",
    )
}
