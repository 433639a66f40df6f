//! JSON-RPC 2.0 as MCP uses it: one message per POST, its kind told by its members, and the
//! error codes a protocol fault is answered with.
//!
//! | body | read as |
//! |---|---|
//! | not JSON | `-32700` parse error, id `null` |
//! | a JSON array (a batch) | `-32600` invalid request, id `null`: MCP 2025-06-18 removed batching, and neither revision served here has it |
//! | an object with `method` and `id` | a [`Message::Request`]; the id must be a string or an integer |
//! | an object with `method` and no `id` | a [`Message::Notification`] (never answered) |
//! | an object with `result` or `error` and an `id` | a [`Message::Response`] (the server sends no requests, so it is ignored) |
//! | anything else, or `jsonrpc` not `"2.0"`, or `params` not an object | `-32600`, with the id when one could be read |
//!
//! An error carries the request's id whenever the request had a readable one, so a client can
//! match it; only a message whose id cannot be read is answered with id `null`.

use serde_json::{Map, Value, json};

/// `-32700`: the body is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// `-32600`: JSON, but not a single valid JSON-RPC message (a batch, a wrong `jsonrpc`, a bad id).
pub const INVALID_REQUEST: i64 = -32600;
/// `-32601`: the method is not served (in this protocol revision).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32602`: the params are wrong (an unknown tool, `arguments` not an object, missing `_meta`).
pub const INVALID_PARAMS: i64 = -32602;
/// `-32603`: the server failed (its configuration, a bug).
pub const INTERNAL_ERROR: i64 = -32603;
/// `-32020` (MCP 2026-07-28): an HTTP header disagrees with the body, or a required one is missing.
pub const HEADER_MISMATCH: i64 = -32020;
/// `-32022` (MCP 2026-07-28): the protocol version asked for is not one this server speaks.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A JSON-RPC error object: `{"code", "message", "data"?}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("JSON-RPC error {code}: {message}")]
pub struct RpcError {
    /// One of the codes above.
    pub code: i64,
    /// What went wrong, naming the member, header or limit.
    pub message: String,
    /// Anything a client can act on (the supported versions, the error envelope).
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with no `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The error object.
    pub fn to_json(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        error
    }
}

/// A JSON-RPC request id: a string or an integer (MCP forbids `null`).
pub type Id = Value;

/// One message a client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: answered with a result or an error carrying `id`.
    Request {
        /// Its id.
        id: Id,
        /// The method, e.g. `tools/call`.
        method: String,
        /// Its params (an empty object when absent).
        params: Map<String, Value>,
    },
    /// A notification: never answered (`202 Accepted` over HTTP).
    Notification {
        /// The method, e.g. `notifications/initialized`.
        method: String,
    },
    /// A response to a request of the server's: the server sends none, so it is acknowledged
    /// and dropped.
    Response,
}

/// A message that could not be read, and the id to answer it with (`null` when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The id of the request, if one could be read.
    pub id: Id,
    /// Why it was refused.
    pub error: RpcError,
}

impl Fault {
    fn new(id: Id, code: i64, message: impl Into<String>) -> Self {
        Self {
            id,
            error: RpcError::new(code, message),
        }
    }
}

/// Reads one message from a request body (see the module docs for each case).
pub fn parse(body: &[u8]) -> Result<Message, Fault> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Fault::new(
            Value::Null,
            PARSE_ERROR,
            format!("parse error: the body is not valid JSON ({e})"),
        )
    })?;
    read(value)
}

/// Reads one message from an already parsed JSON value (a direct invoke's event).
pub fn read(value: Value) -> Result<Message, Fault> {
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(Fault::new(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: a JSON-RPC batch (an array) is not accepted; MCP 2025-06-18 removed batching, so send one message per POST",
            ));
        }
        other => {
            return Err(Fault::new(
                Value::Null,
                INVALID_REQUEST,
                format!(
                    "invalid request: a JSON-RPC message is an object, got {}",
                    kind(&other)
                ),
            ));
        }
    };
    let id = match object.remove("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n)),
        Some(other) => {
            return Err(Fault::new(
                Value::Null,
                INVALID_REQUEST,
                format!(
                    "invalid request: `id` must be a string or an integer, got {}",
                    kind(&other)
                ),
            ));
        }
    };
    let answer_id = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Fault::new(
            answer_id,
            INVALID_REQUEST,
            "invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        Some(other) => {
            return Err(Fault::new(
                answer_id,
                INVALID_REQUEST,
                format!(
                    "invalid request: `method` must be a string, got {}",
                    kind(&other)
                ),
            ));
        }
        None if id.is_some() && (object.contains_key("result") || object.contains_key("error")) => {
            return Ok(Message::Response);
        }
        None => {
            return Err(Fault::new(
                answer_id,
                INVALID_REQUEST,
                "invalid request: the message has no `method`",
            ));
        }
    };
    let params = match object.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(other) => {
            return Err(Fault::new(
                answer_id,
                INVALID_REQUEST,
                format!(
                    "invalid request: `params` must be an object, got {}",
                    kind(&other)
                ),
            ));
        }
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method },
    })
}

/// A result response.
pub fn result(id: &Id, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub fn error(id: &Id, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()})
}

/// "a string", "an array", … for messages.
pub use common::event::json_kind as kind;

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(body: &str) -> Fault {
        parse(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap(),
            Message::Request {
                id: json!(7),
                method: "ping".into(),
                params: Map::new()
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":null}}"#)
                .unwrap(),
            Message::Request {
                id: json!("a"),
                method: "tools/list".into(),
                params: json!({"cursor": null}).as_object().unwrap().clone()
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap(),
            Message::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#).unwrap(),
            Message::Response
        );
    }

    #[test]
    fn every_fault_has_its_code_and_the_id_when_readable() {
        let f = fault("{not json");
        assert_eq!((f.error.code, &f.id), (PARSE_ERROR, &Value::Null));
        assert!(f.error.message.contains("not valid JSON"), "{f:?}");
        let f = fault(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#);
        assert_eq!(f.error.code, INVALID_REQUEST);
        assert!(f.error.message.contains("batch"), "{f:?}");
        assert_eq!(fault("[]").error.code, INVALID_REQUEST);
        assert_eq!(fault("3").error.code, INVALID_REQUEST);
        let f = fault(r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#);
        assert_eq!((f.error.code, f.id), (INVALID_REQUEST, json!(4)));
        let f = fault(r#"{"jsonrpc":"2.0","id":4.5,"method":"ping"}"#);
        assert_eq!((f.error.code, f.id), (INVALID_REQUEST, Value::Null));
        let f = fault(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#);
        assert_eq!(f.error.code, INVALID_REQUEST);
        let f = fault(r#"{"jsonrpc":"2.0","id":"x","method":3}"#);
        assert_eq!((f.error.code, f.id), (INVALID_REQUEST, json!("x")));
        let f = fault(r#"{"jsonrpc":"2.0","id":"x","method":"tools/list","params":[1]}"#);
        assert_eq!((f.error.code, f.id), (INVALID_REQUEST, json!("x")));
        let f = fault(r#"{"jsonrpc":"2.0","id":2}"#);
        assert_eq!((f.error.code, f.id), (INVALID_REQUEST, json!(2)));
    }

    #[test]
    fn responses_have_the_jsonrpc_shape() {
        assert_eq!(
            result(&json!(1), json!({})),
            json!({"jsonrpc": "2.0", "id": 1, "result": {}})
        );
        let e = RpcError::new(METHOD_NOT_FOUND, "no").with_data(json!({"m": 1}));
        assert_eq!(
            error(&json!("i"), &e),
            json!({"jsonrpc": "2.0", "id": "i", "error": {"code": -32601, "message": "no", "data": {"m": 1}}})
        );
    }
}
