//! `prometheus-query` against the real Prometheus of the test stack: exact values from the
//! backfilled data set, every validation error (with proof that no request went out), the
//! limits, Prometheus' own bad_data, AMP mode through the botocore SigV4 verifier, upstream
//! faults, and every entry shape through the Lambda Runtime API.

use std::{collections::HashMap, time::Duration};

use common::{AppConfig, Deadline, Handler, Invocation, ToolError, prometheus::PrometheusApi};
use integration_tests::{
    lambda::LambdaFunction,
    prometheus::{Prometheus, dataset},
    proxy::{FaultProxy, Mode},
    verifier::{SECRET_KEY, SESSION_TOKEN, SigV4Verifier},
};
use prometheus_query::{PrometheusQuery, QueryOutput};
use serde_json::{Value, json};

fn handler(settings: &[(&str, &str)]) -> PrometheusQuery {
    let values: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    PrometheusQuery {
        prometheus: common::prometheus::PrometheusTool {
            api: PrometheusApi::new(common::http::client("test").unwrap()),
            config: AppConfig::fixed(values),
        },
    }
}

async fn run(h: &PrometheusQuery, input: Value) -> Result<QueryOutput, ToolError> {
    let input =
        serde_json::from_value(input).map_err(|e| ToolError::invalid_input(e.to_string()))?;
    h.handle(
        input,
        &Invocation::local(Deadline::after(Duration::from_secs(30))),
    )
    .await
}

fn values(out: &QueryOutput) -> Vec<(Value, f64)> {
    let series: Vec<Value> = serde_json::from_str(out.result.get()).unwrap();
    let mut v: Vec<(Value, f64)> = series
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    v.sort_by_key(|a| a.0.to_string());
    v
}

#[tokio::test]
async fn instant_queries_return_the_exact_values_of_the_data_set() {
    let prometheus = Prometheus::start().await.unwrap();
    let h = handler(&[("prometheus/url", prometheus.url())]);

    let out = run(&h, json!({"query": r#"sum by (code) (rate(http_requests_total{job="api"}[1m]))"#, "time": "2026-01-01T00:30:00Z"})).await.unwrap();
    assert_eq!(
        (
            out.result_type.as_str(),
            out.series_count,
            out.truncated,
            out.endpoint
        ),
        ("vector", 2, false, "prometheus")
    );
    assert_eq!(
        values(&out),
        [
            (json!({"code": "200"}), (30.0 + 15.0) / 15.0),
            (json!({"code": "500"}), 1.5 / 15.0)
        ]
    );

    // Unix seconds, `now-…` relative to a fixed clock is covered in common; here a number.
    let t = dataset::T0 + 13 * dataset::STEP;
    let out = run(
        &h,
        json!({"query": r#"temperature_celsius{sensor="a"}"#, "time": t}),
    )
    .await
    .unwrap();
    assert_eq!(values(&out)[0].1, dataset::temperature_a(13));

    assert!(out.hint.is_none());

    // No series: the answer says how a selector can miss, instead of a bare empty vector.
    let out = run(
        &h,
        json!({"query": r#"temperature_celsius{sensor="A"}"#, "time": t}),
    )
    .await
    .unwrap();
    assert_eq!((out.result_type.as_str(), out.series_count), ("vector", 0));
    assert!(
        out.hint.is_some_and(|h| h.contains("case-sensitive")),
        "no hint"
    );

    let out = run(&h, json!({"query": "1 + 1", "time": t})).await.unwrap();
    assert_eq!((out.result_type.as_str(), out.series_count), ("scalar", 1));
    assert!(out.hint.is_none());
    assert_eq!(
        serde_json::from_str::<Value>(out.result.get()).unwrap()[1],
        "2"
    );

    // A range selector gives a matrix (59s: four samples whether the range is closed, as
    // in Prometheus 2, or left-open, as in 3).
    let out = run(
        &h,
        json!({"query": r#"up{instance="db-1"}[59s]"#, "time": dataset::T_END}),
    )
    .await
    .unwrap();
    assert_eq!(out.result_type, "matrix");
    assert_eq!(
        serde_json::from_str::<Value>(out.result.get()).unwrap()[0]["values"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // Nothing is blocklisted: the seed refused this valid PromQL.
    let out = run(
        &h,
        json!({"query": r#"up{instance=~"https://.*"}"#, "time": dataset::T_END}),
    )
    .await
    .unwrap();
    assert_eq!((out.series_count, out.truncated), (0, false));
}

#[tokio::test]
async fn max_series_truncates_and_says_so() {
    let prometheus = Prometheus::start().await.unwrap();
    let h = handler(&[("prometheus/url", prometheus.url())]);
    for (max, kept) in [(None, 100), (Some(500), 500), (Some(1), 1)] {
        let mut input = json!({"query": "fanout_series", "time": dataset::T_END});
        if let Some(max) = max {
            input["max_series"] = json!(max);
        }
        let out = run(&h, input).await.unwrap();
        let result: Vec<Value> = serde_json::from_str(out.result.get()).unwrap();
        assert_eq!(
            (out.series_count, result.len(), out.truncated),
            (dataset::FANOUT, kept, true),
            "{max:?}"
        );
    }
    let out = run(
        &h,
        json!({"query": "up", "time": dataset::T_END, "max_series": 3}),
    )
    .await
    .unwrap();
    assert_eq!((out.series_count, out.truncated), (3, false));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let prometheus = Prometheus::start().await.unwrap();
    let proxy = FaultProxy::start(prometheus.url()).await.unwrap();
    let url = proxy.url();
    let h = handler(&[("prometheus/url", &url)]);
    let cases = [
        (json!({"query": ""}), "query must not be empty"),
        (json!({"query": "   "}), "query must not be empty"),
        (
            json!({"query": "x".repeat(10_001)}),
            "query must be at most 10000 characters, got 10001",
        ),
        (
            json!({"query": "up", "max_series": 0}),
            "max_series must be between 1 and 500, got 0",
        ),
        (
            json!({"query": "up", "max_series": 501}),
            "max_series must be between 1 and 500, got 501",
        ),
        (
            json!({"query": "up", "timeout": "31s"}),
            "timeout must be more than 0 and at most 30s, got 31000ms",
        ),
        (
            json!({"query": "up", "timeout": 0}),
            "timeout must be more than 0",
        ),
        (
            json!({"query": "up", "workspace_id": "ws_bad"}),
            "workspace_id must be `ws-`",
        ),
        (
            json!({"query": "up", "workspace_id": "ws-1"}),
            "workspace_id applies to Amazon Managed Service for Prometheus",
        ),
    ];
    for (input, message) in cases {
        let err = run(&h, input.clone()).await.unwrap_err();
        assert_eq!(err.code, common::ErrorCode::InvalidInput, "{input}");
        assert!(err.message.contains(message), "{input}: {}", err.message);
    }
    // Type and syntax errors come from deserialisation, also before any request.
    for input in [
        json!({"query": "up", "time": "yesterday"}),
        json!({"query": "up", "timeout": "5 minutes"}),
        json!({"query": "up", "extra": 1}),
        json!({"query": 5}),
    ] {
        assert!(run(&h, input.clone()).await.is_err(), "{input}");
    }
    assert!(
        proxy.seen().is_empty(),
        "no request may go out for bad input: {:?}",
        proxy.seen()
    );

    // Prometheus itself judges PromQL: its bad_data is INVALID_INPUT with its message.
    let err = run(&h, json!({"query": "sum(rate(up[5m])"}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (common::ErrorCode::InvalidInput, false)
    );
    assert!(
        err.message.starts_with("Prometheus rejected the query: "),
        "{err}"
    );
    assert_eq!(proxy.seen().len(), 1, "bad_data is not retried");

    // Missing configuration names the keys; empty values count as missing.
    let empty: &[(&str, &str)] = &[("prometheus/url", ""), ("prometheus/workspace_id", "")];
    for settings in [&[][..], empty] {
        let err = run(&handler(settings), json!({"query": "up"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, common::ErrorCode::ConfigError);
        assert!(
            err.message
                .contains("prometheus/url or prometheus/workspace_id"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn upstream_faults_become_envelope_codes_with_bounded_retries() {
    let mut prometheus = Prometheus::start().await.unwrap();
    let proxy = FaultProxy::start(prometheus.url()).await.unwrap();
    let url = proxy.url();
    let h = handler(&[("prometheus/url", &url)]);
    for (status, code) in [
        (429, common::ErrorCode::Throttled),
        (503, common::ErrorCode::Unavailable),
        (500, common::ErrorCode::UpstreamError),
    ] {
        proxy.set_mode(Mode::Fail(status));
        let before = proxy.seen().len();
        let err = run(&h, json!({"query": "up"})).await.unwrap_err();
        assert_eq!((err.code, err.retryable), (code, true), "{status}: {err}");
        assert_eq!(
            proxy.seen().len() - before,
            3,
            "{status}: one try and two retries"
        );
    }

    // An answer that is not Prometheus' JSON.
    let garbage = integration_tests::answering(200, "<html>captive portal</html>")
        .await
        .unwrap();
    let err = run(
        &handler(&[("prometheus/url", &garbage)]),
        json!({"query": "up"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (common::ErrorCode::UpstreamError, false),
        "{err}"
    );

    // A server that accepts and never answers: the caller's timeout holds.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let err = run(
        &handler(&[("prometheus/url", &silent_url)]),
        json!({"query": "up", "timeout": "300ms"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (common::ErrorCode::UpstreamTimeout, true),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        started.elapsed()
    );

    // The server went away: connection refused.
    prometheus.stop();
    let direct = handler(&[("prometheus/url", prometheus.url())]);
    let err = run(&direct, json!({"query": "up"})).await.unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (common::ErrorCode::Unavailable, true),
        "{err}"
    );
    drop(silent);
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let prometheus = Prometheus::start().await.unwrap();
    let env = vec![("PROMETHEUS_URL".to_owned(), prometheus.url().to_owned())];
    let f = LambdaFunction::start("prometheus-query", &env)
        .await
        .unwrap();

    let samples = f.answer_every_sample_event("prometheus-query").await;
    let direct = &samples.direct;
    let mut codes: Vec<(String, f64)> = direct["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["code"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    codes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        codes,
        [("200".to_owned(), 3.0), ("500".to_owned(), 0.1)],
        "{direct}"
    );

    let rest = &samples.apigw_rest;
    assert_eq!(
        (rest["series_count"].as_u64(), rest["truncated"].as_bool()),
        (Some(3), Some(true)),
        "{rest}"
    );
    let http = &samples.apigw_http;
    assert_eq!(
        http["result"][0]["value"][1],
        dataset::FANOUT.to_string(),
        "{http}"
    );
    let url = &samples.function_url;
    assert_eq!(url["result"][0]["value"][1], "23", "{url}");
    let agentcore = &samples.agentcore;
    assert_eq!(agentcore["result"][0]["value"][1], "29", "{agentcore}");
}

#[tokio::test]
async fn amp_mode_signs_every_request_and_botocore_verifies_it() {
    let prometheus = Prometheus::start().await.unwrap();
    // The verifier stands in for AMP: it checks the SigV4 signature with botocore and
    // forwards verified requests to the real Prometheus, minus the workspace prefix.
    let verifier = SigV4Verifier::amp(prometheus.url()).unwrap();
    let env = verifier.amp_env();
    let f = LambdaFunction::start("prometheus-query", &env)
        .await
        .unwrap();
    let answer = f
        .invoke(&json!({"query": r#"sum(rate(http_requests_total{job=~"api|web", code!~"5.."}[1m])) + 0 * count(up{instance=~"api-.+"})"#, "time": "2026-01-01T00:30:00Z"}))
        .await
        .unwrap()
        .response();
    assert_eq!(
        answer["result"][0]["value"][1],
        "3",
        "{answer}\n{}",
        verifier.logs()
    );

    // Wrong credentials: the verifier refuses, the caller gets ACCESS_DENIED.
    let mut bad = env.clone();
    bad.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    bad.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "wrong".to_owned()));
    let f = LambdaFunction::start("prometheus-query", &bad)
        .await
        .unwrap();
    let answer = f.invoke(&json!({"query": "up"})).await.unwrap().response();
    assert_eq!(answer["error"]["code"], "ACCESS_DENIED", "{answer}");
    assert!(
        !f.logs().contains(SECRET_KEY) && !f.logs().contains(SESSION_TOKEN),
        "no credentials in logs"
    );
}

#[tokio::test]
async fn another_workspace_is_described_once_and_its_endpoint_cached() {
    let (moto, fixtures) = integration_tests::moto::Moto::start_seeded().await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    let amp = aws_sdk_amp::Client::new(
        &integration_tests::moto::Moto::sdk_config_for(&proxy.url()).await,
    );
    let api = PrometheusApi::with_amp_client(common::http::client("test").unwrap(), amp);
    let (configured, other) = (
        &fixtures.workspaces["observability-prod"],
        &fixtures.workspaces["observability-dev"],
    );
    let settings = common::Settings::from_values(HashMap::from([
        ("prometheus/workspace_id".to_owned(), configured.clone()),
        ("prometheus/region".to_owned(), "us-east-1".to_owned()),
    ]));

    // The configured workspace needs no lookup.
    let own = api.target(&settings, None).await.unwrap();
    assert_eq!(
        own.base_url,
        format!("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{configured}")
    );
    assert!(matches!(own.auth, common::prometheus::Auth::SigV4 { .. }));
    // Another one is described once, then served from the cache.
    for _ in 0..3 {
        let target = api.target(&settings, Some(other)).await.unwrap();
        assert!(
            target.base_url.ends_with(&format!("/workspaces/{other}")),
            "{}",
            target.base_url
        );
        assert_eq!(target.backend.as_str(), "amp");
    }
    let seen = proxy.seen();
    assert_eq!(
        seen,
        [format!("GET /workspaces/{other}")],
        "one DescribeWorkspace for three resolutions"
    );
    let err = api.target(&settings, Some("ws-missing")).await.unwrap_err();
    assert_eq!(err.code, common::ErrorCode::NotFound, "{err}");
}

#[tokio::test]
async fn the_lambda_deadline_bounds_a_longer_query_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h = handler(&[(
        "prometheus/url",
        &format!("http://{}", silent.local_addr().unwrap()),
    )]);
    let input = serde_json::from_value(json!({"query": "up", "timeout": "30s"})).unwrap();
    let deadline = Deadline::after(Duration::from_millis(1500));
    let err = h
        .handle(input, &Invocation::local(deadline))
        .await
        .unwrap_err();
    let left = deadline.remaining();
    assert_eq!(err.code, common::ErrorCode::UpstreamTimeout, "{err}");
    assert!(
        left > Duration::ZERO,
        "answered after the deadline it was given (1.5 s), as if waiting out the 30 s timeout"
    );
    drop(silent);
}
