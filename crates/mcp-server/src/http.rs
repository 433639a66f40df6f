//! The HTTP request inside a Lambda event, and the HTTP response Lambda hands back.
//!
//! | event | recognised by (as `common::event`) | method, path | headers |
//! |---|---|---|---|
//! | HTTP API (v2), Function URL | `requestContext` + `rawPath` or `routeKey` | `requestContext.http.method`, `rawPath` | `headers` (names already lower case) |
//! | API Gateway REST (v1) | `requestContext` + `httpMethod` | `httpMethod`, `path` | `headers`, else `multiValueHeaders` (names lowered here) |
//! | anything else | | a direct invoke: the event is the JSON-RPC message | none |
//!
//! The body is taken out with `common::event::http_body`: base64-decoded when the event says
//! so, refused above `common::event::MAX_BODY_BYTES` (256 KiB, as every function) before it
//! is decoded.

use serde::Serialize;
use serde_json::{Map, Value};

use common::{Shape, ToolError};

use crate::revision::Headers;

/// How the event reached the function.
#[derive(Debug)]
pub enum Incoming {
    /// An HTTP request (API Gateway or a Function URL).
    Http(HttpRequest),
    /// A direct invoke: the event itself.
    Direct(Value),
}

/// One HTTP request.
#[derive(Debug)]
pub struct HttpRequest {
    /// v1 or v2 (a Function URL is v2).
    pub shape: Shape,
    /// Upper case, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/mcp` (a Function URL's is `/`).
    pub path: String,
    /// Header names in lower case.
    pub headers: Headers,
    /// The body, or why it could not be read (too large, bad base64).
    pub body: Result<Vec<u8>, ToolError>,
    /// The domain the request was sent to (`requestContext.domainName`).
    pub domain: Option<String>,
}

impl HttpRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Tells the event's shape apart (see the module docs) and takes it apart.
pub fn incoming(event: Value) -> Incoming {
    let Value::Object(mut event) = event else {
        return Incoming::Direct(event);
    };
    let Some(context) = event.get("requestContext").cloned() else {
        return Incoming::Direct(Value::Object(event));
    };
    // `rawPath` first: cargo-lambda's Function URL sends both formats' members.
    let v2 = event.contains_key("rawPath");
    let (shape, method, path) = if !v2 && event.contains_key("httpMethod") {
        (
            Shape::ApiGatewayRest,
            string(&event, "httpMethod"),
            string(&event, "path"),
        )
    } else if v2 || event.contains_key("routeKey") {
        let method = context
            .pointer("/http/method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let path = match string(&event, "rawPath") {
            p if p.is_empty() => context
                .pointer("/http/path")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            p => p,
        };
        (Shape::HttpApi, method, path)
    } else {
        return Incoming::Direct(Value::Object(event));
    };
    let headers = headers(&event);
    let body = common::event::http_body(&mut event);
    Incoming::Http(HttpRequest {
        shape,
        method: method.to_ascii_uppercase(),
        path: if path.is_empty() {
            "/".to_owned()
        } else {
            path
        },
        headers,
        body,
        domain: context
            .get("domainName")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn string(event: &Map<String, Value>, key: &str) -> String {
    event
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Header names lowered; a v1 event's multi-value headers joined with `, ` when the
/// single-value map is absent.
fn headers(event: &Map<String, Value>) -> Headers {
    let mut out = Headers::new();
    if let Some(Value::Object(single)) = event.get("headers") {
        for (name, value) in single {
            if let Some(value) = value.as_str() {
                out.insert(name.to_ascii_lowercase(), value.to_owned());
            }
        }
    }
    if let Some(Value::Object(multi)) = event.get("multiValueHeaders") {
        for (name, values) in multi {
            let joined: Vec<&str> = values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.entry(name.to_ascii_lowercase())
                .or_insert_with(|| joined.join(", "));
        }
    }
    out
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers besides `content-type`.
    pub headers: Vec<(&'static str, String)>,
    /// `application/json` with this body, or no body at all.
    pub body: Option<String>,
}

impl HttpResponse {
    /// A JSON body.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body.to_string()),
        }
    }

    /// No body (`202 Accepted`).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// The same response with one more header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The answer Lambda expects for `shape`: `{statusCode, headers, body, isBase64Encoded}`,
    /// plus an empty `cookies` for payload format 2.0 (as `common::event` sends it: cargo-lambda
    /// 1.9's Function URL cannot read a 2.0 response without it), as JSON text.
    pub fn render(&self, shape: Shape) -> String {
        #[derive(Serialize)]
        struct Rendered<'a> {
            #[serde(rename = "statusCode")]
            status_code: u16,
            headers: Map<String, Value>,
            body: &'a str,
            #[serde(rename = "isBase64Encoded")]
            is_base64_encoded: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            cookies: Option<[&'a str; 0]>,
        }
        let mut headers = Map::new();
        if self.body.is_some() {
            headers.insert("content-type".into(), "application/json".into());
        }
        for (name, value) in &self.headers {
            headers.insert((*name).to_owned(), Value::String(value.clone()));
        }
        serde_json::to_string(&Rendered {
            status_code: self.status,
            headers,
            body: self.body.as_deref().unwrap_or(""),
            is_base64_encoded: false,
            cookies: (shape == Shape::HttpApi).then_some([]),
        })
        .unwrap_or_else(|_| r#"{"statusCode":500,"body":""}"#.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_http_shape_is_read() {
        let v2 = json!({
            "version": "2.0", "routeKey": "POST /mcp", "rawPath": "/mcp", "rawQueryString": "",
            "headers": {"mcp-protocol-version": "2026-07-28", "host": "abc.execute-api.eu-west-1.amazonaws.com"},
            "requestContext": {"domainName": "abc.execute-api.eu-west-1.amazonaws.com", "http": {"method": "POST", "path": "/mcp"}},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true
        });
        let Incoming::Http(r) = incoming(v2) else {
            panic!("not HTTP")
        };
        assert_eq!(
            (r.shape, r.method.as_str(), r.path.as_str()),
            (Shape::HttpApi, "POST", "/mcp")
        );
        assert_eq!(r.header("mcp-protocol-version"), Some("2026-07-28"));
        assert_eq!(r.body.unwrap(), br#"{"a":1}"#);
        assert_eq!(
            r.domain.as_deref(),
            Some("abc.execute-api.eu-west-1.amazonaws.com")
        );

        let v1 = json!({
            "resource": "/mcp", "path": "/mcp", "httpMethod": "post",
            "headers": null, "multiValueHeaders": {"Origin": ["https://a.example"], "MCP-Protocol-Version": ["2025-11-25"]},
            "requestContext": {"domainName": "x"}, "body": "{}"
        });
        let Incoming::Http(r) = incoming(v1) else {
            panic!("not HTTP")
        };
        assert_eq!(
            (r.shape, r.method.as_str(), r.path.as_str()),
            (Shape::ApiGatewayRest, "POST", "/mcp")
        );
        assert_eq!(r.header("origin"), Some("https://a.example"));
        assert_eq!(r.header("mcp-protocol-version"), Some("2025-11-25"));

        assert!(matches!(
            incoming(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
            Incoming::Direct(_)
        ));
        assert!(matches!(incoming(json!([1])), Incoming::Direct(_)));
        assert!(matches!(
            incoming(json!({"requestContext": {}})),
            Incoming::Direct(_)
        ));
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_decoding() {
        let event = json!({"rawPath": "/", "requestContext": {"http": {"method": "POST"}},
                           "body": "x".repeat(common::event::MAX_BODY_BYTES + 1)});
        let Incoming::Http(r) = incoming(event) else {
            panic!("not HTTP")
        };
        let e = r.body.unwrap_err();
        assert_eq!(e.code, common::ErrorCode::PayloadTooLarge);
        assert!(e.message.contains("262144"), "{e}");
    }

    #[test]
    fn responses_render_in_the_shape_lambda_reads() {
        let r = HttpResponse::json(405, &json!({"a": 1})).with_header("allow", "POST");
        let v2: Value = serde_json::from_str(&r.render(Shape::HttpApi)).unwrap();
        assert_eq!(
            v2,
            json!({"statusCode": 405, "headers": {"content-type": "application/json", "allow": "POST"},
                   "body": "{\"a\":1}", "isBase64Encoded": false, "cookies": []})
        );
        let v1: Value =
            serde_json::from_str(&HttpResponse::empty(202).render(Shape::ApiGatewayRest)).unwrap();
        assert_eq!(
            v1,
            json!({"statusCode": 202, "headers": {}, "body": "", "isBase64Encoded": false})
        );
    }
}
