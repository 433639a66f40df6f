//! The CloudWatch double (`integration_tests::cloudwatch`) against the real SDK clients: proof
//! that it speaks the wire protocols the cloudwatch function will meet on AWS. CloudWatch in
//! Smithy RPCv2 CBOR (alarms metric and composite, history, metric data, typed errors), Logs in
//! awsJson1_1 (seeded log groups, scripted Insights queries, StopQuery), each test on its own
//! moto and double, both stopped by PID when the test ends, passing or not.

use aws_sdk_cloudwatch::{
    error::ProvideErrorMetadata,
    types::{
        AlarmType, Dimension, HistoryItemType, Metric, MetricDataQuery, MetricStat, ScanBy,
        StateValue,
    },
};
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use aws_smithy_types::DateTime;
use integration_tests::{
    cloudwatch::{
        ALARM_5XX, ALARM_LATENCY, APPLICATION_LOG_GROUP, CLUSTER_LOG_GROUP, COMPOSITE_ALARM,
        COMPOSITE_RULE, CPU_METRIC, CRASH_LINE, CloudWatchDouble, CloudWatchFixtures, LOG_AWS_KEY,
        LOG_PASSWORD, MEMORY_METRIC, METRIC_DIMENSIONS, METRIC_NAMESPACE, METRIC_POINTS,
        MetricPoint, OOM_REASON, PERFORMANCE_LOG_GROUP, RETENTION_DAYS, RETENTION_LOG_GROUP,
    },
    moto::Moto,
};
use serde_json::{Value, json};

/// moto, the double in front of it, seeded, and SDK clients on the double.
struct Stack {
    // Dropped last: the double first, then moto (fields drop in declaration order).
    double: CloudWatchDouble,
    _moto: Moto,
    fixtures: CloudWatchFixtures,
    cloudwatch: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

async fn stack() -> Stack {
    let moto = Moto::start().await.unwrap();
    let double = CloudWatchDouble::start(moto.endpoint()).await.unwrap();
    let fixtures = match double.seed().await {
        Ok(fixtures) => fixtures,
        Err(e) => panic!("seeding failed: {e}; double log:\n{}", double.logs()),
    };
    Stack {
        cloudwatch: double.cloudwatch().await,
        logs: double.logs_client().await,
        double,
        _moto: moto,
        fixtures,
    }
}

fn now_secs() -> i64 {
    DateTime::from(std::time::SystemTime::now()).secs()
}

#[tokio::test]
async fn describe_alarms_answers_metric_and_composite_alarms_in_cbor() {
    let s = stack().await;
    let both = s
        .cloudwatch
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    let metric: Vec<_> = both
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name().unwrap(), a.state_value().unwrap().clone()))
        .collect();
    assert_eq!(
        metric,
        [
            (ALARM_5XX, StateValue::Alarm),
            (ALARM_LATENCY, StateValue::Ok)
        ]
    );
    let five_xx = &both.metric_alarms()[0];
    // Doubles, integers, lists of structures and tag-1 timestamps all decoded by the SDK.
    assert_eq!(five_xx.threshold(), Some(50.0));
    assert_eq!(five_xx.evaluation_periods(), Some(3));
    assert_eq!(five_xx.metric_name(), Some("HTTPCode_Target_5XX_Count"));
    assert_eq!(five_xx.dimensions().len(), 2);
    assert_eq!(
        five_xx.state_reason(),
        Some(s.fixtures.alarm(ALARM_5XX).unwrap().reason.as_str())
    );
    let updated = five_xx.state_updated_timestamp().unwrap().secs();
    assert!((now_secs() - updated).abs() < 120, "updated at {updated}");
    let reason_data: Value = serde_json::from_str(five_xx.state_reason_data().unwrap()).unwrap();
    assert_eq!(
        reason_data["recentDatapoints"],
        json!([212.0, 198.0, 240.0])
    );

    assert_eq!(both.composite_alarms().len(), 1);
    let composite = &both.composite_alarms()[0];
    assert_eq!(composite.alarm_name(), Some(COMPOSITE_ALARM));
    assert_eq!(composite.alarm_rule(), Some(COMPOSITE_RULE));
    assert_eq!(composite.state_value(), Some(&StateValue::Alarm));
    assert!(composite.state_transitioned_timestamp().is_some());
    let triggering: Value = serde_json::from_str(composite.state_reason_data().unwrap()).unwrap();
    assert!(
        triggering["triggeringAlarms"][0]["arn"]
            .as_str()
            .unwrap()
            .ends_with(ALARM_5XX)
    );

    // As on AWS, no AlarmTypes means metric alarms only.
    let default = s.cloudwatch.describe_alarms().send().await.unwrap();
    assert_eq!(default.metric_alarms().len(), 2);
    assert!(default.composite_alarms().is_empty());

    // Filters combine; the composite's children follow its rule.
    let firing = s
        .cloudwatch
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .state_value(StateValue::Alarm)
        .alarm_name_prefix("api-")
        .send()
        .await
        .unwrap();
    assert_eq!(firing.metric_alarms().len(), 1);
    assert_eq!(firing.composite_alarms().len(), 1);
    let children = s
        .cloudwatch
        .describe_alarms()
        .children_of_alarm_name(COMPOSITE_ALARM)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = children
        .metric_alarms()
        .iter()
        .map(|a| a.alarm_name().unwrap())
        .collect();
    assert_eq!(names, [ALARM_5XX, ALARM_LATENCY]);

    // Paging by MaxRecords and NextToken.
    let first = s
        .cloudwatch
        .describe_alarms()
        .max_records(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.metric_alarms()[0].alarm_name(), Some(ALARM_5XX));
    let second = s
        .cloudwatch
        .describe_alarms()
        .max_records(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.metric_alarms()[0].alarm_name(), Some(ALARM_LATENCY));
    assert_eq!(second.next_token(), None);

    let requests = s.double.requests().await;
    assert_eq!(
        requests.iter().filter(|r| *r == "DescribeAlarms").count(),
        6,
        "{requests:?}"
    );
}

#[tokio::test]
async fn set_alarm_state_is_written_to_the_alarm_history() {
    let s = stack().await;
    let summaries = |items: &[aws_sdk_cloudwatch::types::AlarmHistoryItem]| {
        items
            .iter()
            .map(|i| i.history_summary().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let seeded = s
        .cloudwatch
        .describe_alarm_history()
        .alarm_name(ALARM_5XX)
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summaries(seeded.alarm_history_items()),
        [
            "Alarm updated from OK to ALARM",
            "Alarm updated from INSUFFICIENT_DATA to OK"
        ]
    );
    let latest = &seeded.alarm_history_items()[0];
    assert_eq!(latest.alarm_type(), Some(&AlarmType::MetricAlarm));
    assert_eq!(
        latest.history_item_type(),
        Some(&HistoryItemType::StateUpdate)
    );
    let data: Value = serde_json::from_str(latest.history_data().unwrap()).unwrap();
    assert_eq!(data["version"], "1.0");
    assert_eq!(data["oldState"]["stateValue"], "OK");
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    assert_eq!(
        data["newState"]["stateReason"],
        s.fixtures.alarm(ALARM_5XX).unwrap().reason
    );
    assert_eq!(data["newState"]["stateReasonData"]["threshold"], 50.0);
    let first = &seeded.alarm_history_items()[1];
    let data: Value = serde_json::from_str(first.history_data().unwrap()).unwrap();
    assert_eq!(
        data["oldState"]["stateReason"],
        "Unchecked: Initial alarm creation"
    );
    assert!(latest.timestamp().unwrap() >= first.timestamp().unwrap());

    s.cloudwatch
        .set_alarm_state()
        .alarm_name(ALARM_5XX)
        .state_value(StateValue::Ok)
        .state_reason("5xx back under the threshold after the rollback")
        .send()
        .await
        .unwrap();
    let after = s
        .cloudwatch
        .describe_alarm_history()
        .alarm_name(ALARM_5XX)
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summaries(after.alarm_history_items())[0],
        "Alarm updated from ALARM to OK"
    );

    // Oldest first, and paged one by one.
    let mut token = None;
    let mut walked = Vec::new();
    loop {
        let page = s
            .cloudwatch
            .describe_alarm_history()
            .alarm_name(ALARM_5XX)
            .history_item_type(HistoryItemType::StateUpdate)
            .scan_by(ScanBy::TimestampAscending)
            .max_records(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.alarm_history_items().len() <= 1);
        walked.extend(summaries(page.alarm_history_items()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        walked,
        [
            "Alarm updated from INSUFFICIENT_DATA to OK",
            "Alarm updated from OK to ALARM",
            "Alarm updated from ALARM to OK"
        ]
    );

    // The creation is a ConfigurationUpdate; composite alarms only when asked for.
    let created = s
        .cloudwatch
        .describe_alarm_history()
        .alarm_name(ALARM_LATENCY)
        .history_item_type(HistoryItemType::ConfigurationUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summaries(created.alarm_history_items()),
        [format!("Alarm \"{ALARM_LATENCY}\" created")]
    );
    let metric_only = s
        .cloudwatch
        .describe_alarm_history()
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert!(
        metric_only
            .alarm_history_items()
            .iter()
            .all(|i| i.alarm_type() == Some(&AlarmType::MetricAlarm))
    );
    assert_eq!(metric_only.alarm_history_items().len(), 4);
    let composite = s
        .cloudwatch
        .describe_alarm_history()
        .alarm_types(AlarmType::CompositeAlarm)
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summaries(composite.alarm_history_items()),
        ["Alarm updated from INSUFFICIENT_DATA to ALARM"]
    );
    assert_eq!(
        composite.alarm_history_items()[0].alarm_name(),
        Some(COMPOSITE_ALARM)
    );

    // A window after every change holds nothing.
    let later = s
        .cloudwatch
        .describe_alarm_history()
        .start_date(DateTime::from_secs(now_secs() + 60))
        .send()
        .await
        .unwrap();
    assert!(later.alarm_history_items().is_empty());
}

async fn series(s: &Stack, metric: &str) -> Vec<MetricPoint> {
    let (first, last) = s.fixtures.metric_window();
    let dimensions: Vec<Dimension> = METRIC_DIMENSIONS
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect();
    let answer = s
        .cloudwatch
        .get_metric_data()
        .start_time(DateTime::from_secs(first - 60))
        .end_time(DateTime::from_secs(last + 60))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(METRIC_NAMESPACE)
                                .metric_name(metric)
                                .set_dimensions(Some(dimensions))
                                .build(),
                        )
                        .period(60)
                        .stat("Average")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let result = &answer.metric_data_results()[0];
    let mut points: Vec<MetricPoint> = result
        .timestamps()
        .iter()
        .zip(result.values())
        .map(|(t, v)| MetricPoint {
            timestamp: t.secs(),
            value: *v,
        })
        .collect();
    points.sort_by_key(|p| p.timestamp);
    points
}

#[tokio::test]
async fn get_metric_data_returns_the_seeded_points() {
    let s = stack().await;
    let cpu = series(&s, CPU_METRIC).await;
    assert_eq!(cpu.len(), METRIC_POINTS);
    assert_eq!(cpu, s.fixtures.cpu);
    let memory = series(&s, MEMORY_METRIC).await;
    assert_eq!(memory, s.fixtures.memory);
    assert!(memory.iter().any(|p| p.value >= 99.0));

    let listed = s
        .cloudwatch
        .list_metrics()
        .namespace(METRIC_NAMESPACE)
        .send()
        .await
        .unwrap();
    let mut names: Vec<_> = listed
        .metrics()
        .iter()
        .map(|m| m.metric_name().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [CPU_METRIC, MEMORY_METRIC]);
    // The 120 points went in one PutMetricData, large enough for the SDK to gzip it.
    assert_eq!(
        s.double
            .requests()
            .await
            .iter()
            .filter(|r| *r == "PutMetricData")
            .count(),
        1
    );
}

#[tokio::test]
async fn errors_arrive_as_the_sdks_typed_errors() {
    let s = stack().await;
    let missing = s
        .cloudwatch
        .set_alarm_state()
        .alarm_name("no-such-alarm")
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found(), "{missing:?}");
    assert_eq!(missing.code(), Some("ResourceNotFound"));

    let bad_data = s
        .cloudwatch
        .set_alarm_state()
        .alarm_name(ALARM_5XX)
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .state_reason_data("{not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad_data.is_invalid_format_fault(), "{bad_data:?}");

    let bad_token = s
        .cloudwatch
        .describe_alarm_history()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad_token.is_invalid_next_token(), "{bad_token:?}");

    let out_of_range = s
        .cloudwatch
        .describe_alarm_history()
        .max_records(0)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(out_of_range.code(), Some("ValidationError"));
    assert!(
        out_of_range.message().unwrap().contains("maxRecords"),
        "{out_of_range:?}"
    );

    let both = s
        .cloudwatch
        .describe_alarms()
        .alarm_names(ALARM_5XX)
        .alarm_name_prefix("api-")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(both.code(), Some("InvalidParameterCombination"));

    // A failed SetAlarmState changed nothing.
    let history = s
        .cloudwatch
        .describe_alarm_history()
        .alarm_name(ALARM_5XX)
        .history_item_type(HistoryItemType::StateUpdate)
        .send()
        .await
        .unwrap();
    assert_eq!(history.alarm_history_items().len(), 2);
}

#[tokio::test]
async fn seeded_logs_are_served_from_moto_through_the_double() {
    let s = stack().await;
    let groups = s
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/")
        .send()
        .await
        .unwrap();
    let retention: Vec<_> = groups
        .log_groups()
        .iter()
        .map(|g| (g.log_group_name().unwrap(), g.retention_in_days()))
        .collect();
    assert_eq!(
        retention,
        [
            (APPLICATION_LOG_GROUP, Some(RETENTION_DAYS)),
            (PERFORMANCE_LOG_GROUP, None),
            (CLUSTER_LOG_GROUP, None),
        ]
    );
    assert_eq!(RETENTION_LOG_GROUP, APPLICATION_LOG_GROUP);

    let hour_ago = s.fixtures.seeded_at_ms - 3_600_000;
    for group in [
        APPLICATION_LOG_GROUP,
        PERFORMANCE_LOG_GROUP,
        CLUSTER_LOG_GROUP,
    ] {
        let answer = s
            .logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(hour_ago)
            .end_time(s.fixtures.seeded_at_ms)
            .send()
            .await
            .unwrap();
        // moto answers stream by stream, each in time order; compare by time.
        let mut got: Vec<_> = answer
            .events()
            .iter()
            .map(|e| (e.timestamp().unwrap(), e.message().unwrap()))
            .collect();
        got.sort();
        let mut want: Vec<_> = s
            .fixtures
            .events_in(group)
            .iter()
            .map(|e| (e.timestamp_ms, e.message.as_str()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{group}");
        assert!(got.iter().all(|(t, _)| *t >= hour_ago));
    }
    let app = s.fixtures.events_in(APPLICATION_LOG_GROUP);
    for needle in [CRASH_LINE, LOG_PASSWORD, LOG_AWS_KEY, "connection refused"] {
        assert!(app.iter().any(|e| e.message.contains(needle)), "{needle}");
    }
    for group in [PERFORMANCE_LOG_GROUP, CLUSTER_LOG_GROUP] {
        assert!(
            s.fixtures
                .events_in(group)
                .iter()
                .any(|e| e.message.contains(OOM_REASON)),
            "{group}"
        );
    }
}

#[tokio::test]
async fn scripted_insights_query_runs_then_completes() {
    let s = stack().await;
    let rows = json!([
        [
            {"field": "@timestamp", "value": "2026-01-01 10:00:00.000"},
            {"field": "@message", "value": CRASH_LINE},
            {"field": "@ptr", "value": "CmAKJwojMTIzNDU2Nzg5MDEyOi9hd3MvY29udGFpbmVyaW5zaWdodHMQBRI1"}
        ]
    ]);
    s.double
        .script_insights(json!({
            "statuses": ["Running", "Running", "Complete"],
            "results": rows,
            "statistics": {"recordsMatched": 3, "recordsScanned": 100, "bytesScanned": 4096}
        }))
        .await
        .unwrap();
    let started = s
        .logs
        .start_query()
        .log_group_name(APPLICATION_LOG_GROUP)
        .start_time(s.fixtures.seeded_at_ms / 1000 - 3600)
        .end_time(s.fixtures.seeded_at_ms / 1000)
        .query_string("fields @timestamp, @message | filter @message like /panic/")
        .send()
        .await
        .unwrap();
    let id = started.query_id().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let answer = s
            .logs
            .get_query_results()
            .query_id(id)
            .send()
            .await
            .unwrap();
        // Partial rows while Running, as Insights returns them.
        assert_eq!(answer.results().len(), 1);
        let row = &answer.results()[0];
        assert_eq!(row[1].field(), Some("@message"));
        assert_eq!(row[1].value(), Some(CRASH_LINE));
        let stats = answer.statistics().unwrap();
        assert_eq!(stats.records_matched(), 3.0);
        assert_eq!(stats.bytes_scanned(), 4096.0);
        statuses.push(answer.status().unwrap().clone());
    }
    assert_eq!(
        statuses,
        [
            QueryStatus::Running,
            QueryStatus::Running,
            QueryStatus::Complete,
            QueryStatus::Complete
        ]
    );
    let requests = s.double.requests().await;
    let tail: Vec<_> = requests.iter().rev().take(5).rev().collect();
    assert_eq!(
        tail,
        [
            "StartQuery",
            "GetQueryResults",
            "GetQueryResults",
            "GetQueryResults",
            "GetQueryResults"
        ]
    );
}

#[tokio::test]
async fn malformed_insights_query_is_the_typed_error() {
    let s = stack().await;
    s.double
        .script_insights(json!({
            "error": "MalformedQueryException",
            "message": "unexpected symbol found | at line 1 and position 8",
            "queryCompileError": {
                "location": {"startCharOffset": 7, "endCharOffset": 8},
                "message": "unexpected symbol found |"
            }
        }))
        .await
        .unwrap();
    let refused = s
        .logs
        .start_query()
        .log_group_name(APPLICATION_LOG_GROUP)
        .start_time(s.fixtures.seeded_at_ms / 1000 - 3600)
        .end_time(s.fixtures.seeded_at_ms / 1000)
        .query_string("fields || nonsense")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(refused.is_malformed_query_exception(), "{refused:?}");
    assert!(refused.message().unwrap().contains("unexpected symbol"));
    let aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError::MalformedQueryException(
        malformed,
    ) = refused
    else {
        unreachable!()
    };
    let location = malformed.query_compile_error().unwrap().location().unwrap();
    assert_eq!(location.start_char_offset(), Some(7));

    // The script is spent: the next query goes to moto, which completes it at once.
    let started = s
        .logs
        .start_query()
        .log_group_name(APPLICATION_LOG_GROUP)
        .start_time(s.fixtures.seeded_at_ms / 1000 - 3600)
        .end_time(s.fixtures.seeded_at_ms / 1000 + 60)
        .query_string("fields @message")
        .send()
        .await
        .unwrap();
    let answer = s
        .logs
        .get_query_results()
        .query_id(started.query_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), Some(&QueryStatus::Complete));

    // A bad script is refused before it is queued.
    assert!(
        s.double
            .script_insights(json!({"statuses": ["Sleeping"]}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn stop_query_is_recorded() {
    let s = stack().await;
    s.double
        .script_insights(json!({"statuses": ["Running"], "results": []}))
        .await
        .unwrap();
    let started = s
        .logs
        .start_query()
        .log_group_names(APPLICATION_LOG_GROUP)
        .log_group_names(PERFORMANCE_LOG_GROUP)
        .start_time(s.fixtures.seeded_at_ms / 1000 - 3600)
        .end_time(s.fixtures.seeded_at_ms / 1000)
        .query_string("stats count(*) by bin(5m)")
        .send()
        .await
        .unwrap();
    let id = started.query_id().unwrap().to_owned();
    let running = s
        .logs
        .get_query_results()
        .query_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(running.status(), Some(&QueryStatus::Running));
    let stopped = s.logs.stop_query().query_id(&id).send().await.unwrap();
    assert!(stopped.success());
    assert_eq!(s.double.stopped_queries().await, std::slice::from_ref(&id));
    let cancelled = s
        .logs
        .get_query_results()
        .query_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), Some(&QueryStatus::Cancelled));
    // Stopping an ended query stops nothing.
    let again = s.logs.stop_query().query_id(&id).send().await.unwrap();
    assert!(!again.success());
    assert_eq!(s.double.stopped_queries().await, [id.clone(), id]);
}
