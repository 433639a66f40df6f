//! Property-based fuzzing on stable Rust (proptest): hostile input for every parser and
//! validator the functions run on data they do not control. The property everywhere is the
//! contract's: never a panic, always a result or an envelope with the right code; where a
//! stronger property holds (a valid Bedrock history, a lossless JSON round trip, bounded
//! search hits), it is checked too.
//!
//! CI runs proptest's default 256 cases per target; `scripts/fuzz.sh` runs 10^6 per target
//! in an optimised build (`PROPTEST_CASES=1000000`).

use std::{collections::HashMap, sync::OnceLock, time::Duration};

use agent::{
    bedrock::{from_sdk, to_document, to_json},
    conversation::{
        Block, Message, Role, drop_oldest_turn, push_prompt, shrink_oldest_tool_result,
        window_start,
    },
    openai::{Chunks, classify as classify_openai, from_reply},
};
use common::{AppConfig, Deadline, ErrorCode, Handler, Invocation, ToolError};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Strings a caller or an upstream might send: arbitrary Unicode, and near-misses of the
/// syntaxes the functions parse (durations, times, numbers, PromQL, HTML, JSON fragments).
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "now(-[0-9]{0,22}(ms|s|m|h|d|w|y)?){0,3}",
        "[0-9]{0,25}(\\.[0-9]{0,12})?([eE][+-]?[0-9]{1,4})?",
        "([0-9]{1,20}(ms|s|m|h|d|w|y)){1,4}",
        "-?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        "(NaN|[+-]?Inf|-?1e[0-9]{3}|9{30})",
        "ws-[0-9a-zA-Z-]{0,70}",
        "[a-z_:]{1,20}(\\{[a-z]{1,5}=~?\"[^\"]{0,10}\"\\})?(\\[[0-9]{1,3}[smh]\\])?",
        "<[a-z]{1,6}( class=\"[a-z_]{0,20}\")?>[^<]{0,20}(</[a-z]{1,6}>)?",
        Just(String::new()),
        (1usize..3).prop_map(|n| "x".repeat(n * 6_000)),
    ]
    .boxed()
}

/// Any JSON value, nested a few levels.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A plausible value for `field`: near the valid range and syntax, often just outside it.
fn plausible(field: &str) -> BoxedStrategy<Value> {
    let string = |pattern: &'static str| pattern.prop_map(Value::String).boxed();
    match field {
        "query" | "keywords" => prop_oneof![
            string("[a-z_]{1,12}(\\{[a-z]{1,5}=~?\"[a-z.|]{0,8}\"\\})?"),
            string("(sum|rate|max)\\([a-z_]{1,10}(\\[[0-9]{1,2}[smh]\\])?\\)"),
            string("[a-z ]{1,40}"),
        ]
        .boxed(),
        "time" | "start" | "end" => prop_oneof![
            string("now(-[0-9]{1,3}[smhd])?"),
            string("2026-01-01T0[0-9]:[0-5][0-9]:00Z"),
            (1_600_000_000u64..1_900_000_000).prop_map(Value::from).boxed(),
            (1_600_000_000u64..1_900_000_000).prop_map(|s| Value::String(s.to_string())).boxed(),
        ]
        .boxed(),
        "log_group_prefix" => string("/aws/[a-z/]{0,20}"),
        "event_source" => prop::sample::select(vec!["eks.amazonaws.com", "iam.amazonaws.com", "eks", "EKS.amazonaws.com"]).prop_map(Value::from).boxed(),
        "include_read_only" => any::<bool>().prop_map(Value::from).boxed(),
        "stat" => prop::sample::select(vec!["Average", "p99", "p99.9", "sum", "p101", "mean"]).prop_map(Value::from).boxed(),
        "step" | "timeout" | "period" => prop_oneof![
            string("[0-9]{1,3}(ms|s|m|h)"),
            (0u64..100).prop_map(Value::from).boxed(),
        ]
        .boxed(),
        "workspace_id" => string("ws-[a-z0-9-]{1,12}"),
        "max_series" | "max_points" | "max_results" | "limit" => {
            prop_oneof![3 => (1u32..100).prop_map(Value::from), 1 => (0u32..1_200).prop_map(Value::from)].boxed()
        }
        // `name=a|b|c`: one of the given values (a tool's actions), or a near miss.
        _ if field.contains('=') => {
            let options: Vec<String> = field
                .split_once('=')
                .map(|(_, v)| v.split('|').map(str::to_owned).collect())
                .unwrap_or_default();
            prop_oneof![
                5 => prop::sample::select(options).prop_map(Value::String),
                1 => string("[a-z_]{1,16}"),
            ]
            .boxed()
        }
        "match" | "label" | "match[]" => prop_oneof![
            string("[a-z_]{1,12}"),
            string("\\{[a-z]{1,5}=\"[a-z]{0,5}\"\\}"),
            string("[a-z]{1,5}(=|!=|=~|!~)\"[a-z.*|(]{0,8}\"(,[a-z]{1,5}=\"[a-z]{0,4}\")?"),
        ]
        .boxed(),
        "state" => prop::sample::select(vec!["firing", "pending", "any", "active", "expired", "on"]).prop_map(Value::from).boxed(),
        "namespace" | "pod" | "container" => string("[a-z0-9][a-z0-9.-]{0,14}"),
        "key" => prop_oneof![
            string("runbooks/[a-z0-9-]{1,20}\\.(md|MD|txt)"),
            string("[a-z./-]{0,24}(\\.md)?"),
        ]
        .boxed(),
        "label_selector" => string("[a-z]{1,5}(=|!=|==| in )[a-z(),]{0,8}"),
        "since" => string("[0-9]{1,3}[smhd]"),
        "previous" => any::<bool>().prop_map(Value::from).boxed(),
        "tail_lines" | "limit_bytes" => prop_oneof![(0u32..2_000).prop_map(Value::from), (0u32..2_000_000).prop_map(Value::from)].boxed(),
        "cluster_name" | "nodegroup_name" => string("[a-zA-Z][a-zA-Z0-9_-]{0,30}"),
        "region" => prop::sample::select(vec!["us-en", "de-de", "wt-wt", "xx"]).prop_map(Value::from).boxed(),
        "safesearch" => prop::sample::select(vec!["strict", "moderate", "off", "on"]).prop_map(Value::from).boxed(),
        "timelimit" => prop::sample::select(vec!["d", "w", "m", "y", "h"]).prop_map(Value::from).boxed(),
        "prompt" => string("[a-zA-Z ?]{0,60}"),
        "session_id" => string("[A-Za-z0-9._:-]{1,24}"),
        _ => text().prop_map(Value::String).boxed(),
    }
}

/// A JSON object with a tool's own fields, each present about half the time with a
/// plausible value or, less often, anything at all; now and then an unknown field.
fn input_for(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let members: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .iter()
        .map(|field| {
            let value = prop_oneof![6 => plausible(field), 1 => json_value()];
            let key = field.split('=').next().unwrap_or(field).to_owned();
            proptest::option::weighted(0.6, value.prop_map(move |v| (key.clone(), v))).boxed()
        })
        .collect();
    let extra = proptest::option::weighted(0.05, (text(), json_value()));
    (members, extra).prop_map(|(members, extra)| {
        let mut object: Map<String, Value> = members.into_iter().flatten().collect();
        if let Some((k, v)) = extra {
            object.insert(k, v);
        }
        Value::Object(object)
    })
}

/// A Lambda event in any of the entry shapes, carrying `arguments` (or noise) as a JSON
/// body, a base64 body, raw bytes or a query string.
fn event() -> impl Strategy<Value = Value> {
    let body = prop_oneof![
        json_value().prop_map(|v| (v.to_string(), false)),
        any::<Vec<u8>>().prop_map(|b| (String::from_utf8_lossy(&b).into_owned(), false)),
        any::<Vec<u8>>().prop_map(|b| (aws_smithy_types::base64::encode(&b), true)),
        text().prop_map(|t| (t, true)),
        json_value().prop_map(|v| (aws_smithy_types::base64::encode(v.to_string()), true)),
    ];
    let query = prop::collection::vec((text(), text()), 0..5);
    prop_oneof![
        json_value(),
        (body.clone(), query, any::<bool>()).prop_map(|((body, b64), query, post)| {
            json!({
                "resource": "/tools/x", "path": "/tools/x",
                "httpMethod": if post { "POST" } else { "GET" },
                "requestContext": {"requestId": "r", "stage": "prod"},
                "queryStringParameters": query.iter().cloned().collect::<HashMap<_, _>>(),
                "body": body, "isBase64Encoded": b64,
            })
        }),
        (body, text(), any::<bool>(), any::<bool>()).prop_map(|((body, b64), raw_query, post, url)| {
            json!({
                "version": "2.0",
                "routeKey": if url { "$default" } else { "POST /tools/x" },
                "rawPath": "/tools/x", "rawQueryString": raw_query,
                "requestContext": {
                    "domainName": if url { "abc.lambda-url.eu-west-1.on.aws" } else { "api.example.com" },
                    "http": {"method": if post { "POST" } else { "GET" }, "path": "/tools/x"},
                    "requestId": "r",
                },
                "body": body, "isBase64Encoded": b64,
            })
        }),
        (json_value(), json_value()).prop_map(|(a, b)| json!({"requestContext": a, "body": b})),
    ]
}

// ---------------------------------------------------------------------------------------
// The event adapter and every tool's input
// ---------------------------------------------------------------------------------------

const QUERY_FIELDS: &[&str] = &["query", "time", "workspace_id", "timeout", "max_series"];
const RANGE_FIELDS: &[&str] = &[
    "query",
    "start",
    "end",
    "step",
    "workspace_id",
    "timeout",
    "max_series",
    "max_points",
];
const METADATA_FIELDS: &[&str] = &[
    "action=list_metrics|label_values|server_info",
    "match",
    "label",
    "match[]",
    "limit",
    "workspace_id",
];
const SEARCH_FIELDS: &[&str] = &[
    "query",
    "keywords",
    "max_results",
    "region",
    "safesearch",
    "timelimit",
];
const EKS_FIELDS: &[&str] = &[
    "action=list_clusters|describe_cluster|list_nodegroups|describe_nodegroup|list_addons|list_fargate_profiles|cluster_health",
    "cluster_name",
    "nodegroup_name",
    "max_results",
];
const AGENT_FIELDS: &[&str] = &["prompt", "session_id"];
const RUNBOOKS_FIELDS: &[&str] = &["action=list|search|get", "query", "key", "max_results"];
const CLOUDTRAIL_FIELDS: &[&str] = &[
    "action=changes",
    "start",
    "end",
    "resource_name",
    "event_source",
    "username",
    "include_read_only",
    "max_results",
];
const CLOUDWATCH_LOGS_FIELDS: &[&str] = &[
    "action=logs_query|log_groups",
    "query",
    "log_group_prefix",
    "start",
    "end",
    "limit",
];
const CLOUDWATCH_ALARMS_FIELDS: &[&str] = &[
    "action=alarms|alarm_history",
    "state",
    "prefix",
    "alarm_name",
    "max_results",
];
const CLOUDWATCH_METRICS_FIELDS: &[&str] = &[
    "action=metric_data|list_metrics",
    "namespace",
    "metric_name",
    "stat",
    "period",
    "start",
    "end",
    "max_points",
];
const ALERTS_FIELDS: &[&str] = &[
    "action=alerts|rules|alertmanager_alerts|silences",
    "state",
    "match",
    "max_results",
    "workspace_id",
];
/// k8s-info refuses a field its action does not take, so its fields are fuzzed in two sets
/// that mostly fit together: the lists, and the logs.
const K8S_LIST_FIELDS: &[&str] = &[
    "action=list_pods|events|list_workloads|workload_health",
    "cluster_name",
    "namespace",
    "max_results",
    "label_selector",
];
const K8S_LOGS_FIELDS: &[&str] = &[
    "action=pod_logs",
    "cluster_name",
    "namespace",
    "pod",
    "container",
    "previous",
    "tail_lines",
    "since",
    "match",
    "limit_bytes",
];

/// The only codes decoding an event may produce.
fn is_decode_code(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::InvalidInput | ErrorCode::PayloadTooLarge)
}

/// A handler that only decodes: what the pipeline answers for it is the decoding's verdict.
struct Decodes<I>(std::marker::PhantomData<fn() -> I>);

impl<I: serde::de::DeserializeOwned + Send> Handler for Decodes<I> {
    const NAME: &'static str = "decodes";
    type Input = I;
    type Output = ();

    async fn handle(&self, _: I, _: &Invocation) -> Result<(), ToolError> {
        Ok(())
    }
}

/// Runs `event` through the functions' one pipeline, `common::event::dispatch`, with a handler
/// that only decodes: its input or the envelope it was refused with.
fn decoded<I: serde::de::DeserializeOwned + Send>(event: &Value) -> Result<(), ToolError> {
    let mut context = lambda_runtime::Context::default();
    context.request_id = "fuzz".to_owned();
    context.deadline = (common::time::now_ms() + 60_000) as u64;
    let handler = Decodes::<I>(std::marker::PhantomData);
    let answer =
        handlers()
            .runtime
            .block_on(common::event::dispatch(&handler, event.clone(), &context));
    let answer: Value = serde_json::from_str(answer.get()).expect("the answer is JSON");
    // An HTTP shape wraps the same object in a response whose body is its text.
    let object = match answer.get("body").and_then(Value::as_str) {
        Some(body) if answer.get("statusCode").is_some() => {
            serde_json::from_str(body).expect("the body is JSON")
        }
        _ => answer,
    };
    let Some(error) = object.get("error") else {
        return Ok(());
    };
    let code: ErrorCode = match error["code"].as_str() {
        Some("INVALID_INPUT") => ErrorCode::InvalidInput,
        Some("PAYLOAD_TOO_LARGE") => ErrorCode::PayloadTooLarge,
        other => panic!("decoding answered {other:?}: {error}"),
    };
    Err(ToolError::new(
        code,
        error["message"].as_str().unwrap_or_default().to_owned(),
    ))
}

proptest! {
    #[test]
    fn any_event_decodes_to_an_input_or_an_invalid_input_envelope(event in event()) {
        for result in [
            decoded::<prometheus_query::QueryInput>(&event),
            decoded::<prometheus_range_query::RangeInput>(&event),
            decoded::<prometheus_metadata::MetadataInput>(&event),
            decoded::<web_search::SearchInput>(&event),
            decoded::<eks_info::EksInput>(&event),
            decoded::<prometheus_alerts::AlertsInput>(&event),
            decoded::<k8s_info::K8sInput>(&event),
            decoded::<cloudwatch::input::CloudWatchInput>(&event),
            decoded::<cloudtrail::CloudTrailInput>(&event),
            decoded::<runbooks::RunbooksInput>(&event),
            decoded::<agent::AgentInput>(&event),
        ] {
            if let Err(e) = result {
                prop_assert!(is_decode_code(e.code), "{e}");
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}

/// The handlers, each configured for an upstream that is never reached: the invocation has
/// no time left, so a valid input ends at the first upstream call's deadline check.
struct Handlers {
    runtime: tokio::runtime::Runtime,
    query: prometheus_query::PrometheusQuery,
    range: prometheus_range_query::PrometheusRangeQuery,
    metadata: prometheus_metadata::PrometheusMetadata,
    search: web_search::WebSearch,
    eks: eks_info::EksInfo,
    alerts: prometheus_alerts::PrometheusAlerts,
    k8s: k8s_info::K8sInfo,
    cloudwatch: cloudwatch::CloudWatch,
    cloudtrail: cloudtrail::CloudTrail,
    runbooks: runbooks::Runbooks,
    agent: agent::Agent<agent::bedrock::Bedrock, agent::invoker::LambdaInvoker>,
}

fn handlers() -> &'static Handlers {
    static HANDLERS: OnceLock<Handlers> = OnceLock::new();
    HANDLERS.get_or_init(|| {
        let config = || {
            AppConfig::fixed(HashMap::from([
                ("prometheus/url".to_owned(), "http://127.0.0.1:9".to_owned()),
                ("websearch/url".to_owned(), "http://127.0.0.1:9".to_owned()),
                ("runbooks/bucket".to_owned(), "team-runbooks".to_owned()),
                (
                    "alertmanager/url".to_owned(),
                    "http://127.0.0.1:9".to_owned(),
                ),
                (
                    "model/id".to_owned(),
                    "anthropic.claude-3-5-sonnet-20241022-v2:0".to_owned(),
                ),
            ]))
        };
        let http = common::http::client("fuzz").unwrap();
        let api = || common::prometheus::PrometheusApi::new(http.clone());
        Handlers {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            query: prometheus_query::PrometheusQuery {
                prometheus: common::prometheus::PrometheusTool {
                    api: api(),
                    config: config(),
                },
            },
            range: prometheus_range_query::PrometheusRangeQuery {
                prometheus: common::prometheus::PrometheusTool {
                    api: api(),
                    config: config(),
                },
            },
            metadata: prometheus_metadata::PrometheusMetadata {
                prometheus: common::prometheus::PrometheusTool {
                    api: api(),
                    config: config(),
                },
            },
            search: web_search::WebSearch {
                http: http.clone(),
                config: config(),
            },
            // A client for a region and an endpoint nothing listens on: never reached.
            eks: eks_info::EksInfo::with_client(aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::Config::builder()
                    .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
                    .region(aws_sdk_eks::config::Region::new("eu-west-1"))
                    .endpoint_url("http://127.0.0.1:9")
                    .credentials_provider(aws_sdk_eks::config::Credentials::new(
                        "a", "b", None, None, "fuzz",
                    ))
                    .http_client(common::aws::http_client())
                    .build(),
            )),
            alerts: prometheus_alerts::PrometheusAlerts {
                prometheus: common::prometheus::PrometheusTool {
                    api: api(),
                    config: config(),
                },
            },
            cloudwatch: {
                let sdk = || {
                    aws_config::SdkConfig::builder()
                        .behavior_version(aws_config::BehaviorVersion::latest())
                        .region(aws_config::Region::new("eu-west-1"))
                        .endpoint_url("http://127.0.0.1:9")
                        .credentials_provider(
                            aws_credential_types::provider::SharedCredentialsProvider::new(
                                aws_credential_types::Credentials::new(
                                    "a", "b", None, None, "fuzz",
                                ),
                            ),
                        )
                        .http_client(common::aws::http_client())
                        .build()
                };
                cloudwatch::CloudWatch::with_clients(
                    aws_sdk_cloudwatchlogs::Client::new(&sdk()),
                    aws_sdk_cloudwatch::Client::new(&sdk()),
                )
            },
            cloudtrail: cloudtrail::CloudTrail::with_client(&aws_sdk_cloudtrail::Client::new(
                &aws_config::SdkConfig::builder()
                    .behavior_version(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new("eu-west-1"))
                    .endpoint_url("http://127.0.0.1:9")
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(
                            aws_credential_types::Credentials::new("a", "b", None, None, "fuzz"),
                        ),
                    )
                    .http_client(common::aws::http_client())
                    .build(),
            )),
            runbooks: runbooks::Runbooks::with_s3(
                runbooks::s3::S3::new(
                    http.clone(),
                    common::sigv4::RequestSigner::new(
                        aws_credential_types::provider::SharedCredentialsProvider::new(
                            aws_credential_types::Credentials::new("a", "b", None, None, "fuzz"),
                        ),
                        "eu-west-1",
                        "s3",
                    ),
                    Some("http://127.0.0.1:9".to_owned()),
                ),
                config(),
            ),
            k8s: k8s_info::K8sInfo {
                clusters: k8s_info::Clusters::with_clients(
                    aws_sdk_eks::Client::from_conf(
                        aws_sdk_eks::Config::builder()
                            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
                            .region(aws_sdk_eks::config::Region::new("eu-west-1"))
                            .endpoint_url("http://127.0.0.1:9")
                            .credentials_provider(aws_sdk_eks::config::Credentials::new(
                                "a", "b", None, None, "fuzz",
                            ))
                            .http_client(common::aws::http_client())
                            .build(),
                    ),
                    common::sigv4::RequestSigner::new(
                        aws_credential_types::provider::SharedCredentialsProvider::new(
                            aws_credential_types::Credentials::new("a", "b", None, None, "fuzz"),
                        ),
                        "eu-west-1",
                        "sts",
                    ),
                ),
            },
            agent: agent::Agent::new(
                agent::bedrock::Bedrock::new(),
                agent::invoker::LambdaInvoker::new(),
                config(),
            ),
        }
    })
}

/// Runs `handler` on `input` with no time left: an invalid input must be refused as
/// `INVALID_INPUT` before anything else happens; a valid one reaches the deadline check of
/// its first upstream call (`UPSTREAM_TIMEOUT`) without any request going out.
fn validates<H: Handler>(handler: &H, input: &Value) -> Result<(), TestCaseError> {
    let Ok(input) = serde_json::from_value::<H::Input>(input.clone()) else {
        return Ok(());
    };
    let outcome = handlers().runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(5),
            handler.handle(input, &Invocation::local(Deadline::after(Duration::ZERO))),
        )
        .await
    });
    let Ok(outcome) = outcome else {
        return Err(TestCaseError::fail(format!("{} hung", H::NAME)));
    };
    match outcome {
        Ok(_) => Err(TestCaseError::fail(format!(
            "{} answered without time",
            H::NAME
        ))),
        Err(e) => {
            prop_assert!(
                matches!(e.code, ErrorCode::InvalidInput | ErrorCode::UpstreamTimeout),
                "{}: {e}",
                H::NAME
            );
            prop_assert!(!e.message.is_empty());
            Ok(())
        }
    }
}

proptest! {
    #[test]
    fn prometheus_query_input(input in input_for(QUERY_FIELDS)) {
        validates(&handlers().query, &input)?;
    }

    #[test]
    fn prometheus_range_query_input(input in input_for(RANGE_FIELDS)) {
        validates(&handlers().range, &input)?;
    }

    #[test]
    fn prometheus_metadata_input(input in input_for(METADATA_FIELDS)) {
        validates(&handlers().metadata, &input)?;
    }

    #[test]
    fn web_search_input(input in input_for(SEARCH_FIELDS)) {
        validates(&handlers().search, &input)?;
    }

    #[test]
    fn eks_info_input(input in input_for(EKS_FIELDS)) {
        validates(&handlers().eks, &input)?;
    }

    #[test]
    fn prometheus_alerts_input(input in input_for(ALERTS_FIELDS)) {
        validates(&handlers().alerts, &input)?;
    }

    #[test]
    fn k8s_info_list_input(input in input_for(K8S_LIST_FIELDS)) {
        validates(&handlers().k8s, &input)?;
    }

    #[test]
    fn k8s_info_logs_input(input in input_for(K8S_LOGS_FIELDS)) {
        validates(&handlers().k8s, &input)?;
    }

    #[test]
    fn cloudwatch_logs_input(input in input_for(CLOUDWATCH_LOGS_FIELDS)) {
        validates(&handlers().cloudwatch, &input)?;
    }

    #[test]
    fn cloudwatch_alarms_input(input in input_for(CLOUDWATCH_ALARMS_FIELDS)) {
        validates(&handlers().cloudwatch, &input)?;
    }

    #[test]
    fn cloudwatch_metrics_input(input in input_for(CLOUDWATCH_METRICS_FIELDS)) {
        validates(&handlers().cloudwatch, &input)?;
    }

    #[test]
    fn cloudtrail_input(input in input_for(CLOUDTRAIL_FIELDS)) {
        validates(&handlers().cloudtrail, &input)?;
    }

    #[test]
    fn runbooks_input(input in input_for(RUNBOOKS_FIELDS)) {
        validates(&handlers().runbooks, &input)?;
    }

    #[test]
    fn agent_input(input in input_for(AGENT_FIELDS)) {
        validates(&handlers().agent, &input)?;
    }
}

// ---------------------------------------------------------------------------------------
// Time and duration parsing
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn times_and_durations_parse_or_say_why(text in text(), now in any::<i64>()) {
        match common::time::TimeSpec::parse("time", &text) {
            Ok(spec) => {
                // Resolving never overflows, whatever the clock says.
                let _ = spec.resolve(now);
                let _ = spec.resolve(common::time::now_ms());
            }
            Err(e) => {
                prop_assert_eq!(e.code, ErrorCode::InvalidInput);
                prop_assert!(e.message.contains("time"), "{}", e);
            }
        }
        match common::time::parse_duration("step", &text) {
            Ok(d) => prop_assert!(d < Duration::from_secs(u64::MAX / 2)),
            Err(e) => {
                prop_assert_eq!(e.code, ErrorCode::InvalidInput);
                prop_assert!(e.message.contains("step"), "{}", e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Prometheus answers
// ---------------------------------------------------------------------------------------

/// Bodies a Prometheus (or something pretending) might send: valid answers of every result
/// type, cut anywhere, deeply nested, with odd numbers and wrong types.
fn prometheus_body() -> impl Strategy<Value = Vec<u8>> {
    let sample = prop_oneof![
        text(),
        Just("NaN".to_owned()),
        Just("+Inf".to_owned()),
        Just("-Inf".to_owned()),
        Just("1e400".to_owned()),
    ];
    let number = prop_oneof![
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        Just(json!("1767225600.5")),
        text().prop_map(Value::String),
        Just(Value::Null),
    ];
    let series = (
        prop::collection::btree_map("[a-z_]{1,8}", text(), 0..4),
        prop::collection::vec((number.clone(), sample.clone()), 0..8),
        any::<bool>(),
    )
        .prop_map(|(metric, points, matrix)| {
            let points: Vec<Value> = points.into_iter().map(|(t, v)| json!([t, v])).collect();
            if matrix {
                json!({"metric": metric, "values": points})
            } else {
                json!({"metric": metric, "value": points.first().cloned().unwrap_or(Value::Null)})
            }
        });
    let result_type = prop::sample::select(vec!["vector", "matrix", "scalar", "string", "other"]);
    let answer = (
        result_type,
        prop::collection::vec(series, 0..6),
        json_value(),
        any::<bool>(),
    )
        .prop_map(|(kind, series, junk, wrong)| {
            let result = if wrong { junk } else { Value::Array(series) };
            json!({"status": "success", "data": {"resultType": kind, "result": result}, "warnings": ["w"]})
                .to_string()
                .into_bytes()
        })
        .boxed();
    prop_oneof![
        3 => answer.clone(),
        2 => (answer, any::<prop::sample::Index>()).prop_map(|(body, at)| body[..at.index(body.len() + 1)].to_vec()),
        1 => (1usize..20_000).prop_map(|depth| {
            let mut body = br#"{"status":"success","data":{"resultType":"matrix","result":"#.to_vec();
            body.extend(std::iter::repeat_n(b'[', depth));
            body.extend(std::iter::repeat_n(b']', depth));
            body.extend_from_slice(b"}}");
            body
        }),
        1 => json_value().prop_map(|v| json!({"status": "error", "errorType": v, "error": v}).to_string().into_bytes()),
        1 => any::<Vec<u8>>(),
    ]
}

proptest! {
    #[test]
    fn prometheus_answers_are_parsed_or_refused(
        status in prop::sample::select(vec![200u16, 400, 422, 503]),
        body in prometheus_body(),
        max_series in 1usize..50,
        max_points in 2usize..200,
    ) {
        match common::prometheus::interpret(status, &body) {
            Ok(data) => {
                if let Err(e) = prometheus_query::cut_series(&data, max_series) {
                    prop_assert!(matches!(e.code, ErrorCode::UpstreamError | ErrorCode::PayloadTooLarge), "{e}");
                }
                match prometheus_range_query::condense(data.data.get(), max_series, max_points) {
                    Ok(shaped) => prop_assert!(shaped.series.len() <= max_series),
                    Err(e) => prop_assert!(matches!(e.code, ErrorCode::UpstreamError | ErrorCode::PayloadTooLarge), "{e}"),
                }
            }
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// DuckDuckGo's HTML
// ---------------------------------------------------------------------------------------

/// Pages built from the pieces DuckDuckGo's results page is made of, shuffled and broken,
/// and plain noise.
fn search_page() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(r#"<div class="result results_links web-result">"#.to_owned()),
        Just(r#"<div class="result result--ad">"#.to_owned()),
        Just("</div>".to_owned()),
        text().prop_map(|t| format!(r#"<a class="result__a" href="{t}">"#)),
        text().prop_map(|t| format!(
            r#"<a class="result__a" href="//duckduckgo.com/l/?uddg={t}&amp;rut=x">"#
        )),
        Just("</a>".to_owned()),
        text().prop_map(|t| format!(r#"<a class="result__snippet">{t}</a>"#)),
        Just(r#"<div class="anomaly-modal">"#.to_owned()),
        Just(r#"<div class="no-results">"#.to_owned()),
        Just("<script>var x = '</div>';</script>".to_owned()),
        text(),
        Just("&amp;&lt;&#x1F600;&#99999999;&bogus;".to_owned()),
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..40).prop_map(|p| p.concat()),
        1 => any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #[test]
    fn duckduckgo_pages_give_bounded_hits_or_an_error(page in search_page(), status in prop::sample::select(vec![200u16, 202, 403, 429, 500])) {
        let ddg = web_search::providers::by_name("duckduckgo").unwrap();
        match ddg.parse(status, page.as_bytes()) {
            Ok(hits) => {
                for result in web_search::rank(hits, 10) {
                    prop_assert!(result.title.chars().count() <= web_search::text::MAX_TITLE_CHARS + 1);
                    prop_assert!(result.snippet.chars().count() <= web_search::text::MAX_SNIPPET_CHARS + 1);
                    prop_assert!(result.url.len() <= web_search::text::MAX_URL_BYTES);
                    prop_assert!(result.url.starts_with("http://") || result.url.starts_with("https://"), "{}", result.url);
                }
            }
            Err(e) => prop_assert!(
                matches!(e.code, ErrorCode::UpstreamError | ErrorCode::Throttled | ErrorCode::Unavailable | ErrorCode::AccessDenied),
                "{e}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Model replies: OpenAI-compatible chat completions and Bedrock Converse content
// ---------------------------------------------------------------------------------------

/// Chat-completions replies around the real shape, with wrong types anywhere.
fn completion() -> impl Strategy<Value = Value> {
    let call = (text(), text(), prop_oneof![text(), json_value().prop_map(|v| v.to_string())], json_value())
        .prop_map(|(id, name, arguments, junk)| {
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}, "index": junk})
        });
    let choice = (
        prop_oneof![text().prop_map(Value::String), Just(Value::Null), json_value()],
        prop::collection::vec(call, 0..3),
        prop::sample::select(vec!["stop", "tool_calls", "length", "content_filter", "weird"]),
    )
        .prop_map(|(content, calls, finish)| {
            json!({"index": 0, "message": {"role": "assistant", "content": content, "tool_calls": calls}, "finish_reason": finish})
        });
    prop_oneof![
        3 => (prop::collection::vec(choice, 0..2), json_value()).prop_map(|(choices, usage)| json!({"choices": choices, "usage": usage})),
        1 => json_value(),
    ]
}

/// Streamed chunks (`data:` payloads) around the real shape.
fn chunk() -> impl Strategy<Value = String> {
    prop_oneof![
        (text(), any::<u8>(), text(), text()).prop_map(|(t, i, name, args)| json!({"choices": [{"delta": {"content": t, "tool_calls": [{"index": i, "id": name, "function": {"name": name, "arguments": args}}]}}]}).to_string()),
        prop::sample::select(vec!["stop", "tool_calls", "length"]).prop_map(|f| json!({"choices": [{"delta": {}, "finish_reason": f}]}).to_string()),
        json_value().prop_map(|v| v.to_string()),
        Just("[DONE]".to_owned()),
        text(),
    ]
}

fn is_model_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UpstreamError
            | ErrorCode::Throttled
            | ErrorCode::Unavailable
            | ErrorCode::UpstreamTimeout
            | ErrorCode::AccessDenied
            | ErrorCode::PayloadTooLarge
            | ErrorCode::InvalidInput
            | ErrorCode::NotFound
            | ErrorCode::ConfigError
    )
}

proptest! {
    #[test]
    fn chat_completions_are_read_or_refused(reply in completion()) {
        match from_reply(&reply) {
            Ok(reply) => prop_assert_eq!(reply.message.role, Role::Assistant),
            Err(e) => prop_assert!(is_model_code(e.error().code), "{}", e.error()),
        }
    }

    #[test]
    fn streamed_chunks_are_assembled_or_refused(chunks in prop::collection::vec(chunk(), 0..12)) {
        let mut assembled = Chunks::default();
        for data in &chunks {
            if let Err(e) = assembled.push(data, &|_: &str| {}) {
                prop_assert!(is_model_code(e.error().code), "{}", e.error());
                return Ok(());
            }
        }
        match assembled.finish() {
            Ok(reply) => prop_assert_eq!(reply.message.role, Role::Assistant),
            Err(e) => prop_assert!(is_model_code(e.error().code), "{}", e.error()),
        }
    }

    #[test]
    fn model_server_errors_are_classified(status in 100u16..600, body in prop_oneof![text(), json_value().prop_map(|v| v.to_string())]) {
        let e = classify_openai(status, &body);
        prop_assert!(is_model_code(e.error().code), "{}", e.error());
        prop_assert!(e.error().message.len() < 2_000);
    }

    #[test]
    fn tool_inputs_survive_the_trip_through_bedrock_documents(value in json_value()) {
        // What the agent sends as a tool's input comes back unchanged.
        prop_assert_eq!(to_json(&to_document(&value)), value.clone());
        // A Converse message with that input as a tool use, and text, reads back.
        let message = aws_sdk_bedrockruntime::types::Message::builder()
            .role(aws_sdk_bedrockruntime::types::ConversationRole::Assistant)
            .content(aws_sdk_bedrockruntime::types::ContentBlock::Text(value.to_string()))
            .content(aws_sdk_bedrockruntime::types::ContentBlock::ToolUse(
                aws_sdk_bedrockruntime::types::ToolUseBlock::builder()
                    .tool_use_id("t").name("n").input(to_document(&value)).build().unwrap(),
            ))
            .build()
            .unwrap();
        let ours = from_sdk(&message);
        prop_assert_eq!(ours.content.len(), 2);
    }

    #[test]
    fn non_finite_floats_from_bedrock_become_null(f in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), any::<f64>()]) {
        let document = aws_smithy_types::Document::Number(aws_smithy_types::Number::Float(f));
        let json = to_json(&document);
        prop_assert!(f.is_finite() || json.is_null());
    }
}

// ---------------------------------------------------------------------------------------
// The sliding window
// ---------------------------------------------------------------------------------------

/// One agent turn as the loop writes it: the prompt, then cycles of assistant tool uses and
/// user tool results, then (unless the cycle limit stopped it) the final text.
#[derive(Debug, Clone)]
struct Turn {
    prompt: String,
    cycles: Vec<Vec<usize>>,
    finished: bool,
}

fn turn() -> impl Strategy<Value = Turn> {
    (
        "[a-z ]{1,12}",
        prop::collection::vec(prop::collection::vec(0usize..3_000, 1..4), 0..5),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(prompt, cycles, finished)| Turn {
            prompt,
            cycles,
            finished,
        })
}

fn play(history: &mut Vec<Message>, turn: &Turn, next_id: &mut usize) {
    push_prompt(history, &turn.prompt);
    for sizes in &turn.cycles {
        let ids: Vec<String> = sizes
            .iter()
            .map(|_| {
                *next_id += 1;
                format!("t{next_id}")
            })
            .collect();
        history.push(Message {
            role: Role::Assistant,
            content: ids
                .iter()
                .map(|id| Block::ToolUse {
                    id: id.clone(),
                    name: "prometheus_query".into(),
                    input: json!({}),
                })
                .collect(),
        });
        history.push(Message {
            role: Role::User,
            content: ids
                .iter()
                .zip(sizes)
                .map(|(id, size)| Block::ToolResult {
                    id: id.clone(),
                    error: false,
                    content: "r".repeat(*size),
                })
                .collect(),
        });
    }
    if turn.finished {
        history.push(Message {
            role: Role::Assistant,
            content: vec![Block::Text {
                text: "done".into(),
            }],
        });
    }
}

/// What Bedrock accepts: starts with a user message that holds no tool result, roles
/// alternate, and every tool use is answered in the very next message and every tool result
/// answers a tool use in the message before.
fn bedrock_accepts(messages: &[Message]) -> Result<(), String> {
    let first = messages.first().ok_or("an empty conversation")?;
    if first.role != Role::User
        || first
            .content
            .iter()
            .any(|b| matches!(b, Block::ToolResult { .. }))
    {
        return Err("it does not start with a question".into());
    }
    for (i, pair) in messages.windows(2).enumerate() {
        if pair[0].role == pair[1].role {
            return Err(format!("messages {i} and {} have the same role", i + 1));
        }
    }
    for (i, message) in messages.iter().enumerate() {
        for block in &message.content {
            match block {
                Block::ToolUse { id, .. } => {
                    let answered = messages.get(i + 1).is_some_and(|next| {
                        next.content
                            .iter()
                            .any(|b| matches!(b, Block::ToolResult { id: r, .. } if r == id))
                    });
                    if !answered && i + 1 < messages.len() {
                        return Err(format!("tool use {id} is orphaned"));
                    }
                }
                Block::ToolResult { id, .. } => {
                    let asked = i > 0
                        && messages[i - 1]
                            .content
                            .iter()
                            .any(|b| matches!(b, Block::ToolUse { id: u, .. } if u == id));
                    if !asked {
                        return Err(format!("tool result {id} answers nothing"));
                    }
                }
                Block::Text { .. } => {}
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Trim {
    Window(usize),
    Shrink,
    DropTurn,
}

proptest! {
    #[test]
    fn the_window_and_trimming_never_produce_a_history_bedrock_rejects(
        turns in prop::collection::vec(turn(), 1..8),
        trims in prop::collection::vec(prop_oneof![(1usize..30).prop_map(Trim::Window), Just(Trim::Shrink), Just(Trim::DropTurn)], 0..8),
    ) {
        let mut history = Vec::new();
        let mut next_id = 0;
        for (n, t) in turns.iter().enumerate() {
            play(&mut history, t, &mut next_id);
            // What a request sends after this turn's prompt: the window of the history.
            for trim in &trims {
                match trim {
                    Trim::Window(size) => {
                        let mut asked = history.clone();
                        if n + 1 < turns.len() {
                            push_prompt(&mut asked, "next question");
                        }
                        let start = window_start(&asked, *size);
                        if let Err(why) = bedrock_accepts(&asked[start..]) {
                            return Err(TestCaseError::fail(format!("window {size}: {why}")));
                        }
                    }
                    Trim::Shrink => {
                        shrink_oldest_tool_result(&mut history);
                    }
                    Trim::DropTurn => {
                        drop_oldest_turn(&mut history);
                    }
                }
                if let Err(why) = bedrock_accepts(&history) {
                    return Err(TestCaseError::fail(format!("after {trim:?}: {why}")));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Runbooks: Markdown from a bucket, S3's XML
// ---------------------------------------------------------------------------------------

/// Runbook text: arbitrary Unicode, and front matter with its near misses.
fn runbook_text() -> impl Strategy<Value = String> {
    let front = (
        prop::sample::select(vec!["---", "--- ", "---\r", "", "- --"]),
        prop::collection::vec(
            prop_oneof![
                "(title|tags|use_when|use-when|Title): ?[^\n]{0,40}",
                "tags: \\[[a-z, '\"]{0,30}\\]?",
                "  - [a-z]{0,10}",
                "[a-z_]{0,8}:? ?[>|]?",
                text(),
            ],
            0..8,
        ),
        prop::sample::select(vec!["---", "...", ""]),
        text(),
    )
        .prop_map(|(open, lines, close, body)| {
            format!("{open}\n{}\n{close}\n{body}", lines.join("\n"))
        });
    prop_oneof![front, text()]
}

proptest! {
    #[test]
    fn any_runbook_text_is_cleaned_parsed_searched_and_cut(
        text in runbook_text(),
        query in text(),
        cut_at in 0usize..5_000,
    ) {
        use runbooks::{markdown, search};
        let (clean, _) = markdown::clean(&text);
        prop_assert!(
            !clean.chars().any(|c| common::text::is_invisible(c) && c != '\n' && c != '\t'),
            "{clean:?}"
        );
        let parsed = markdown::parse(&clean);
        prop_assert!(parsed.body_start <= clean.lines().count());
        for value in parsed.front.title.iter().chain(parsed.front.use_when.iter()).chain(parsed.front.tags.iter()) {
            prop_assert!(!value.contains('\n') && !value.is_empty());
        }
        prop_assert!(parsed.front.tags.len() <= markdown::MAX_TAGS);
        let document = search::Document {
            title: parsed.front.title.unwrap_or_default(),
            tags: parsed.front.tags,
            use_when: parsed.front.use_when,
            text: clean.clone(),
            body_start: parsed.body_start,
        };
        for found in search::search(&[&document], &search::words(&query)) {
            prop_assert!(found.lines.len() <= search::MAX_LINES);
            for (n, line) in &found.lines {
                prop_assert_eq!(clean.lines().nth(n - 1), Some(line.as_str()));
            }
        }
        if let Some(head) = markdown::cut(&clean, cut_at) {
            prop_assert!(head.len() <= cut_at && clean.starts_with(head));
        }
        let bytes = text.as_bytes();
        let _ = markdown::decode(&bytes[..cut_at.min(bytes.len())]);
    }

    #[test]
    fn any_s3_answer_is_a_page_an_error_or_refused(
        body in prop_oneof![
            text(),
            prop::collection::vec(
                prop_oneof![
                    Just("<ListBucketResult>".to_owned()),
                    Just("</ListBucketResult>".to_owned()),
                    Just("<IsTruncated>true</IsTruncated>".to_owned()),
                    "<NextContinuationToken>[a-zA-Z0-9+/=&;#]{0,12}</NextContinuationToken>",
                    "<Contents><Key>[^<]{0,20}</Key>(<Size>[0-9a-z-]{0,22}</Size>)?</Contents>",
                    "<Error><Code>[A-Za-z ]{0,20}</Code><Message>[^<]{0,30}</Message></Error>",
                    "&[#a-zA-Z0-9]{0,10};?",
                    text(),
                ],
                0..10,
            )
            .prop_map(|parts| parts.concat()),
        ]
    ) {
        use runbooks::s3;
        if let Some(page) = s3::parse_list(&body) {
            prop_assert!(page.next.as_deref() != Some(""));
        }
        let (code, message) = s3::error_document(&body);
        if let Some(code) = code {
            prop_assert!(!code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        if let Some(message) = message {
            prop_assert!(!message.contains('\n') && message.chars().count() <= 300);
        }
        let _ = s3::unescape(&body);
    }
}

/// The input targets are not vacuous: their generators reach both ends, inputs refused as
/// invalid and inputs valid enough to get to the first upstream call, for every tool.
#[test]
fn every_input_target_reaches_both_refusal_and_the_upstream_call() {
    use proptest::{
        strategy::ValueTree,
        test_runner::{Config, TestRunner},
    };
    fn outcomes<H: Handler>(handler: &H, fields: &'static [&'static str]) -> (usize, usize) {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            proptest::test_runner::TestRng::deterministic_rng(
                proptest::test_runner::RngAlgorithm::ChaCha,
            ),
        );
        let strategy = input_for(fields);
        let (mut invalid, mut valid) = (0, 0);
        for _ in 0..3_000 {
            let input = strategy.new_tree(&mut runner).unwrap().current();
            let Ok(input) = serde_json::from_value::<H::Input>(input) else {
                invalid += 1;
                continue;
            };
            let outcome = handlers().runtime.block_on(
                handler.handle(input, &Invocation::local(Deadline::after(Duration::ZERO))),
            );
            match outcome.map_err(|e| e.code) {
                Err(ErrorCode::InvalidInput) => invalid += 1,
                Err(ErrorCode::UpstreamTimeout) => valid += 1,
                other => panic!("{}: {:?}", H::NAME, other.map(|_| ())),
            }
        }
        (invalid, valid)
    }
    let h = handlers();
    for (name, (invalid, valid)) in [
        ("prometheus_query", outcomes(&h.query, QUERY_FIELDS)),
        ("prometheus_range_query", outcomes(&h.range, RANGE_FIELDS)),
        (
            "prometheus_metadata",
            outcomes(&h.metadata, METADATA_FIELDS),
        ),
        ("web_search", outcomes(&h.search, SEARCH_FIELDS)),
        ("eks_info", outcomes(&h.eks, EKS_FIELDS)),
        ("prometheus_alerts", outcomes(&h.alerts, ALERTS_FIELDS)),
        ("k8s_info lists", outcomes(&h.k8s, K8S_LIST_FIELDS)),
        ("k8s_info logs", outcomes(&h.k8s, K8S_LOGS_FIELDS)),
        ("cloudtrail", outcomes(&h.cloudtrail, CLOUDTRAIL_FIELDS)),
        ("runbooks", outcomes(&h.runbooks, RUNBOOKS_FIELDS)),
        (
            "cloudwatch logs",
            outcomes(&h.cloudwatch, CLOUDWATCH_LOGS_FIELDS),
        ),
        (
            "cloudwatch alarms",
            outcomes(&h.cloudwatch, CLOUDWATCH_ALARMS_FIELDS),
        ),
        (
            "cloudwatch metrics",
            outcomes(&h.cloudwatch, CLOUDWATCH_METRICS_FIELDS),
        ),
        ("agent", outcomes(&h.agent, AGENT_FIELDS)),
    ] {
        println!("{name}: {invalid} refused, {valid} reached the upstream call");
        assert!(
            invalid > 0 && valid > 0,
            "{name}: {invalid} refused, {valid} valid"
        );
    }
}

/// Any bytes Lambda could hand a function, through the real runtime: the `echo` binary (the
/// common adapter and runtime wiring every function uses) on the harness's Runtime API. It
/// must answer every payload with a result or an envelope, never a Lambda function error,
/// and stay up.
#[test]
fn any_bytes_through_the_runtime_api_get_an_answer_not_a_crash() {
    use integration_tests::lambda::{Invoke, LambdaFunction, Outcome};
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Errors only: at 10^6 cases the log would otherwise be hundreds of megabytes.
    let env = [("AWS_LAMBDA_LOG_LEVEL".to_owned(), "error".to_owned())];
    let mut function = runtime
        .block_on(LambdaFunction::start("echo", &env))
        .expect("the echo binary is built (cargo build --bins)");
    let payload = prop_oneof![
        any::<Vec<u8>>(),
        event().prop_map(|e| e.to_string().into_bytes()),
        (event(), any::<prop::sample::Index>()).prop_map(|(e, at)| {
            let bytes = e.to_string().into_bytes();
            bytes[..at.index(bytes.len() + 1)].to_vec()
        }),
    ];
    let mut runner = TestRunner::new(Config::default());
    runner
        .run(&payload, |bytes| {
            let outcome = runtime
                .block_on(function.invoke_with(&bytes, &Invoke::default()))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let Outcome::Response(answer) = outcome else {
                return Err(TestCaseError::fail(format!(
                    "a function error: {outcome:?}"
                )));
            };
            // Direct invokes answer with the envelope; HTTP shapes carry it in the body.
            let envelope = match answer.get("body").and_then(Value::as_str) {
                Some(body) => serde_json::from_str::<Value>(body).unwrap_or(Value::Null),
                None => answer.clone(),
            };
            if let Some(error) = envelope.get("error") {
                let code = error["code"].as_str().unwrap_or_default();
                prop_assert!(
                    matches!(code, "INVALID_INPUT" | "PAYLOAD_TOO_LARGE" | "NOT_FOUND"),
                    "{answer}"
                );
            }
            Ok(())
        })
        .unwrap();
    function.check_running().expect("still running");
}
