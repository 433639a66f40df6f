//! `prometheus-range-query` and `prometheus-metadata` against the real Prometheus of the
//! test stack: exact summaries and values, downsampling, every validation error (with proof
//! that no request went out), AMP's DescribeWorkspace through moto, and every entry shape
//! through the Lambda Runtime API.

use std::{collections::HashMap, time::Duration};

use common::{AppConfig, ErrorCode, Handler, ToolError, prometheus::PrometheusApi};
use integration_tests::{
    lambda::LambdaFunction,
    moto::Moto,
    prometheus::{Prometheus, dataset},
    proxy::FaultProxy,
};
use prometheus_metadata::PrometheusMetadata;
use prometheus_range_query::PrometheusRangeQuery;
use serde_json::{Value, json};

fn config(url: &str) -> AppConfig {
    AppConfig::fixed(HashMap::from([(
        "prometheus/url".to_owned(),
        url.to_owned(),
    )]))
}

fn api() -> PrometheusApi {
    PrometheusApi::new(common::http::client("test").unwrap())
}

async fn call<H: Handler>(h: &H, input: Value) -> Result<Value, ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

/// The function's point limit is Prometheus' own: the most steps it lets through, Prometheus
/// answers (11,000 steps, 11,001 points); one more is refused before any request.
#[tokio::test]
async fn the_point_limit_is_exactly_prometheus_own() {
    let prometheus = Prometheus::start().await.unwrap();
    let h = PrometheusRangeQuery {
        prometheus: common::prometheus::PrometheusTool {
            api: api(),
            config: config(prometheus.url()),
        },
    };
    let out = call(
        &h,
        json!({"query": "vector(1)", "start": 1_767_225_600, "end": 1_767_236_600, "step": 1, "max_points": 2}),
    )
    .await
    .unwrap();
    assert_eq!(out["series"][0]["summary"]["count"], 11_001, "{out}");
    let e = call(
        &h,
        json!({"query": "vector(1)", "start": 1_767_225_600, "end": 1_767_236_601, "step": 1}),
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("11002 points"), "{e}");
}

#[tokio::test]
async fn range_queries_summarise_every_point_and_downsample_values() {
    let prometheus = Prometheus::start().await.unwrap();
    let h = PrometheusRangeQuery {
        prometheus: common::prometheus::PrometheusTool {
            api: api(),
            config: config(prometheus.url()),
        },
    };

    let out = call(&h, json!({"query": r#"rate(http_requests_total{instance="api-1",code="200"}[1m])"#, "start": "2026-01-01T00:10:00Z", "end": "2026-01-01T00:20:00Z", "step": "1m"})).await.unwrap();
    assert_eq!(
        (out["start"].as_f64(), out["step"].as_f64()),
        (Some(1_767_226_200.0), Some(60.0))
    );
    let s = &out["series"][0];
    assert_eq!(
        s["summary"],
        json!({"min": 2.0, "max": 2.0, "avg": 2.0, "first": "2", "last": "2", "count": 11})
    );
    assert!(out.get("hint").is_none(), "{out}");
    // No series: the answer says how a selector can miss.
    let none = call(&h, json!({"query": r#"http_requests_total{instance="API-1"}"#, "start": "2026-01-01T00:10:00Z", "end": "2026-01-01T00:20:00Z"})).await.unwrap();
    assert_eq!(none["series_count"], 0, "{none}");
    assert!(
        none["hint"].as_str().unwrap().contains("case-sensitive"),
        "{none}"
    );
    assert_eq!(
        (
            s["values"].as_array().unwrap().len(),
            out["data_points"].as_u64(),
            out["truncated"].as_bool()
        ),
        (11, Some(11), Some(false))
    );
    assert_eq!(s["values"][0], json!([1_767_226_200, "2"]));

    // The whole hour at 15 s: 241 points, summarised in full, downsampled to 10 values.
    let out = call(&h, json!({"query": "temperature_celsius", "start": dataset::T0, "end": dataset::T_END, "step": "15s", "max_points": 10})).await.unwrap();
    let by_sensor: HashMap<String, &Value> = out["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"]["sensor"].as_str().unwrap().to_owned(), s))
        .collect();
    let a = by_sensor["a"];
    assert_eq!(a["summary"]["count"], 241);
    assert_eq!(
        (a["summary"]["min"].as_f64(), a["summary"]["max"].as_f64()),
        (Some(20.0), Some(29.0))
    );
    let avg: f64 = (0..241).map(dataset::temperature_a).sum::<f64>() / 241.0;
    assert!((a["summary"]["avg"].as_f64().unwrap() - avg).abs() < 1e-9);
    assert!(a["values"].as_array().unwrap().len() <= 10);
    assert_eq!(out["truncated"], true, "values were downsampled");
    // NaN and ±Inf: out of min/max/avg, kept as spelled in first/last and values.
    let odd = by_sensor["odd"];
    assert_eq!(
        (
            odd["summary"]["first"].as_str(),
            odd["summary"]["last"].as_str()
        ),
        (Some("0"), Some("240"))
    );
    assert_eq!(
        (
            odd["summary"]["min"].as_f64(),
            odd["summary"]["max"].as_f64()
        ),
        (Some(0.0), Some(240.0))
    );
    let finite: Vec<f64> = (0..241)
        .map(dataset::temperature_odd)
        .filter(|v| v.is_finite())
        .collect();
    assert!(
        (odd["summary"]["avg"].as_f64().unwrap()
            - finite.iter().sum::<f64>() / finite.len() as f64)
            .abs()
            < 1e-9
    );
    let spelled = call(&h, json!({"query": r#"temperature_celsius{sensor="odd"}"#, "start": dataset::T0, "end": dataset::T0 + 11 * dataset::STEP, "step": "15s"})).await.unwrap();
    let v: Vec<&str> = spelled["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert_eq!((v[3], v[7], v[11]), ("NaN", "+Inf", "-Inf"));

    // max_series and the default step (1h range → 1m, 61 points).
    let out = call(&h, json!({"query": "fanout_series", "start": dataset::T0, "end": dataset::T_END, "max_series": 5})).await.unwrap();
    assert_eq!(
        (
            out["series_count"].as_u64(),
            out["series"].as_array().unwrap().len(),
            out["step"].as_f64()
        ),
        (Some(600), 5, Some(60.0))
    );
    assert_eq!(out["series"][0]["summary"]["count"], 61);
    assert_eq!(out["truncated"], true);
}

#[tokio::test]
async fn range_input_is_refused_before_any_request() {
    let prometheus = Prometheus::start().await.unwrap();
    let proxy = FaultProxy::start(prometheus.url()).await.unwrap();
    let h = PrometheusRangeQuery {
        prometheus: common::prometheus::PrometheusTool {
            api: api(),
            config: config(&proxy.url()),
        },
    };
    let cases = [
        (
            json!({"query": "up", "start": "2026-01-01T01:00:00Z", "end": "2026-01-01T00:00:00Z"}),
            "end (1767225600) is before start (1767229200)",
        ),
        (
            json!({"query": "up", "step": "0s"}),
            "step must be more than 0",
        ),
        (
            json!({"query": "up", "start": "yesterday"}),
            "must be RFC 3339",
        ),
        (json!({"query": "up", "end": "now+5m"}), "must be RFC 3339"),
        (
            json!({"query": "up", "step": "5 minutes"}),
            "must be a duration",
        ),
        (
            json!({"query": "up", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "step": "1s"}),
            "86401 points per series; Prometheus allows at most 11001",
        ),
        (
            json!({"query": "up", "max_points": 1}),
            "max_points must be between 2 and 1000, got 1",
        ),
        (
            json!({"query": "up", "max_points": 1001}),
            "max_points must be between 2 and 1000, got 1001",
        ),
        (
            json!({"query": "up", "max_series": 501}),
            "max_series must be between 1 and 500, got 501",
        ),
        (json!({"query": ""}), "query must not be empty"),
        (
            json!({"query": "up", "timeout": "1m"}),
            "timeout must be more than 0 and at most 30s",
        ),
    ];
    for (input, message) in cases {
        let err = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{input}");
        assert!(err.message.contains(message), "{input}: {}", err.message);
    }
    // Exactly 11,000 points is allowed (Prometheus' own limit, inclusive).
    let ok = call(&h, json!({"query": "up", "start": dataset::T0, "end": dataset::T0 + 10_999 * 15, "step": 15, "max_series": 1})).await.unwrap();
    // 241 samples, plus 20 steps after the last one that Prometheus' 5-minute lookback
    // still fills.
    assert_eq!(
        ok["series"][0]["summary"]["count"],
        dataset::POINTS + 300 / dataset::STEP
    );
    assert_eq!(
        proxy.seen().len(),
        1,
        "only the valid query went out: {:?}",
        proxy.seen()
    );
}

#[tokio::test]
async fn metadata_lists_metrics_and_label_values_and_checks_its_input() {
    let prometheus = Prometheus::start().await.unwrap();
    let proxy = FaultProxy::start(prometheus.url()).await.unwrap();
    let h = PrometheusMetadata {
        prometheus: common::prometheus::PrometheusTool {
            api: api(),
            config: config(&proxy.url()),
        },
    };

    let out = call(&h, json!({"action": "list_metrics"})).await.unwrap();
    assert_eq!(
        out["metrics"],
        json!([
            "fanout_series",
            "http_requests_total",
            "temperature_celsius",
            "up"
        ])
    );
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(4), Some(false))
    );
    let out = call(
        &h,
        json!({"action": "list_metrics", "match": "http_.*|up", "limit": 1}),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            out["metrics"].clone(),
            out["count"].as_u64(),
            out["truncated"].as_bool()
        ),
        (json!(["http_requests_total"]), Some(2), Some(true))
    );
    // `match` is a search anywhere in the name, as grep does it (PromQL's `=~` is anchored:
    // a model asking for `requests` would otherwise conclude the metric does not exist).
    for (re, expected) in [
        ("requests", json!(["http_requests_total"])),
        ("^temp", json!(["temperature_celsius"])),
        ("series$", json!(["fanout_series"])),
    ] {
        let out = call(&h, json!({"action": "list_metrics", "match": re}))
            .await
            .unwrap();
        assert_eq!(out["metrics"], expected, "{re}");
        assert!(out.get("hint").is_none(), "{out}");
    }
    // Nothing found: the answer says how it searched.
    let none = call(&h, json!({"action": "list_metrics", "match": "^requests"}))
        .await
        .unwrap();
    assert_eq!(none["count"], 0);
    assert!(
        none["hint"]
            .as_str()
            .unwrap()
            .contains("searched anywhere in the name"),
        "{none}"
    );
    // A quote in the regex cannot break out of the PromQL string it is put in.
    let out = call(
        &h,
        json!({"action": "list_metrics", "match": r#"up"} or {__name__=~".+"#}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 0);

    let out = call(
        &h,
        json!({"action": "label_values", "label": "instance", "match[]": "up"}),
    )
    .await
    .unwrap();
    assert_eq!(out["values"], json!(["api-1", "api-2", "db-1"]));
    let out = call(&h, json!({"action": "label_values", "label": "code"}))
        .await
        .unwrap();
    assert_eq!(out["values"], json!(["200", "500"]));
    assert!(out.get("hint").is_none(), "{out}");
    // A label no series has (names are case-sensitive): said, not a bare empty list.
    let out = call(&h, json!({"action": "label_values", "label": "Code"}))
        .await
        .unwrap();
    assert_eq!(out["values"], json!([]));
    assert!(
        out["hint"]
            .as_str()
            .unwrap()
            .contains("no series has the label Code"),
        "{out}"
    );

    let info = call(&h, json!({"action": "server_info"})).await.unwrap();
    assert!(
        info["server"]["version"]
            .as_str()
            .unwrap()
            .starts_with("2."),
        "{info}"
    );
    assert_eq!(info["endpoint"], "prometheus");

    let sent = proxy.seen().len();
    let cases = [
        (
            json!({"action": "label_values"}),
            "label is required for label_values",
        ),
        (
            json!({"action": "label_values", "label": "a-b"}),
            "label must be a Prometheus label name",
        ),
        (
            json!({"action": "list_metrics", "limit": 0}),
            "limit must be between 1 and 10000, got 0",
        ),
        (
            json!({"action": "list_metrics", "limit": 10_001}),
            "limit must be between 1 and 10000, got 10001",
        ),
        (
            json!({"action": "label_values", "label": "job", "match[]": "x".repeat(1001)}),
            "match[] must be 1 to 1000 characters, got 1001",
        ),
        (
            json!({"action": "server_info", "workspace_id": "ws_1"}),
            "workspace_id must be `ws-`",
        ),
        (
            json!({"action": "list_metrics", "match": ""}),
            "match must be 1 to 1000 characters, got 0",
        ),
        (
            json!({"action": "list_metrics", "label": "job"}),
            "label does not apply to list_metrics",
        ),
        (
            json!({"action": "server_info", "limit": 5}),
            "limit does not apply to server_info",
        ),
    ];
    for (input, message) in cases {
        let err = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{input}");
        assert!(err.message.contains(message), "{input}: {}", err.message);
    }
    assert!(call(&h, json!({"action": "drop_tables"})).await.is_err());
    assert_eq!(proxy.seen().len(), sent, "no request for bad input");

    // Prometheus judges the regex: its bad_data is INVALID_INPUT.
    let err = call(&h, json!({"action": "list_metrics", "match": "(unclosed"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err}");
}

#[tokio::test]
async fn server_info_describes_an_amp_workspace_through_moto() {
    let (moto, fixtures) = Moto::start_seeded().await.unwrap();
    let ws = fixtures.workspaces["observability-prod"].clone();
    let mut env = moto.env();
    env.push(("PROMETHEUS_WORKSPACE_ID".to_owned(), ws.clone()));
    let f = LambdaFunction::start("prometheus-metadata", &env)
        .await
        .unwrap();
    let out = f
        .invoke(&json!({"action": "server_info"}))
        .await
        .unwrap()
        .response();
    assert_eq!(out["endpoint"], "amp", "{out}");
    assert_eq!(
        (
            out["server"]["workspace_id"].as_str(),
            out["server"]["alias"].as_str()
        ),
        (Some(ws.as_str()), Some("observability-prod"))
    );
    assert_eq!(out["server"]["status"], "ACTIVE");

    let out = f
        .invoke(&json!({"action": "server_info", "workspace_id": "ws-does-not-exist"}))
        .await
        .unwrap()
        .response();
    assert_eq!(out["error"]["code"], "NOT_FOUND", "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ws-does-not-exist")
    );
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let prometheus = Prometheus::start().await.unwrap();
    let env = vec![("PROMETHEUS_URL".to_owned(), prometheus.url().to_owned())];

    let range = LambdaFunction::start("prometheus-range-query", &env)
        .await
        .unwrap();
    let samples = range
        .answer_every_sample_event("prometheus-range-query")
        .await;
    let direct = &samples.direct;
    assert_eq!(direct["series"][0]["summary"]["avg"], 2.0, "{direct}");
    let rest = &samples.apigw_rest;
    assert_eq!(rest["series_count"], 2, "{rest}");
    assert!(rest["series"][0]["values"].as_array().unwrap().len() <= 10);
    let http = &samples.apigw_http;
    assert_eq!(
        (http["series_count"].as_u64(), http["truncated"].as_bool()),
        (Some(600), Some(true))
    );
    let url = &samples.function_url;
    assert_eq!(
        (
            url["series_count"].as_u64(),
            url["series"][0]["summary"]["count"].as_u64()
        ),
        (Some(3), Some(5)),
        "{url}"
    );
    let ac = &samples.agentcore;
    assert_eq!(
        ac["series"][0]["summary"],
        json!({"min": 2.0, "max": 2.0, "avg": 2.0, "first": "2", "last": "2", "count": 3}),
        "{ac}"
    );

    let meta = LambdaFunction::start("prometheus-metadata", &env)
        .await
        .unwrap();
    let samples = meta.answer_every_sample_event("prometheus-metadata").await;
    let direct = &samples.direct;
    assert_eq!(direct["count"], 4, "{direct}");
    assert_eq!(
        samples.apigw_rest["values"],
        json!(["api-1", "api-2", "db-1"])
    );
    assert_eq!(
        samples.apigw_http["metrics"],
        json!(["http_requests_total", "up"])
    );
    assert_eq!(samples.function_url["values"], json!(["200", "500"]));
    let ac = &samples.agentcore;
    assert!(ac["server"]["version"].is_string(), "{ac}");
}
