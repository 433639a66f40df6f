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
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{HttpConnectorSettings, SharedHttpClient};
use tokio::sync::OnceCell;

static SDK_CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The process-wide SDK configuration (region, credentials chain, endpoints, HTTP client),
/// loaded once. Credentials are resolved lazily by the SDK on the first signed call and
/// cached by it, so this is cheap enough to await on a cold start's first request.
pub async fn sdk_config() -> &'static SdkConfig {
    SDK_CONFIG.get_or_init(load).await
}

/// The HTTP client every SDK client uses: hyper with rustls and ring, trusting Mozilla's
/// roots compiled into the binary.
///
/// The SDK's default trust store is the system's, which rustls-native-certs loads on the first
/// request by reading the CA bundle *and every file in the certificates directory*: 2 ms of
/// a 5 ms cold start here (measured with `make measure-eks`). Every AWS endpoint chains to
/// Amazon's roots, which are in Mozilla's set, as they are in the system's.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context())
        .build_https()
}

/// A plain HTTP(S) connector on the same stack as [`http_client`] (hyper, rustls on ring,
/// the compiled-in roots), for a function that also speaks raw HTTP to something that is not
/// AWS (the agent's OpenAI-compatible model server) without carrying a second HTTP client in
/// its binary: reqwest next to the SDK's stack added 0.24 MB to the agent's zip.
pub fn connector() -> aws_smithy_http_client::Connector {
    aws_smithy_http_client::Connector::builder()
        .connector_settings(
            HttpConnectorSettings::builder()
                .connect_timeout(Duration::from_secs(3))
                .build(),
        )
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context())
        .build()
}

fn tls_context() -> tls::TlsContext {
    tls::TlsContext::builder()
        .with_trust_store(compiled_in_roots())
        .build()
        .expect("a TLS context without custom server names always builds")
}

/// Mozilla's roots as the PEM the SDK's trust store takes. Built once per client; the SDK
/// parses them when it makes its connector, on the first request.
fn compiled_in_roots() -> tls::TrustStore {
    let mut store = tls::TrustStore::empty().with_native_roots(false);
    for pem in root_pems() {
        store.add_pem_certificate(pem);
    }
    store
}

fn root_pems() -> impl Iterator<Item = String> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|cert| {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            aws_smithy_types::base64::encode(cert.as_ref())
        )
    })
}

async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(request_path_retries())
        .load()
        .await
}

/// Retries for AWS calls made while a caller waits: three attempts at most a few hundred
/// milliseconds apart, so a failing service is reported as itself (`UNAVAILABLE`,
/// `UPSTREAM_ERROR`) well within the invocation's deadline. The SDK's default backs off up to
/// 20 s between attempts, which turned an EKS 500 into a deadline timeout (fault matrix).
pub fn request_path_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(400))
}

/// Runs one AWS SDK request within the smaller of `timeout` and what the deadline allows
/// ([`crate::Deadline::budget`]): out of time is `UPSTREAM_TIMEOUT` naming `service` and the
/// budget it had. The request's own result comes back untouched, so the caller maps the SDK
/// error with [`crate::ToolError::from_sdk`] and what it alone knows (which resource was not
/// found, which IAM action a denial is about).
pub async fn bounded<T>(
    deadline: &crate::Deadline,
    service: &str,
    timeout: Duration,
    request: impl std::future::Future<Output = T>,
) -> Result<T, crate::ToolError> {
    let budget = deadline.budget(timeout)?;
    tokio::time::timeout(budget, request).await.map_err(|_| {
        crate::ToolError::new(
            crate::ErrorCode::UpstreamTimeout,
            format!("{service} did not answer within {} ms", budget.as_millis()),
        )
    })
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    use super::*;

    /// The SDK parses these with `expect` when it builds its connector: a malformed one would
    /// be a panic on the first AWS call, so each must read back as exactly its certificate.
    #[test]
    fn every_compiled_in_root_reads_back_from_its_pem() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(roots.len() > 100);
        for (pem, der) in root_pems().zip(roots) {
            let parsed: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(parsed, std::slice::from_ref(der));
        }
    }
}
