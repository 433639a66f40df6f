//! Search engines on loopback, speaking each engine's real wire format: DuckDuckGo's HTML
//! endpoint (`POST /html/`, a form, HTML pages), Brave (`GET /res/v1/web/search`, key in
//! `X-Subscription-Token`), Tavily (`POST /search`, JSON, `Authorization: Bearer`) and
//! SearXNG (`GET /search?format=json`). No real search engine can run offline, so this is the
//! `web-search` function's upstream in tests and in `make dev`.
//!
//! The pages (`tests/fixtures/web-search/`) are modelled on the engines' own: DuckDuckGo's
//! with ads, redirect links, entities, a duplicate, a script link and invisible characters;
//! its "no results" page; its bot-check ("anomaly") page; and a redesigned page the parser
//! must not mistake for "no results". DuckDuckGo's answer depends on the query:
//!
//! | query | answer |
//! |---|---|
//! | `rate limited` | 202 with the anomaly page |
//! | `forbidden` | 403 with the anomaly page |
//! | `new layout` | 200 with the redesigned page |
//! | `no such thing zzqx` | 200 with "No results." |
//! | `flaky` | 503 the first time, then the results page |
//! | `server error` | 500 every time |
//! | `huge` | 200 with a 3 MiB page |
//! | `hang` | no answer until the test ends |
//! | anything else | 200 with the results page |

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::Result;

/// The key the keyed engines accept.
pub const API_KEY: &str = "sk-canary-3b9e71d04c5a-search-key";

/// One request as the engine saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Query string, if any.
    pub query: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (a form or JSON).
    pub body: String,
}

impl Seen {
    /// The decoded form or query-string fields.
    pub fn fields(&self) -> HashMap<String, String> {
        let raw = if self.method == Method::POST && !self.body.starts_with('{') {
            &self.body
        } else {
            &self.query
        };
        serde_urlencoded::from_str(raw).unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    flaky_failed: Mutex<bool>,
}

/// The running engines.
pub struct SearchEngines {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

/// A fixture page or answer.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/web-search")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl SearchEngines {
    /// Starts all four engines on one free loopback port.
    pub async fn start() -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/html/", post(duckduckgo))
            .route("/res/v1/web/search", get(brave))
            .route("/search", post(tavily).get(searxng))
            .with_state(shared.clone());
        let (addr, server) = crate::serve_loopback(app).await?;
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    /// The base URL (`websearch/url`) of every engine here.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for SearchEngines {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn record(shared: &Shared, method: Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Seen {
    let seen = Seen {
        method,
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    seen
}

fn html(status: StatusCode, page: String) -> Response {
    (status, [("content-type", "text/html; charset=UTF-8")], page).into_response()
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

async fn duckduckgo(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = record(&shared, Method::POST, &uri, &headers, &body);
    let q = seen.fields().get("q").cloned().unwrap_or_default();
    match q.as_str() {
        "rate limited" => html(StatusCode::ACCEPTED, fixture("ddg-anomaly.html")),
        "forbidden" => html(StatusCode::FORBIDDEN, fixture("ddg-anomaly.html")),
        "new layout" => html(StatusCode::OK, fixture("ddg-new-layout.html")),
        "no such thing zzqx" => html(StatusCode::OK, fixture("ddg-no-results.html")),
        "server error" => html(StatusCode::INTERNAL_SERVER_ERROR, "<h1>500</h1>".into()),
        "huge" => html(
            StatusCode::OK,
            "<p>padding</p>".repeat(3 * 1024 * 1024 / 14),
        ),
        "hang" => std::future::pending().await,
        "flaky" => {
            let mut failed = shared.flaky_failed.lock().unwrap();
            if *failed {
                html(StatusCode::OK, fixture("ddg-results.html"))
            } else {
                *failed = true;
                html(StatusCode::SERVICE_UNAVAILABLE, "<h1>503</h1>".into())
            }
        }
        _ => html(StatusCode::OK, fixture("ddg-results.html")),
    }
}

/// A refused key, quoted back the way some APIs do: the function must not pass it on.
fn unauthorized(headers: &HeaderMap) -> Response {
    let given = ["x-subscription-token", "authorization"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .unwrap_or_default();
    json(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({"error": {"code": "UNAUTHORIZED", "detail": format!("The provided subscription token is invalid: {given}")}}).to_string(),
    )
}

async fn brave(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(_): RawQuery,
) -> Response {
    record(&shared, Method::GET, &uri, &headers, &Bytes::new());
    if headers
        .get("x-subscription-token")
        .is_some_and(|k| k == API_KEY)
    {
        json(StatusCode::OK, fixture("brave.json"))
    } else {
        unauthorized(&headers)
    }
}

async fn tavily(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, Method::POST, &uri, &headers, &body);
    if headers
        .get("authorization")
        .is_some_and(|k| *k == *format!("Bearer {API_KEY}"))
    {
        json(StatusCode::OK, fixture("tavily.json"))
    } else {
        unauthorized(&headers)
    }
}

async fn searxng(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let seen = record(&shared, Method::GET, &uri, &headers, &Bytes::new());
    if seen.fields().get("format").map(String::as_str) != Some("json") {
        // SearXNG's answer when the JSON format is not enabled.
        return (StatusCode::FORBIDDEN, "Forbidden").into_response();
    }
    json(StatusCode::OK, fixture("searxng.json"))
}
