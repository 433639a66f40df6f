//! An HTTP proxy that sits in front of a real server and counts, fails, holds or passes
//! requests: how the tests see how many SSM calls a cache made, or make SSM go away.
//!
//! It can forward one request at a time ([`FaultProxy::one_at_a_time`]): moto's DynamoDB
//! applies concurrent updates of one item without a lock (measured: four `ADD`s at once to a
//! token counter, one lost in about one run of ten), where DynamoDB applies each atomically;
//! in series, moto keeps DynamoDB's guarantee.
//!
//! It can also answer chosen requests itself ([`FaultProxy::answer`]) or change one field of
//! the real server's answer ([`FaultProxy::patch`]): how the tests serve, in AWS's own wire
//! format, the few EKS operations and states moto does not have (add-ons, a DEGRADED node
//! group), while everything else still comes from moto.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tokio::sync::{Notify, watch};

use crate::Result;

/// What the proxy does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward to the upstream and relay the answer.
    Pass,
    /// Answer with this status and an empty JSON body.
    Fail(u16),
}

/// What to do instead of plain forwarding for one method and path.
#[derive(Debug, Clone)]
enum Canned {
    /// Answer with this status, `x-amzn-errortype` (if any) and JSON body.
    Answer {
        status: u16,
        error_type: Option<String>,
        body: serde_json::Value,
    },
    /// Forward, then merge this JSON object into the answer (RFC 7386 merge patch).
    Patch(serde_json::Value),
}

struct Shared {
    upstream: String,
    canned: Mutex<Vec<(String, String, Canned)>>,
    client: reqwest::Client,
    mode: Mutex<Mode>,
    /// `X-Amz-Target` (or method and path) of every request seen, in order.
    seen: Mutex<Vec<String>>,
    arrived: Notify,
    gate: watch::Sender<bool>,
    /// Set: forwarding holds `serial`, so the upstream sees one request at a time.
    one_at_a_time: AtomicBool,
    serial: tokio::sync::Mutex<()>,
}

/// A running proxy.
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (a base URL) on a free loopback port, passing requests.
    pub async fn start(upstream: &str) -> Result<Self> {
        let (gate, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            canned: Mutex::new(Vec::new()),
            client: crate::http_client(),
            mode: Mutex::new(Mode::Pass),
            seen: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            gate,
            one_at_a_time: AtomicBool::new(false),
            serial: tokio::sync::Mutex::new(()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (addr, server) = crate::serve_loopback(app).await?;
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    /// Base URL of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, forwards one request at a time, each after the previous one's answer (see
    /// the module docs).
    pub fn one_at_a_time(self) -> Self {
        self.shared.one_at_a_time.store(true, Ordering::Relaxed);
        self
    }

    /// Changes what happens to the next requests.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Answers `method path` (the path as sent, without the query) with `status` and the JSON
    /// `body`, instead of forwarding it. An AWS error is an `error_type` such as
    /// `ResourceNotFoundException`, sent as restJson1's `x-amzn-errortype` header.
    pub fn answer(
        &self,
        method: &str,
        path: &str,
        status: u16,
        error_type: Option<&str>,
        body: serde_json::Value,
    ) {
        self.set_canned(
            method,
            path,
            Canned::Answer {
                status,
                error_type: error_type.map(str::to_owned),
                body,
            },
        );
    }

    /// Forwards `method path`, then merges `patch` into the upstream's JSON answer (RFC 7386:
    /// objects merge, everything else replaces).
    pub fn patch(&self, method: &str, path: &str, patch: serde_json::Value) {
        self.set_canned(method, path, Canned::Patch(patch));
    }

    fn set_canned(&self, method: &str, path: &str, canned: Canned) {
        let mut all = self.shared.canned.lock().unwrap();
        all.retain(|(m, p, _)| !(m == method && p == path));
        all.push((method.to_owned(), path.to_owned(), canned));
    }

    /// Holds every request until [`Self::open`] (requests are counted when they arrive).
    pub fn hold(&self) {
        self.shared.gate.send_replace(false);
    }

    /// Releases held requests.
    pub fn open(&self) {
        self.shared.gate.send_replace(true);
    }

    /// Requests seen so far, by `X-Amz-Target` (AWS JSON protocols) or `METHOD /path`.
    pub fn seen(&self) -> Vec<String> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests named `target` were seen.
    pub fn count(&self, target: &str) -> usize {
        self.shared
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.as_str() == target)
            .count()
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.shared.arrived.notified();
            if self.shared.seen.lock().unwrap().len() >= n {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let label = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    shared.seen.lock().unwrap().push(label);
    shared.arrived.notify_waiters();

    let mut gate = shared.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;

    let mode = *shared.mode.lock().unwrap();
    if let Mode::Fail(status) = mode {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, [("content-type", "application/json")], "{}").into_response();
    }
    let canned = shared
        .canned
        .lock()
        .unwrap()
        .iter()
        .find(|(m, p, _)| m == parts.method.as_str() && p == parts.uri.path())
        .map(|(_, _, c)| c.clone());
    let patch = match canned {
        Some(Canned::Answer {
            status,
            error_type,
            body,
        }) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response();
            if let Some(kind) = error_type.and_then(|k| k.parse().ok()) {
                response.headers_mut().insert("x-amzn-errortype", kind);
            }
            return response;
        }
        Some(Canned::Patch(patch)) => Some(patch),
        None => None,
    };
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let _turn = if shared.one_at_a_time.load(Ordering::Relaxed) {
        Some(shared.serial.lock().await)
    } else {
        None
    };
    let forwarded = crate::relay(
        &shared.client,
        &shared.upstream,
        parts.method.clone(),
        path,
        parts.headers.clone(),
        body,
    )
    .await;
    match forwarded {
        Some((status, out_headers, mut bytes)) => {
            if let Some(patch) = patch
                && let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&bytes)
            {
                merge(&mut answer, patch);
                bytes = answer.to_string().into();
            }
            (status, out_headers, Body::from(bytes)).into_response()
        }
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(target), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else {
                    merge(target.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}
