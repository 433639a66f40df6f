//! Server-Sent Events read incrementally from the bytes of a response as they arrive.
//!
//! The agent writes each event as `event: <name>`, one `data:` line of compact JSON and a
//! blank line (contract §2.9); this reader follows the general format anyway (several `data:`
//! lines joined by newlines, `:` comments, `id:`/`retry:` ignored, `\r\n` line ends), so an
//! MCP server streaming its answer is read by the same code. A line is decoded only once it
//! is complete, so a UTF-8 character split across two chunks is read whole. Bare `\r` line
//! ends (allowed by the specification, written by no server here) are not recognised.

/// The longest line kept while waiting for its end: a server sending more without a newline
/// is not speaking SSE, and the client stops instead of buffering without bound.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// One event: its name (`message` when the frame had no `event:` line) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub name: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// An incremental reader: feed it chunks with [`Reader::push`], take the complete events.
#[derive(Debug, Default)]
pub struct Reader {
    /// Bytes of the line not yet ended.
    partial: Vec<u8>,
    name: Option<String>,
    data: Option<String>,
}

/// The stream is not Server-Sent Events (a line over [`MAX_LINE_BYTES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong;

impl Reader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `chunk`, returning the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLong> {
        let mut events = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                events.push(event);
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE_BYTES {
            return Err(TooLong);
        }
        Ok(events)
    }

    /// Whether bytes of an unfinished event are held (the stream stopped mid-event).
    pub fn mid_event(&self) -> bool {
        !self.partial.is_empty() || self.data.is_some() || self.name.is_some()
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let name = self.name.take();
            // A frame without data is no event (the specification's rule).
            let data = self.data.take()?;
            return Some(Event {
                name: name.unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.name = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: &str) -> Event {
        Event {
            name: name.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn reads_the_agents_events_across_any_chunking() {
        let body = "event: text\ndata: {\"delta\":\"Checking \"}\n\nevent: tool\ndata: {\"name\":\"k8s_info\",\"status\":\"success\",\"duration_ms\":120}\n\nevent: done\ndata: {\"session_id\":\"s\"}\n\n";
        let expected = vec![
            event("text", r#"{"delta":"Checking "}"#),
            event(
                "tool",
                r#"{"name":"k8s_info","status":"success","duration_ms":120}"#,
            ),
            event("done", r#"{"session_id":"s"}"#),
        ];
        for size in 1..body.len() {
            let mut reader = Reader::new();
            let mut got = Vec::new();
            for chunk in body.as_bytes().chunks(size) {
                got.extend(reader.push(chunk).unwrap());
            }
            assert_eq!(got, expected, "chunks of {size}");
            assert!(!reader.mid_event());
        }
    }

    #[test]
    fn a_character_split_between_chunks_is_read_whole() {
        let body = "event: text\ndata: {\"delta\":\"⚙ é\"}\n\n".as_bytes();
        let cut = body.iter().position(|&b| b == 0xe2).unwrap() + 1;
        let mut reader = Reader::new();
        assert_eq!(reader.push(&body[..cut]).unwrap(), vec![]);
        assert!(reader.mid_event());
        assert_eq!(
            reader.push(&body[cut..]).unwrap(),
            vec![event("text", r#"{"delta":"⚙ é"}"#)]
        );
    }

    #[test]
    fn follows_the_general_format() {
        let mut reader = Reader::new();
        let events = reader
            .push(b": a comment\r\nid: 7\r\nretry: 10\r\ndata: one\r\ndata:two\r\n\r\nevent: ping\n\ndata\n\n")
            .unwrap();
        assert_eq!(
            events,
            vec![event("message", "one\ntwo"), event("message", "")]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut reader = Reader::new();
        let chunk = vec![b'x'; 1 << 20];
        let mut result = Ok(vec![]);
        for _ in 0..=16 {
            result = reader.push(&chunk);
        }
        assert_eq!(result, Err(TooLong));
    }
}
