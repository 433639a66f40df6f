//! `agent`: answers an operator's question with a bounded tool-use loop over the tool
//! Lambdas, with Amazon Bedrock's Converse API or any OpenAI-compatible chat-completions
//! server as the model, buffered or streamed. What it takes, gives and is configured with:
//! docs/contract.md §2.8, §2.9 and §3; how it works: docs/agent.md.
//!
//! The crate, in the order a request meets it:
//!
//! | module | what it holds |
//! |---|---|
//! | [`web`] | the Function URL: the chat page, answers streamed as Server-Sent Events; every other event goes to `common`'s buffered pipeline |
//! | [`agent`] | [`Agent`], the handler: checks the question, reads settings and session, runs the loop, saves the turn |
//! | [`owner`] | whose items are whose in the sessions table: each caller's sessions, budget and slots are their own |
//! | [`inflight`] | a caller's questions in flight (`agent/max_concurrent_per_caller`), counted across instances |
//! | [`budget`] | a caller's daily token budget (`agent/daily_token_budget`) |
//! | [`audit`] | the one audit line per question: who asked, what ran, what it cost |
//! | [`pricing`] | what tokens cost, and the tokens a budget counts |
//! | [`io`] | the input, the output and their checks |
//! | [`settings`] | the agent's settings from configuration, and the default system prompt |
//! | [`tool_loop`] | the loop: model calls with retries and context trimming, concurrent tool calls |
//! | [`events`] | what the loop reports while it works ([`events::AnswerEvents`]), so it need not know how the answer travels |
//! | [`registry`] | the tools the model may call and the function behind each (`common::invoke`'s map, shared with the MCP server) |
//! | [`invoker`] | how a tool's answer is handed to the model; the Lambda Invoke call itself is `common::invoke`'s, re-exported |
//! | [`conversation`] | messages, the sliding window, trimming |
//! | [`sessions`] | the history in DynamoDB, and the merge when two requests write one session |
//! | [`model`] | the seam between the loop and a provider: one request, one reply, sorted errors |
//! | [`providers`], [`bedrock`], [`openai`] | the providers behind that seam |
//!
//! Prompts, answers and tool results are logged only at debug level; the system prompt tells
//! the model that tool results are untrusted data.

pub mod agent;
pub mod audit;
pub mod bedrock;
pub mod budget;
pub mod conversation;
pub mod events;
pub mod inflight;
pub mod invoker;
pub mod io;
pub mod model;
pub mod openai;
pub mod owner;
pub mod pricing;
pub mod providers;
pub mod registry;
pub mod sessions;
pub mod settings;
pub mod tool_loop;
pub mod web;

pub use agent::Agent;
pub use io::{AgentInput, AgentOutput, ToolCall};
pub use settings::AgentSettings;
