//! What the loop tells its caller while it works, so that it does not need to know how the
//! answer travels. The buffered answer ([`Buffered`]) wants nothing until the end; the
//! streamed Function URL answer (`web::Emitter`) forwards the model's text as it arrives and
//! each tool call as it ends.

use crate::io::ToolCall;

/// The progress of one answer, as it happens.
pub trait AnswerEvents: Send + Sync {
    /// Whether the model's reply is wanted piece by piece (the model is then called with its
    /// streaming API). A failure after some text went out is not retried: the caller has seen
    /// part of an answer a retry would repeat.
    fn streaming(&self) -> bool;
    /// A piece of the model's text, never empty.
    fn text(&self, delta: &str);
    /// A tool call that has ended.
    fn tool(&self, call: &ToolCall);
}

/// The answer is sent whole at the end: nothing to tell on the way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Buffered;

impl AnswerEvents for Buffered {
    fn streaming(&self) -> bool {
        false
    }

    fn text(&self, _: &str) {}

    fn tool(&self, _: &ToolCall) {}
}
