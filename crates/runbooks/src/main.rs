//! Wires configuration, the HTTP client and the Lambda runtime. Configuration loads on the
//! first request, and the S3 client (the SDK configuration's credentials, region and
//! endpoint) is built then, so nothing slow happens before the first poll.

use common::AppConfig;
use runbooks::Runbooks;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = AppConfig::from_env()?;
    let http = common::http::client(concat!("devops-agent-runbooks/", env!("CARGO_PKG_VERSION")))?;
    common::serve(Runbooks::new(http, config)).await
}
