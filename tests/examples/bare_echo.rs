//! A bare `lambda_runtime` echo with nothing of ours: the baseline `scripts/coldstart.sh`
//! compares the `echo` example (the same job through `common`) against.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
