//! The agent's request flow: check the question, read the settings, take one of the caller's
//! in-flight slots and check their token budget, read the caller's session, run the tool
//! loop over a window of the history ([`crate::tool_loop`]), save the turn, give the slot
//! back, and report it (the audit line, the metrics). [`Agent`] is the function's
//! [`Handler`]; it holds the clients `main` built.

use std::time::Instant;

use common::{AppConfig, ErrorCode, Handler, Invocation, ToolError, telemetry::Metrics};

use crate::{
    budget::DailyBudget,
    conversation::{Message, push_prompt, window_start},
    events::{AnswerEvents, Buffered},
    invoker::Invoker,
    io::{AgentInput, AgentOutput, OutputUsage, new_session_id},
    model::Model,
    owner::Owner,
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

    /// The DynamoDB client, built on first use.
    async fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| async {
                aws_sdk_dynamodb::Client::new(common::aws::sdk_config().await)
            })
            .await
    }

    /// The store for `table`.
    async fn sessions(&self, table: &str) -> SessionStore {
        SessionStore::new(self.dynamodb().await.clone(), table)
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
    /// `web::Emitter`, forwards them). Every question that passes its checks is written to
    /// the audit line ([`crate::audit`]), answered or not.
    pub async fn answer(
        &self,
        input: AgentInput,
        invocation: &Invocation,
        events: &dyn AnswerEvents,
    ) -> Result<AgentOutput, ToolError> {
        let started = Instant::now();
        input.check()?;
        let owner = Owner::of(&invocation.caller);
        let session_id = input.session_id.clone().unwrap_or_else(new_session_id);
        let settings = self.config.settings().await.and_then(|values| {
            Ok((
                AgentSettings::from_settings(&values)?,
                Registry::from_settings(&values)?,
            ))
        });
        let outcome = match settings {
            Ok((settings, registry)) => {
                let question = Question {
                    owner: &owner,
                    session_id: &session_id,
                    prompt: &input.prompt,
                    settings: &settings,
                    registry: &registry,
                    invocation,
                    events,
                };
                self.answer_in_slot(question).await
            }
            Err(e) => Err(e),
        };
        let latency = started.elapsed();
        crate::audit::question(&owner, &session_id, outcome.as_ref(), latency);
        let metrics = Metrics::new("DevOpsAgent")
            .dimension("Function", "agent")
            .count("Questions", 1);
        match outcome {
            Ok(mut output) => {
                output.latency_ms = latency.as_millis() as u64;
                let usage = output.usage;
                let metrics = match usage.cost_usd {
                    Some(cost) => metrics.value("CostUsd", "None", cost),
                    None => metrics,
                };
                metrics
                    .count("Cycles", u64::from(output.cycles))
                    .count("ToolCalls", output.tool_calls.len() as u64)
                    .count(
                        "ToolErrors",
                        output
                            .tool_calls
                            .iter()
                            .filter(|c| c.status == "error")
                            .count() as u64,
                    )
                    .count("InputTokens", usage.tokens.input_tokens)
                    .count("OutputTokens", usage.tokens.output_tokens)
                    .count("CacheReadInputTokens", usage.tokens.cache_read_input_tokens)
                    .milliseconds("Latency", latency)
                    .emit();
                Ok(output)
            }
            Err(e) => {
                metrics
                    .dimension("ErrorCode", e.code.as_str())
                    .count("Errors", 1)
                    .milliseconds("Latency", latency)
                    .emit();
                Err(e)
            }
        }
    }

    /// Holds one of the caller's in-flight slots (`agent/max_concurrent_per_caller`) while
    /// the question is answered, and gives it back however the answer ends.
    async fn answer_in_slot(&self, q: Question<'_>) -> Result<AgentOutput, ToolError> {
        let (Some(max), Some(table)) = (
            q.settings.max_concurrent_per_caller,
            &q.settings.sessions_table,
        ) else {
            return self.answer_question(&q).await;
        };
        let deadline = &q.invocation.deadline;
        let until = common::time::now_ms() + deadline.remaining().as_millis() as i64;
        let client = self.dynamodb().await;
        let lease = tokio::time::timeout(
            deadline.budget(SESSION_TIMEOUT)?,
            crate::inflight::acquire(client, table, q.owner, max, until),
        )
        .await
        .map_err(|_| sessions_too_slow())??;
        let outcome = self.answer_question(&q).await;
        // Within the deadline's reserve: the answer is ready, and an unreturned lease ends at
        // the deadline anyway.
        lease
            .release(SESSION_TIMEOUT.min(deadline.remaining() / 2))
            .await;
        outcome
    }

    /// The question itself: budget, session, loop, session again.
    async fn answer_question(&self, q: &Question<'_>) -> Result<AgentOutput, ToolError> {
        let (settings, deadline) = (q.settings, &q.invocation.deadline);
        // With no time left for one model call, the request cannot be answered: say so before
        // reading (and then rewriting) the session.
        if model_time_left(deadline) < MIN_MODEL_TIME {
            return Err(out_of_model_time());
        }
        // Reads of the table may use what the model call will not need.
        let read_budget =
            || SESSION_TIMEOUT.min(model_time_left(deadline).saturating_sub(MIN_MODEL_TIME));
        let budget = match (settings.daily_token_budget, &settings.sessions_table) {
            (Some(limit), Some(table)) => {
                let open =
                    DailyBudget::open(self.dynamodb().await.clone(), table, q.owner.clone(), limit);
                let budget = tokio::time::timeout(read_budget(), open)
                    .await
                    .map_err(|_| sessions_too_slow())??;
                // Over budget already: refuse before reading the session.
                budget.check()?;
                Some(budget)
            }
            _ => None,
        };
        let (mut history, version) = match &settings.sessions_table {
            Some(table) => {
                let store = self.sessions(table).await;
                let stored = tokio::time::timeout(read_budget(), store.load(q.owner, q.session_id))
                    .await
                    .map_err(|_| sessions_too_slow())??;
                (stored.history, stored.version)
            }
            None => (Vec::new(), 0),
        };
        tracing::debug!(prompt = %q.prompt, "question");
        let before = history.len();
        push_prompt(&mut history, q.prompt);
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
            registry: q.registry,
            settings,
            deadline,
            events: q.events,
            budget: budget.as_ref(),
        };
        let outcome = tool_loop.run(&mut window).await?;
        if let Some(table) = &settings.sessions_table {
            let turn: Vec<Message> = window[turn_offset.min(window.len())..].to_vec();
            let mut stored = history;
            stored.extend(window);
            let timeout = deadline.budget(SESSION_TIMEOUT)?;
            let store = self.sessions(table).await;
            let save = store.save_turn(
                q.owner,
                q.session_id,
                stored,
                version,
                &turn,
                settings.window_size,
            );
            tokio::time::timeout(timeout, save)
                .await
                .map_err(|_| sessions_too_slow())??;
        }
        tracing::debug!(response = %outcome.response, "answer");
        Ok(AgentOutput {
            session_id: q.session_id.to_owned(),
            response: outcome.response,
            stop_reason: outcome.stop_reason,
            cycles: outcome.cycles,
            tool_calls: outcome.tool_calls,
            usage: OutputUsage {
                tokens: outcome.usage,
                cost_usd: settings
                    .prices
                    .cost_usd(&outcome.usage)
                    .map(|c| (c * 1e6).round() / 1e6),
            },
            latency_ms: 0,
            model_id: settings.inference.model_id.clone(),
        })
    }
}

/// One question on its way through [`Agent::answer`].
struct Question<'a> {
    owner: &'a Owner,
    session_id: &'a str,
    prompt: &'a str,
    settings: &'a AgentSettings,
    registry: &'a Registry,
    invocation: &'a Invocation,
    events: &'a dyn AnswerEvents,
}

/// The sessions table did not answer within its budget.
fn sessions_too_slow() -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamTimeout,
        "the sessions table did not answer in time",
    )
}
