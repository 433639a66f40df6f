//! One AWS SDK configuration per process, loaded on first use.
//!
//! The SDK is built without its default HTTPS stack (which would compile aws-lc a second
//! time next to reqwest's ring), so this module supplies the HTTP client: hyper with rustls
//! and ring. Forgetting it fails at run time, not compile time, which is why every crate goes
//! through [`sdk_config`] instead of calling `aws_config::load_defaults` itself.
//!
//! Endpoints follow the SDK's own variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SSM`, …),
//! which is how tests point the real clients at moto on loopback.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

static SDK_CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The process-wide SDK configuration (region, credentials chain, endpoints, HTTP client),
/// loaded once. Credentials are resolved lazily by the SDK on the first signed call and
/// cached by it, so this is cheap enough to await on a cold start's first request.
pub async fn sdk_config() -> &'static SdkConfig {
    SDK_CONFIG.get_or_init(load).await
}

/// The HTTP client every SDK client uses: hyper with rustls and ring. TLS roots are loaded
/// on first use, not here.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}
