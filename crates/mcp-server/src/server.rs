//! [`McpServer`]: one Lambda event in, one answer out, nothing kept between them.
//!
//! An HTTP event, in order:
//!
//! 1. the path: `/.well-known/oauth-protected-resource[/…]` is the metadata document
//!    ([`crate::security`]; `GET` only); `/` and `/mcp` are the MCP endpoint; anything else
//!    is `404`;
//! 2. the `Origin` header, when present, must be allowed, else `403`;
//! 3. the method: `POST` only; `GET` (a server-initiated stream), `DELETE` (a session's end)
//!    and the rest are `405` with `Allow: POST`;
//! 4. the body: over 256 KiB is `413`, not one JSON-RPC message is `400` ([`crate::jsonrpc`]);
//! 5. the revision and its checks ([`crate::revision`]), `400` when they fail;
//! 6. a notification or a response is `202 Accepted` with no body; a request is answered
//!    with `200` and `Content-Type: application/json` (never SSE: nothing is sent before the
//!    result).
//!
//! A JSON-RPC error found while answering a well-formed request travels in the status the
//! revision gives it: 2026-07-28 makes an unknown method `404` and the other client faults
//! `400` (a server fault `500`); the handshake revision's clients expect `200`, as its
//! reference servers answer.
//!
//! A direct invoke (Lambda's Invoke API) sends the JSON-RPC message as the event and gets the
//! response object back (`null` for a notification), with the same checks but those of HTTP
//! headers.
//!
//! Each event writes the log line and EMF record every function writes
//! (`common::event::report`, function `mcp-server`); each `tools/call` also writes one audit
//! line at info: who called (`common::caller`), which tool, how it ended and how long it
//! took, never the arguments or the result.

use std::time::Instant;

use common::{
    AppConfig, Caller, Deadline, ErrorCode, Shape, ToolError, event::MAX_RESPONSE_BYTES,
    invoke::Invoker,
};
use lambda_runtime::Context;
use serde_json::{Map, Value, json, value::RawValue};

use crate::{
    call, catalog,
    http::{self, HttpRequest, HttpResponse, Incoming},
    jsonrpc::{
        self, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, Message, PARSE_ERROR, RpcError,
    },
    methods,
    revision::{self, Era, Headers},
    security,
    settings::McpSettings,
};

/// The function's name in logs and metrics.
pub const NAME: &str = "mcp-server";

/// The MCP server: its configuration and the invoker that reaches the tools.
pub struct McpServer<I> {
    config: AppConfig,
    invoker: I,
}

/// What one event knows about itself.
struct Ctx<'a> {
    request_id: &'a str,
    deadline: Deadline,
    caller: &'a Caller,
}

/// A JSON-RPC exchange's outcome, before it is put in HTTP or handed back directly.
enum Reply {
    /// A notification or response: `202`, no body.
    Accepted,
    /// A response object, and whether it came from a well-formed request of `era` (which
    /// decides the HTTP status of an error) or from a refusal before one was read.
    Response {
        body: Value,
        status: u16,
        /// The result of a `tools/call`, which may be cut down to fit Lambda's limit.
        tool_result: Option<(jsonrpc::Id, Era)>,
    },
}

impl<I: Invoker> McpServer<I> {
    /// A server reading `config` (on first need) and calling tools through `invoker`.
    pub fn new(config: AppConfig, invoker: I) -> Self {
        Self { config, invoker }
    }

    /// Answers one Lambda event (see the module docs). Never fails, never panics.
    pub async fn answer(&self, event: Value, context: &Context) -> Box<RawValue> {
        let started = Instant::now();
        let deadline = Deadline::from_epoch_millis(context.deadline);
        let caller = match &event {
            Value::Object(map) if map.contains_key("requestContext") => {
                Ok(Caller::of_http_event(map))
            }
            _ => Caller::of_direct_invoke(context),
        };
        let (text, shape, error) = match (http::incoming(event), caller) {
            (Incoming::Http(request), Ok(caller)) => {
                let ctx = Ctx {
                    request_id: &context.request_id,
                    deadline,
                    caller: &caller,
                };
                let shape = request.shape;
                // Boxed, here and below: the answer's future nests the invoke's (an SDK
                // call), which is large, and the runtime's task would carry it inline.
                let (response, error) = Box::pin(self.http(request, &ctx)).await;
                (response, shape, error)
            }
            (Incoming::Direct(event), caller) => {
                let caller = caller.unwrap_or(Caller::Direct);
                let ctx = Ctx {
                    request_id: &context.request_id,
                    deadline,
                    caller: &caller,
                };
                let (text, error) = Box::pin(self.direct(event, &ctx)).await;
                (text, Shape::Direct, error)
            }
            (Incoming::Http(request), Err(e)) => {
                let body = refusal(&RpcError::new(INVALID_REQUEST, e.message.clone()));
                (
                    HttpResponse::json(400, &body).render(request.shape),
                    request.shape,
                    Some(e),
                )
            }
        };
        common::event::report(NAME, shape.as_str(), started, error.as_ref());
        RawValue::from_string(text)
            .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).unwrap_or_default())
    }

    /// An HTTP event, as the module docs list the steps.
    async fn http(&self, request: HttpRequest, ctx: &Ctx<'_>) -> (String, Option<ToolError>) {
        let shape = request.shape;
        if let Some(suffix) = security::metadata_suffix(&request.path) {
            let (response, error) = self.metadata(&request, suffix).await;
            return (response.render(shape), error);
        }
        if !security::is_endpoint(&request.path) {
            let path: String = request.path.chars().take(100).collect();
            let e = RpcError::new(
                INVALID_REQUEST,
                format!(
                    "nothing at {path}: the MCP endpoint is POST {}",
                    security::ENDPOINT_PATH
                ),
            );
            return (
                HttpResponse::json(404, &refusal(&e)).render(shape),
                Some(ToolError::new(ErrorCode::NotFound, e.message)),
            );
        }
        if let Some(origin) = request.header("origin") {
            let allowed = match self.settings().await {
                Ok(settings) => security::origin_allowed(origin, &settings.allowed_origins),
                Err(e) => return server_fault(shape, e),
            };
            if !allowed {
                let origin: String = origin.chars().take(200).collect();
                let e = RpcError::new(
                    INVALID_REQUEST,
                    format!(
                        "Forbidden: Origin {origin} is not allowed; mcp/allowed_origins lists the browser origins that are"
                    ),
                );
                return (
                    HttpResponse::json(403, &refusal(&e)).render(shape),
                    Some(ToolError::new(ErrorCode::AccessDenied, e.message)),
                );
            }
        }
        if request.method != "POST" {
            let method: String = request.method.chars().take(20).collect();
            let e = RpcError::new(
                INVALID_REQUEST,
                format!(
                    "Method Not Allowed: {method}; this stateless server answers POST only (no server-initiated stream, no session to delete)"
                ),
            );
            return (
                HttpResponse::json(405, &refusal(&e))
                    .with_header("allow", "POST")
                    .render(shape),
                Some(ToolError::invalid_input(e.message)),
            );
        }
        let body = match request.body {
            Ok(body) => body,
            Err(e) if e.code == ErrorCode::PayloadTooLarge => {
                let rpc =
                    RpcError::new(INVALID_REQUEST, format!("Payload Too Large: {}", e.message));
                return (
                    HttpResponse::json(413, &refusal(&rpc)).render(shape),
                    Some(e),
                );
            }
            Err(e) => {
                let rpc = RpcError::new(PARSE_ERROR, format!("parse error: {}", e.message));
                return (
                    HttpResponse::json(400, &refusal(&rpc)).render(shape),
                    Some(e),
                );
            }
        };
        let message = if body.iter().all(u8::is_ascii_whitespace) {
            Err(jsonrpc::Fault {
                id: Value::Null,
                error: RpcError::new(
                    PARSE_ERROR,
                    "parse error: the body is empty; POST one JSON-RPC message",
                ),
            })
        } else {
            jsonrpc::parse(&body)
        };
        let reply = self.exchange(message, Some(&request.headers), ctx).await;
        render_http(reply, shape, ctx)
    }

    /// A direct invoke: the event is the message.
    async fn direct(&self, event: Value, ctx: &Ctx<'_>) -> (String, Option<ToolError>) {
        let message = match common::event::not_json(&event) {
            Some(reason) => Err(jsonrpc::Fault {
                id: Value::Null,
                error: RpcError::new(
                    PARSE_ERROR,
                    format!("parse error: the event is not valid JSON ({reason})"),
                ),
            }),
            None => jsonrpc::read(event),
        };
        match self.exchange(message, None, ctx).await {
            Reply::Accepted => ("null".to_owned(), None),
            Reply::Response {
                body, tool_result, ..
            } => {
                let error = reported_error(&body);
                let text = fit(body, tool_result, ctx, |b| b.to_string());
                (text, error)
            }
        }
    }

    /// One message: checks, then the method.
    async fn exchange(
        &self,
        message: Result<Message, jsonrpc::Fault>,
        headers: Option<&Headers>,
        ctx: &Ctx<'_>,
    ) -> Reply {
        let (id, method, params) = match message {
            Err(fault) => {
                return Reply::Response {
                    body: jsonrpc::error(&fault.id, &fault.error),
                    status: 400,
                    tool_result: None,
                };
            }
            Ok(Message::Response) => return Reply::Accepted,
            Ok(Message::Notification { method }) => {
                return match revision::era(headers, &method, &Map::new(), true) {
                    Ok(_) => Reply::Accepted,
                    Err(e) => Reply::Response {
                        body: jsonrpc::error(&Value::Null, &e),
                        status: 400,
                        tool_result: None,
                    },
                };
            }
            Ok(Message::Request { id, method, params }) => (id, method, params),
        };
        let era = match revision::era(headers, &method, &params, false) {
            Ok(era) => era,
            Err(e) => {
                return Reply::Response {
                    body: jsonrpc::error(&id, &e),
                    status: 400,
                    tool_result: None,
                };
            }
        };
        let is_call = method == "tools/call";
        let answered = common::event::guarded(NAME, &ctx.deadline, async {
            Ok::<_, ToolError>(Box::pin(self.method(era, &method, params, ctx)).await)
        })
        .await
        .unwrap_or_else(|e| Err(internal(&e, ctx.request_id)));
        match answered {
            Ok(result) => Reply::Response {
                body: jsonrpc::result(&id, methods::in_era(result, era)),
                status: 200,
                tool_result: is_call.then(|| (id.clone(), era)),
            },
            Err(e) => {
                let status = match (era, e.code) {
                    (Era::Handshake, _) => 200,
                    (Era::Modern, jsonrpc::METHOD_NOT_FOUND) => 404,
                    (Era::Modern, INTERNAL_ERROR) => 500,
                    (Era::Modern, _) => 400,
                };
                Reply::Response {
                    body: jsonrpc::error(&id, &e),
                    status,
                    tool_result: None,
                }
            }
        }
    }

    /// The method's result (see [`crate::methods`]).
    async fn method(
        &self,
        era: Era,
        method: &str,
        params: Map<String, Value>,
        ctx: &Ctx<'_>,
    ) -> Result<Value, RpcError> {
        match (era, method) {
            (_, "server/discover") => Ok(methods::discover(self.config.ttl())),
            (Era::Handshake, "initialize") => methods::initialize(&params),
            (Era::Handshake, "ping") => Ok(json!({})),
            (_, "tools/list") => {
                let settings = self
                    .settings()
                    .await
                    .map_err(|e| internal(&e, ctx.request_id))?;
                methods::list_tools(
                    &params,
                    catalog::list(&settings.tools),
                    era,
                    self.config.ttl(),
                )
            }
            (_, "tools/call") => self.call(params, ctx).await,
            (era, method) => Err(methods::not_found(method, era)),
        }
    }

    /// `tools/call`: the protocol checks here, the call in [`crate::call`].
    async fn call(&self, mut params: Map<String, Value>, ctx: &Ctx<'_>) -> Result<Value, RpcError> {
        let started = Instant::now();
        let Some(Value::String(name)) = params.remove("name") else {
            return Err(RpcError::new(
                INVALID_PARAMS,
                "invalid params: tools/call needs `name`, a string",
            ));
        };
        let settings = self
            .settings()
            .await
            .map_err(|e| internal(&e, ctx.request_id))?;
        let Some(tool) = settings.tool(&name).copied() else {
            audit(ctx, &name, "UNKNOWN_TOOL", started);
            let names: Vec<&str> = settings.tools.iter().map(|t| t.name).collect();
            let cut: String = name.chars().take(100).collect();
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!("Unknown tool: {cut}; the tools are {}", names.join(", ")),
            ));
        };
        let arguments = match params.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(arguments)) => arguments,
            Some(other) => {
                audit(ctx, tool.name, "INVALID_PARAMS", started);
                return Err(RpcError::new(
                    INVALID_PARAMS,
                    format!(
                        "invalid params: `arguments` must be an object, got {}",
                        jsonrpc::kind(&other)
                    ),
                ));
            }
        };
        let outcome = call::call(
            &self.invoker,
            &settings,
            &tool,
            arguments,
            &ctx.deadline,
            ctx.request_id,
        )
        .await;
        audit(ctx, tool.name, outcome.status.as_str(), started);
        Ok(outcome.result)
    }

    /// The protected resource metadata document (GET only).
    async fn metadata(
        &self,
        request: &HttpRequest,
        suffix: &str,
    ) -> (HttpResponse, Option<ToolError>) {
        if request.method != "GET" && request.method != "HEAD" {
            let e = ToolError::invalid_input("the metadata document is read with GET");
            return (
                HttpResponse::json(
                    405,
                    &json!({"error": "method_not_allowed", "error_description": e.message}),
                )
                .with_header("allow", "GET"),
                Some(e),
            );
        }
        let settings = match self.settings().await {
            Ok(settings) => settings,
            Err(e) => {
                return (
                    HttpResponse::json(
                        500,
                        &json!({"error": "server_error", "error_description": e.message}),
                    ),
                    Some(e),
                );
            }
        };
        match security::protected_resource(&settings, request, suffix) {
            Some(document) => (
                HttpResponse::json(200, &document).with_header("cache-control", "max-age=300"),
                None,
            ),
            None => {
                let e = ToolError::new(
                    ErrorCode::NotFound,
                    "no OAuth authorization server is configured (mcp/jwt_issuer): this endpoint is authorized with AWS IAM (SigV4)",
                );
                (
                    HttpResponse::json(
                        404,
                        &json!({"error": "not_found", "error_description": e.message}),
                    ),
                    Some(e),
                )
            }
        }
    }

    async fn settings(&self) -> Result<McpSettings, ToolError> {
        McpSettings::from_settings(&*self.config.settings().await?)
    }
}

/// The audit line of one `tools/call`.
fn audit(ctx: &Ctx<'_>, tool: &str, status: &str, started: Instant) {
    tracing::info!(
        caller = %ctx.caller,
        tool,
        status,
        duration_ms = started.elapsed().as_millis() as u64,
        "tool call"
    );
}

/// A refusal before any id was read: a JSON-RPC error with id `null`.
fn refusal(error: &RpcError) -> Value {
    jsonrpc::error(&Value::Null, error)
}

/// `-32603` for a failure of this server (its configuration, a bug, its deadline), with the
/// error envelope as `data`.
fn internal(error: &ToolError, request_id: &str) -> RpcError {
    RpcError::new(INTERNAL_ERROR, format!("{}: {}", error.code, error.message))
        .with_data(serde_json::to_value(error.envelope(request_id)).unwrap_or(Value::Null))
}

/// A `500` for a configuration that cannot be read, before any message was.
fn server_fault(shape: Shape, error: ToolError) -> (String, Option<ToolError>) {
    let rpc = RpcError::new(INTERNAL_ERROR, format!("{}: {}", error.code, error.message));
    (
        HttpResponse::json(500, &refusal(&rpc)).render(shape),
        Some(error),
    )
}

/// The error the report counts: a JSON-RPC error response's, as a `ToolError`.
fn reported_error(body: &Value) -> Option<ToolError> {
    let error = body.get("error")?;
    let code = match error["code"].as_i64() {
        Some(INTERNAL_ERROR) => ErrorCode::Internal,
        _ => ErrorCode::InvalidInput,
    };
    Some(ToolError::new(
        code,
        error["message"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// The HTTP response of a reply.
fn render_http(reply: Reply, shape: Shape, ctx: &Ctx<'_>) -> (String, Option<ToolError>) {
    match reply {
        Reply::Accepted => (HttpResponse::empty(202).render(shape), None),
        Reply::Response {
            body,
            status,
            tool_result,
        } => {
            let error = reported_error(&body);
            let text = fit(body, tool_result, ctx, |b| {
                HttpResponse::json(status, b).render(shape)
            });
            (text, error)
        }
    }
}

/// `render(body)`, made to fit Lambda's response limit: a tool result that does not fit is
/// sent without `structuredContent` (its text holds the same JSON), and one that still does
/// not fit becomes a `PAYLOAD_TOO_LARGE` error result.
fn fit(
    body: Value,
    tool_result: Option<(jsonrpc::Id, Era)>,
    ctx: &Ctx<'_>,
    render: impl Fn(&Value) -> String,
) -> String {
    let text = render(&body);
    let Some((id, era)) = tool_result else {
        return text;
    };
    if text.len() <= MAX_RESPONSE_BYTES {
        return text;
    }
    let slim = jsonrpc::result(&id, call::text_only(&body["result"]));
    let text = render(&slim);
    if text.len() <= MAX_RESPONSE_BYTES {
        return text;
    }
    let e = ToolError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "the tool's result does not fit Lambda's response limit of {MAX_RESPONSE_BYTES} bytes once carried in an MCP response; ask for less (a narrower query, max_results)"
        ),
    );
    let failed = call::failed(&e, ctx.request_id);
    render(&jsonrpc::result(&id, methods::in_era(failed.result, era)))
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
    };

    use super::*;

    /// Answers every call with `{"answered_by": <function>}` and records the calls.
    #[derive(Default, Clone)]
    struct Tools(Arc<Mutex<Vec<String>>>);

    impl Invoker for Tools {
        async fn invoke(&self, function: &str, _: Vec<u8>) -> Result<Vec<u8>, ToolError> {
            self.0.lock().unwrap().push(function.to_owned());
            Ok(json!({"answered_by": function}).to_string().into_bytes())
        }
    }

    fn server(settings: &[(&str, &str)]) -> McpServer<Tools> {
        let values: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        McpServer::new(AppConfig::fixed(values), Tools::default())
    }

    fn context() -> Context {
        let mut c = Context::default();
        c.request_id = "req-9".into();
        c.deadline = 30_000;
        c
    }

    /// A Function URL event.
    fn event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Value {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": headers,
            "requestContext": {"domainName": "abc.lambda-url.eu-west-1.on.aws",
                               "http": {"method": method, "path": path},
                               "authorizer": {"iam": {"userArn": "arn:aws:iam::123456789012:user/alice"}}},
            "body": body.map(Value::to_string), "isBase64Encoded": false
        })
    }

    /// Status, headers and parsed body (`null` when empty).
    async fn http(s: &McpServer<Tools>, event: Value) -> (u16, Value, Value) {
        let raw = s.answer(event, &context()).await;
        let answer: Value = serde_json::from_str(raw.get()).unwrap();
        let body = answer["body"].as_str().unwrap();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap()
        };
        (
            answer["statusCode"].as_u64().unwrap() as u16,
            answer["headers"].clone(),
            body,
        )
    }

    fn modern(method: &str, name: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = vec![
            (revision::VERSION_HEADER, revision::MODERN.to_owned()),
            (revision::METHOD_HEADER, method.to_owned()),
        ];
        if let Some(name) = name {
            h.push((revision::NAME_HEADER, name.to_owned()));
        }
        h
    }

    fn meta() -> Value {
        json!({revision::META_VERSION: revision::MODERN, revision::META_CAPABILITIES: {}})
    }

    fn borrowed<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        h.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[tokio::test]
    async fn a_handshake_client_initializes_lists_and_calls_without_a_session() {
        let s = server(&[]);
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                          "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let (status, headers, body) = http(&s, event("POST", "/", &[], Some(&init))).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/json");
        assert!(headers.get("mcp-session-id").is_none());
        assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
        // No initialize needed before the next request: nothing is kept.
        let list = json!({"jsonrpc": "2.0", "id": "l", "method": "tools/list"});
        let v = [("mcp-protocol-version", "2025-11-25")];
        let (status, _, body) = http(&s, event("POST", "/mcp", &v, Some(&list))).await;
        assert_eq!(status, 200);
        assert_eq!(body["id"], "l");
        assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 10);
        assert!(body["result"].get("resultType").is_none());
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                          "params": {"name": "eks_info", "arguments": {"action": "list_clusters"}}});
        let (status, _, body) = http(&s, event("POST", "/", &v, Some(&call))).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["result"]["structuredContent"],
            json!({"answered_by": "eks-info"})
        );
        assert_eq!(body["result"]["isError"], false);
        let ping = json!({"jsonrpc": "2.0", "id": 4, "method": "ping"});
        assert_eq!(
            http(&s, event("POST", "/", &v, Some(&ping))).await.2["result"],
            json!({})
        );
    }

    #[tokio::test]
    async fn a_modern_client_discovers_lists_and_calls() {
        let s = server(&[("mcp/tools", "eks_info,web_search")]);
        let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta()}});
        let h = modern("server/discover", None);
        let (status, _, body) = http(&s, event("POST", "/", &borrowed(&h), Some(&discover))).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"]["resultType"], "complete");
        assert_eq!(
            body["result"]["supportedVersions"],
            json!(["2026-07-28", "2025-11-25"])
        );
        let list =
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta()}});
        let h = modern("tools/list", None);
        let (_, _, body) = http(&s, event("POST", "/", &borrowed(&h), Some(&list))).await;
        let names: Vec<&str> = body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["eks_info", "web_search"]);
        assert_eq!(body["result"]["cacheScope"], "public");
        assert_eq!(body["result"]["ttlMs"], 300_000);
        // A tool that exists but is not exposed is unknown.
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                          "params": {"name": "k8s_info", "arguments": {}, "_meta": meta()}});
        let h = modern("tools/call", Some("k8s_info"));
        let (status, _, body) = http(&s, event("POST", "/", &borrowed(&h), Some(&call))).await;
        assert_eq!(status, 400);
        assert_eq!(
            (&body["id"], &body["error"]["code"]),
            (&json!(3), &json!(INVALID_PARAMS))
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Unknown tool: k8s_info; the tools are eks_info, web_search")
        );
        assert!(s.invoker.0.lock().unwrap().is_empty());
        // A method 2026-07-28 removed.
        let ping =
            json!({"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"_meta": meta()}});
        let h = modern("ping", None);
        let (status, _, body) = http(&s, event("POST", "/", &borrowed(&h), Some(&ping))).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (404, &json!(jsonrpc::METHOD_NOT_FOUND))
        );
    }

    #[tokio::test]
    async fn transport_faults_have_their_status_and_error() {
        let s = server(&[("mcp/allowed_origins", "https://ops.example.com")]);
        let ping = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"});
        // GET and DELETE: no stream, no session.
        for method in ["GET", "DELETE"] {
            let (status, headers, body) = http(&s, event(method, "/", &[], None)).await;
            assert_eq!(
                (status, &headers["allow"]),
                (405, &json!("POST")),
                "{method}"
            );
            assert_eq!(body["id"], Value::Null);
        }
        // A notification, and a response to nothing.
        for message in [
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
            json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
        ] {
            let (status, headers, body) = http(&s, event("POST", "/", &[], Some(&message))).await;
            assert_eq!((status, body), (202, Value::Null), "{message}");
            assert!(headers.get("content-type").is_none());
        }
        // Origins.
        let (status, _, body) = http(
            &s,
            event(
                "POST",
                "/",
                &[("origin", "https://evil.example")],
                Some(&ping),
            ),
        )
        .await;
        assert_eq!(status, 403);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("https://evil.example")
        );
        let ok = [("origin", "https://ops.example.com")];
        assert_eq!(http(&s, event("POST", "/", &ok, Some(&ping))).await.0, 200);
        // Versions.
        let (status, _, body) = http(
            &s,
            event(
                "POST",
                "/",
                &[("mcp-protocol-version", "2024-11-05")],
                Some(&ping),
            ),
        )
        .await;
        assert_eq!((status, &body["id"]), (400, &json!(7)));
        assert_eq!(body["error"]["code"], jsonrpc::UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(
            body["error"]["data"]["supported"],
            json!(["2026-07-28", "2025-11-25"])
        );
        // Bodies.
        let mut garbage = event("POST", "/", &[], None);
        garbage["body"] = json!("{\"jsonrpc\": ");
        let (status, _, body) = http(&s, garbage).await;
        assert_eq!((status, &body["error"]["code"]), (400, &json!(PARSE_ERROR)));
        let batch = json!([ping.clone(), ping.clone()]);
        let (status, _, body) = http(&s, event("POST", "/", &[], Some(&batch))).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!(INVALID_REQUEST))
        );
        let mut big = event("POST", "/", &[], None);
        big["body"] = json!("x".repeat(300 * 1024));
        let (status, _, body) = http(&s, big).await;
        assert_eq!(status, 413);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("the limit is 262144 bytes")
        );
        // Unknown method (handshake era: 200).
        let nope = json!({"jsonrpc": "2.0", "id": 8, "method": "resources/list"});
        let (status, _, body) = http(&s, event("POST", "/", &[], Some(&nope))).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (200, &json!(jsonrpc::METHOD_NOT_FOUND))
        );
        // Another path.
        assert_eq!(
            http(&s, event("POST", "/agent", &[], Some(&ping))).await.0,
            404
        );
    }

    #[tokio::test]
    async fn the_metadata_document_needs_an_issuer() {
        let path = "/.well-known/oauth-protected-resource/mcp";
        let (status, _, _) = http(&server(&[]), event("GET", path, &[], None)).await;
        assert_eq!(status, 404);
        let issuer = "https://issuer.example.com";
        let s = server(&[("mcp/jwt_issuer", issuer)]);
        let (status, _, body) =
            http(&s, event("GET", path, &[("host", "api.example.com")], None)).await;
        assert_eq!(status, 200);
        assert_eq!(body["resource"], "https://api.example.com/mcp");
        assert_eq!(body["authorization_servers"], json!([issuer]));
        assert_eq!(http(&s, event("POST", path, &[], None)).await.0, 405);
    }

    #[tokio::test]
    async fn a_direct_invoke_is_the_message_and_a_configuration_error_a_server_fault() {
        let s = server(&[]);
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "web_search", "arguments": {"query": "kubernetes"}}});
        let raw = s.answer(call, &context()).await;
        let answer: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(
            answer["result"]["structuredContent"]["answered_by"],
            "web-search"
        );
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(s.answer(note, &context()).await.get(), "null");

        let s = server(&[("mcp/tools", "eks_info, nuke_cluster")]);
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        let raw = s.answer(list, &context()).await;
        let answer: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(answer["error"]["code"], INTERNAL_ERROR);
        assert_eq!(answer["error"]["data"]["error"]["code"], "CONFIG_ERROR");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`nuke_cluster`")
        );
        // initialize needs no configuration at all.
        let init = json!({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}});
        let raw = s.answer(init, &context()).await;
        assert!(raw.get().contains("\"protocolVersion\":\"2025-11-25\""));
    }

    #[test]
    fn a_result_too_large_for_lambda_is_cut_to_text_then_refused() {
        let ctx = Ctx {
            request_id: "r",
            deadline: Deadline::after(std::time::Duration::from_secs(1)),
            caller: &Caller::Direct,
        };
        let big = "x".repeat(MAX_RESPONSE_BYTES / 2 + 10);
        let result = json!({"content": [{"type": "text", "text": big}], "structuredContent": {"v": big}, "isError": false});
        let body = jsonrpc::result(&json!(1), result);
        let text = fit(body, Some((json!(1), Era::Handshake)), &ctx, |b| {
            b.to_string()
        });
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["result"].get("structuredContent").is_none());
        assert_eq!(v["result"]["isError"], false);
        let huge = "x".repeat(MAX_RESPONSE_BYTES + 10);
        let body = jsonrpc::result(
            &json!(1),
            json!({"content": [{"type": "text", "text": huge}]}),
        );
        let text = fit(body, Some((json!(1), Era::Modern)), &ctx, |b| b.to_string());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["result"]["isError"], true);
        assert_eq!(v["result"]["resultType"], "complete");
        assert_eq!(
            v["result"]["structuredContent"]["error"]["code"],
            "PAYLOAD_TOO_LARGE"
        );
    }
}
