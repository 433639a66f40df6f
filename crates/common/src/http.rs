//! The HTTP pieces the reqwest-based tools share: one client per process with rustls/ring,
//! and query/form encoding that signs the same way it is sent.
//!
//! Why our own encoder: `url`'s `query_pairs_mut` and `serde_urlencoded` write a space as `+`.
//! SigV4 canonicalisation (aws-sigv4, and AWS on the server side) decodes `+` in a query as a
//! space, so a PromQL `a+b` sent as `a+b` would be signed as `a b`. Encoding every byte
//! outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) leaves nothing to interpret.

use std::{sync::Arc, time::Duration};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::ToolError;

/// Bytes that are percent-encoded: everything but RFC 3986 unreserved characters.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `key=value` pairs to `out`, strictly percent-encoded and `&`-separated.
pub fn encode_pairs<'a>(out: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(key, STRICT));
        out.push('=');
        out.extend(utf8_percent_encode(value, STRICT));
    }
}

/// `key=value&…`, strictly percent-encoded; usable as a query string or a form body.
pub fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    encode_pairs(&mut out, pairs);
    out
}

/// `path?query` with the pairs form-encoded, or `path` alone when there are none.
pub fn path_with_query(path: &str, query: &[(&str, &str)]) -> String {
    let query = form_encode(query.iter().copied());
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A reqwest client for upstream calls: rustls with ring, a connect timeout, no per-request
/// TLS set-up (build it once in `main` and share it). Per-call timeouts come from
/// [`crate::deadline::Deadline::budget`].
///
/// Server certificates are checked against Mozilla's roots compiled into the binary
/// (`webpki-roots`), not the system bundle: reqwest's platform verifier reads and parses the
/// bundle when the client is built, which took 2 ms of a 4 ms cold start. A Prometheus
/// behind a private CA would need that CA added here.
pub fn client(user_agent: &str) -> Result<reqwest::Client, ToolError> {
    client_trusting(
        user_agent,
        rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    )
}

/// [`client`] trusting `roots` and nothing else: for a server whose certificate a private CA
/// signed (an EKS cluster's API server), where the public roots must not be accepted.
pub fn client_trusting(
    user_agent: &str,
    roots: rustls::RootCertStore,
) -> Result<reqwest::Client, ToolError> {
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|_| ToolError::internal("the TLS provider supports no safe protocol version"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(3))
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .map_err(|_| ToolError::internal("the HTTP client could not be built"))
}

/// Reads `response`'s body, failing with `PAYLOAD_TOO_LARGE` as soon as it exceeds `max`
/// bytes: an upstream cannot make the function buffer more than that, whatever it sends or
/// claims in `content-length`.
pub async fn read_capped(
    response: &mut reqwest::Response,
    upstream: &str,
    max: usize,
) -> Result<Vec<u8>, ToolError> {
    let mut bytes =
        Vec::with_capacity(response.content_length().unwrap_or(0).min(max as u64) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ToolError::from_reqwest(upstream, &e))?
    {
        if bytes.len() + chunk.len() > max {
            return Err(ToolError::new(
                crate::error::ErrorCode::PayloadTooLarge,
                format!("{upstream} answered with more than {max} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        let q = form_encode([
            ("query", r#"sum(rate(x{a=~"b|c", d="e f+g"}[5m])) ü"#),
            ("a.b_c~d-e", ""),
        ]);
        assert_eq!(
            q,
            "query=sum%28rate%28x%7Ba%3D~%22b%7Cc%22%2C%20d%3D%22e%20f%2Bg%22%7D%5B5m%5D%29%29%20%C3%BC&a.b_c~d-e="
        );
    }
}
