//! `devops-agent ask`: one question to the agent's Function URL, the answer printed as it
//! streams.
//!
//! The request is contract §2.8's input, `{"prompt", "session_id"?}`, POSTed with `Accept:
//! text/event-stream`; the answer is §2.9's events. [`Printer`] writes them:
//!
//! * `text`: the delta on stdout, flushed at once;
//! * `tool`: a line on stderr, `⚙ k8s_info workload_health · success · 120 ms` (the tool, its
//!   `action` when the input has one, status, duration), with the error's code and message
//!   for a failed call. The text before a tool call ends its line, and the text after starts
//!   a new paragraph, as the chat page shows them apart;
//! * `done`: the closing summary on stderr: stop reason, model calls, tokens, the cost when
//!   the deployment prices tokens, latency and the session id;
//! * `error`: the envelope's code, message, whether retrying helps and the request id.
//!
//! Answer text on stdout and everything else on stderr: `devops-agent ask … > answer.md`
//! keeps only the answer, and in a terminal the two interleave in the order they came.
//! Something in front of the function that answers instead of it (an authorizer's 403 as
//! `{"Message":"Forbidden"}`, a proxy's 502 page) is not the stream: its status and the start
//! of its body make a [`Exit::Refused`] error. A buffered JSON answer (an API Gateway route
//! in front of the agent answers that way) is printed like a stream that came all at once.

use std::io::Write;

use reqwest::Url;
use serde_json::{Value, json};

use crate::{CliError, Exit, sign::Signer, sse};

/// Asks `prompt` (in `session`, or a new one) and prints the answer through `printer`;
/// returns the output object (§2.8). An `error` event or an error envelope is an
/// [`Exit::Agent`] error whose lines `printer` has already written.
pub async fn ask(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&Signer>,
    prompt: &str,
    session: Option<&str>,
    printer: &mut Printer<'_>,
) -> Result<Value, CliError> {
    let mut input = json!({"prompt": prompt});
    if let Some(id) = session {
        input["session_id"] = json!(id);
    }
    let request = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(input.to_string())
        .build()
        .map_err(|e| CliError::new(Exit::Usage, format!("the request: {e}")))?;
    let mut response = crate::send(client, request, signer).await?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("text/event-stream") {
        return not_a_stream(response, &content_type, printer).await;
    }
    let mut reader = sse::Reader::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                printer.end_line()?;
                return Err(CliError::new(
                    Exit::Network,
                    "the answer stopped before it was complete (the stream ended with no done or error event)",
                ));
            }
            Err(e) => {
                printer.end_line()?;
                return Err(CliError::new(
                    Exit::Network,
                    format!(
                        "the answer stopped before it was complete: {}",
                        crate::chain(&e)
                    ),
                ));
            }
        };
        let events = reader
            .push(&chunk)
            .map_err(|_| CliError::new(Exit::Network, "the answer is not Server-Sent Events"))?;
        for event in events {
            if let Some(end) = printer.event(&event)? {
                return end;
            }
        }
    }
}

/// An answer that is not a stream: the agent's buffered JSON (its output object or its
/// envelope), or something else's answer.
async fn not_a_stream(
    response: reqwest::Response,
    content_type: &str,
    printer: &mut Printer<'_>,
) -> Result<Value, CliError> {
    if !content_type.starts_with("application/json") {
        return Err(crate::refused(response).await);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let Ok(value) = serde_json::from_str::<Value>(&body) else {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "HTTP {status} ({content_type}): {}",
                crate::body_start(&body)
            ),
        ));
    };
    if is_envelope(&value) {
        printer.error(&value)?;
        return Err(CliError::new(Exit::Agent, ""));
    }
    if status.is_success() && value.get("session_id").is_some_and(Value::is_string) {
        for call in value["tool_calls"].as_array().into_iter().flatten() {
            printer.tool(call)?;
        }
        printer.done(&value)?;
        return Ok(value);
    }
    Err(CliError::new(
        Exit::Refused,
        format!(
            "HTTP {status} ({content_type}): {}",
            crate::body_start(&body)
        ),
    ))
}

/// Whether `value` is the error envelope, `{"error": {"code", "message", …}}`.
pub fn is_envelope(value: &Value) -> bool {
    value["error"]["code"].is_string()
}

/// Writes the events of an answer: text on `out`, everything else on `err`.
pub struct Printer<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// The text since the last tool call (to tell whether `done`'s response was streamed).
    segment: String,
    wrote_text: bool,
    /// The last text written did not end its line.
    line_open: bool,
    /// A tool line came after the last text: the next text is a new paragraph.
    after_tool: bool,
}

impl<'a> Printer<'a> {
    /// A printer writing the answer to `out` and the rest to `err`.
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Self {
            out,
            err,
            segment: String::new(),
            wrote_text: false,
            line_open: false,
            after_tool: false,
        }
    }

    /// Prints one event; `Some` with the end of the answer for `done` (the output object) and
    /// `error` (an [`Exit::Agent`] error), `None` to read on. Events of other names are
    /// skipped, so a later version of the agent can add some.
    pub fn event(
        &mut self,
        event: &sse::Event,
    ) -> Result<Option<Result<Value, CliError>>, CliError> {
        let known = ["text", "tool", "done", "error"];
        if !known.contains(&event.name.as_str()) {
            return Ok(None);
        }
        let data: Value = serde_json::from_str(&event.data).map_err(|e| {
            CliError::new(
                Exit::Network,
                format!("the agent's {} event is not JSON: {e}", event.name),
            )
        })?;
        match event.name.as_str() {
            "text" => {
                self.text(data["delta"].as_str().unwrap_or_default())?;
                Ok(None)
            }
            "tool" => {
                self.tool(&data)?;
                Ok(None)
            }
            "done" => {
                self.done(&data)?;
                Ok(Some(Ok(data)))
            }
            _ => {
                self.error(&data)?;
                Ok(Some(Err(CliError::new(Exit::Agent, ""))))
            }
        }
    }

    /// Writes a piece of the answer and flushes it.
    pub fn text(&mut self, delta: &str) -> Result<(), CliError> {
        if delta.is_empty() {
            return Ok(());
        }
        if self.after_tool && self.wrote_text {
            self.out.write_all(b"\n").map_err(CliError::output)?;
        }
        self.after_tool = false;
        self.out
            .write_all(delta.as_bytes())
            .map_err(CliError::output)?;
        self.out.flush().map_err(CliError::output)?;
        self.segment.push_str(delta);
        self.wrote_text = true;
        self.line_open = !delta.ends_with('\n');
        Ok(())
    }

    /// Ends the answer's current line, if one is open.
    pub fn end_line(&mut self) -> Result<(), CliError> {
        if self.line_open {
            self.out.write_all(b"\n").map_err(CliError::output)?;
            self.out.flush().map_err(CliError::output)?;
            self.line_open = false;
        }
        Ok(())
    }

    /// Writes a tool line ([`tool_line`]).
    pub fn tool(&mut self, call: &Value) -> Result<(), CliError> {
        self.end_line()?;
        self.segment.clear();
        self.after_tool = true;
        writeln!(self.err, "{}", tool_line(call)).map_err(CliError::output)
    }

    /// Writes the end of an answer: its response if it was not streamed as text (the
    /// sentence saying why the loop stopped at `max_cycles`, a buffered answer), then the
    /// closing summary ([`footer`]).
    pub fn done(&mut self, output: &Value) -> Result<(), CliError> {
        let response = output["response"].as_str().unwrap_or_default();
        if !response.trim().is_empty() && !self.segment.trim_end().ends_with(response.trim_end()) {
            if self.wrote_text && !self.after_tool {
                self.end_line()?;
                self.after_tool = true;
            }
            self.text(response)?;
        }
        self.end_line()?;
        writeln!(self.err, "{}", footer(output)).map_err(CliError::output)
    }

    /// Writes an error envelope ([`error_line`]).
    pub fn error(&mut self, envelope: &Value) -> Result<(), CliError> {
        self.end_line()?;
        writeln!(self.err, "{}", error_line(envelope)).map_err(CliError::output)
    }
}

/// `text` on one line, cut after `max` characters with `…`.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// A tool call's line: `⚙ <name> [<action>] · <status> · <ms> ms [· <CODE>: <message>]`.
pub fn tool_line(call: &Value) -> String {
    let mut line = format!("⚙ {}", call["name"].as_str().unwrap_or("?"));
    if let Some(action) = call["input"]["action"].as_str() {
        line.push(' ');
        line.push_str(&one_line(action, 40));
    }
    line.push_str(&format!(
        " · {} · {} ms",
        call["status"].as_str().unwrap_or("?"),
        call["duration_ms"].as_u64().unwrap_or(0)
    ));
    if let Some(error) = call.get("error").filter(|e| e.is_object()) {
        line.push_str(&format!(
            " · {}: {}",
            error["code"].as_str().unwrap_or("ERROR"),
            one_line(error["message"].as_str().unwrap_or_default(), 200)
        ));
    }
    line
}

/// The closing summary: `── end_turn · 2 model call(s) · 2312 in / 95 out tokens · $0.0084 ·
/// 1830 ms · session 7fd9…` (the cost only when the output has one: none is invented).
pub fn footer(output: &Value) -> String {
    let usage = &output["usage"];
    let number = |v: &Value| v.as_u64().map_or_else(|| "?".to_owned(), |n| n.to_string());
    let mut line = format!(
        "── {} · {} model call(s) · {} in / {} out tokens",
        output["stop_reason"].as_str().unwrap_or("?"),
        number(&output["cycles"]),
        number(&usage["input_tokens"]),
        number(&usage["output_tokens"]),
    );
    if let Some(cost) = usage["cost_usd"].as_f64() {
        line.push_str(&format!(" · ${cost:.4}"));
    }
    if let Some(ms) = output["latency_ms"].as_u64() {
        line.push_str(&format!(" · {ms} ms"));
    }
    if let Some(id) = output["session_id"].as_str() {
        line.push_str(&format!(" · session {id}"));
    }
    line
}

/// An error envelope's line: `error: <CODE>: <message> [(retryable: try again)] [· request
/// <id>]`.
pub fn error_line(envelope: &Value) -> String {
    let error = &envelope["error"];
    let mut line = format!(
        "error: {}: {}",
        error["code"].as_str().unwrap_or("ERROR"),
        error["message"].as_str().unwrap_or("the agent failed")
    );
    if error["retryable"] == true {
        line.push_str(" (retryable: try again)");
    }
    if let Some(id) = error["request_id"].as_str() {
        line.push_str(&format!(" · request {id}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: Value) -> sse::Event {
        sse::Event {
            name: name.to_owned(),
            data: data.to_string(),
        }
    }

    /// Plays `events` through a printer; returns stdout, stderr and how it ended.
    fn play(events: &[sse::Event]) -> (String, String, Option<Result<Value, CliError>>) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut end = None;
        {
            let mut printer = Printer::new(&mut out, &mut err);
            for e in events {
                end = printer.event(e).unwrap();
                if end.is_some() {
                    break;
                }
            }
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
            end,
        )
    }

    fn done() -> Value {
        json!({"session_id": "7fd9", "response": "2 of 3 targets are up.", "stop_reason": "end_turn",
               "cycles": 2, "usage": {"input_tokens": 2312, "output_tokens": 95, "cost_usd": 0.008361},
               "latency_ms": 1830})
    }

    #[test]
    fn text_tool_lines_and_the_summary() {
        let (out, err, end) = play(&[
            event("text", json!({"delta": "Checking "})),
            event("text", json!({"delta": "the targets."})),
            event(
                "tool",
                json!({"name": "k8s_info", "status": "success", "duration_ms": 120,
                       "input": {"action": "workload_health", "cluster_name": "prod-eu"},
                       "result_preview": "{…"}),
            ),
            event(
                "tool",
                json!({"name": "cloudtrail", "status": "error", "duration_ms": 12, "input": {},
                       "error": {"code": "ACCESS_DENIED", "message": "not\nallowed"}}),
            ),
            event("ping", json!({})),
            event("text", json!({"delta": "2 of 3 "})),
            event("text", json!({"delta": "targets are up."})),
            event("done", done()),
            event("text", json!({"delta": "never read"})),
        ]);
        assert_eq!(out, "Checking the targets.\n\n2 of 3 targets are up.\n");
        assert_eq!(
            err,
            "⚙ k8s_info workload_health · success · 120 ms\n\
             ⚙ cloudtrail · error · 12 ms · ACCESS_DENIED: not allowed\n\
             ── end_turn · 2 model call(s) · 2312 in / 95 out tokens · $0.0084 · 1830 ms · session 7fd9\n"
        );
        assert_eq!(end.unwrap().unwrap()["session_id"], "7fd9");
    }

    #[test]
    fn a_response_that_was_not_streamed_is_printed_at_the_end() {
        let mut output = done();
        output["response"] = json!("The agent stopped after 8 model calls.");
        output["stop_reason"] = json!("max_cycles");
        output["usage"] = json!({"input_tokens": 1, "output_tokens": 2});
        let (out, err, _) = play(&[
            event("text", json!({"delta": "Looking"})),
            event(
                "tool",
                json!({"name": "runbooks", "status": "success", "duration_ms": 3}),
            ),
            event("done", output),
        ]);
        assert_eq!(out, "Looking\n\nThe agent stopped after 8 model calls.\n");
        // No cost in the output, none in the summary.
        assert!(
            err.ends_with(
                "── max_cycles · 2 model call(s) · 1 in / 2 out tokens · 1830 ms · session 7fd9\n"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_error_event_ends_with_its_code_and_request_id() {
        let (out, err, end) = play(&[
            event("text", json!({"delta": "The cluster is"})),
            event(
                "error",
                json!({"error": {"code": "UPSTREAM_ERROR", "message": "The model stream was interrupted.",
                                 "retryable": true, "request_id": "req-1"}}),
            ),
        ]);
        assert_eq!(out, "The cluster is\n");
        assert_eq!(
            err,
            "error: UPSTREAM_ERROR: The model stream was interrupted. (retryable: try again) · request req-1\n"
        );
        assert_eq!(end.unwrap().unwrap_err().exit, Exit::Agent);
    }

    #[test]
    fn an_event_that_is_not_json_is_a_broken_stream() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut printer = Printer::new(&mut out, &mut err);
        let error = printer
            .event(&sse::Event {
                name: "text".to_owned(),
                data: "{".to_owned(),
            })
            .unwrap_err();
        assert_eq!(error.exit, Exit::Network);
    }

    #[test]
    fn a_closed_stdout_stops_the_answer() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (mut out, mut err) = (Closed, Vec::new());
        let mut printer = Printer::new(&mut out, &mut err);
        assert_eq!(printer.text("x").unwrap_err().exit, Exit::Network);
    }
}
