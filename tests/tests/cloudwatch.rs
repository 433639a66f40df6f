//! The cloudwatch function with its real SDK clients against moto's CloudWatch Logs and, for
//! what moto cannot serve (CloudWatch's Smithy RPCv2 CBOR, DescribeAlarmHistory, composite
//! alarms, a Logs Insights query that stays running or is refused), the wire-level double in
//! front of it (`integration_tests::cloudwatch`), seeded with a crash-looping api
//! workload in the prod-eu cluster.

use std::time::Duration;

use cloudwatch::CloudWatch;
use common::Deadline;
use integration_tests::{
    cloudwatch::{
        ALARM_5XX, ALARM_LATENCY, APPLICATION_LOG_GROUP, COMPOSITE_ALARM, CloudWatchDouble,
        CloudWatchFixtures, LOG_AWS_KEY, LOG_PASSWORD,
    },
    lambda::LambdaFunction,
    moto::Moto,
    proxy::FaultProxy,
};
use serde_json::{Value, json};

struct Stack {
    _moto: Moto,
    double: CloudWatchDouble,
    fixtures: CloudWatchFixtures,
}

async fn stack() -> Stack {
    let moto = Moto::start().await.unwrap();
    let double = CloudWatchDouble::start(moto.endpoint()).await.unwrap();
    let fixtures = double.seed().await.unwrap();
    Stack {
        _moto: moto,
        double,
        fixtures,
    }
}

impl Stack {
    async fn handler(&self) -> CloudWatch {
        let mut h = CloudWatch::with_clients(
            self.double.logs_client().await,
            self.double.cloudwatch().await,
        );
        // The double answers at once: no need for a real query's first wait.
        h.first_poll_wait = Duration::from_millis(20);
        h
    }
}

async fn call(h: &CloudWatch, input: Value) -> Result<Value, common::ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn alarms_fire_first_and_say_what_they_watch() {
    let s = stack().await;
    let h = s.handler().await;
    let firing = call(&h, json!({"action": "alarms"})).await.unwrap();
    assert_eq!(firing["state"], "ALARM");
    let mut fired = names(&firing["alarms"]);
    fired.sort_unstable();
    assert_eq!(fired, [ALARM_5XX, COMPOSITE_ALARM], "{firing}");
    let metric = firing["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == ALARM_5XX)
        .unwrap();
    assert_eq!(metric["type"], "metric");
    assert!(
        metric["namespace"].is_string() && metric["metric"].is_string(),
        "{metric}"
    );
    assert!(
        metric["threshold"].is_number() && metric["comparison"].is_string(),
        "{metric}"
    );
    assert!(metric["dimensions"].is_object(), "{metric}");
    assert!(
        metric["reason"]
            .as_str()
            .unwrap()
            .contains("Threshold Crossed"),
        "{metric}"
    );
    let composite = firing["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == COMPOSITE_ALARM)
        .unwrap();
    assert_eq!(composite["type"], "composite");
    assert!(
        composite["rule"].as_str().unwrap().contains(ALARM_5XX),
        "{composite}"
    );
    // Every state: firing first.
    let all = call(&h, json!({"action": "alarms", "state": "any"}))
        .await
        .unwrap();
    let states: Vec<&str> = all["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["ALARM", "ALARM", "OK"], "{all}");
    let by_prefix = call(
        &h,
        json!({"action": "alarms", "state": "ok", "prefix": "api-lat"}),
    )
    .await
    .unwrap();
    assert_eq!(names(&by_prefix["alarms"]), [ALARM_LATENCY]);
    let one = call(
        &h,
        json!({"action": "alarms", "state": "any", "max_results": 1}),
    )
    .await
    .unwrap();
    assert_eq!(
        (one["count"].as_u64(), one["truncated"].as_bool()),
        (Some(1), Some(true))
    );
}

/// More log groups than DescribeLogGroups returns in a page (50): the function follows
/// nextToken, asking each page for no more than it still needs.
#[tokio::test]
async fn log_groups_are_read_page_by_page() {
    let s = stack().await;
    let logs = s.double.logs_client().await;
    for i in 0..60 {
        logs.create_log_group()
            .log_group_name(format!("/aws/bulk/group-{i:02}"))
            .send()
            .await
            .unwrap();
    }
    let h = s.handler().await;
    let before = s.double.requests().await.len();
    let out = call(
        &h,
        json!({"action": "log_groups", "prefix": "/aws/bulk/", "max_results": 55}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(55), Some(true)),
        "{}",
        out["count"]
    );
    let calls: Vec<String> = s.double.requests().await[before..].to_vec();
    assert_eq!(
        calls,
        ["DescribeLogGroups", "DescribeLogGroups"],
        "two pages"
    );
    let all = call(
        &h,
        json!({"action": "log_groups", "prefix": "/aws/bulk/", "max_results": 500}),
    )
    .await
    .unwrap();
    assert_eq!(
        (all["count"].as_u64(), all["truncated"].as_bool()),
        (Some(60), Some(false))
    );
}

#[tokio::test]
async fn alarm_history_reads_each_state_change_newest_first() {
    let s = stack().await;
    let h = s.handler().await;
    let history = call(
        &h,
        json!({"action": "alarm_history", "alarm_name": ALARM_5XX}),
    )
    .await
    .unwrap();
    let changes: Vec<(&str, &str)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [("OK", "ALARM"), ("INSUFFICIENT_DATA", "OK")],
        "{history}"
    );
    let seeded = s.fixtures.alarm(ALARM_5XX).unwrap();
    assert_eq!(history["changes"][0]["reason"], seeded.reason.as_str());
    let first = call(
        &h,
        json!({"action": "alarm_history", "alarm_name": ALARM_5XX, "max_results": 1}),
    )
    .await
    .unwrap();
    assert_eq!(
        (first["count"].as_u64(), first["truncated"].as_bool()),
        (Some(1), Some(true))
    );
    // A range before the changes: none, and the alarm exists, so no error.
    let before = call(
        &h,
        json!({"action": "alarm_history", "alarm_name": ALARM_5XX, "start": "now-3d", "end": "now-2d"}),
    )
    .await
    .unwrap();
    assert_eq!(before["count"], 0);
    let e = call(
        &h,
        json!({"action": "alarm_history", "alarm_name": "no-such-alarm"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    assert!(e.message.contains("no alarm named no-such-alarm"), "{e}");
    // The name in the wrong case, or a part of it: the alarms meant are named.
    let e = call(
        &h,
        json!({"action": "alarm_history", "alarm_name": "API-5XX"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    assert!(
        e.message.contains("case-sensitive") && e.message.contains(ALARM_5XX),
        "{e}"
    );
}

/// A prefix is case-sensitive and anchored in CloudWatch; a model often gives a word from the
/// middle of a name, or the wrong case. When nothing starts with it, the names containing it
/// in any case answer, with a hint saying how they were found.
#[tokio::test]
async fn a_prefix_that_starts_no_name_finds_the_names_containing_it() {
    let s = stack().await;
    let h = s.handler().await;
    let alarms = call(
        &h,
        json!({"action": "alarms", "state": "any", "prefix": "LATENCY"}),
    )
    .await
    .unwrap();
    assert_eq!(names(&alarms["alarms"]), [ALARM_LATENCY], "{alarms}");
    assert!(
        alarms["hint"]
            .as_str()
            .unwrap()
            .contains("case-sensitive prefix"),
        "{alarms}"
    );
    // A prefix that starts a name answers as before, without a hint.
    let exact = call(&h, json!({"action": "alarms", "prefix": "api-5xx"}))
        .await
        .unwrap();
    assert_eq!(names(&exact["alarms"]), [ALARM_5XX]);
    assert!(exact.get("hint").is_none(), "{exact}");
    let none = call(&h, json!({"action": "alarms", "prefix": "checkout"}))
        .await
        .unwrap();
    assert_eq!(none["count"], 0);
    assert!(
        none["hint"].as_str().unwrap().contains("or containing it"),
        "{none}"
    );

    let groups = call(&h, json!({"action": "log_groups", "prefix": "PROD-EU/APP"}))
        .await
        .unwrap();
    assert_eq!(
        names(&groups["log_groups"]),
        [APPLICATION_LOG_GROUP],
        "{groups}"
    );
    assert!(groups["hint"].is_string(), "{groups}");
    let none = call(&h, json!({"action": "log_groups", "prefix": "checkout"}))
        .await
        .unwrap();
    assert_eq!(none["count"], 0);
    assert!(
        none["hint"].as_str().unwrap().contains("groups searched"),
        "{none}"
    );

    // A query does not widen itself (Insights bills the bytes it scans): it names the groups.
    let e = call(
        &h,
        json!({"action": "logs_query", "log_group_prefix": "prod-eu/app", "query": "fields @message"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    assert!(e.message.contains(APPLICATION_LOG_GROUP), "{e}");
}

#[tokio::test]
async fn a_query_without_rows_says_why_it_may_have_found_none() {
    let s = stack().await;
    let h = s.handler().await;
    for (scanned, phrase) in [(5000, "case-sensitive"), (0, "hold no events")] {
        s.double
            .script_insights(json!({"statuses": ["Complete"], "results": [],
                "statistics": {"recordsMatched": 0, "recordsScanned": scanned, "bytesScanned": 0}}))
            .await
            .unwrap();
        let out = call(
            &h,
            json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP],
                   "query": "fields @message | filter @message like /ERROR/"}),
        )
        .await
        .unwrap();
        assert_eq!(out["row_count"], 0, "{out}");
        assert!(out["hint"].as_str().unwrap().contains(phrase), "{out}");
    }
}

#[tokio::test]
async fn a_logs_query_answers_rows_scrubbed_of_secrets() {
    let s = stack().await;
    let h = s.handler().await;
    let out = call(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP],
               "query": "fields @timestamp, @message | sort @timestamp desc | limit 200"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "Complete", "{out}");
    let rows = out["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        s.fixtures.events_in(APPLICATION_LOG_GROUP).len(),
        "{out}"
    );
    assert!(
        rows.iter()
            .all(|r| r.get("@ptr").is_none() && r["@message"].is_string())
    );
    let text = out.to_string();
    assert!(
        !text.contains(LOG_PASSWORD) && !text.contains(LOG_AWS_KEY),
        "{text}"
    );
    assert!(text.contains("[redacted]"));
    assert!(out["redactions"].as_u64().unwrap() >= 2, "{out}");
}

#[tokio::test]
async fn a_prefix_finds_the_log_groups_to_query() {
    let s = stack().await;
    let h = s.handler().await;
    let out = call(
        &h,
        json!({"action": "logs_query", "log_group_prefix": "/aws/containerinsights/prod-eu/",
               "query": "fields @message | limit 5"}),
    )
    .await
    .unwrap();
    let groups: Vec<&str> = out["log_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(groups.contains(&APPLICATION_LOG_GROUP), "{out}");
    assert!(
        groups
            .iter()
            .all(|g| g.starts_with("/aws/containerinsights/prod-eu/"))
    );
    let e = call(
        &h,
        json!({"action": "logs_query", "log_group_prefix": "/aws/nothing-here", "query": "fields @message"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    // A named group that does not exist: CloudWatch's own answer.
    let e = call(
        &h,
        json!({"action": "logs_query", "log_groups": ["/aws/missing"], "query": "fields @message"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND", "{e}");
}

#[tokio::test]
async fn a_query_still_running_at_the_deadline_is_stopped_and_answers_what_arrived() {
    let s = stack().await;
    let h = s.handler().await;
    let rows = json!([[{"field": "@timestamp", "value": "2026-11-30 10:00:00.000"},
                       {"field": "@message", "value": "panic: connection refused password=hunter2-canary"},
                       {"field": "@ptr", "value": "CmAKJwoj"}]]);
    s.double
        .script_insights(json!({"statuses": ["Running"], "results": rows,
                                "statistics": {"recordsMatched": 1, "recordsScanned": 5000, "bytesScanned": 1000000}}))
        .await
        .unwrap();
    let deadline = Deadline::after(Duration::from_secs(3));
    let out = integration_tests::handle_by(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP], "query": "fields @message"}),
        deadline,
    )
    .await
    .unwrap();
    assert!(
        deadline.remaining() > Duration::ZERO,
        "answered before the deadline"
    );
    assert_eq!(
        (out["status"].as_str(), out["truncated"].as_bool()),
        (Some("Timeout"), Some(true)),
        "{out}"
    );
    assert_eq!(out["rows"][0].get("@ptr"), None);
    assert!(!out.to_string().contains("hunter2-canary"));
    assert_eq!(out["records_scanned"], 5000);
    assert_eq!(
        s.double.stopped_queries().await.len(),
        1,
        "StopQuery was sent"
    );
    // Nothing arrived before the deadline: a timeout, and the query is stopped too.
    s.double
        .script_insights(json!({"statuses": ["Running"], "results": []}))
        .await
        .unwrap();
    let deadline = Deadline::after(Duration::from_secs(3));
    let e = integration_tests::handle_by(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP], "query": "fields @message"}),
        deadline,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.retryable),
        ("UPSTREAM_TIMEOUT", true),
        "{e}"
    );
    assert_eq!(s.double.stopped_queries().await.len(), 2);
}

#[tokio::test]
async fn a_query_that_completes_later_reports_its_statistics() {
    let s = stack().await;
    let h = s.handler().await;
    s.double
        .script_insights(json!({"statuses": ["Scheduled", "Running", "Complete"],
            "results": [[{"field": "@message", "value": "OOMKilled"}, {"field": "@ptr", "value": "x"}]],
            "statistics": {"recordsMatched": 1, "recordsScanned": 100, "bytesScanned": 4096}}))
        .await
        .unwrap();
    let out = call(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP], "query": "fields @message"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            out["status"].as_str(),
            out["truncated"].as_bool(),
            out["records_matched"].as_u64(),
            out["bytes_scanned"].as_u64()
        ),
        (Some("Complete"), Some(false), Some(1), Some(4096)),
        "{out}"
    );
    assert_eq!(out["rows"], json!([{"@message": "OOMKilled"}]));
    assert!(s.double.stopped_queries().await.is_empty());
}

#[tokio::test]
async fn a_malformed_query_is_invalid_input_in_cloudwatchs_words() {
    let s = stack().await;
    let h = s.handler().await;
    s.double
        .script_insights(json!({"error": "MalformedQueryException",
                                "message": "unexpected symbol found | at line 1 and position 8"}))
        .await
        .unwrap();
    let e = call(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP], "query": "fields | |"}),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.retryable), ("INVALID_INPUT", false));
    assert!(e.message.contains("unexpected symbol found"), "{e}");
}

#[tokio::test]
async fn log_groups_are_listed_with_retention_and_paged() {
    let s = stack().await;
    let h = s.handler().await;
    let all = call(&h, json!({"action": "log_groups", "prefix": "/aws/"}))
        .await
        .unwrap();
    let app = all["log_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == APPLICATION_LOG_GROUP)
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(app["retention_days"], 30);
    assert!(app["created"].as_str().unwrap().ends_with('Z'));
    let total = all["count"].as_u64().unwrap();
    assert!(total >= 3, "{all}");
    let first = call(
        &h,
        json!({"action": "log_groups", "prefix": "/aws/", "max_results": 2}),
    )
    .await
    .unwrap();
    assert_eq!(
        (first["count"].as_u64(), first["truncated"].as_bool()),
        (Some(2), Some(true))
    );
}

#[tokio::test]
async fn metrics_are_found_then_read_as_a_summary_and_downsampled_values() {
    let s = stack().await;
    let h = s.handler().await;
    let listed = call(
        &h,
        json!({"action": "list_metrics", "namespace": "ContainerInsights",
               "dimensions": {"PodName": "api"}}),
    )
    .await
    .unwrap();
    let metrics: Vec<&str> = listed["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric_name"].as_str().unwrap())
        .collect();
    assert!(
        metrics.contains(&"pod_cpu_utilization") && metrics.contains(&"pod_memory_utilization"),
        "{listed}"
    );
    let dimensions = listed["metrics"][0]["dimensions"].clone();
    // Names are exact: a near miss says so instead of an empty list alone.
    let missed = call(
        &h,
        json!({"action": "list_metrics", "namespace": "containerinsights"}),
    )
    .await
    .unwrap();
    assert_eq!(missed["count"], 0);
    assert!(missed["hint"].as_str().unwrap().contains("case-sensitive"));
    let data = call(
        &h,
        json!({"action": "metric_data", "namespace": "ContainerInsights",
               "metric_name": "pod_memory_utilization", "dimensions": dimensions,
               "stat": "Maximum", "start": "now-2h", "period": "1m", "max_points": 10}),
    )
    .await
    .unwrap();
    let expected = &s.fixtures.memory;
    let summary = &data["summary"];
    assert_eq!(
        summary["count"].as_u64(),
        Some(expected.len() as u64),
        "{data}"
    );
    let max = expected.iter().map(|p| p.value).fold(f64::MIN, f64::max);
    assert_eq!(summary["max"].as_f64(), Some(max), "{data}");
    assert!(data["values"].as_array().unwrap().len() <= 10);
    assert_eq!(data["truncated"], true);
    // The highest point survives downsampling.
    assert!(
        data["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v[1].as_f64() == Some(max)),
        "{data}"
    );
    // No data at all (here a misspelt metric): the answer says what to check. (moto answers
    // a metric asked without its dimensions with data; CloudWatch would not.)
    let none = call(
        &h,
        json!({"action": "metric_data", "namespace": "ContainerInsights",
               "metric_name": "pod_memory_utilisation", "dimensions": dimensions}),
    )
    .await
    .unwrap();
    assert_eq!(none["summary"]["count"], 0, "{none}");
    assert!(
        none["hint"]
            .as_str()
            .unwrap()
            .contains("exactly its dimensions")
    );
}

#[tokio::test]
async fn invalid_input_sends_no_request() {
    let s = stack().await;
    let h = s.handler().await;
    let before = s.double.requests().await.len();
    for (input, phrase) in [
        (
            json!({"action": "alarms", "state": "FIRING"}),
            "state must be ALARM",
        ),
        (
            json!({"action": "logs_query", "query": "q"}),
            "needs log_groups",
        ),
        (
            json!({"action": "logs_query", "query": "q", "log_group_prefix": "/aws", "start": "now-40d"}),
            "at most 31 days",
        ),
        (
            json!({"action": "metric_data", "namespace": "n", "metric_name": "m", "period": "45s"}),
            "multiple of 60 seconds",
        ),
        (
            json!({"action": "log_groups", "alarm_name": "x"}),
            "does not apply",
        ),
        (json!({"action": "alarm_history"}), "needs alarm_name"),
        (json!({"action": "nope"}), "action must be one of"),
    ] {
        let e = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(e.code.as_str(), "INVALID_INPUT", "{input}");
        assert!(e.message.contains(phrase), "{input}: {e}");
    }
    assert_eq!(
        s.double.requests().await.len(),
        before,
        "no request went out"
    );
}

#[tokio::test]
async fn an_access_denial_names_the_action_the_role_lacks() {
    let s = stack().await;
    let proxy = FaultProxy::start(s.double.url()).await.unwrap();
    proxy.answer(
        "POST",
        "/",
        400,
        Some("AccessDeniedException"),
        json!({"__type": "AccessDeniedException",
               "message": "User: arn:aws:sts::123456789012:assumed-role/cw/fn is not authorized to perform: logs:StartQuery"}),
    );
    let config = Moto::sdk_config_for(&proxy.url()).await;
    let h = CloudWatch::with_clients(
        aws_sdk_cloudwatchlogs::Client::new(&config),
        s.double.cloudwatch().await,
    );
    let e = call(
        &h,
        json!({"action": "logs_query", "log_groups": [APPLICATION_LOG_GROUP], "query": "fields @message"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "ACCESS_DENIED");
    assert!(
        e.message
            .contains("the function's role needs logs:StartQuery"),
        "{e}"
    );
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let s = stack().await;
    let env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), s.double.url().to_owned()),
        (
            "AWS_REGION".to_owned(),
            integration_tests::moto::REGION.to_owned(),
        ),
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            integration_tests::canary::AWS_SECRET_ACCESS_KEY.to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN".to_owned(),
            integration_tests::canary::AWS_SESSION_TOKEN.to_owned(),
        ),
    ];
    let f = LambdaFunction::start("cloudwatch", &env).await.unwrap();
    let samples = f.answer_every_sample_event("cloudwatch").await;
    let mut firing = names(&samples.direct["alarms"]);
    firing.sort_unstable();
    assert_eq!(firing, [ALARM_5XX, COMPOSITE_ALARM], "{}", samples.direct);
    assert_eq!(
        samples.apigw_rest["status"], "Complete",
        "{}",
        samples.apigw_rest
    );
    assert_eq!(
        samples.apigw_http["changes"][0]["to"], "ALARM",
        "{}",
        samples.apigw_http
    );
    // Maximum per period keeps the highest point whatever the period.
    let cpu_max = s
        .fixtures
        .cpu
        .iter()
        .map(|p| p.value)
        .fold(f64::MIN, f64::max);
    assert_eq!(
        samples.function_url["summary"]["max"].as_f64(),
        Some(cpu_max),
        "{}",
        samples.function_url
    );
    assert!(
        samples.agentcore["count"].as_u64().unwrap() >= 2,
        "{}",
        samples.agentcore
    );
}
