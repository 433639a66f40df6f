//! Wires telemetry and the Lambda runtime. The EKS client, the token signer and each
//! cluster's TLS client are built on the first request that needs them, so nothing slow
//! happens before the first poll; the function reads no configuration keys.

use k8s_info::K8sInfo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    common::serve(K8sInfo::new()).await
}
