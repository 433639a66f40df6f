//! A caller's questions in flight (`agent/max_concurrent_per_caller`), counted across every
//! instance of the function in the sessions table: each Lambda instance answers one request
//! at a time, so a count in memory would count nothing.
//!
//! One item per caller: `session_id` = `inflight#<owner key>`, `leases` (a map from a random
//! lease id to the epoch milliseconds it ends at), `version` (every write is conditional on
//! it), `owner` and `expires_at` (TTL). A request takes a lease that ends at its own deadline
//! and gives it back when it ends ([`Lease::release`]); a request that never gets to give it
//! back (its future dropped when the client left, or the process killed at the deadline)
//! still loses it at its deadline, because leases that have ended do not count and are
//! dropped by the next write. A slot is therefore never lost for longer than the function's
//! timeout.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use common::{ErrorCode, ToolError, retry::random_u64};

use crate::{owner::Owner, sessions::dynamodb_error};

/// Attempts to take a lease while other requests of the caller write the item too.
pub const ACQUIRE_ATTEMPTS: usize = 4;
/// The longest a lease is kept after its end, so the TTL never removes a live one.
const TTL_MARGIN_SECS: i64 = 3600;

/// A slot held by one request; give it back with [`Lease::release`].
#[derive(Debug)]
pub struct Lease {
    client: Client,
    table: String,
    key: String,
    id: String,
    released: bool,
}

fn item_key(owner: &Owner) -> String {
    format!("inflight#{}", owner.key())
}

/// Takes one of `owner`'s `max` slots until `until_ms` (epoch ms), or fails with `THROTTLED`
/// (retryable) when every slot is taken by a live lease.
pub async fn acquire(
    client: &Client,
    table: &str,
    owner: &Owner,
    max: u32,
    until_ms: i64,
) -> Result<Lease, ToolError> {
    let key = item_key(owner);
    let id = format!("{:016x}", random_u64());
    for _ in 0..ACQUIRE_ATTEMPTS {
        let out = client
            .get_item()
            .table_name(table)
            .key("session_id", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamodb_error(&e))?;
        let item = out.item();
        let version = match item.and_then(|i| i.get("version")) {
            None => None,
            Some(AttributeValue::N(n)) => Some(n.parse::<u64>().map_err(|_| corrupt())?),
            Some(_) => return Err(corrupt()),
        };
        let now = common::time::now_ms();
        let mut live: HashMap<String, AttributeValue> = match item.and_then(|i| i.get("leases")) {
            Some(AttributeValue::M(leases)) => leases
                .iter()
                .filter(|(_, end)| matches!(end, AttributeValue::N(n) if n.parse::<i64>().is_ok_and(|end| end > now)))
                .map(|(id, end)| (id.clone(), end.clone()))
                .collect(),
            _ => HashMap::new(),
        };
        if live.len() >= max as usize {
            return Err(ToolError::new(
                ErrorCode::Throttled,
                format!(
                    "this caller already has as many questions being answered as agent/max_concurrent_per_caller allows ({max}); ask again when one has ended"
                ),
            ));
        }
        let last_end = live
            .values()
            .filter_map(|v| v.as_n().ok()?.parse::<i64>().ok())
            .chain([until_ms])
            .max()
            .unwrap_or(until_ms);
        live.insert(id.clone(), AttributeValue::N(until_ms.to_string()));
        let put = client
            .put_item()
            .table_name(table)
            .item("session_id", AttributeValue::S(key.clone()))
            .item("owner", AttributeValue::S(owner.name().to_owned()))
            .item("leases", AttributeValue::M(live))
            .item(
                "version",
                AttributeValue::N((version.unwrap_or(0) + 1).to_string()),
            )
            .item(
                "expires_at",
                AttributeValue::N((last_end / 1000 + TTL_MARGIN_SECS).to_string()),
            );
        let put = match version {
            None => put.condition_expression("attribute_not_exists(session_id)"),
            Some(v) => put
                .condition_expression("#v = :read")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":read", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => {
                return Ok(Lease {
                    client: client.clone(),
                    table: table.to_owned(),
                    key,
                    id,
                    released: false,
                });
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(dynamodb_error(&e)),
        }
    }
    Err(ToolError::new(
        ErrorCode::Throttled,
        "this caller is sending many questions at once; ask again in a moment",
    ))
}

impl Lease {
    /// Gives the slot back, within `timeout`. A failure is logged, not returned: the answer
    /// is ready, and the lease ends at its deadline anyway.
    pub async fn release(mut self, timeout: Duration) {
        self.released = true;
        remove(&self.client, &self.table, &self.key, &self.id, timeout).await;
    }
}

/// A lease dropped without [`Lease::release`] (the request's future was dropped): give it back
/// from a task of its own, if a runtime is there to run it. It ends at its deadline anyway.
impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (client, table, key, id) = (
                self.client.clone(),
                std::mem::take(&mut self.table),
                std::mem::take(&mut self.key),
                std::mem::take(&mut self.id),
            );
            runtime.spawn(async move {
                remove(&client, &table, &key, &id, Duration::from_secs(5)).await;
            });
        }
    }
}

async fn remove(client: &Client, table: &str, key: &str, id: &str, timeout: Duration) {
    // The version moves so that a request that read the lease before cannot write it back.
    let update = client
        .update_item()
        .table_name(table)
        .key("session_id", AttributeValue::S(key.to_owned()))
        .update_expression("REMOVE leases.#id ADD version :one")
        .condition_expression("attribute_exists(leases.#id)")
        .expression_attribute_names("#id", id)
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
        .send();
    match tokio::time::timeout(timeout, update).await {
        Ok(Ok(_)) => {}
        Ok(Err(e))
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            // Already gone: dropped by another request's write after it ended.
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %dynamodb_error(&e).message, "could not give back an in-flight lease; it ends at its deadline")
        }
        Err(_) => {
            tracing::warn!("giving back an in-flight lease timed out; it ends at its deadline")
        }
    }
}

fn corrupt() -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamError,
        "an in-flight item in the sessions table is in a shape this agent cannot read",
    )
}
