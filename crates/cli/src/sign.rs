//! SigV4 for the agent's Function URL and the MCP endpoint (`AuthType: AWS_IAM`, service
//! `lambda`), with credentials from the AWS SDK's default chain, and the rules for when to
//! sign at all.
//!
//! What is signed is exactly what is sent: the method, the URL as reqwest writes it, the
//! headers already on the request (`content-type`, `accept`, MCP's headers) and the SHA-256
//! of the body. Headers reqwest adds while sending (`user-agent`, `content-length`) are not
//! signed, which SigV4 allows. Credentials are resolved once per run: a run makes one to
//! three requests.

use std::time::SystemTime;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::{Credentials, provider::ProvideCredentials};
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::{
    Url,
    header::{HeaderName, HeaderValue},
};

use crate::{CliError, Exit, args::Signing};

/// The service Function URLs are signed for.
pub const SERVICE: &str = "lambda";

/// Whether `url` names this machine (`127.0.0.0/8`, `::1`, `localhost`): `make dev`'s
/// emulator, which checks no signature.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // An IPv6 host is written in brackets.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The region in a Function URL's host, `<url-id>.lambda-url.<region>.on.aws`.
pub fn region_of(url: &Url) -> Option<String> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let rest = host.split_once(".lambda-url.")?.1;
    let region = rest.strip_suffix(".on.aws")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// Whether a request to `url` is signed under `signing`.
pub fn should_sign(signing: Signing, url: &Url) -> bool {
    match signing {
        Signing::Always => true,
        Signing::Never => false,
        Signing::Auto => !is_loopback(url),
    }
}

/// Signs requests with one set of credentials in one region.
#[derive(Debug)]
pub struct Signer {
    credentials: Credentials,
    region: String,
}

impl Signer {
    /// A signer with `credentials` for `region` (tests; [`Signer::from_chain`] otherwise).
    pub fn new(credentials: Credentials, region: impl Into<String>) -> Self {
        Self {
            credentials,
            region: region.into(),
        }
    }

    /// A signer with credentials from the AWS SDK's default chain, for the region given
    /// (`--region`), else the one in `url`'s host, else the chain's (`AWS_REGION`, the
    /// profile). No credentials or no region is [`Exit::Credentials`].
    pub async fn from_chain(region: Option<&str>, url: &Url) -> Result<Self, CliError> {
        let region = region.map(str::to_owned).or_else(|| region_of(url));
        let sdk = load_sdk_config().await;
        let region = match region {
            Some(region) => region,
            None => sdk.region().map(|r| r.to_string()).ok_or_else(|| {
                CliError::new(
                    Exit::Credentials,
                    format!(
                        "no AWS region to sign for: {} names none; pass --region or set AWS_REGION",
                        url.host_str().unwrap_or("the URL")
                    ),
                )
            })?,
        };
        let provider = sdk.credentials_provider().ok_or_else(|| {
            CliError::new(
                Exit::Credentials,
                "no AWS credentials provider is configured",
            )
        })?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            CliError::new(
                Exit::Credentials,
                format!("no AWS credentials to sign with: {}", crate::chain(&e)),
            )
        })?;
        Ok(Self::new(credentials, region))
    }

    /// The region signatures are scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Adds `authorization`, `x-amz-date` and, with temporary credentials,
    /// `x-amz-security-token` to `request`, marked sensitive.
    pub fn sign(&self, request: &mut reqwest::Request) -> Result<(), CliError> {
        self.sign_at(request, SystemTime::now())
    }

    /// [`Signer::sign`] at a given time (tests).
    pub fn sign_at(
        &self,
        request: &mut reqwest::Request,
        time: SystemTime,
    ) -> Result<(), CliError> {
        let failed = |what: &str| {
            CliError::new(
                Exit::Credentials,
                format!("cannot sign the request: {what}"),
            )
        };
        let identity: Identity = self.credentials.clone().into();
        let body = match request.body() {
            None => &[][..],
            Some(body) => body
                .as_bytes()
                .ok_or_else(|| failed("its body is a stream"))?,
        };
        let mut headers = Vec::with_capacity(request.headers().len());
        for (name, value) in request.headers() {
            let value = value
                .to_str()
                .map_err(|_| failed("a header is not visible ASCII"))?;
            headers.push((name.as_str(), value));
        }
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| failed("its URL or headers cannot be signed"))?;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| failed("the signing parameters are incomplete"))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|_| failed("the signer refused it"))?
            .into_parts();
        let (new_headers, _params) = instructions.into_parts();
        for header in new_headers {
            let name = HeaderName::from_static(header.name());
            let mut value = HeaderValue::from_str(header.value())
                .map_err(|_| failed("the signature is not a valid header"))?;
            value.set_sensitive(true);
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// The SDK's configuration (region, credentials chain), with an HTTP client for the providers
/// that need one: the workspace builds the SDK without its default HTTPS stack, so without
/// this the instance, container and assume-role providers would fail at run time.
async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .tls_context(
                    tls::TlsContext::builder()
                        .with_trust_store(compiled_in_roots())
                        .build()
                        .expect("a TLS context without custom server names always builds"),
                )
                .build_https(),
        )
        .load()
        .await
}

/// Mozilla's roots, compiled in, as the PEM the SDK's trust store takes.
fn compiled_in_roots() -> tls::TrustStore {
    let mut store = tls::TrustStore::empty().with_native_roots(false);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        store.add_pem_certificate(format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            aws_smithy_types::base64::encode(cert.as_ref())
        ));
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_urls_are_not_signed_unless_asked() {
        for local in [
            "http://127.0.0.1:9000/lambda-url/agent/",
            "http://127.3.4.5/",
            "http://[::1]:8080/",
            "http://localhost:3000/",
            "http://LOCALHOST./",
            "http://agent.localhost/",
        ] {
            assert!(is_loopback(&url(local)), "{local}");
            assert!(!should_sign(Signing::Auto, &url(local)), "{local}");
            assert!(should_sign(Signing::Always, &url(local)), "{local}");
        }
        for remote in [
            "https://abc.lambda-url.eu-west-1.on.aws/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
        ] {
            assert!(!is_loopback(&url(remote)), "{remote}");
            assert!(should_sign(Signing::Auto, &url(remote)), "{remote}");
            assert!(!should_sign(Signing::Never, &url(remote)), "{remote}");
        }
    }

    #[test]
    fn the_region_comes_from_a_function_urls_host() {
        assert_eq!(
            region_of(&url("https://abcdefgh123.lambda-url.eu-west-1.on.aws/")).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of(&url("https://ABC.LAMBDA-URL.US-EAST-2.ON.AWS.")).as_deref(),
            Some("us-east-2")
        );
        for other in [
            "http://127.0.0.1:9000/lambda-url/agent/",
            "https://agent.example.com/",
            "https://abc.lambda-url..on.aws/",
            "https://abc.lambda-url.a.b.on.aws/",
        ] {
            assert_eq!(region_of(&url(other)), None, "{other}");
        }
    }

    #[test]
    fn signs_what_is_sent_and_hides_the_values() {
        let signer = Signer::new(
            Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                Some("the-session-token".to_owned()),
                None,
                "test",
            ),
            "eu-west-1",
        );
        let client = crate::client().unwrap();
        let mut request = client
            .post("https://abc.lambda-url.eu-west-1.on.aws/")
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .body(r#"{"prompt":"hi"}"#)
            .build()
            .unwrap();
        signer
            .sign_at(
                &mut request,
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600),
            )
            .unwrap();
        let headers = request.headers();
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/lambda/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert_eq!(headers["x-amz-date"], "20260101T000000Z");
        assert_eq!(headers["x-amz-security-token"], "the-session-token");
        assert!(headers["authorization"].is_sensitive());
        assert!(headers["x-amz-security-token"].is_sensitive());
        let debug = format!("{request:?}");
        assert!(
            !debug.contains("the-session-token") && !debug.contains("Signature="),
            "{debug}"
        );
    }
}
