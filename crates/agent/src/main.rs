//! Wires configuration, the model, the tool invoker and the Lambda runtime. The AWS clients
//! (Bedrock, Lambda, DynamoDB) are built on the first request that needs them, so nothing
//! slow happens before the first poll.

use agent::{Agent, bedrock::Bedrock, tools::LambdaInvoker};
use common::AppConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = AppConfig::from_env()?;
    common::serve(Agent::new(Bedrock::new(), LambdaInvoker::new(), config)).await
}
