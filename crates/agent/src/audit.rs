//! The audit line: one structured log line at `info` per question (target `audit`), saying
//! who asked, in which session, what the agent did and what it cost, so that a shared
//! deployment can answer "who asked what, when, at what cost" from CloudWatch Logs alone.
//!
//! It names the caller as [`crate::owner::Owner::name`] (an IAM principal ARN, a token's
//! issuer and subject, a declared name), never a token, and holds no prompt or answer text:
//! those are logged only at `debug`. The README has the Logs Insights query that lists a
//! day's questions per caller.

use std::time::Duration;

use common::ToolError;

use crate::{io::AgentOutput, owner::Owner};

/// Writes the audit line of one question that ended with `outcome`.
pub fn question(
    owner: &Owner,
    session_id: &str,
    outcome: Result<&AgentOutput, &ToolError>,
    latency: Duration,
) {
    let latency_ms = latency.as_millis() as u64;
    match outcome {
        Ok(out) => {
            let tools = out
                .tool_calls
                .iter()
                .map(|c| format!("{}:{}", c.name, c.status))
                .collect::<Vec<_>>()
                .join(",");
            tracing::info!(
                target: "audit",
                caller = owner.name(),
                session_id,
                status = "answered",
                stop_reason = %out.stop_reason,
                cycles = out.cycles,
                tools,
                input_tokens = out.usage.tokens.input_tokens,
                output_tokens = out.usage.tokens.output_tokens,
                cache_read_tokens = out.usage.tokens.cache_read_input_tokens,
                cache_write_tokens = out.usage.tokens.cache_write_input_tokens,
                cost_usd = out.usage.cost_usd,
                latency_ms,
                "question"
            );
        }
        Err(e) => tracing::info!(
            target: "audit",
            caller = owner.name(),
            session_id,
            status = "error",
            code = e.code.as_str(),
            latency_ms,
            "question"
        ),
    }
}
