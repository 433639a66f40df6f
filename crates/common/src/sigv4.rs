//! AWS Signature Version 4 for requests that do not go through an AWS SDK client: Amazon
//! Managed Service for Prometheus (service `aps`) speaks the Prometheus HTTP API, which has
//! no SDK, so its requests are built with reqwest and signed here with `aws-sigv4`; an
//! EKS cluster's bearer token is a presigned STS URL ([`RequestSigner::presign`]); and the
//! runbooks function reads S3 with two REST calls, because the S3 SDK alone would put its zip
//! over 3 MB ([`RequestSigner::for_s3`]).
//!
//! What is signed is exactly what is sent: the method, the URL as reqwest will write it, the
//! headers already on the request (`content-type` of a form body included) and the SHA-256 of
//! the body bytes. Headers reqwest adds while sending (`accept`, `user-agent`,
//! `content-length`) are not signed, which SigV4 allows. Build query strings with
//! [`crate::http::form_encode`] so that no `+` is left for the canonicaliser to read as a
//! space.
//!
//! Credentials come from the SDK's default chain (environment, web identity, container,
//! instance profile) and are cached here until five minutes before they expire, so a warm
//! function does not resolve them per request.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::{
    Credentials,
    provider::{ProvideCredentials, SharedCredentialsProvider, error::CredentialsError},
};
use aws_sigv4::{
    http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
        SigningSettings, UriPathNormalizationMode, sign,
    },
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderName, HeaderValue};
use tokio::sync::Mutex;

use crate::error::{ErrorCode, ToolError};

/// Credentials this close to expiry are refreshed before signing.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Signs reqwest requests for one service in one region.
#[derive(Debug)]
pub struct RequestSigner {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
    region: String,
    service: String,
    /// S3's canonicalisation rules instead of every other service's ([`Self::for_s3`]).
    s3: bool,
}

impl RequestSigner {
    /// A signer using `provider` (any credentials provider; the SDK's chain in production).
    pub fn new(
        provider: SharedCredentialsProvider,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
            region: region.into(),
            service: service.into(),
            s3: false,
        }
    }

    /// This signer with S3's rules: the path is taken as sent (encoded once, dot segments and
    /// `//` kept, since they are part of an object's key) where every other service encodes
    /// it twice and normalises it, and the payload's SHA-256 goes in `x-amz-content-sha256`,
    /// which S3 requires on every signed request.
    pub fn for_s3(mut self) -> Self {
        self.s3 = true;
        self
    }

    fn settings(&self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if self.s3 {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        settings
    }

    /// A signer using the SDK configuration's credentials chain, in `region` or else the
    /// configuration's region.
    pub fn from_sdk_config(
        sdk: &SdkConfig,
        service: &str,
        region: Option<&str>,
    ) -> Result<Self, ToolError> {
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| ToolError::config("no AWS credentials provider is configured"))?;
        let region = match region {
            Some(region) => region.to_owned(),
            None => sdk
                .region()
                .map(|r| r.to_string())
                .ok_or_else(|| ToolError::config("no AWS region is configured: set AWS_REGION"))?,
        };
        Ok(Self::new(provider, region, service))
    }

    /// The region signatures are scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Adds `authorization`, `x-amz-date` and (for temporary credentials)
    /// `x-amz-security-token` to `request`. The added values are marked sensitive, so a
    /// `Debug` print of the request does not show them.
    pub async fn sign(&self, request: &mut reqwest::Request) -> Result<(), ToolError> {
        self.sign_at(request, SystemTime::now()).await
    }

    /// [`Self::sign`] at a given time (tests use fixed times).
    pub async fn sign_at(
        &self,
        request: &mut reqwest::Request,
        time: SystemTime,
    ) -> Result<(), ToolError> {
        let identity: Identity = self.credentials().await?.into();
        let body =
            match request.body() {
                None => SignableBody::Bytes(&[]),
                Some(body) => SignableBody::Bytes(body.as_bytes().ok_or_else(|| {
                    ToolError::internal("a streaming request body cannot be signed")
                })?),
            };
        let mut headers = Vec::with_capacity(request.headers().len());
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| {
                ToolError::internal("a request header is not visible ASCII and cannot be signed")
            })?;
            headers.push((name.as_str(), value));
        }
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.into_iter(),
            body,
        )
        .map_err(|_| ToolError::internal("the request could not be prepared for signing"))?;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(self.settings())
            .build()
            .map_err(|_| ToolError::internal("the signing parameters are incomplete"))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|_| ToolError::internal("the request could not be signed"))?
            .into_parts();
        let (new_headers, _params) = instructions.into_parts();
        for header in new_headers {
            let name = HeaderName::from_static(header.name());
            let mut value = HeaderValue::from_str(header.value())
                .map_err(|_| ToolError::internal("the signature produced an invalid header"))?;
            value.set_sensitive(header.sensitive() || name == http::header::AUTHORIZATION);
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }

    /// `url` (its own query already in place) with SigV4 query parameters added, so that
    /// whoever holds it can send the GET it describes, with `headers`, for `expires_in` from
    /// `time`. `headers` are signed (they must be sent as given); `host` is taken from the
    /// URL. The result carries a signature and, with temporary credentials, the session
    /// token: it is a credential.
    pub async fn presign(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        expires_in: Duration,
        time: SystemTime,
    ) -> Result<String, ToolError> {
        let identity: Identity = self.credentials().await?.into();
        let signable = SignableRequest::new(
            "GET",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&[]),
        )
        .map_err(|_| ToolError::internal("the URL could not be prepared for presigning"))?;
        let mut settings = self.settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|_| ToolError::internal("the signing parameters are incomplete"))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|_| ToolError::internal("the URL could not be presigned"))?
            .into_parts();
        let (_headers, query) = instructions.into_parts();
        let mut url = reqwest::Url::parse(url)
            .map_err(|_| ToolError::internal("the URL to presign is not a URL"))?;
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &query {
                pairs.append_pair(name, value);
            }
        }
        Ok(url.into())
    }

    /// Cached credentials, refreshed when missing or close to expiry. One refresh at a time.
    async fn credentials(&self) -> Result<Credentials, ToolError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| credentials_error(&e))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

fn credentials_error(err: &CredentialsError) -> ToolError {
    match err {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => {
            ToolError::config("no AWS credentials could be loaded for signing")
        }
        CredentialsError::ProviderTimedOut(_) => ToolError::new(
            ErrorCode::UpstreamTimeout,
            "the AWS credentials provider did not answer in time",
        ),
        _ => ToolError::new(
            ErrorCode::Unavailable,
            "the AWS credentials provider failed",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(token: Option<&str>) -> RequestSigner {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        );
        RequestSigner::new(
            SharedCredentialsProvider::new(credentials),
            "us-east-1",
            "aps",
        )
    }

    #[tokio::test]
    async fn adds_the_sigv4_headers_and_marks_them_sensitive() {
        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query"
                .parse()
                .unwrap(),
        );
        *request.body_mut() = Some("query=up".into());
        signer(Some("session-token"))
            .sign(&mut request)
            .await
            .unwrap();
        let auth = request.headers().get("authorization").unwrap();
        assert!(auth.is_sensitive());
        let auth = auth.to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/aps/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"),
            "{auth}"
        );
        assert!(
            request
                .headers()
                .get("x-amz-security-token")
                .unwrap()
                .is_sensitive()
        );
        assert!(!format!("{request:?}").contains("session-token"));
    }

    #[tokio::test]
    async fn s3_rules_sign_the_path_as_sent_with_the_payload_hash() {
        let url = "https://s3.us-east-1.amazonaws.com/book/runbooks/a%20b.md";
        let sign = |signer: RequestSigner| async move {
            let mut request = reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap());
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
            signer.sign_at(&mut request, time).await.unwrap();
            request
        };
        let s3 = sign(signer(None).for_s3()).await;
        // The SHA-256 of an empty body, sent and signed.
        assert_eq!(
            s3.headers()["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let auth = s3.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"),
            "{auth}"
        );
        // Every other service's rules: no payload header, and another signature (the
        // path encoded twice).
        let other = sign(signer(None)).await;
        assert!(other.headers().get("x-amz-content-sha256").is_none());
        assert_ne!(
            other.headers()["authorization"],
            s3.headers()["authorization"]
        );
    }

    #[tokio::test]
    async fn missing_credentials_are_a_config_error() {
        #[derive(Debug)]
        struct NoCredentials;
        impl ProvideCredentials for NoCredentials {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                aws_credential_types::provider::future::ProvideCredentials::ready(Err(
                    CredentialsError::not_loaded_no_source(),
                ))
            }
        }
        let signer = RequestSigner::new(
            SharedCredentialsProvider::new(NoCredentials),
            "us-east-1",
            "aps",
        );
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://example.com/".parse().unwrap(),
        );
        let err = signer.sign(&mut request).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::ConfigError);
        assert!(request.headers().get("authorization").is_none());
    }
}
