//! Runs the local stack ([`integration_tests::local_stack`]) until interrupted, for `make
//! dev` and for trying functions by hand.
//!
//! `stack <env-file>` writes the variables a function needs to use the stack
//! (`AWS_ENDPOINT_URL`, `APP_CONFIG_PATH`, `PROMETHEUS_URL`, `ALERTMANAGER_URL`, …) to
//! `<env-file>` in the `KEY=VALUE` format `cargo lambda watch --env-file` reads, then waits
//! for SIGINT/SIGTERM and stops every server.

use integration_tests::local_stack::LocalStack;

#[tokio::main]
async fn main() -> integration_tests::Result<()> {
    let env_file = std::env::args().nth(1).ok_or("usage: stack <env-file>")?;
    let stack = LocalStack::start().await?;
    let mut lines: Vec<String> = stack
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.push("AWS_LAMBDA_LOG_LEVEL=info".to_owned());
    std::fs::write(&env_file, lines.join("\n") + "\n")?;
    for line in stack.describe() {
        println!("{line}");
    }
    println!("environment  {env_file}");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(stack);
    Ok(())
}
