//! Wires telemetry and the Lambda runtime. The CloudTrail client is built on the first
//! request, from the process-wide SDK configuration, so nothing slow happens before the first
//! poll; the function reads no configuration keys, so it makes no SSM call either.

use cloudtrail::CloudTrail;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    common::serve(CloudTrail::new()).await
}
