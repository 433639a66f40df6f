//! Wires configuration, the tool invoker and the Lambda runtime. Nothing is built before the
//! first poll: the configuration is read on the first request that needs it (`tools/list`,
//! `tools/call`, an `Origin` to check) and the Lambda client on the first `tools/call`, so
//! `initialize`, `server/discover` and a cold `tools/list` answer in milliseconds.

use common::{AppConfig, invoke::LambdaInvoker};
use lambda_runtime::{FunctionResponse, LambdaEvent};
use mcp_server::McpServer;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let server = McpServer::new(AppConfig::from_env()?, LambdaInvoker::new());
    let server = &server;
    common::serve_streaming(move |event: LambdaEvent<Value>| async move {
        FunctionResponse::BufferedResponse(server.answer(event.payload, &event.context).await)
    })
    .await
}
