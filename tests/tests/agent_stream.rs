//! The agent's streamed answers through its Function URL, end to end: `cargo lambda watch`
//! serves the Function URL and runs the real agent binary (lambda_runtime's streaming
//! response: prelude, chunks), the agent's real Bedrock client reads ConverseStream's
//! event-stream frames from the Converse double, tools run as real Lambdas behind the Invoke
//! API, and sessions live in moto's DynamoDB. The assertions are on the exact SSE sequence a
//! browser receives.

use std::time::{Duration, Instant};

use agent::{Agent, bedrock::Bedrock, invoker::LambdaInvoker, web};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use common::AppConfig;
use futures_util::StreamExt;
use integration_tests::{
    bedrock::{ConverseDouble, Pace, error, stream_error, text, tool_uses},
    moto::Moto,
    process::free_port,
    prometheus::{Prometheus, dataset},
    watch::CargoLambdaWatch,
};
use serde_json::{Value, json};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const TABLE: &str = "agent-sessions";

struct Stack {
    _prometheus: Prometheus,
    _moto: Moto,
    converse: ConverseDouble,
    watch: CargoLambdaWatch,
    http: reqwest::Client,
}

async fn stack() -> Stack {
    let prometheus = Prometheus::start().await.unwrap();
    let moto = Moto::start().await.unwrap();
    moto.create_sessions_table(TABLE).await.unwrap();
    let converse = ConverseDouble::start().await.unwrap();
    let port = free_port().unwrap();
    let mut env = moto.env();
    env.extend(
        [
            ("PROMETHEUS_URL", prometheus.url().to_owned()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", converse.url()),
            (
                "AWS_ENDPOINT_URL_LAMBDA",
                format!("http://127.0.0.1:{port}"),
            ),
            ("MODEL_ID", MODEL.to_owned()),
            ("AGENT_SESSIONS_TABLE", TABLE.to_owned()),
            // cargo-lambda starts a function on its first invocation, which can take seconds.
            ("AGENT_TOOL_TIMEOUT_SECONDS", "120".to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", "warn".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let watch = CargoLambdaWatch::start_on(port, &env).await.unwrap();
    Stack {
        _prometheus: prometheus,
        _moto: moto,
        converse,
        watch,
        http: integration_tests::http_client(),
    }
}

/// One received event: its name and JSON data.
type Event = (String, Value);

/// Splits an SSE body into events (every event here carries one `data:` line).
fn events(body: &str) -> Vec<Event> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}"));
                }
            }
            (name, data)
        })
        .collect()
}

fn texts(words: &[&str]) -> Vec<Event> {
    words
        .iter()
        .map(|w| ("text".to_owned(), json!({"delta": w})))
        .collect()
}

impl Stack {
    fn url(&self) -> String {
        format!("{}/lambda-url/agent/", self.watch.url())
    }

    /// POSTs `body` asking for a stream; returns the status, content type and events.
    async fn stream(&self, body: Value) -> (u16, String, Vec<Event>) {
        let response = self
            .http
            .post(self.url())
            .header("accept", "text/event-stream")
            .json(&body)
            .timeout(Duration::from_secs(180))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.unwrap();
        (status, content_type, events(&body))
    }

    /// Splits off the last event, which must be `done`, and checks the fields that do not
    /// vary; returns the events before it and the output object.
    fn done(mut events: Vec<Event>) -> (Vec<Event>, Value) {
        let (name, output) = events.pop().expect("at least one event");
        assert_eq!(name, "done", "{output}");
        assert_eq!(output["model_id"], MODEL);
        assert!(output["latency_ms"].is_u64(), "{output}");
        (events, output)
    }
}

#[tokio::test]
async fn a_streamed_answer_arrives_word_by_word_then_done() {
    let s = stack().await;
    s.converse
        .script([text("All 3 scrape targets are up.", "end_turn")]);
    let (status, content_type, events) = s
        .stream(json!({"prompt": "Are my scrape targets up?"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/event-stream; charset=utf-8");
    let (before, output) = Stack::done(events);
    assert_eq!(
        before,
        texts(&["All ", "3 ", "scrape ", "targets ", "are ", "up."])
    );
    assert_eq!(output["response"], "All 3 scrape targets are up.");
    assert_eq!(
        (output["stop_reason"].as_str(), output["cycles"].as_u64()),
        (Some("end_turn"), Some(1))
    );
    assert_eq!(output["usage"]["input_tokens"], 100, "{output}");
    assert_eq!(output["session_id"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn a_tool_call_mid_stream_is_an_event_between_the_texts() {
    let s = stack().await;
    let t = dataset::T0 + 60;
    s.converse.script([
        tool_uses(
            Some("Checking the targets."),
            &[(
                "tu-1",
                "prometheus_query",
                json!({"query": "sum(up)", "time": t}),
            )],
        ),
        text("2 of 3 targets are up.", "end_turn"),
    ]);
    let (status, _, events) = s
        .stream(json!({"prompt": "How many targets are up?"}))
        .await;
    assert_eq!(status, 200);
    let (mut before, output) = Stack::done(events);
    // The tool's duration varies; everything else is exact.
    let tool = before.remove(3);
    assert_eq!(tool.0, "tool");
    assert_eq!(
        (tool.1["name"].as_str(), tool.1["status"].as_str()),
        (Some("prometheus_query"), Some("success")),
        "{}",
        tool.1
    );
    assert!(tool.1["duration_ms"].is_u64());
    // The evidence travels with the event: the input as the model sent it, the start of what
    // the tool answered; the output's entry is the same call.
    assert_eq!(tool.1["input"], json!({"query": "sum(up)", "time": t}));
    let preview = tool.1["result_preview"].as_str().unwrap();
    assert!(
        preview.starts_with('{') && preview.contains("\"value\""),
        "{preview}"
    );
    assert_eq!(tool.1.get("error"), None);
    assert_eq!(output["tool_calls"][0], tool.1);
    let mut expected = texts(&["Checking ", "the ", "targets."]);
    expected.extend(texts(&["2 ", "of ", "3 ", "targets ", "are ", "up."]));
    assert_eq!(before, expected);
    assert_eq!(output["cycles"], 2);
    assert_eq!(
        output["tool_calls"][0]["duration_ms"],
        tool.1["duration_ms"]
    );
    // The tool input was assembled from its streamed halves and reached the real tool: its
    // result went back to the model.
    let requests = s.converse.take_requests();
    assert_eq!(requests.len(), 2);
    let last = requests[1].1["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    let result = &last["content"][0]["toolResult"];
    assert_eq!(result["status"], "success", "{result}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"value\""),
        "{result}"
    );
    assert_eq!(
        requests[0].1["messages"][0]["content"][0]["text"],
        "How many targets are up?"
    );
}

#[tokio::test]
async fn a_model_stream_error_after_text_ends_with_an_error_event_and_no_retry() {
    let s = stack().await;
    s.converse.script([
        stream_error("The cluster is", "The model stream was interrupted."),
        // Must not be used: the caller already saw part of the first answer.
        text("A second, repeated answer.", "end_turn"),
    ]);
    let (status, _, mut events) = s.stream(json!({"prompt": "Is prod healthy?"})).await;
    assert_eq!(status, 200);
    let (name, envelope) = events.pop().unwrap();
    assert_eq!(name, "error", "{envelope}");
    assert_eq!(events, texts(&["The ", "cluster ", "is"]));
    assert_eq!(envelope["error"]["code"], "UPSTREAM_ERROR");
    assert_eq!(envelope["error"]["retryable"], true);
    let message = envelope["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ModelStreamErrorException")
            && message.contains("The model stream was interrupted."),
        "{message}"
    );
    assert!(envelope["error"]["request_id"].is_string());
    assert_eq!(s.converse.left(), 1, "the failed answer was retried");
}

/// A third-party server that answers ConverseStream with Server-Sent Events text instead of
/// AWS event-stream frames was reached and did answer: the error says the reply could not be
/// decoded, not that Bedrock could not be reached, and a retry (which would get the same
/// bytes) is not made.
#[tokio::test]
async fn a_stream_that_is_not_event_stream_frames_is_named_as_undecodable() {
    let s = stack().await;
    let framed_as_sse = match text("Looks fine.", "end_turn") {
        integration_tests::bedrock::Step::Reply(body) => {
            integration_tests::bedrock::Step::SseFramed(body)
        }
        other => panic!("{other:?}"),
    };
    s.converse
        .script([framed_as_sse, text("A retried answer.", "end_turn")]);
    let (status, _, events) = s.stream(json!({"prompt": "Is prod healthy?"})).await;
    assert_eq!(status, 200);
    assert_eq!(events.len(), 1, "{events:?}");
    let (name, envelope) = &events[0];
    assert_eq!(name, "error", "{envelope}");
    assert_eq!(envelope["error"]["code"], "UPSTREAM_ERROR", "{envelope}");
    let message = envelope["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("could not be decoded") && !message.contains("could not reach"),
        "{message}"
    );
    assert_eq!(envelope["error"]["retryable"], false, "{envelope}");
    assert_eq!(s.converse.left(), 1, "an undecodable stream was retried");
}

#[tokio::test]
async fn throttling_before_the_stream_starts_is_retried_unseen() {
    let s = stack().await;
    s.converse.script([
        error(
            429,
            "ThrottlingException",
            "Too many requests, please wait.",
        ),
        text("Recovered answer.", "end_turn"),
    ]);
    let (status, _, events) = s.stream(json!({"prompt": "Anything wrong?"})).await;
    assert_eq!(status, 200);
    let (before, output) = Stack::done(events);
    assert_eq!(before, texts(&["Recovered ", "answer."]));
    assert_eq!(output["cycles"], 1);
    assert_eq!(s.converse.take_requests().len(), 2);

    // Throttled on every attempt: one error event, nothing else.
    s.converse
        .script((0..=agent::tool_loop::MODEL_RETRY.retries).map(|_| {
            error(
                429,
                "ThrottlingException",
                "Too many requests, please wait.",
            )
        }));
    let (_, _, events) = s.stream(json!({"prompt": "Anything wrong?"})).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "error");
    assert_eq!(events[0].1["error"]["code"], "THROTTLED");
    assert_eq!(events[0].1["error"]["retryable"], true);
}

#[tokio::test]
async fn the_function_url_serves_the_page_json_and_named_errors() {
    let s = stack().await;
    let page = s.http.get(s.url()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    for (name, value) in web::PAGE_HEADERS {
        assert_eq!(page.headers()[*name].to_str().unwrap(), *value, "{name}");
    }
    assert_eq!(page.text().await.unwrap(), web::PAGE);

    // Without `Accept: text/event-stream`: the output object as JSON.
    s.converse.script([text("Plain answer.", "end_turn")]);
    let plain = s
        .http
        .post(s.url())
        .json(&json!({"prompt": "Plain please", "session_id": "ops-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(
        plain.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let out: Value = plain.json().await.unwrap();
    assert_eq!(
        (out["response"].as_str(), out["session_id"].as_str()),
        (Some("Plain answer."), Some("ops-1"))
    );

    // Bad input: the envelope with its status, or as the only event of a stream.
    let bad = s
        .http
        .post(s.url())
        .json(&json!({"prompt": "", "verbose": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let envelope: Value = bad.json().await.unwrap();
    assert_eq!(envelope["error"]["code"], "INVALID_INPUT");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .unwrap()
            .contains("verbose"),
        "{envelope}"
    );
    let (status, _, events) = s.stream(json!({"prompt": "x".repeat(10_001)})).await;
    assert_eq!(status, 200);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["error"]["code"], "INVALID_INPUT");
    assert!(
        events[0].1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10000"),
        "{events:?}"
    );

    let missing = s
        .http
        .get(format!("{}favicon.ico", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let envelope: Value = missing.json().await.unwrap();
    assert_eq!(envelope["error"]["code"], "NOT_FOUND");
    assert!(
        s.converse.take_requests().len() == 1,
        "bad input reached the model"
    );
}

/// A client that goes away stops the work: dropping the response body drops the model call
/// in flight, and the model's stream is abandoned instead of read to its end.
#[tokio::test]
async fn a_client_that_disconnects_stops_the_model_call() {
    let converse = ConverseDouble::start().await.unwrap();
    converse.pace(Pace {
        first: Duration::ZERO,
        per_delta: Duration::from_millis(100),
    });
    let words = vec!["word"; 200].join(" ");
    converse.script([text(&words, "end_turn")]);
    let sdk = Moto::sdk_config_for(&converse.url()).await;
    let bedrock = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let config = AppConfig::fixed([("model/id".to_owned(), MODEL.to_owned())].into());
    let agent: &'static _ = Box::leak(Box::new(Agent::new(
        Bedrock::with_client(bedrock),
        LambdaInvoker::with_client(aws_sdk_lambda::Client::new(&sdk)),
        config,
    )));
    let event = json!({
        "version": "2.0", "rawPath": "/", "rawQueryString": "",
        "headers": {"accept": "text/event-stream", "content-type": "application/json"},
        "requestContext": {"domainName": "abc.lambda-url.us-east-1.on.aws",
                           "http": {"method": "POST", "path": "/"}},
        "body": "{\"prompt\": \"Tell me a long story\"}", "isBase64Encoded": false
    });
    let mut context = lambda_runtime::Context::default();
    context.request_id = "disconnect-1".to_owned();
    context.deadline = (std::time::SystemTime::now() + Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut response = web::function_url(agent, event, &context).await;
    let first = response.stream.next().await.unwrap().unwrap();
    assert!(first.starts_with("event: text\n"), "{first}");
    assert_eq!(converse.abandoned_streams(), 0);
    drop(response);
    let waited = Instant::now();
    while converse.abandoned_streams() == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the model's stream was still being read after the client left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The chat page in headless Chromium against the agent under `cargo lambda watch`: a
/// question, its streamed answer and tool line, and a follow-up in the same session. The
/// screenshot is kept at `target/artifacts/chat-page.png`.
#[tokio::test]
async fn the_chat_page_streams_an_answer_and_keeps_the_session() {
    let s = stack().await;
    // A model's pace, so that the page has something to show while the answer streams.
    s.converse.pace(Pace {
        first: Duration::from_millis(200),
        per_delta: Duration::from_millis(40),
    });
    let t = dataset::T0 + 60;
    s.converse.script([
        tool_uses(
            Some("Checking the scrape targets."),
            &[(
                "tu-1",
                "prometheus_query",
                json!({"query": "sum(up)", "time": t}),
            )],
        ),
        text(
            "2 of 3 targets are up; db-1 is down since 00:30.",
            "end_turn",
        ),
        text(
            "Check the db-1 exporter first: its scrape has failed since 00:30.",
            "end_turn",
        ),
    ]);
    let browser = integration_tests::browser::Browser::start().await.unwrap();
    browser.goto(&s.url()).await.unwrap();
    // Counts how often the answer's text changes before the turn ends: more than once means
    // the page showed it while it streamed.
    browser
        .run(
            "window.answerUpdates = 0; new MutationObserver(() => window.answerUpdates++)
               .observe(document.getElementById('transcript'),
                        {subtree: true, childList: true, characterData: true});",
            json!([]),
        )
        .await
        .unwrap();
    let turn_done = |n: usize| {
        format!(
            "return document.body.dataset.state === 'idle' && document.querySelectorAll('.turn .stats, .turn .error').length === {n};"
        )
    };
    browser
        .type_into("#prompt", "Which scrape targets are down?")
        .await
        .unwrap();
    browser.click("#send").await.unwrap();
    browser
        .wait_until("the first answer", &turn_done(1), Duration::from_secs(120))
        .await
        .unwrap();
    let first = browser
        .run(
            "const t = document.querySelector('.turn');
             return {order: [...t.querySelector('.reply').children].map(e => e.className),
                     answer: [...t.querySelectorAll('.answer')].map(e => e.textContent),
                     tools: [...t.querySelectorAll('.tool summary')].map(e => e.textContent),
                     errors: [...document.querySelectorAll('.error')].map(e => e.textContent),
                     session: document.getElementById('session').textContent,
                     updates: window.answerUpdates};",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(first["errors"], json!([]), "{first}");
    // Both cycles' text, with the tool call between them where it happened.
    assert_eq!(
        first["order"],
        json!(["answer", "tool", "answer", "stats"]),
        "{first}"
    );
    assert_eq!(
        first["answer"],
        json!([
            "Checking the scrape targets.",
            "2 of 3 targets are up; db-1 is down since 00:30."
        ]),
        "{first}"
    );
    let tools = first["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 1, "{first}");
    let tool = tools[0].as_str().unwrap();
    assert!(
        tool.starts_with("⚙ prometheus_query · success · ") && tool.ends_with(" ms"),
        "{tool}"
    );
    assert!(first["updates"].as_u64().unwrap() > 10, "{first}");
    // The tool line opens to its evidence; "Copy report" shows (and copies) the Markdown
    // report, read here from the page: a headless browser may refuse the clipboard.
    let evidence = browser
        .run(
            "const t = document.querySelector('.turn');
             const tool = t.querySelector('details.tool');
             tool.querySelector('summary').click();
             t.querySelector('.copy-report').click();
             return {open: tool.open, visible: tool.querySelector('pre.input').offsetHeight > 0,
                     input: JSON.parse(tool.querySelector('pre.input').textContent),
                     result: tool.querySelector('pre.result').textContent};",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(evidence["open"], true, "{evidence}");
    assert_eq!(evidence["visible"], true, "{evidence}");
    assert_eq!(
        evidence["input"],
        json!({"query": "sum(up)", "time": t}),
        "{evidence}"
    );
    assert!(
        evidence["result"].as_str().unwrap().contains("\"value\""),
        "{evidence}"
    );
    browser
        .wait_until(
            "the report",
            "const r = document.querySelector('.turn .report'); return !!r && r.value.length > 0;",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let report = browser
        .run(
            "return document.querySelector('.turn .report').value;",
            json!([]),
        )
        .await
        .unwrap();
    let report = report.as_str().unwrap();
    for part in [
        "## Question\n\nWhich scrape targets are down?\n",
        "## Answer\n\n2 of 3 targets are up; db-1 is down since 00:30.\n",
        "## Evidence\n\n1. `prometheus_query` · success · ",
        "   Input:\n\n   ```\n   {\n     \"query\": \"sum(up)\",",
        "   Result (start):\n\n   ```\n   {",
        "---\n\nend_turn · 2 model call(s) · 200 in / 40 out tokens · ",
    ] {
        assert!(
            report.contains(part),
            "{part:?} not in the report:\n{report}"
        );
    }
    let session = first["session"].as_str().unwrap().to_owned();
    assert!(
        session.starts_with("session ") && session.len() == 8 + 32,
        "{session}"
    );

    browser
        .type_into("#prompt", "What should I check first?")
        .await
        .unwrap();
    browser.click("#send").await.unwrap();
    browser
        .wait_until(
            "the follow-up answer",
            &turn_done(2),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    let second = browser
        .run(
            "const t = document.querySelectorAll('.turn')[1];
             return {answer: t.querySelector('.answer').textContent,
                     session: document.getElementById('session').textContent};",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        second["answer"],
        "Check the db-1 exporter first: its scrape has failed since 00:30."
    );
    assert_eq!(second["session"], session.as_str(), "the session changed");
    // The follow-up reached the model with the first exchange before it: the page sent the
    // session id and the agent loaded the history from DynamoDB.
    let requests = s.converse.take_requests();
    assert_eq!(requests.len(), 3);
    let history = requests[2].1["messages"].as_array().unwrap();
    let texts: Vec<&str> = history
        .iter()
        .flat_map(|m| m["content"].as_array().unwrap())
        .filter_map(|b| b["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "Which scrape targets are down?",
            "Checking the scrape targets.",
            "2 of 3 targets are up; db-1 is down since 00:30.",
            "What should I check first?"
        ]
    );
    // A long unbroken word (a URL, a pod name, a hash) wraps inside its bubble instead of
    // widening the page: put one in each kind of bubble and compare widths.
    let fits = browser
        .run(
            "const word = 'x'.repeat(3000);
             return ['question', 'answer', 'error'].map(kind => {
               const bubble = document.createElement('div');
               bubble.className = kind;
               bubble.textContent = word;
               document.querySelector('.turn').appendChild(bubble);
               const fits = bubble.scrollWidth <= bubble.clientWidth;
               bubble.remove();
               return fits;
             }).concat(document.documentElement.scrollWidth <= document.documentElement.clientWidth);",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        json!([true, true, true, true]),
        "question, answer, error, page"
    );
    browser
        .screenshot(
            &integration_tests::workspace_root()
                .join("target")
                .join("artifacts")
                .join("chat-page.png"),
        )
        .await
        .unwrap();
}
