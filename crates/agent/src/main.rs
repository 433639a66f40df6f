//! Wires configuration, the model providers, the tool invoker and the Lambda runtime. The
//! clients (Bedrock or the OpenAI-compatible server, Lambda, DynamoDB) are built on the first
//! request that needs them, so nothing slow happens before the first poll.

use agent::{Agent, invoker::LambdaInvoker, providers::Providers, web};
use common::AppConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = AppConfig::from_env()?;
    // A streamed answer outlives the call that starts it (its body is sent afterwards), so
    // the agent lives as long as the process, as it would anyway.
    let agent: &'static _ = Box::leak(Box::new(Agent::new(
        Providers::new(),
        LambdaInvoker::new(),
        config,
    )));
    common::serve_streaming(|event| web::answer_event(agent, event)).await
}
