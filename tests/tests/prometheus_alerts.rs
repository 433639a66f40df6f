//! `prometheus-alerts` against real servers: Debian's Prometheus evaluating
//! `tests/stack/rules.yml` (an alert that fires, one that stays pending, one that never fires,
//! a recording rule and a rule that fails every evaluation), sending to Debian's Alertmanager,
//! which holds silences made through its API. Every action, every validation error with
//! proof that no request went out, Alertmanager down while Prometheus is up, a plain
//! Prometheus without an Alertmanager, AMP's paths and SigV4 through the botocore verifier,
//! and every entry shape through the Lambda Runtime API.

use std::{collections::HashMap, time::Duration};

use common::{AppConfig, ToolError, prometheus::PrometheusApi, prometheus::PrometheusTool};
use integration_tests::{
    alertmanager::Alertmanager,
    fault::{Fault, FaultServer, Oversize},
    lambda::LambdaFunction,
    prometheus::Prometheus,
    proxy::FaultProxy,
    verifier::{AMP_WORKSPACE_PATH, SigV4Verifier},
};
use prometheus_alerts::PrometheusAlerts;
use serde_json::{Value, json};

fn handler(settings: &[(&str, &str)]) -> PrometheusAlerts {
    let values: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    PrometheusAlerts {
        prometheus: PrometheusTool {
            api: PrometheusApi::new(common::http::client("test").unwrap()),
            config: AppConfig::fixed(values),
        },
    }
}

async fn call(h: &PrometheusAlerts, input: Value) -> Result<Value, ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

/// Prometheus evaluating the rules, every rule evaluated at least once.
async fn prometheus_with_rules(alertmanager: Option<&str>) -> Prometheus {
    let prometheus = Prometheus::start_alerting(alertmanager).await.unwrap();
    prometheus
        .wait_for_rules(Duration::from_secs(30))
        .await
        .unwrap();
    prometheus
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn alerts_are_firing_by_default_most_severe_first_with_clean_annotations() {
    let prometheus = prometheus_with_rules(None).await;
    let h = handler(&[("prometheus/url", prometheus.url())]);

    let out = call(&h, json!({"action": "alerts"})).await.unwrap();
    assert_eq!(
        (out["action"].as_str(), out["endpoint"].as_str()),
        (Some("alerts"), Some("prometheus"))
    );
    assert_eq!(names(&out["alerts"]), ["AlwaysFiring"], "{out}");
    assert_eq!(out["totals"], json!({"firing": 1, "pending": 1}), "{out}");
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(1), Some(false))
    );
    let alert = &out["alerts"][0];
    assert_eq!(alert["state"], "firing");
    assert_eq!(
        alert["labels"],
        json!({"severity": "critical", "namespace": "prod-payments"})
    );
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "https://runbooks.example.com/always-firing"
    );
    // The rule's description holds a zero-width space and a line break: both are gone.
    let description = alert["annotations"]["description"].as_str().unwrap();
    assert!(
        !description.contains('\u{200B}') && !description.contains('\n') && !description.is_empty(),
        "{description:?}"
    );
    assert!(
        alert["active_since"].as_str().unwrap().ends_with('Z'),
        "{alert}"
    );
    assert_eq!(alert["value"], "1e+00");

    let out = call(&h, json!({"action": "alerts", "state": "any"}))
        .await
        .unwrap();
    assert_eq!(
        names(&out["alerts"]),
        ["AlwaysFiring", "PendingForever"],
        "{out}"
    );
    let out = call(&h, json!({"action": "alerts", "state": "pending"}))
        .await
        .unwrap();
    assert_eq!(names(&out["alerts"]), ["PendingForever"], "{out}");
}

#[tokio::test]
async fn alerts_are_narrowed_by_matchers_and_cut_by_max_results() {
    let prometheus = prometheus_with_rules(None).await;
    let h = handler(&[("prometheus/url", prometheus.url())]);
    for (matchers, want) in [
        (r#"severity="critical""#, vec!["AlwaysFiring"]),
        (r#"namespace=~"prod-.*""#, vec!["AlwaysFiring"]),
        (r#"namespace!~"prod-.*""#, vec!["PendingForever"]),
        (
            r#"severity!="critical",namespace="staging""#,
            vec!["PendingForever"],
        ),
        (r#"team="payments""#, vec![]),
        // What a model writes instead of the grammar, read as it meant.
        ("{severity='critical'}", vec!["AlwaysFiring"]),
        ("severity=critical", vec!["AlwaysFiring"]),
    ] {
        let out = call(
            &h,
            json!({"action": "alerts", "state": "any", "match": matchers}),
        )
        .await
        .unwrap();
        assert_eq!(names(&out["alerts"]), want, "{matchers}: {out}");
        assert_eq!(out["count"].as_u64(), Some(want.len() as u64), "{matchers}");
        // Nothing matched in any state: the hint says how matchers compare.
        assert_eq!(
            out.get("hint").is_some(),
            want.is_empty(),
            "{matchers}: {out}"
        );
    }
    // A regex must match the whole value, as in PromQL: a part of a name finds nothing, and
    // the hint says how to search.
    let out = call(
        &h,
        json!({"action": "alerts", "state": "FIRING", "match": r#"alertname=~"Firing""#}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 0, "{out}");
    assert!(out["hint"].as_str().unwrap().contains(".*cpu.*"), "{out}");
    let out = call(
        &h,
        json!({"action": "alerts", "state": "any", "max_results": 1}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out["alerts"]), ["AlwaysFiring"]);
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(2), Some(true))
    );
}

#[tokio::test]
async fn rules_put_the_rule_that_fails_to_evaluate_first() {
    let prometheus = prometheus_with_rules(None).await;
    let h = handler(&[("prometheus/url", prometheus.url())]);

    let out = call(&h, json!({"action": "rules"})).await.unwrap();
    let rules = out["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 5, "{out}");
    assert_eq!(out["totals"], json!({"ok": 4, "err": 1}), "{out}");
    let broken = &rules[0];
    assert_eq!(
        (
            broken["name"].as_str(),
            broken["health"].as_str(),
            broken["type"].as_str()
        ),
        (Some("BrokenRule"), Some("err"), Some("alert"))
    );
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("same labelset"),
        "{broken}"
    );
    let firing = rules.iter().find(|r| r["name"] == "AlwaysFiring").unwrap();
    assert_eq!(
        (
            firing["state"].as_str(),
            firing["active_alerts"].as_u64(),
            firing["group"].as_str()
        ),
        (Some("firing"), Some(1), Some("incident"))
    );
    assert_eq!(firing["labels"]["severity"], "critical");
    let pending = rules
        .iter()
        .find(|r| r["name"] == "PendingForever")
        .unwrap();
    assert_eq!(pending["for_seconds"].as_f64(), Some(3600.0));
    let record = rules.iter().find(|r| r["name"] == "job:up:sum").unwrap();
    assert_eq!(
        (
            record["type"].as_str(),
            record["query"].as_str(),
            record.get("state")
        ),
        (Some("record"), Some("sum(up)"), None)
    );

    let out = call(&h, json!({"action": "rules", "unhealthy_only": true}))
        .await
        .unwrap();
    assert_eq!(names(&out["rules"]), ["BrokenRule"]);
    let out = call(&h, json!({"action": "rules", "type": "record"}))
        .await
        .unwrap();
    assert_eq!(names(&out["rules"]), ["job:up:sum"]);
    assert_eq!(out["totals"], json!({"ok": 1}));
    let out = call(&h, json!({"action": "rules", "group": "no-such-group"}))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].as_u64(), out["totals"].clone()),
        (Some(0), json!({}))
    );
    assert!(
        out["hint"].as_str().unwrap().contains("nor contains it"),
        "{out}"
    );
    // A group's name in the wrong case: the groups that contain it are named.
    let out = call(
        &h,
        json!({"action": "rules", "group": "INCIDENT", "type": "Alerting"}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 0);
    assert!(
        out["hint"]
            .as_str()
            .unwrap()
            .ends_with("these contain it: incident"),
        "{out}"
    );
}

/// The real path: Prometheus evaluates the rules and sends the firing alert to Alertmanager,
/// where a silence suppresses the pending-then-firing ones it matches.
#[tokio::test]
async fn alertmanager_alerts_show_what_prometheus_sent_and_what_is_silenced() {
    let am = Alertmanager::start().await.unwrap();
    let prometheus = prometheus_with_rules(Some(am.url())).await;
    am.wait_for_alert("AlwaysFiring", Duration::from_secs(60))
        .await
        .unwrap();
    // Alerts posted straight to Alertmanager, as a second Prometheus would: one silenced.
    am.inject(json!([
        {"labels": {"alertname": "NodeDiskFull", "severity": "warning", "namespace": "prod-payments"},
         "annotations": {"summary": "Disk full on node-1"}},
        {"labels": {"alertname": "Watchdog", "severity": "none"}}
    ]))
    .await
    .unwrap();
    let silence = am
        .silence(
            &[("alertname", "NodeDiskFull", false)],
            "disk swap planned",
            Duration::ZERO,
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    let h = handler(&[
        ("prometheus/url", prometheus.url()),
        ("alertmanager/url", am.url()),
    ]);

    let out = call(&h, json!({"action": "alertmanager_alerts"}))
        .await
        .unwrap();
    assert_eq!(out["endpoint"], "alertmanager");
    assert_eq!(names(&out["alerts"]), ["AlwaysFiring", "Watchdog"], "{out}");
    assert_eq!(
        out["totals"],
        json!({"active": 2, "suppressed": 1}),
        "{out}"
    );
    let firing = &out["alerts"][0];
    assert_eq!(
        (firing["state"].as_str(), firing["receivers"].clone()),
        (Some("active"), json!(["null"]))
    );
    assert_eq!(firing["labels"]["severity"], "critical");

    let out = call(
        &h,
        json!({"action": "alertmanager_alerts", "active": false, "silenced": true}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out["alerts"]), ["NodeDiskFull"], "{out}");
    assert_eq!(out["alerts"][0]["silenced_by"], json!([silence]));
    assert_eq!(out["alerts"][0]["state"], "suppressed");

    // Matchers go to Alertmanager as filters.
    let out = call(
        &h,
        json!({"action": "alertmanager_alerts", "silenced": true, "match": r#"namespace=~"prod-.*""#}),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&out["alerts"]),
        ["AlwaysFiring", "NodeDiskFull"],
        "{out}"
    );

    // A missing label is "" in Alertmanager too, as in the function's own matching.
    let out = call(
        &h,
        json!({"action": "alertmanager_alerts", "match": r#"team="""#}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out["alerts"]), ["AlwaysFiring", "Watchdog"], "{out}");

    // Alertmanager's 400 (its answer to a filter it cannot read) is INVALID_INPUT with its
    // message, and is not retried.
    let refusing = FaultServer::start(
        am.url(),
        &Oversize {
            prefix: "[".into(),
            item: "{}".into(),
            suffix: "]".into(),
        },
    )
    .await
    .unwrap();
    refusing.set(Fault::Status(400)).await.unwrap();
    let h = handler(&[("alertmanager/url", &refusing.url())]);
    let e = call(&h, json!({"action": "alertmanager_alerts"}))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.retryable),
        ("INVALID_INPUT", false),
        "{e}"
    );
    assert!(
        e.message.starts_with("Alertmanager rejected the request: "),
        "{e}"
    );
    assert_eq!(refusing.requests(), 1);
}

#[tokio::test]
async fn silences_are_listed_by_state_with_their_matchers() {
    let am = Alertmanager::start().await.unwrap();
    let day = Duration::from_secs(86_400);
    let active = am
        .silence(
            &[
                ("alertname", "PendingForever", false),
                ("namespace", "stag.*", true),
            ],
            "planned maintenance of staging\u{202E} and a hidden\u{E0041} tag",
            Duration::ZERO,
            day,
        )
        .await
        .unwrap();
    let pending = am
        .silence(&[("severity", "info", false)], "tomorrow", day, day)
        .await
        .unwrap();
    let expired = am
        .silence(&[("alertname", "Old", false)], "done", Duration::ZERO, day)
        .await
        .unwrap();
    am.expire(&expired).await.unwrap();
    let h = handler(&[("alertmanager/url", am.url())]);

    let out = call(&h, json!({"action": "silences"})).await.unwrap();
    assert_eq!(
        out["totals"],
        json!({"active": 1, "pending": 1, "expired": 1}),
        "{out}"
    );
    let s = &out["silences"][0];
    assert_eq!(
        (s["id"].as_str(), s["state"].as_str()),
        (Some(active.as_str()), Some("active"))
    );
    assert_eq!(
        s["matchers"],
        json!([r#"alertname="PendingForever""#, r#"namespace=~"stag.*""#])
    );
    assert_eq!(
        s["comment"],
        "planned maintenance of staging and a hidden tag"
    );
    assert!(s["ends_at"].as_str().unwrap() > s["starts_at"].as_str().unwrap());

    let out = call(&h, json!({"action": "silences", "state": "any"}))
        .await
        .unwrap();
    let ids: Vec<&str> = out["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [active.as_str(), pending.as_str(), expired.as_str()]);
    let out = call(
        &h,
        json!({"action": "silences", "state": "any", "match": r#"severity="info""#}),
    )
    .await
    .unwrap();
    assert_eq!(out["silences"][0]["id"], pending.as_str(), "{out}");
    assert_eq!(out["count"], 1, "{out}");
}

#[tokio::test]
async fn alertmanager_down_is_unavailable_while_prometheus_still_answers() {
    let mut am = Alertmanager::start().await.unwrap();
    let prometheus = prometheus_with_rules(None).await;
    let h = handler(&[
        ("prometheus/url", prometheus.url()),
        ("alertmanager/url", am.url()),
    ]);
    am.stop();
    for action in ["alertmanager_alerts", "silences"] {
        let e = call(&h, json!({"action": action})).await.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("UNAVAILABLE", true),
            "{action}: {e}"
        );
        assert!(e.message.contains("Alertmanager"), "{action}: {e}");
    }
    let out = call(&h, json!({"action": "alerts"})).await.unwrap();
    assert_eq!(names(&out["alerts"]), ["AlwaysFiring"]);
}

#[tokio::test]
async fn a_plain_prometheus_without_alertmanager_url_refuses_only_the_alertmanager_actions() {
    let prometheus = Prometheus::start().await.unwrap();
    let h = handler(&[("prometheus/url", prometheus.url())]);
    for action in ["alertmanager_alerts", "silences"] {
        let e = call(&h, json!({"action": action})).await.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("CONFIG_ERROR", false),
            "{e}"
        );
        assert!(e.message.contains("set alertmanager/url"), "{e}");
    }
    // No rules loaded: an empty answer, not an error.
    let out = call(&h, json!({"action": "alerts"})).await.unwrap();
    assert_eq!(
        (out["count"].as_u64(), out["totals"].clone()),
        (Some(0), json!({}))
    );
    let e = call(
        &handler(&[
            ("prometheus/url", prometheus.url()),
            ("alertmanager/url", "am:9093"),
        ]),
        json!({"action": "silences"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "CONFIG_ERROR", "{e}");
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let prometheus = Prometheus::start().await.unwrap();
    let am = Alertmanager::start().await.unwrap();
    let to_prometheus = FaultProxy::start(prometheus.url()).await.unwrap();
    let to_alertmanager = FaultProxy::start(am.url()).await.unwrap();
    let h = handler(&[
        ("prometheus/url", &to_prometheus.url()),
        ("alertmanager/url", &to_alertmanager.url()),
    ]);
    let cases = [
        (json!({}), "missing field `action`"),
        (json!({"action": "pages"}), "unknown variant `pages`"),
        (
            json!({"action": "alerts", "max_results": 501}),
            "max_results must be between 1 and 500, got 501",
        ),
        (
            json!({"action": "alerts", "state": "expired"}),
            "state must be one of firing, pending, any for alerts",
        ),
        (
            json!({"action": "silences", "state": "firing"}),
            "state must be one of active, pending, expired, any for silences",
        ),
        (
            json!({"action": "alerts", "match": "severity="}),
            "expected a value in double quotes at character 10",
        ),
        (
            json!({"action": "alerts", "match": r#"a="x" b="y""#}),
            "expected , between matchers",
        ),
        (
            json!({"action": "alertmanager_alerts", "match": r#"ns=~"(prod""#}),
            "the regex of ns is not valid",
        ),
        (
            json!({"action": "silences", "match": r#"{a="b""#}),
            "expected a label name",
        ),
        (
            json!({"action": "rules", "match": r#"a="b""#}),
            "match (use group or type) does not apply to rules",
        ),
        (
            json!({"action": "rules", "type": "paging"}),
            "type must be alert, record or any, got `paging`",
        ),
        (
            json!({"action": "rules", "group": ""}),
            "group must be 1 to 256 characters, got 0",
        ),
        (
            json!({"action": "alerts", "unhealthy_only": true}),
            "unhealthy_only does not apply to alerts",
        ),
        (
            json!({"action": "alertmanager_alerts", "active": false}),
            "at least one of active, silenced and inhibited must be true",
        ),
        (
            json!({"action": "silences", "inhibited": true}),
            "inhibited does not apply to silences",
        ),
        (
            json!({"action": "alerts", "workspace_id": "prod"}),
            "workspace_id",
        ),
        (
            json!({"action": "alerts", "severity": "critical"}),
            "unknown field `severity`",
        ),
    ];
    for (input, part) in cases {
        let e = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("INVALID_INPUT", false),
            "{input}: {e}"
        );
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }
    assert!(
        to_prometheus.seen().is_empty(),
        "{:?}",
        to_prometheus.seen()
    );
    assert!(
        to_alertmanager.seen().is_empty(),
        "{:?}",
        to_alertmanager.seen()
    );
}

/// AMP serves the rule APIs and Alertmanager under the workspace, signed for `aps`: the
/// verifier checks each signature with botocore before forwarding (workspace prefix removed).
#[tokio::test]
async fn amp_paths_are_signed_and_botocore_verifies_them() {
    let prometheus = prometheus_with_rules(None).await;
    let verifier = SigV4Verifier::amp(prometheus.url()).unwrap();
    let f = LambdaFunction::start("prometheus-alerts", &verifier.amp_env())
        .await
        .unwrap();
    let out = f
        .invoke(&json!({"action": "rules", "unhealthy_only": true}))
        .await
        .unwrap()
        .response();
    assert_eq!(
        out["rules"][0]["name"].as_str(),
        Some("BrokenRule"),
        "{out}\n{}",
        verifier.logs()
    );

    // Alertmanager under the workspace: `<workspace>/alertmanager/api/v2/…`. This verifier
    // forwards to an Alertmanager serving under `/alertmanager`, as AMP's does.
    let am = Alertmanager::start_with_route_prefix("/alertmanager")
        .await
        .unwrap();
    am.silence(
        &[("alertname", "AlwaysFiring", false)],
        "amp",
        Duration::ZERO,
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    let verifier = SigV4Verifier::start(
        "aps",
        "eu-west-1",
        true,
        Some(am.url().trim_end_matches("/alertmanager")),
        Some(AMP_WORKSPACE_PATH),
    )
    .unwrap();
    let f = LambdaFunction::start("prometheus-alerts", &verifier.amp_env())
        .await
        .unwrap();
    let out = f
        .invoke(&json!({"action": "silences", "match": r#"alertname="AlwaysFiring""#}))
        .await
        .unwrap()
        .response();
    assert_eq!(
        (out["endpoint"].as_str(), out["count"].as_u64()),
        (Some("amp"), Some(1)),
        "{out}\n{}",
        verifier.logs()
    );
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let am = Alertmanager::start().await.unwrap();
    let prometheus = prometheus_with_rules(Some(am.url())).await;
    am.silence(
        &[("alertname", "PendingForever", false)],
        "planned maintenance of staging",
        Duration::ZERO,
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let env = vec![
        ("PROMETHEUS_URL".to_owned(), prometheus.url().to_owned()),
        ("ALERTMANAGER_URL".to_owned(), am.url().to_owned()),
    ];
    let f = LambdaFunction::start("prometheus-alerts", &env)
        .await
        .unwrap();
    let samples = f.answer_every_sample_event("prometheus-alerts").await;
    assert_eq!(
        names(&samples.direct["alerts"]),
        ["AlwaysFiring"],
        "{}",
        samples.direct
    );
    assert_eq!(
        names(&samples.apigw_rest["rules"]),
        ["BrokenRule"],
        "{}",
        samples.apigw_rest
    );
    assert_eq!(
        names(&samples.apigw_http["alerts"]),
        ["AlwaysFiring"],
        "{}",
        samples.apigw_http
    );
    assert_eq!(
        names(&samples.function_url["alerts"]),
        ["AlwaysFiring", "PendingForever"],
        "{}",
        samples.function_url
    );
    assert_eq!(
        samples.agentcore["silences"][0]["comment"],
        "planned maintenance of staging"
    );
}
