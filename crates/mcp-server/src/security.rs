//! What the endpoint does about who may reach it, beyond the authorizer in front of it.
//!
//! **Authentication is not done here.** The endpoint is deployed behind a Function URL with
//! `AWS_IAM` auth (clients sign with SigV4, through a signing proxy) or behind the HTTP API's
//! `POST /mcp` route with its IAM or JWT authorizer; Lambda or API Gateway refuses an
//! unauthenticated request before this code runs, and writes who passed into the event
//! (`common::caller`).
//!
//! **Origin.** A browser page could make a user's browser post to an MCP endpoint it can
//! reach (DNS rebinding, a local signing proxy). Both revisions require the Origin header to
//! be checked: absent (every non-browser client) is allowed; present, it must be one of
//! `mcp/allowed_origins` (none by default), else `403` with a JSON-RPC error without an id.
//!
//! **Protected Resource Metadata** (RFC 9728), which the MCP authorization spec requires of
//! a server behind OAuth: with `mcp/jwt_issuer` set (the template sets it from the JWT
//! authorizer's issuer), `GET /.well-known/oauth-protected-resource` and its path-suffixed
//! form (`…/oauth-protected-resource/mcp`, the one MCP clients try first) answer
//! `{"resource", "authorization_servers": [issuer], "bearer_methods_supported": ["header"]}`.
//! The resource is `mcp/resource_url`, else `https://<host><suffix>` (`/mcp` for the root
//! form). Without an issuer (IAM auth) there is no OAuth to describe: `404`.

use serde_json::{Value, json};

use crate::{http::HttpRequest, settings::McpSettings};

/// The RFC 9728 well-known path.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The MCP endpoint's path behind the HTTP API (a Function URL serves it at `/` too).
pub const ENDPOINT_PATH: &str = "/mcp";

/// Whether `origin` is one of `allowed` (compared without regard to ASCII case; a trailing
/// `/` ignored).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// The path suffix after [`METADATA_PATH`] (`""` or `/mcp`) when `path` asks for the
/// metadata document.
pub fn metadata_suffix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(METADATA_PATH)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest.trim_end_matches('/'))
}

/// Whether `path` is the MCP endpoint: `/` (a Function URL) or `/mcp`, a trailing `/` allowed.
pub fn is_endpoint(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty() || path == ENDPOINT_PATH
}

/// The metadata document for `request` (asked for at `suffix`), or `None` without an issuer.
pub fn protected_resource(
    settings: &McpSettings,
    request: &HttpRequest,
    suffix: &str,
) -> Option<Value> {
    let issuer = settings.jwt_issuer.as_ref()?;
    let resource = settings.resource_url.clone().unwrap_or_else(|| {
        let scheme = request
            .header("x-forwarded-proto")
            .filter(|p| *p == "http" || *p == "https")
            .unwrap_or("https");
        let host = request
            .header("host")
            .or(request.domain.as_deref())
            .unwrap_or("localhost");
        let path = if suffix.is_empty() {
            ENDPOINT_PATH
        } else {
            suffix
        };
        format!("{scheme}://{host}{path}")
    });
    Some(json!({
        "resource": resource,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": "DevOps agent tools (MCP)",
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use common::{Settings, Shape};

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> McpSettings {
        McpSettings::from_settings(&Settings::from_values(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ))
        .unwrap()
    }

    fn request(host: &str) -> HttpRequest {
        HttpRequest {
            shape: Shape::HttpApi,
            method: "GET".into(),
            path: METADATA_PATH.into(),
            headers: [("host".to_owned(), host.to_owned())].into(),
            body: Ok(Vec::new()),
            domain: None,
        }
    }

    #[test]
    fn origins_are_compared_exactly_but_for_case() {
        let allowed = vec!["https://Console.example.com".to_owned()];
        assert!(origin_allowed("https://console.example.com", &allowed));
        assert!(origin_allowed("https://console.example.com/", &allowed));
        assert!(!origin_allowed(
            "https://console.example.com.evil.io",
            &allowed
        ));
        assert!(!origin_allowed("http://console.example.com", &allowed));
        assert!(!origin_allowed("null", &allowed));
        assert!(!origin_allowed("https://console.example.com", &[]));
    }

    #[test]
    fn paths_are_told_apart() {
        assert_eq!(metadata_suffix(METADATA_PATH), Some(""));
        assert_eq!(
            metadata_suffix("/.well-known/oauth-protected-resource/mcp/"),
            Some("/mcp")
        );
        assert_eq!(
            metadata_suffix("/.well-known/oauth-protected-resourcex"),
            None
        );
        assert_eq!(metadata_suffix("/mcp"), None);
        assert!(is_endpoint("/") && is_endpoint("/mcp") && is_endpoint("/mcp/"));
        assert!(!is_endpoint("/agent") && !is_endpoint("/mcpx"));
    }

    #[test]
    fn the_metadata_names_the_issuer_and_the_resource() {
        let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
        let s = settings(&[("mcp/jwt_issuer", issuer)]);
        let r = request("api.example.com");
        let doc = protected_resource(&s, &r, "/mcp").unwrap();
        assert_eq!(doc["resource"], "https://api.example.com/mcp");
        assert_eq!(doc["authorization_servers"], json!([issuer]));
        assert_eq!(
            protected_resource(&s, &r, "").unwrap()["resource"],
            "https://api.example.com/mcp"
        );
        let s = settings(&[
            ("mcp/jwt_issuer", issuer),
            ("mcp/resource_url", "https://mcp.example.com/mcp"),
        ]);
        assert_eq!(
            protected_resource(&s, &r, "/mcp").unwrap()["resource"],
            "https://mcp.example.com/mcp"
        );
        assert_eq!(protected_resource(&settings(&[]), &r, ""), None);
    }
}
