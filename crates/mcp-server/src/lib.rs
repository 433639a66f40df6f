//! `mcp-server`: every tool, served to any MCP client over the Streamable HTTP transport,
//! statelessly: any request may reach any Lambda instance, nothing is kept between
//! requests, no session id is issued. What it takes, gives and is configured with:
//! docs/contract.md §2.15 and §3; how it works and how to connect a client: docs/mcp.md.
//!
//! Two revisions are spoken on one endpoint: 2026-07-28 (stateless by design:
//! `server/discover`, per-request metadata) and 2025-11-25 (`initialize`, answered and
//! forgotten). Tools are listed from the schemas the agent hands its model
//! (`common::tools`), and called through the agent's own invoker and tool → function map
//! (`common::invoke`), so no function outside the registry can be reached: a request names a
//! tool, never a function.
//!
//! The crate, in the order a request meets it:
//!
//! | module | what it holds |
//! |---|---|
//! | [`server`] | [`McpServer`]: the event in, the answer out; paths, Origin, methods, statuses, the audit line |
//! | [`http`] | the HTTP request inside an API Gateway or Function URL event, and the response Lambda hands back |
//! | [`security`] | the Origin check and the OAuth protected resource metadata document |
//! | [`jsonrpc`] | one JSON-RPC message read from a body, the error codes |
//! | [`revision`] | which MCP revision a request speaks, its headers and `_meta` checked |
//! | [`methods`] | `initialize`, `server/discover`, `ping`, `tools/list` in each revision's shape |
//! | [`call`] | `tools/call`: the invoke and the tool result |
//! | [`arguments`] | the arguments checked against the tool's input schema before the invoke |
//! | [`catalog`] | the tools as `tools/list` gives them: schema, title, annotations |
//! | [`settings`] | `mcp/*` configuration |
//!
//! Arguments and results are never logged.

pub mod arguments;
pub mod call;
pub mod catalog;
pub mod http;
pub mod jsonrpc;
pub mod methods;
pub mod revision;
pub mod security;
pub mod server;
pub mod settings;

pub use server::{McpServer, NAME};
