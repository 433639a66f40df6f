//! The conversation, in the agent's own terms: user and assistant messages made of text,
//! tool uses and tool results. The model providers translate from and to it, and sessions
//! store it as JSON, so it is plain serde data.
//!
//! Bedrock rejects a history that starts with anything but a user's question (a tool result
//! whose tool use was cut away, or an assistant turn), and one whose tool uses have no
//! results. Every function here that shortens a history keeps it starting at a *plain* user
//! message (text only), which rules out both.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The operator, or tool results sent back on their behalf.
    User,
    /// The model.
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// The model asks for a tool call.
    ToolUse {
        /// The model's id for the call.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments.
        input: Value,
    },
    /// A tool call's result, sent back to the model.
    ToolResult {
        /// The id of the tool use it answers.
        id: String,
        /// Whether the call failed (the content is then the error envelope).
        error: bool,
        /// The tool's answer, as JSON text, possibly truncated.
        content: String,
    },
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its author.
    pub role: Role,
    /// Its content.
    pub content: Vec<Block>,
}

impl Message {
    /// A user message with one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    /// A user message holding only text: where a history may start.
    pub fn is_plain_user(&self) -> bool {
        self.role == Role::User
            && !self.content.is_empty()
            && self.content.iter().all(|b| matches!(b, Block::Text { .. }))
    }

    /// The text blocks, joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            if let Block::Text { text } = block {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }
}

/// Appends the operator's `prompt`. After a turn that stopped with tool results unanswered
/// (the cycle limit), the last message is a user message; the prompt joins it, because
/// Bedrock wants user and assistant messages to alternate.
pub fn push_prompt(history: &mut Vec<Message>, prompt: &str) {
    match history.last_mut() {
        Some(last) if last.role == Role::User => last.content.push(Block::Text {
            text: prompt.to_owned(),
        }),
        _ => history.push(Message::user(prompt)),
    }
}

/// The start of the last `size` messages, moved forward to the first plain user message. If
/// there is none in that window (one turn with many tool cycles), the last plain user message
/// before it: a window may then be longer than `size`, never invalid.
pub fn window_start(history: &[Message], size: usize) -> usize {
    let earliest = history.len().saturating_sub(size);
    (earliest..history.len())
        .find(|&i| history[i].is_plain_user())
        .or_else(|| (0..earliest).rev().find(|&i| history[i].is_plain_user()))
        .unwrap_or(history.len())
}

/// Tool results at least this long are the first thing given up when the model's context
/// overflows.
pub const LARGE_TOOL_RESULT: usize = 1_000;

/// Replaces the oldest large tool result (not yet replaced) with a short note. Returns
/// whether one was found.
pub fn shrink_oldest_tool_result(history: &mut [Message]) -> bool {
    for message in history.iter_mut() {
        for block in &mut message.content {
            if let Block::ToolResult { content, .. } = block
                && content.len() >= LARGE_TOOL_RESULT
            {
                *content = format!(
                    "[tool result of {} bytes removed to fit the model's context window]",
                    content.len()
                );
                return true;
            }
        }
    }
    false
}

/// Drops the oldest turn (up to the next plain user message), keeping at least the last
/// turn. Returns whether anything was dropped.
pub fn drop_oldest_turn(history: &mut Vec<Message>) -> bool {
    match (1..history.len()).find(|&i| history[i].is_plain_user()) {
        Some(next) => {
            history.drain(..next);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assistant_tool_use(id: &str) -> Message {
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse {
                id: id.into(),
                name: "web_search".into(),
                input: json!({"query": "x"}),
            }],
        }
    }

    fn tool_result(id: &str, size: usize) -> Message {
        Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                id: id.into(),
                error: false,
                content: "x".repeat(size),
            }],
        }
    }

    fn answer(text: &str) -> Message {
        Message {
            role: Role::Assistant,
            content: vec![Block::Text { text: text.into() }],
        }
    }

    /// q1, use, result, a1, q2, use, result, use, result, a2
    fn history() -> Vec<Message> {
        vec![
            Message::user("q1"),
            assistant_tool_use("t1"),
            tool_result("t1", 2_000),
            answer("a1"),
            Message::user("q2"),
            assistant_tool_use("t2"),
            tool_result("t2", 10),
            assistant_tool_use("t3"),
            tool_result("t3", 5_000),
            answer("a2"),
        ]
    }

    /// What Bedrock checks: starts with a plain user message, roles alternate, every tool
    /// use is answered in the next message and every result follows its use.
    pub(crate) fn valid(history: &[Message]) -> bool {
        let Some(first) = history.first() else {
            return true;
        };
        first.is_plain_user()
            && history.windows(2).all(|w| w[0].role != w[1].role)
            && history.iter().enumerate().all(|(i, m)| {
                m.content.iter().all(|b| match b {
                    Block::ToolUse { id, .. } => history.get(i + 1).is_some_and(|next| {
                        next.content
                            .iter()
                            .any(|r| matches!(r, Block::ToolResult { id: rid, .. } if rid == id))
                    }),
                    Block::ToolResult { id, .. } => {
                        i > 0
                            && history[i - 1]
                                .content
                                .iter()
                                .any(|u| matches!(u, Block::ToolUse { id: uid, .. } if uid == id))
                    }
                    Block::Text { .. } => true,
                })
            })
    }

    #[test]
    fn every_window_of_every_size_is_valid() {
        let h = history();
        assert!(valid(&h));
        for size in 0..=h.len() + 2 {
            let start = window_start(&h, size);
            assert!(valid(&h[start..]), "size {size} starts at {start}");
        }
        assert_eq!(window_start(&h, 6), 4, "q2's turn");
        assert_eq!(
            window_start(&h, 3),
            4,
            "never inside a turn: the turn is kept whole"
        );
        assert_eq!(window_start(&h, 100), 0);
    }

    #[test]
    fn overflow_trimming_shrinks_results_first_then_drops_turns() {
        let mut h = history();
        assert!(shrink_oldest_tool_result(&mut h));
        assert!(
            matches!(&h[2].content[0], Block::ToolResult { content, .. } if content.contains("2000 bytes removed"))
        );
        assert!(shrink_oldest_tool_result(&mut h));
        assert!(
            matches!(&h[8].content[0], Block::ToolResult { content, .. } if content.contains("5000 bytes removed"))
        );
        assert!(!shrink_oldest_tool_result(&mut h));
        assert!(valid(&h));
        assert!(drop_oldest_turn(&mut h));
        assert_eq!(h[0], Message::user("q2"));
        assert!(valid(&h));
        assert!(!drop_oldest_turn(&mut h), "the current turn stays");
    }

    #[test]
    fn a_prompt_after_an_unanswered_tool_result_joins_it() {
        let mut h = vec![
            Message::user("q"),
            assistant_tool_use("t"),
            tool_result("t", 1),
        ];
        push_prompt(&mut h, "and now?");
        assert_eq!(h.len(), 3);
        assert!(matches!(h[2].content.last(), Some(Block::Text { text }) if text == "and now?"));
        let mut h = vec![Message::user("q"), answer("a")];
        push_prompt(&mut h, "next");
        assert_eq!(h.last(), Some(&Message::user("next")));
    }
}
