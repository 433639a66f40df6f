//! A caller's daily token budget (`agent/daily_token_budget`), counted in the sessions table.
//!
//! One item per caller and UTC day: `session_id` = `budget#<owner key>#<YYYY-MM-DD>` (the
//! table's key attribute keys every item), `tokens` (a counter), `owner`, and `expires_at`
//! (kept a day after the day ends, then removed by the table's TTL).
//!
//! The count is read once when a question starts ([`DailyBudget::open`]) and raised with an
//! atomic `ADD` after each model call ([`DailyBudget::charge`]), which returns the day's new
//! total; every model call is checked against the latest total this request knows
//! ([`DailyBudget::check`]). Requests of one caller running at once can each start a model
//! call while the total is still under the limit, so the total can pass it by at most one
//! model call per request in flight, and never further: a request that learns the total is
//! over (from its own charge) makes no further call.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use aws_sdk_dynamodb::{Client, types::AttributeValue, types::ReturnValue};
use common::{ErrorCode, ToolError};

use crate::{owner::Owner, sessions::dynamodb_error};

const DAY_MS: i64 = 86_400_000;

/// The budget of one caller for one request.
#[derive(Debug)]
pub struct DailyBudget {
    client: Client,
    table: String,
    owner: Owner,
    limit: u64,
    /// The day's total as this request last learnt it.
    used: AtomicU64,
}

/// The UTC day `now_ms` falls in, as `YYYY-MM-DD`, and when it ends (epoch ms).
fn day_of(now_ms: i64) -> (String, i64) {
    let start = now_ms - now_ms.rem_euclid(DAY_MS);
    let date = common::time::format_rfc3339(start)
        .chars()
        .take(10)
        .collect();
    (date, start + DAY_MS)
}

fn item_key(owner: &Owner, day: &str) -> String {
    format!("budget#{}#{day}", owner.key())
}

impl DailyBudget {
    /// Reads what `owner` has used today of `limit` tokens.
    pub async fn open(
        client: Client,
        table: &str,
        owner: Owner,
        limit: u64,
    ) -> Result<Self, ToolError> {
        let (day, _) = day_of(common::time::now_ms());
        let out = client
            .get_item()
            .table_name(table)
            .key("session_id", AttributeValue::S(item_key(&owner, &day)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamodb_error(&e))?;
        let used = match out.item().and_then(|i| i.get("tokens")) {
            None => 0,
            Some(tokens) => read_count(tokens)?,
        };
        Ok(Self {
            client,
            table: table.to_owned(),
            owner,
            limit,
            used: AtomicU64::new(used),
        })
    }

    /// Whether another model call may start: `THROTTLED`, not retryable, once the day's total
    /// has reached the limit, saying when it resets.
    pub fn check(&self) -> Result<(), ToolError> {
        let used = self.used.load(Ordering::Relaxed);
        if used < self.limit {
            return Ok(());
        }
        let (_, ends) = day_of(common::time::now_ms());
        let mut e = ToolError::new(
            ErrorCode::Throttled,
            format!(
                "this caller's daily token budget of {} tokens (agent/daily_token_budget) is used up: {used} tokens today; it resets at {}",
                self.limit,
                common::time::format_rfc3339(ends)
            ),
        );
        // Asking again before the reset cannot succeed.
        e.retryable = false;
        Err(e)
    }

    /// Adds `tokens` to today's total and learns the new total.
    pub async fn charge(&self, tokens: u64, timeout: Duration) -> Result<(), ToolError> {
        let (day, ends) = day_of(common::time::now_ms());
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("session_id", AttributeValue::S(item_key(&self.owner, &day)))
            .update_expression("ADD tokens :n SET #o = :o, expires_at = :e")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":n", AttributeValue::N(tokens.to_string()))
            .expression_attribute_values(":o", AttributeValue::S(self.owner.name().to_owned()))
            .expression_attribute_values(
                ":e",
                AttributeValue::N(((ends + DAY_MS) / 1000).to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send();
        let out = tokio::time::timeout(timeout, update)
            .await
            .map_err(|_| {
                ToolError::new(
                    ErrorCode::UpstreamTimeout,
                    "the sessions table did not answer in time to count the tokens used",
                )
            })?
            .map_err(|e| dynamodb_error(&e))?;
        let total = match out.attributes().and_then(|a| a.get("tokens")) {
            Some(tokens) => read_count(tokens)?,
            None => self.used.load(Ordering::Relaxed) + tokens,
        };
        self.used.store(total, Ordering::Relaxed);
        Ok(())
    }

    /// The day's total as this request last learnt it.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

fn read_count(value: &AttributeValue) -> Result<u64, ToolError> {
    match value {
        AttributeValue::N(n) => n.parse().map_err(|_| corrupt()),
        _ => Err(corrupt()),
    }
}

fn corrupt() -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamError,
        "a token budget item in the sessions table is in a shape this agent cannot read",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_a_utc_date_and_ends_at_the_next_midnight() {
        let t = common::time::parse_rfc3339("2026-11-30T23:59:59.999Z").unwrap();
        let (day, ends) = day_of(t);
        assert_eq!(day, "2026-11-30");
        assert_eq!(common::time::format_rfc3339(ends), "2026-12-01T00:00:00Z");
        assert_eq!(day_of(ends).0, "2026-12-01");
    }
}
