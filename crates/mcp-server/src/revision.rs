//! Which MCP revision a request speaks, and the checks that revision asks of the server.
//!
//! Two revisions are served, the current one and the one before it, on the same endpoint:
//!
//! | era | revision | how a client speaks it | state |
//! |---|---|---|---|
//! | modern | [`MODERN`] (2026-07-28) | every request carries `_meta["io.modelcontextprotocol/protocolVersion"]` and its client capabilities, and over HTTP the `MCP-Protocol-Version`, `Mcp-Method` (and for `tools/call` `Mcp-Name`) headers mirroring the body | none by design: no `initialize`, no session |
//! | handshake | [`HANDSHAKE`] (2025-11-25) | `initialize` first, then `MCP-Protocol-Version` on the requests after it | none here: `initialize` is answered and forgotten, every later request stands alone, no `Mcp-Session-Id` is ever issued |
//!
//! A request is modern when its `MCP-Protocol-Version` header says 2026-07-28, or when it has
//! no header but its `_meta` declares a version (a modern request that forgot the header,
//! refused below); anything else is a handshake-era request. A missing header is what a
//! handshake-era client sends with `initialize` (and what clients older than 2025-06-18 send
//! always): the 2025-11-25 transport says to assume the oldest Streamable HTTP revision then,
//! and such a request is served like 2025-11-25 (which, like 2025-06-18, has no batches).
//!
//! Refusals, each a JSON-RPC error with HTTP 400:
//!
//! * a header naming a version not served: `-32022` (UnsupportedProtocolVersion) with
//!   `data: {"supported": […], "requested": …}`, the error 2026-07-28 defines, whose list a
//!   client of either era can read;
//! * a modern request without the required `_meta` fields: `-32602`;
//! * a modern HTTP request whose headers are missing or disagree with its body: `-32020`
//!   (HeaderMismatch). An `Mcp-Name` may be Base64-encoded (`=?base64?…?=`) and is decoded
//!   before it is compared.
//!
//! Notifications are not checked: 2026-07-28 defines no header rules for them, and they are
//! acknowledged and dropped whatever they say.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::jsonrpc::{HEADER_MISMATCH, INVALID_PARAMS, RpcError, UNSUPPORTED_PROTOCOL_VERSION};

/// The current revision: stateless by design.
pub const MODERN: &str = "2026-07-28";
/// The previous revision: an `initialize` handshake, answered statelessly here.
pub const HANDSHAKE: &str = "2025-11-25";
/// Every revision served, newest first (the order `server/discover` and errors list them).
pub const SUPPORTED: [&str; 2] = [MODERN, HANDSHAKE];

/// The protocol version header (lower case, as HTTP APIs and Function URLs deliver names).
pub const VERSION_HEADER: &str = "mcp-protocol-version";
/// The 2026-07-28 header mirroring the JSON-RPC method.
pub const METHOD_HEADER: &str = "mcp-method";
/// The 2026-07-28 header mirroring `params.name` of `tools/call`.
pub const NAME_HEADER: &str = "mcp-name";
/// The `_meta` key of a modern request's protocol version.
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key of a modern request's client capabilities.
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key a modern result names the server with.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// How a request is to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2026-07-28: per-request metadata, `server/discover`, results with `resultType`.
    Modern,
    /// 2025-11-25: `initialize`, `ping`, results without `resultType`.
    Handshake,
}

/// Header names (lower case) to values; `None` for a direct invoke, which has no HTTP.
pub type Headers = HashMap<String, String>;

/// The era of a request to `method` with `params`, after the checks the module docs list.
/// `notification` skips the modern checks (see the module docs).
pub fn era(
    headers: Option<&Headers>,
    method: &str,
    params: &Map<String, Value>,
    notification: bool,
) -> Result<Era, RpcError> {
    let header = headers
        .and_then(|h| h.get(VERSION_HEADER))
        .map(|v| v.trim());
    if let Some(requested) = header
        && !SUPPORTED.contains(&requested)
    {
        return Err(unsupported(requested));
    }
    let meta = params.get("_meta").and_then(Value::as_object);
    let declared = meta.and_then(|m| m.get(META_VERSION));
    let modern = match header {
        Some(version) => version == MODERN,
        None => declared.is_some(),
    };
    if !modern {
        return Ok(Era::Handshake);
    }
    if notification {
        return Ok(Era::Modern);
    }
    let declared = match declared {
        None => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!(
                    "invalid params: a {MODERN} request carries params._meta[\"{META_VERSION}\"]"
                ),
            ));
        }
        Some(Value::String(v)) => v.as_str(),
        Some(other) => {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!(
                    "invalid params: params._meta[\"{META_VERSION}\"] must be a string, got {}",
                    crate::jsonrpc::kind(other)
                ),
            ));
        }
    };
    if declared != MODERN {
        // 2025-11-25 is reached with `initialize`, never with per-request metadata.
        return Err(unsupported(declared));
    }
    if !meta
        .and_then(|m| m.get(META_CAPABILITIES))
        .is_some_and(Value::is_object)
    {
        return Err(RpcError::new(
            INVALID_PARAMS,
            format!(
                "invalid params: a {MODERN} request carries params._meta[\"{META_CAPABILITIES}\"], an object"
            ),
        ));
    }
    if let Some(headers) = headers {
        check_headers(headers, header, declared, method, params)?;
    }
    Ok(Era::Modern)
}

/// The 2026-07-28 header checks of a request that passed the `_meta` ones.
fn check_headers(
    headers: &Headers,
    version: Option<&str>,
    declared: &str,
    method: &str,
    params: &Map<String, Value>,
) -> Result<(), RpcError> {
    match version {
        None => return Err(mismatch("the MCP-Protocol-Version header is missing")),
        Some(v) if v != declared => {
            return Err(mismatch(format!(
                "MCP-Protocol-Version header value '{}' does not match body value '{declared}'",
                cut(v)
            )));
        }
        Some(_) => {}
    }
    match headers.get(METHOD_HEADER).map(|m| m.trim()) {
        None => return Err(mismatch("the Mcp-Method header is missing")),
        Some(m) if m != method => {
            return Err(mismatch(format!(
                "Mcp-Method header value '{}' does not match body value '{}'",
                cut(m),
                cut(method)
            )));
        }
        Some(_) => {}
    }
    if method == "tools/call" {
        let body = params.get("name").and_then(Value::as_str).unwrap_or("");
        let Some(raw) = headers.get(NAME_HEADER) else {
            return Err(mismatch("the Mcp-Name header is missing"));
        };
        let name = decode_header_value(raw.trim())
            .ok_or_else(|| mismatch("the Mcp-Name header's Base64 value cannot be decoded"))?;
        if name != body {
            return Err(mismatch(format!(
                "Mcp-Name header value '{}' does not match body value '{}'",
                cut(&name),
                cut(body)
            )));
        }
    }
    Ok(())
}

/// A header value, decoded when it uses the `=?base64?…?=` sentinel; `None` when that
/// Base64 or the UTF-8 inside it is invalid.
pub fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        None => Some(value.to_owned()),
        Some(encoded) => {
            let bytes = aws_smithy_types::base64::decode(encoded).ok()?;
            String::from_utf8(bytes).ok()
        }
    }
}

/// `-32022` for `requested`, naming what is served.
pub fn unsupported(requested: &str) -> RpcError {
    RpcError::new(
        UNSUPPORTED_PROTOCOL_VERSION,
        format!(
            "Unsupported protocol version '{}': this server speaks {} (per-request metadata) and {} (initialize)",
            cut(requested),
            MODERN,
            HANDSHAKE
        ),
    )
    .with_data(json!({"supported": SUPPORTED, "requested": cut(requested)}))
}

fn mismatch(message: impl Into<String>) -> RpcError {
    RpcError::new(
        HEADER_MISMATCH,
        format!("Header mismatch: {}", message.into()),
    )
}

/// A caller's value cut to 100 characters for a message.
fn cut(value: &str) -> String {
    match value.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_owned(),
    }
}

/// The version `initialize` answers: the client's when it is a handshake revision served
/// here, else the newest handshake revision served (2026-07-28 has no `initialize`).
pub fn negotiate(requested: &str) -> &'static str {
    // One handshake revision is served; the list form keeps the rule when one is added.
    [HANDSHAKE]
        .into_iter()
        .find(|v| *v == requested)
        .unwrap_or(HANDSHAKE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn modern_params(name: Option<&str>) -> Map<String, Value> {
        let mut p = json!({"_meta": {META_VERSION: MODERN, META_CAPABILITIES: {}}});
        if let Some(name) = name {
            p["name"] = json!(name);
        }
        p.as_object().unwrap().clone()
    }

    #[test]
    fn a_request_without_header_or_meta_is_a_handshake_one() {
        let none = Map::new();
        assert_eq!(
            era(Some(&Headers::new()), "initialize", &none, false),
            Ok(Era::Handshake)
        );
        assert_eq!(era(None, "tools/list", &none, false), Ok(Era::Handshake));
        let h = headers(&[(VERSION_HEADER, "2025-11-25")]);
        assert_eq!(
            era(Some(&h), "tools/list", &none, false),
            Ok(Era::Handshake)
        );
    }

    #[test]
    fn a_version_not_served_is_named_with_the_ones_that_are() {
        let h = headers(&[(VERSION_HEADER, "1900-01-01")]);
        let e = era(Some(&h), "tools/list", &Map::new(), false).unwrap_err();
        assert_eq!(e.code, UNSUPPORTED_PROTOCOL_VERSION);
        assert!(
            e.message.contains("2026-07-28") && e.message.contains("2025-11-25"),
            "{e:?}"
        );
        assert_eq!(
            e.data,
            Some(json!({"supported": ["2026-07-28", "2025-11-25"], "requested": "1900-01-01"}))
        );
        // Per-request metadata declaring an old revision.
        let mut p = modern_params(None);
        p["_meta"][META_VERSION] = json!("2025-06-18");
        let e = era(None, "tools/list", &p, false).unwrap_err();
        assert_eq!(e.code, UNSUPPORTED_PROTOCOL_VERSION);
    }

    #[test]
    fn a_modern_request_needs_its_meta_and_matching_headers() {
        let good = headers(&[
            (VERSION_HEADER, MODERN),
            (METHOD_HEADER, "tools/call"),
            (NAME_HEADER, "web_search"),
        ]);
        let p = modern_params(Some("web_search"));
        assert_eq!(era(Some(&good), "tools/call", &p, false), Ok(Era::Modern));
        assert_eq!(era(None, "tools/call", &p, false), Ok(Era::Modern));
        // Base64-encoded name.
        let encoded = headers(&[
            (VERSION_HEADER, MODERN),
            (METHOD_HEADER, "tools/call"),
            (NAME_HEADER, "=?base64?d2ViX3NlYXJjaA==?="),
        ]);
        assert_eq!(
            era(Some(&encoded), "tools/call", &p, false),
            Ok(Era::Modern)
        );

        let code = |h: &Headers, method: &str, p: &Map<String, Value>| {
            era(Some(h), method, p, false).unwrap_err().code
        };
        // Missing _meta fields.
        assert_eq!(code(&good, "tools/call", &Map::new()), INVALID_PARAMS);
        let mut no_caps = p.clone();
        no_caps["_meta"]
            .as_object_mut()
            .unwrap()
            .remove(META_CAPABILITIES);
        assert_eq!(code(&good, "tools/call", &no_caps), INVALID_PARAMS);
        // Headers missing or disagreeing.
        let mut h = good.clone();
        h.remove(METHOD_HEADER);
        assert_eq!(code(&h, "tools/call", &p), HEADER_MISMATCH);
        let mut h = good.clone();
        h.insert(METHOD_HEADER.into(), "tools/list".into());
        assert_eq!(code(&h, "tools/call", &p), HEADER_MISMATCH);
        let mut h = good.clone();
        h.insert(NAME_HEADER.into(), "eks_info".into());
        let e = era(Some(&h), "tools/call", &p, false).unwrap_err();
        assert_eq!(e.code, HEADER_MISMATCH);
        assert!(e.message.contains("'eks_info'"), "{e:?}");
        let mut h = good.clone();
        h.remove(NAME_HEADER);
        assert_eq!(code(&h, "tools/call", &p), HEADER_MISMATCH);
        // A modern body without the header.
        let mut h = good.clone();
        h.remove(VERSION_HEADER);
        assert_eq!(code(&h, "tools/call", &p), HEADER_MISMATCH);
        // Notifications are not checked.
        assert_eq!(
            era(Some(&good), "notifications/cancelled", &Map::new(), true),
            Ok(Era::Modern)
        );
    }

    #[test]
    fn initialize_answers_a_handshake_revision() {
        assert_eq!(negotiate("2025-11-25"), "2025-11-25");
        assert_eq!(negotiate("2025-06-18"), "2025-11-25");
        assert_eq!(negotiate("2026-07-28"), "2025-11-25");
        assert_eq!(negotiate("garbage"), "2025-11-25");
        assert_eq!(decode_header_value("=?base64?not base64?="), None);
        assert_eq!(decode_header_value("plain").as_deref(), Some("plain"));
    }
}
