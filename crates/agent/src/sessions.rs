//! Conversation history across invocations, in DynamoDB (`agent/sessions_table`).
//!
//! One item per session: `session_id` (the table's key: `<owner key>#<session id>`, so each
//! caller's sessions are their own, [`crate::owner`]), `owner` (whose it is, for an operator
//! reading the table), `history` (the conversation as JSON), `version` (a counter) and
//! `expires_at` (the table's TTL attribute). Every write is
//! conditional on the version read, so two requests on one session cannot overwrite each
//! other's turn: the loser reads the winner's history, appends its own turn to it and writes
//! again ([`SessionStore::save_turn`]).
//!
//! A *turn* is what one request adds to a conversation: the question, the model's tool uses
//! and their results, and the answer.

use std::time::Duration;

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use common::{ErrorCode, ToolError};

use crate::{
    conversation::{Message, drop_oldest_turn, shrink_oldest_tool_result, window_start},
    owner::Owner,
};

/// How long a session is kept after its last turn.
pub const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest history stored, in bytes of JSON (DynamoDB's item limit is 400 KB).
pub const MAX_STORED_BYTES: usize = 350_000;
/// The longest a session read or write may take (less when the deadline is nearer).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts to write a session that others keep writing.
pub const SESSION_WRITE_ATTEMPTS: usize = 3;

/// A session's history and the version it was read at (0: a new session).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The conversation.
    pub history: Vec<Message>,
    /// The version to write against.
    pub version: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Written.
    Written,
    /// Someone else wrote first.
    Conflict,
}

/// The sessions table.
#[derive(Debug, Clone)]
pub struct SessionStore {
    client: Client,
    table: String,
}

/// The table's key of `owner`'s session `session_id`. A session id holds no `#` (the
/// contract's characters), so no two (owner, id) pairs share a key, and no session key is
/// the key of a budget or in-flight item.
pub fn session_key(owner: &Owner, session_id: &str) -> String {
    format!("{}#{session_id}", owner.key())
}

/// A failed call to the sessions table: `common`'s mapping of AWS failures (so throttling,
/// an outage and a broken answer are named as for every other AWS call), except that a
/// missing table is the configuration's fault.
pub(crate) fn dynamodb_error<E>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> ToolError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error,
{
    use aws_sdk_dynamodb::error::SdkError;
    if let SdkError::ServiceError(s) = e
        && s.err().code() == Some("ResourceNotFoundException")
    {
        return ToolError::config("the table in agent/sessions_table does not exist");
    }
    ToolError::from_sdk("the sessions table", e)
}

impl SessionStore {
    /// The store for `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// `owner`'s session `session_id` (empty and version 0 when it does not exist yet, also
    /// when another caller has a session of that id).
    pub async fn load(&self, owner: &Owner, session_id: &str) -> Result<Stored, ToolError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(
                "session_id",
                AttributeValue::S(session_key(owner, session_id)),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamodb_error(&e))?;
        let Some(item) = out.item() else {
            return Ok(Stored {
                history: Vec::new(),
                version: 0,
            });
        };
        let corrupt = || {
            ToolError::new(
                ErrorCode::UpstreamError,
                format!("session {session_id} is stored in a shape this agent cannot read"),
            )
        };
        let history = match item.get("history") {
            Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(|_| corrupt())?,
            _ => return Err(corrupt()),
        };
        let version = match item.get("version") {
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| corrupt())?,
            _ => return Err(corrupt()),
        };
        Ok(Stored { history, version })
    }

    /// Writes `history` as version `read_version + 1` if the stored version is still
    /// `read_version`. The history is shortened first if it would not fit in an item.
    pub async fn save(
        &self,
        owner: &Owner,
        session_id: &str,
        mut history: Vec<Message>,
        read_version: u64,
    ) -> Result<Saved, ToolError> {
        let mut json = serde_json::to_string(&history).unwrap_or_else(|_| "[]".into());
        while json.len() > MAX_STORED_BYTES
            && (shrink_oldest_tool_result(&mut history) || drop_oldest_turn(&mut history))
        {
            json = serde_json::to_string(&history).unwrap_or_else(|_| "[]".into());
        }
        let expires = common::time::now_ms() / 1000 + SESSION_TTL.as_secs() as i64;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(
                "session_id",
                AttributeValue::S(session_key(owner, session_id)),
            )
            .item("owner", AttributeValue::S(owner.name().to_owned()))
            .item("history", AttributeValue::S(json))
            .item("version", AttributeValue::N((read_version + 1).to_string()))
            .item("expires_at", AttributeValue::N(expires.to_string()));
        put = if read_version == 0 {
            put.condition_expression("attribute_not_exists(session_id)")
        } else {
            put.condition_expression("#v = :read")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":read", AttributeValue::N(read_version.to_string()))
        };
        match put.send().await {
            Ok(_) => Ok(Saved::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Saved::Conflict)
            }
            Err(e) => Err(dynamodb_error(&e)),
        }
    }

    /// Writes `history` (read at `read_version`, then extended by this request's `turn`),
    /// keeping its last `window_size` × 2 messages. When another request on the session wrote
    /// first, its history wins and `turn` is appended to it, at most
    /// [`SESSION_WRITE_ATTEMPTS`] times: two questions asked at once both stay in the record.
    pub async fn save_turn(
        &self,
        owner: &Owner,
        session_id: &str,
        mut history: Vec<Message>,
        mut read_version: u64,
        turn: &[Message],
        window_size: usize,
    ) -> Result<(), ToolError> {
        for _ in 0..SESSION_WRITE_ATTEMPTS {
            let start = window_start(&history, window_size.max(1) * 2);
            history.drain(..start);
            if self
                .save(owner, session_id, history.clone(), read_version)
                .await?
                == Saved::Written
            {
                return Ok(());
            }
            // Another request on this session wrote first: keep its turn, add ours after it.
            let latest = self.load(owner, session_id).await?;
            read_version = latest.version;
            history = latest.history;
            for message in turn {
                match (history.last_mut(), message) {
                    (Some(last), m) if last.role == m.role => {
                        last.content.extend(m.content.iter().cloned());
                    }
                    _ => history.push(message.clone()),
                }
            }
        }
        Err(ToolError::new(
            ErrorCode::Unavailable,
            format!("session {session_id} is being updated by other requests; try again"),
        ))
    }
}
