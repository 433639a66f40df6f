//! The entry-shape adapter of `common`, through the real Lambda Runtime API protocol: the
//! `echo` example function answers every shape of docs/contract.md §1, and every malformed event
//! gets the error envelope with the right code instead of a Lambda function error.

use std::time::Duration;

use integration_tests::{
    lambda::{Invoke, LambdaFunction, Outcome},
    sample_event,
};
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    sample_event("echo", name)
}

async fn echo() -> LambdaFunction {
    LambdaFunction::start("echo", &[])
        .await
        .expect("echo starts")
}

/// The HTTP response's status and parsed JSON body, checking the response shape.
fn http_answer(response: &Value) -> (u64, Value) {
    assert_eq!(
        response["headers"]["content-type"], "application/json",
        "{response}"
    );
    assert_eq!(response["isBase64Encoded"], false, "{response}");
    let body = response["body"]
        .as_str()
        .unwrap_or_else(|| panic!("body is a string: {response}"));
    (
        response["statusCode"].as_u64().unwrap(),
        serde_json::from_str(body).unwrap(),
    )
}

fn assert_envelope(error: &Value, code: &str, message_part: &str) {
    let e = &error["error"];
    assert_eq!(e["code"], code, "{error}");
    assert!(
        e["message"].as_str().unwrap().contains(message_part),
        "{message_part:?} not in {error}"
    );
    assert!(
        e["request_id"].as_str().unwrap().starts_with("req-"),
        "{error}"
    );
    assert!(e["retryable"].is_boolean(), "{error}");
}

#[tokio::test]
async fn every_sample_event_is_answered_in_its_own_shape() {
    let f = echo().await;

    let direct = f.invoke(&sample("direct.json")).await.unwrap().response();
    assert_eq!(
        direct["echo"],
        "hello from a direct invokehello from a direct invoke"
    );
    assert_eq!(direct["shape"], "direct");
    // The deadline from the Runtime API reaches the handler (30 s in the harness).
    let remaining = direct["remaining_ms"].as_u64().unwrap();
    assert!((20_000..=30_000).contains(&remaining), "{remaining}");

    let rest = f
        .invoke(&sample("apigw-rest.json"))
        .await
        .unwrap()
        .response();
    let (status, body) = http_answer(&rest);
    assert_eq!(
        (status, body["echo"].as_str(), body["shape"].as_str()),
        (200, Some("hello from API Gateway REST"), Some("apigw-rest"))
    );
    // A REST API's proxy integration refuses fields of payload format 2.0.
    assert!(rest.get("cookies").is_none(), "{rest}");

    let http = f
        .invoke(&sample("apigw-http.json"))
        .await
        .unwrap()
        .response();
    let (status, body) = http_answer(&http);
    assert_eq!(
        (status, body["echo"].as_str(), body["shape"].as_str()),
        (
            200,
            Some("hello from the HTTP API (base64 body)"),
            Some("http-api")
        )
    );
    // Payload format 2.0 carries `cookies` (cargo-lambda's Function URL needs it).
    assert_eq!(http["cookies"], json!([]), "{http}");

    // GET with a query string: "repeat=3" is parsed into the numeric field.
    let url = f
        .invoke(&sample("function-url.json"))
        .await
        .unwrap()
        .response();
    let (status, body) = http_answer(&url);
    assert_eq!(status, 200);
    assert_eq!(
        body["echo"],
        "hello from a Function URLhello from a Function URLhello from a Function URL"
    );

    let agentcore = f.invoke_agentcore_sample("echo").await.unwrap().response();
    assert_eq!(agentcore["echo"], "hello from AgentCore Gateway");
}

#[tokio::test]
async fn a_rest_get_reads_multi_value_query_parameters() {
    let f = echo().await;
    let mut event = sample("apigw-rest.json");
    event["httpMethod"] = json!("GET");
    event["body"] = Value::Null;
    event["multiValueQueryStringParameters"] = json!({"message": ["a b+c"], "repeat": ["2"]});
    let (status, body) = http_answer(&f.invoke(&event).await.unwrap().response());
    assert_eq!((status, body["echo"].as_str()), (200, Some("a b+ca b+c")));

    // A repeated scalar is an error, not a silent pick of one value.
    event["multiValueQueryStringParameters"] = json!({"message": ["a", "b"]});
    let (status, body) = http_answer(&f.invoke(&event).await.unwrap().response());
    assert_eq!(status, 400);
    assert_envelope(&body, "INVALID_INPUT", "duplicate field `message`");
}

#[tokio::test]
async fn agentcore_gateway_names_must_match_the_tool() {
    let f = echo().await;
    for accepted in ["target___echo", "echo", "a___b___echo"] {
        let options = Invoke {
            client_context: Some(json!({"custom": {"bedrockAgentCoreToolName": accepted}})),
            ..Invoke::default()
        };
        let answer = f
            .invoke_with(br#"{"message": "hi"}"#, &options)
            .await
            .unwrap()
            .response();
        assert_eq!(answer["echo"], "hi", "{accepted}: {answer}");
    }
    let options = Invoke {
        client_context: Some(
            json!({"custom": {"bedrockAgentCoreToolName": "target___web_search"}}),
        ),
        ..Invoke::default()
    };
    let answer = f
        .invoke_with(br#"{"message": "hi"}"#, &options)
        .await
        .unwrap()
        .response();
    assert_envelope(&answer, "INVALID_INPUT", "unknown tool `web_search`");
}

/// An HTTP API (v2) event carrying `body`.
fn http_event(body: Value, base64: bool) -> Value {
    let mut event = sample("apigw-http.json");
    event["body"] = body;
    event["isBase64Encoded"] = json!(base64);
    event
}

/// (what, raw event, expected code, HTTP status if an HTTP shape, message part)
type Case = (
    &'static str,
    Vec<u8>,
    &'static str,
    Option<u64>,
    &'static str,
);

#[tokio::test]
async fn malformed_events_get_the_envelope_never_a_function_error() {
    let mut f = echo().await;
    let huge = "x".repeat(300 * 1024);
    let mut no_method = sample("apigw-http.json");
    no_method["requestContext"]["http"]["method"] = json!("DELETE");
    let mut bare_context = sample("direct.json");
    bare_context["requestContext"] = json!({});
    let rest_unknown_field = {
        let mut e = sample("apigw-rest.json");
        e["body"] = json!(r#"{"message": "hi", "mesage": "typo"}"#);
        e
    };
    let url_bad_number = {
        let mut e = sample("function-url.json");
        e["rawQueryString"] = json!("message=hi&repeat=many");
        e
    };

    let cases: Vec<Case> = vec![
        (
            "direct: JSON array",
            b"[1, 2]".to_vec(),
            "INVALID_INPUT",
            None,
            "must be a JSON object, got an array",
        ),
        (
            "direct: JSON string",
            br#""message""#.to_vec(),
            "INVALID_INPUT",
            None,
            "got a string",
        ),
        (
            "direct: null",
            b"null".to_vec(),
            "INVALID_INPUT",
            None,
            "got null",
        ),
        (
            "direct: unknown field",
            br#"{"message": "hi", "mesage": "typo"}"#.to_vec(),
            "INVALID_INPUT",
            None,
            "unknown field `mesage`",
        ),
        (
            "direct: wrong type names the field",
            br#"{"message": "hi", "repeat": "two"}"#.to_vec(),
            "INVALID_INPUT",
            None,
            "repeat: invalid type",
        ),
        (
            "direct: missing field",
            br#"{"repeat": 2}"#.to_vec(),
            "INVALID_INPUT",
            None,
            "missing field `message`",
        ),
        (
            "direct: value over its limit",
            br#"{"message": "hi", "repeat": 50}"#.to_vec(),
            "INVALID_INPUT",
            None,
            "repeat must be between 1 and 10, got 50",
        ),
        (
            "direct: requestContext without a method",
            bare_context.to_string().into_bytes(),
            "INVALID_INPUT",
            None,
            "neither `httpMethod`",
        ),
        (
            "http: body not JSON",
            http_event(json!("message=hi"), false)
                .to_string()
                .into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "not valid JSON",
        ),
        (
            "http: body JSON but not an object",
            http_event(json!("[1]"), false).to_string().into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "must be a JSON object",
        ),
        (
            "http: truncated JSON",
            http_event(json!(r#"{"message": "hi""#), false)
                .to_string()
                .into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "not valid JSON",
        ),
        (
            "http: empty body",
            http_event(json!(""), false).to_string().into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "body is empty",
        ),
        (
            "http: bad base64",
            http_event(json!("%%%not-base64%%%"), true)
                .to_string()
                .into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "not valid base64",
        ),
        (
            "http: body too large",
            http_event(json!(format!(r#"{{"message": "{huge}"}}"#)), false)
                .to_string()
                .into_bytes(),
            "PAYLOAD_TOO_LARGE",
            Some(413),
            "the limit is 262144 bytes",
        ),
        (
            "http: wrong type names the field",
            http_event(json!(r#"{"message": 5}"#), false)
                .to_string()
                .into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "message: invalid type: integer `5`",
        ),
        (
            "http: unsupported method",
            no_method.to_string().into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "HTTP method DELETE is not supported",
        ),
        (
            "rest: unknown field",
            rest_unknown_field.to_string().into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "unknown field `mesage`",
        ),
        (
            "function url: GET value of the wrong type",
            url_bad_number.to_string().into_bytes(),
            "INVALID_INPUT",
            Some(400),
            "query string: invalid digit",
        ),
    ];

    for (what, event, code, status, part) in cases {
        let outcome = f
            .invoke_with(&event, &Invoke::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let Outcome::Response(answer) = outcome else {
            panic!("{what}: function error {outcome:?}")
        };
        match status {
            None => assert_envelope(&answer, code, part),
            Some(expected) => {
                let (status, body) = http_answer(&answer);
                assert_eq!(status, expected, "{what}: {answer}");
                assert_envelope(&body, code, part);
            }
        }
    }
    f.check_running()
        .expect("the function survives every malformed event");
}

#[tokio::test]
async fn a_panic_becomes_an_internal_envelope_and_the_function_keeps_serving() {
    let mut f = echo().await;
    let answer = f
        .invoke(&json!({"message": "boom", "fail": "panic"}))
        .await
        .unwrap()
        .response();
    assert_envelope(&answer, "INTERNAL", "internal error (a bug)");
    assert!(
        !answer.to_string().contains("echo was asked to panic"),
        "no panic text in the answer: {answer}"
    );
    f.check_running().unwrap();
    let next = f
        .invoke(&json!({"message": "still here"}))
        .await
        .unwrap()
        .response();
    assert_eq!(next["echo"], "still here");
}

#[tokio::test]
async fn a_result_over_the_lambda_limit_is_payload_too_large_in_every_shape() {
    let f = echo().await;
    let answer = f
        .invoke(&json!({"message": "big", "fail": "oversize"}))
        .await
        .unwrap()
        .response();
    assert_envelope(&answer, "PAYLOAD_TOO_LARGE", "response limit");

    let (status, body) = http_answer(
        &f.invoke(&http_event(
            json!(r#"{"message": "big", "fail": "oversize"}"#),
            false,
        ))
        .await
        .unwrap()
        .response(),
    );
    assert_eq!(status, 413);
    assert_envelope(&body, "PAYLOAD_TOO_LARGE", "response limit");
}

#[tokio::test]
async fn the_handler_sees_the_deadline_the_runtime_api_sent() {
    let f = echo().await;
    let options = Invoke {
        deadline_in: Duration::from_secs(3),
        ..Invoke::default()
    };
    let answer = f
        .invoke_with(br#"{"message": "hi"}"#, &options)
        .await
        .unwrap()
        .response();
    let remaining = answer["remaining_ms"].as_u64().unwrap();
    assert!(remaining <= 3_000 && remaining > 1_000, "{remaining}");
}

#[tokio::test]
async fn every_log_line_is_json_with_the_request_and_trace_ids() {
    let f = echo().await;
    f.invoke(&json!({"message": "hi"}))
        .await
        .unwrap()
        .response();
    f.invoke(&json!({"message": "hi", "repeat": 0}))
        .await
        .unwrap()
        .response();
    let logs = f.logs();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    let answered: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("answered"))
        })
        .collect();
    assert_eq!(answered.len(), 2, "{logs}");
    for line in &answered {
        assert!(
            line["span"]["requestId"]
                .as_str()
                .unwrap()
                .starts_with("req-"),
            "{line}"
        );
        assert!(
            line["span"]["xrayTraceId"]
                .as_str()
                .unwrap()
                .starts_with("Root=1-"),
            "{line}"
        );
    }
    assert_eq!(answered[1]["fields"]["code"], "INVALID_INPUT");

    // One EMF record per invocation, counting the error.
    let emf: Vec<Value> = logs
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(emf.len(), 2, "{logs}");
    assert_eq!(
        (emf[0]["Errors"].as_f64(), emf[1]["Errors"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(emf[0]["Function"], "echo");
}

#[tokio::test]
async fn a_direct_payload_that_is_not_json_gets_the_envelope() {
    // Lambda's Invoke API refuses such payloads before a function runs; emulators and other
    // Runtime API callers may not. Without common's guard, lambda_runtime would answer with
    // a Lambda function error.
    let mut f = echo().await;
    for payload in [&b"message=hi"[..], b"", b"{\"message\": ", b"\xff\xfe"] {
        let outcome = f.invoke_with(payload, &Invoke::default()).await.unwrap();
        let Outcome::Response(answer) = outcome else {
            panic!("{payload:?}: function error {outcome:?}")
        };
        assert_envelope(&answer, "INVALID_INPUT", "the event is not valid JSON");
    }
    f.check_running().expect("still running");
    assert_eq!(
        f.invoke(&json!({"message": "next"}))
            .await
            .unwrap()
            .response()["echo"],
        "next"
    );
}
