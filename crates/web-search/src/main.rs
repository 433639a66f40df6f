//! Wires configuration, the HTTP client and the Lambda runtime; configuration (and the API
//! key) load on the first request, so nothing slow happens before the first poll.

use common::AppConfig;
use web_search::WebSearch;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = AppConfig::from_env()?;
    let http = common::http::client(concat!(
        "devops-agent-web-search/",
        env!("CARGO_PKG_VERSION")
    ))?;
    common::serve(WebSearch { http, config }).await
}
