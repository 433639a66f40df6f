//! `devops-agent tools`: a Model Context Protocol client over Streamable HTTP, the transport
//! of the MCP endpoint (JSON-RPC 2.0, one HTTP POST per message).
//!
//! It does what the specification asks of a client, cheaply, on one kept-alive connection:
//! `initialize` (protocol version, no capabilities), the `notifications/initialized`
//! notification, then the request (`tools/list`, following `nextCursor`, or `tools/call`).
//! Every POST accepts `application/json` and `text/event-stream`, carries the negotiated
//! `MCP-Protocol-Version` after `initialize` and the `Mcp-Session-Id` if the server gave one,
//! and is signed like `ask`'s request. An answer streamed as events is read until the
//! response with the request's id.
//!
//! A JSON-RPC error and a tool result with `isError` are [`Exit::Agent`] errors; an HTTP
//! answer that is no JSON-RPC message is [`Exit::Refused`].

use std::io::Write;

use reqwest::Url;
use serde_json::{Value, json};

use crate::{CliError, Exit, sign::Signer, sse};

/// The protocol version offered in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// The most `tools/list` pages followed (a server that keeps giving cursors is stopped).
pub const MAX_PAGES: usize = 100;

/// A client of one MCP endpoint.
pub struct Client {
    http: reqwest::Client,
    url: Url,
    signer: Option<Signer>,
    /// The negotiated version, once initialised.
    protocol: Option<String>,
    /// `Mcp-Session-Id`, when the server assigns one.
    session: Option<String>,
    next_id: u64,
}

impl Client {
    /// A client of the endpoint at `url`, signing with `signer` when there is one.
    pub fn new(http: reqwest::Client, url: Url, signer: Option<Signer>) -> Self {
        Self {
            http,
            url,
            signer,
            protocol: None,
            session: None,
            next_id: 1,
        }
    }

    async fn post(&self, message: &Value) -> Result<reqwest::Response, CliError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(version) = &self.protocol {
            request = request.header("mcp-protocol-version", version);
        }
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        let request = request
            .body(message.to_string())
            .build()
            .map_err(|e| CliError::new(Exit::Usage, format!("the request: {e}")))?;
        crate::send(&self.http, request, self.signer.as_ref()).await
    }

    /// Sends a request and returns its result.
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, CliError> {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self.post(&message).await?;
        if method == "initialize"
            && let Some(session) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.session = Some(session.to_owned());
        }
        let answer = read_response(response, id).await?;
        if let Some(error) = answer.get("error") {
            return Err(CliError::new(
                Exit::Agent,
                format!(
                    "{method}: JSON-RPC error {}: {}",
                    error["code"],
                    error["message"].as_str().unwrap_or("(no message)")
                ),
            ));
        }
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// `initialize`, then `notifications/initialized`; returns the server's result.
    pub async fn initialize(&mut self) -> Result<Value, CliError> {
        let result = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "devops-agent", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .await?;
        self.protocol = Some(
            result["protocolVersion"]
                .as_str()
                .unwrap_or(PROTOCOL_VERSION)
                .to_owned(),
        );
        // A notification's answer is 202 and no body (read anyway, so the connection is
        // reused). A stateless server has nothing to do with it; if it refuses it, the
        // request that follows says why.
        let _ = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?
            .bytes()
            .await;
        Ok(result)
    }

    async fn ensure_initialized(&mut self) -> Result<(), CliError> {
        if self.protocol.is_none() {
            self.initialize().await?;
        }
        Ok(())
    }

    /// Every tool's definition (`name`, `description`, `inputSchema`, …), all pages.
    pub async fn tools(&mut self) -> Result<Vec<Value>, CliError> {
        self.ensure_initialized().await?;
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let result = self.request("tools/list", params).await?;
            tools.extend(result["tools"].as_array().cloned().unwrap_or_default());
            match result["nextCursor"].as_str() {
                Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
                _ => return Ok(tools),
            }
        }
        Ok(tools)
    }

    /// `tools/call`: the tool's result (`content`, `structuredContent`, `isError`).
    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> Result<Value, CliError> {
        self.ensure_initialized().await?;
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }
}

/// The JSON-RPC response with `id` from `response`: a JSON body, or the events of a stream.
async fn read_response(mut response: reqwest::Response, id: u64) -> Result<Value, CliError> {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let status = response.status();
    if content_type.starts_with("text/event-stream") && status.is_success() {
        let mut reader = sse::Reader::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            CliError::new(
                Exit::Network,
                format!("the MCP answer stopped: {}", crate::chain(&e)),
            )
        })? {
            let events = reader.push(&chunk).map_err(|_| {
                CliError::new(Exit::Network, "the MCP answer is not Server-Sent Events")
            })?;
            for event in events {
                if let Ok(message) = serde_json::from_str::<Value>(&event.data)
                    && message["id"] == id
                {
                    return Ok(message);
                }
            }
        }
        return Err(CliError::new(
            Exit::Network,
            "the MCP answer's stream ended without the response",
        ));
    }
    if !content_type.starts_with("application/json") {
        return Err(crate::refused(response).await);
    }
    let body = response.text().await.map_err(|e| {
        CliError::new(
            Exit::Network,
            format!("the MCP answer stopped: {}", crate::chain(&e)),
        )
    })?;
    let refused = || {
        CliError::new(
            Exit::Refused,
            format!(
                "HTTP {status} ({content_type}): {}",
                crate::body_start(&body)
            ),
        )
    };
    let message: Value = serde_json::from_str(&body).map_err(|_| refused())?;
    // A batch answer holds the response among others.
    let message = match message {
        Value::Array(messages) => messages
            .into_iter()
            .find(|m| m["id"] == id)
            .ok_or_else(refused)?,
        message => message,
    };
    let is_response = message["jsonrpc"] == "2.0"
        && (message.get("result").is_some() || message["error"].is_object());
    if !is_response {
        return Err(refused());
    }
    Ok(message)
}

/// `tools list`: one line per tool (its name and the first sentence of its description), or
/// with `json` the definitions as pretty JSON.
pub async fn list(client: &mut Client, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let tools = client.tools().await?;
    let text = if json {
        format!("{}\n", pretty(&Value::Array(tools)))
    } else {
        tool_table(&tools)
    };
    out.write_all(text.as_bytes()).map_err(CliError::output)
}

/// `tools call`: the result's `structuredContent` as pretty JSON on `out` (its text content
/// when it has none); a result with `isError` goes to `err` and is an [`Exit::Agent`] error.
pub async fn call(
    client: &mut Client,
    tool: &str,
    arguments: serde_json::Map<String, Value>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let result = client.call_tool(tool, arguments).await?;
    let (text, failed) = render_result(&result);
    if failed {
        err.write_all(text.as_bytes()).map_err(CliError::output)?;
        return Err(CliError::new(Exit::Agent, ""));
    }
    out.write_all(text.as_bytes()).map_err(CliError::output)
}

/// A tool result as printed, and whether it is an error: the structured content as pretty
/// JSON, else the text content; for an error, the envelope's line when the content is one.
pub fn render_result(result: &Value) -> (String, bool) {
    let failed = result["isError"] == true;
    let texts: Vec<&str> = result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == "text")
        .filter_map(|c| c["text"].as_str())
        .collect();
    let structured = result
        .get("structuredContent")
        .filter(|v| !v.is_null())
        .cloned()
        .or_else(|| {
            // A server without structured content may still answer JSON as its text.
            match texts.as_slice() {
                [one] => serde_json::from_str::<Value>(one)
                    .ok()
                    .filter(|v| v.is_object() || v.is_array()),
                _ => None,
            }
        });
    if failed {
        if let Some(envelope) = structured.as_ref().filter(|v| crate::ask::is_envelope(v)) {
            return (format!("{}\n", crate::ask::error_line(envelope)), true);
        }
        let message = if texts.is_empty() {
            "the tool failed".to_owned()
        } else {
            texts.join("\n")
        };
        return (format!("error: {message}\n"), true);
    }
    match structured {
        Some(value) => (format!("{}\n", pretty(&value)), false),
        None => {
            let mut text = texts.join("\n");
            if !text.ends_with('\n') {
                text.push('\n');
            }
            (text, false)
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// The tools as a table: name, then the first sentence of the description (cut at 100
/// characters).
pub fn tool_table(tools: &[Value]) -> String {
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("?"))
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut table = String::new();
    for (tool, name) in tools.iter().zip(names) {
        let description = first_sentence(tool["description"].as_str().unwrap_or_default());
        table.push_str(format!("{name:<width$}  {description}").trim_end());
        table.push('\n');
    }
    table
}

/// The description up to its first sentence's end, on one line, at most 100 characters.
fn first_sentence(description: &str) -> String {
    let line = description.lines().next().unwrap_or_default().trim();
    let sentence = match line.find(". ") {
        Some(at) => &line[..=at],
        None => line,
    };
    match sentence.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &sentence[..at]),
        None => sentence.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_tool_on_one_line() {
        let tools = vec![
            json!({"name": "prometheus_query", "description": "Runs a PromQL instant query. Use it for current values.\nMore."}),
            json!({"name": "k8s_info", "description": "x".repeat(150)}),
            json!({"name": "runbooks"}),
        ];
        let table = tool_table(&tools);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "prometheus_query  Runs a PromQL instant query.");
        assert_eq!(lines[1], format!("k8s_info          {}…", "x".repeat(100)));
        assert_eq!(lines[2], "runbooks");
    }

    #[test]
    fn a_result_prints_its_structured_content() {
        let result = json!({"content": [{"type": "text", "text": "{\"a\":1}"}],
                            "structuredContent": {"a": 1}, "isError": false});
        assert_eq!(
            render_result(&result),
            ("{\n  \"a\": 1\n}\n".to_owned(), false)
        );
        // Without structured content: JSON text is pretty-printed, other text as it is.
        let result = json!({"content": [{"type": "text", "text": "[1,2]"}]});
        assert_eq!(
            render_result(&result),
            ("[\n  1,\n  2\n]\n".to_owned(), false)
        );
        let result = json!({"content": [{"type": "text", "text": "plain"}]});
        assert_eq!(render_result(&result), ("plain\n".to_owned(), false));
    }

    #[test]
    fn an_error_result_prints_its_envelope() {
        let envelope = json!({"error": {"code": "INVALID_INPUT", "message": "action is required", "retryable": false}});
        let result = json!({"content": [{"type": "text", "text": envelope.to_string()}],
                            "structuredContent": envelope, "isError": true});
        assert_eq!(
            render_result(&result),
            (
                "error: INVALID_INPUT: action is required\n".to_owned(),
                true
            )
        );
        let result = json!({"content": [{"type": "text", "text": "boom"}], "isError": true});
        assert_eq!(render_result(&result), ("error: boom\n".to_owned(), true));
    }
}
