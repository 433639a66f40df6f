//! Wires telemetry and the Lambda runtime. The CloudWatch and CloudWatch Logs clients are
//! built on the first request that needs each, from the process-wide SDK configuration, so
//! nothing slow happens before the first poll; the function reads no configuration keys, so
//! it makes no SSM call either.

use cloudwatch::CloudWatch;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    common::serve(CloudWatch::new()).await
}
