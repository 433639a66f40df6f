//! Wires telemetry and the Lambda runtime. The EKS client is built on the first request, from
//! the process-wide SDK configuration, so nothing slow happens before the first poll; the
//! function reads no configuration keys, so it makes no SSM call either.

use eks_info::EksInfo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    common::serve(EksInfo::new()).await
}
