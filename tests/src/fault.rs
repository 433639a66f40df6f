//! An upstream that breaks on demand, below HTTP as well as in it: how the fault matrix
//! (`tests/tests/faults.rs`) makes each function's neighbour refuse, hang, trickle, throttle,
//! fail, send garbage, send too much or stop speaking HTTP at all.
//!
//! [`FaultServer`] speaks HTTP/1.1 by hand on a raw socket, because half of the faults are
//! things a well-behaved HTTP server library will not do: answer with bytes that are not
//! HTTP, promise a body and dribble it, or stop listening so that connecting is *refused*
//! (not reset) and then come back on the same port. Healthy requests ([`Fault::Pass`]) are
//! forwarded to the real server behind it (Prometheus, moto, the Bedrock double, the
//! search engines), so the function under test cannot tell it is there.
//!
//! A client pointed at it with `https://` gets the answer a plain HTTP server gives a TLS
//! handshake, so a TLS failure is a fault too.
//!
//! Every answer carries `connection: close`, so a client never reuses a connection accepted
//! under an earlier fault: each request meets the fault that is set when it is sent.

/// The functions the fault matrix (`tests/faults.rs`) runs, each at least one column: that
/// test fails when its columns differ from this list, and `tests/tool_pieces.rs` fails when a
/// registered tool is missing from it.
pub const FAULT_MATRIX_FUNCTIONS: &[&str] = &[
    "prometheus-query",
    "prometheus-range-query",
    "prometheus-metadata",
    "prometheus-alerts",
    "web-search",
    "eks-info",
    "k8s-info",
    "cloudwatch",
    "cloudtrail",
    "runbooks",
    "agent",
];

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use axum::body::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, header::CONTENT_TYPE};

use crate::Result;

/// What the server does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to the real upstream and relay its answer.
    Pass,
    /// Nothing listens on the port: connecting is refused.
    Refused,
    /// Read the request, then never answer (until the client gives up).
    Hang,
    /// Send a `200` head promising a body, then one byte of it every 100 ms.
    Trickle,
    /// Answer with this status and the body `{}`.
    Status(u16),
    /// `200` with a JSON content type and a body cut off mid-document.
    Malformed,
    /// `200` with a well-formed answer in the upstream's own shape, over 6 MB (Lambda's
    /// response limit), from [`Oversize`].
    Oversized,
    /// Bytes that are not HTTP at all, then close.
    NotHttp,
}

impl Fault {
    /// A short label for tables.
    pub fn label(self) -> String {
        match self {
            Self::Pass => "healthy".into(),
            Self::Refused => "connection refused".into(),
            Self::Hang => "hang past deadline".into(),
            Self::Trickle => "slow trickle".into(),
            Self::Status(s) => format!("HTTP {s}"),
            Self::Malformed => "malformed body".into(),
            Self::Oversized => "oversized body (>6 MB)".into(),
            Self::NotHttp => "HTTP protocol error".into(),
        }
    }
}

/// How to build an oversized answer that the upstream could really send: `prefix`, then
/// `item` repeated (comma-separated) until the body passes [`OVERSIZE_BYTES`], then `suffix`.
#[derive(Debug, Clone)]
pub struct Oversize {
    /// Opens the document.
    pub prefix: String,
    /// One element of the array that makes it big; `{n}` is replaced by its index.
    pub item: String,
    /// Closes the document.
    pub suffix: String,
}

/// Size of an oversized answer: past Lambda's 6 MB response limit.
pub const OVERSIZE_BYTES: usize = 7 << 20;

impl Oversize {
    fn body(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(OVERSIZE_BYTES + self.item.len() * 2);
        body.extend_from_slice(self.prefix.as_bytes());
        let mut n = 0usize;
        while body.len() < OVERSIZE_BYTES {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(self.item.replace("{n}", &n.to_string()).as_bytes());
            n += 1;
        }
        body.extend_from_slice(self.suffix.as_bytes());
        body
    }
}

struct Shared {
    upstream: String,
    fault: Mutex<Fault>,
    oversized: Vec<u8>,
    requests: AtomicUsize,
    client: reqwest::Client,
}

/// A misbehaving upstream on a fixed loopback port.
pub struct FaultServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accepting: Mutex<Option<JoinHandle<()>>>,
}

impl FaultServer {
    /// Starts in [`Fault::Pass`] in front of `upstream` (a base URL); `oversize` shapes the
    /// [`Fault::Oversized`] answer.
    pub async fn start(upstream: &str, oversize: &Oversize) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            fault: Mutex::new(Fault::Pass),
            oversized: oversize.body(),
            requests: AtomicUsize::new(0),
            client: crate::http_client(),
        });
        let accepting = tokio::spawn(accept(listener, shared.clone()));
        Ok(Self {
            shared,
            addr,
            accepting: Mutex::new(Some(accepting)),
        })
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far (whatever was done with them).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Sets what happens to the next requests. [`Fault::Refused`] closes the listening
    /// socket; any other fault opens it again on the same port.
    pub async fn set(&self, fault: Fault) -> Result<()> {
        *self.shared.fault.lock().unwrap() = fault;
        let running = self.accepting.lock().unwrap().take();
        match (fault, running) {
            (Fault::Refused, Some(task)) => {
                task.abort();
                // The listener drops with the task; wait for that before anyone connects.
                let _ = task.await;
            }
            (Fault::Refused, None) => {}
            (_, Some(task)) => *self.accepting.lock().unwrap() = Some(task),
            (_, None) => {
                // tokio sets SO_REUSEADDR, so the port is free again at once.
                let listener = TcpListener::bind(self.addr).await?;
                *self.accepting.lock().unwrap() =
                    Some(tokio::spawn(accept(listener, self.shared.clone())));
            }
        }
        Ok(())
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(task) = self.accepting.lock().unwrap().take() {
            task.abort();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, shared.clone()));
    }
}

/// One request on one connection, then close.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    // A TLS ClientHello (a client told to use https): answer as a plain HTTP server does,
    // which the client's TLS stack reads as a corrupt handshake.
    let mut first = [0u8; 1];
    if matches!(stream.peek(&mut first).await, Ok(1)) && first[0] == TLS_HANDSHAKE_RECORD {
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        let _ = stream.shutdown().await;
        return;
    }
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = *shared.fault.lock().unwrap();
    match fault {
        Fault::Pass | Fault::Refused => {
            let (status, headers, body) = forward(&shared, request)
                .await
                .unwrap_or_else(|| (502, json_type(), Default::default()));
            let _ = write_answer(&mut stream, status, &headers, &body).await;
        }
        Fault::Hang => {
            // Hold the connection until the client closes it.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::Trickle => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n{";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut interval = tokio::time::interval(Duration::from_millis(100));
            loop {
                interval.tick().await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Fault::Status(status) => {
            let _ = write_answer(&mut stream, status, &json_type(), b"{}").await;
        }
        Fault::Malformed => {
            let body =
                br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"#;
            let _ = write_answer(&mut stream, 200, &json_type(), body).await;
        }
        Fault::Oversized => {
            let _ = write_answer(&mut stream, 200, &json_type(), &shared.oversized).await;
        }
        Fault::NotHttp => {
            let _ = stream
                .write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02 this is not HTTP\r\n\r\n")
                .await;
        }
    }
    let _ = stream.shutdown().await;
}

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn json_type() -> HeaderMap {
    HeaderMap::from_iter([(CONTENT_TYPE, HeaderValue::from_static("application/json"))])
}

/// A healthy request, relayed to the real upstream.
async fn forward(shared: &Shared, request: Request) -> Option<(u16, HeaderMap, Bytes)> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).ok()?;
    let headers = request
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    let (status, headers, body) = crate::relay(
        &shared.client,
        &shared.upstream,
        method,
        &request.target,
        headers,
        request.body,
    )
    .await?;
    Some((status.as_u16(), headers, body))
}

/// Reads one HTTP/1.1 request (head, then a `content-length` or chunked body).
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > 64 << 10 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let (method, target) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut rest = buf[head_end + 4..].to_vec();
    let body = if let Some(length) = header("content-length").and_then(|v| v.parse().ok()) {
        while rest.len() < length {
            let mut chunk = [0u8; 16384];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(length);
        rest
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !rest.ends_with(b"0\r\n\r\n") {
            let mut chunk = [0u8; 16384];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        dechunk(&rest)?
    } else {
        Vec::new()
    };
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

async fn write_answer(
    stream: &mut TcpStream,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}
