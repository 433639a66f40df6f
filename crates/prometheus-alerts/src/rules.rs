//! The `alerts` and `rules` actions: what Prometheus' rule evaluation says, from
//! `/api/v1/alerts` and `/api/v1/rules` (the same paths under an AMP workspace).
//!
//! Neither API takes matchers or a group (Prometheus 2.42 ignores `rule_group[]`), so the
//! function filters what it reads. Alerts come most pressing first: firing before pending,
//! then by `severity` label, then longest active. Rules come failing first, so a broken rule
//! (an alert that can never fire) is not buried under healthy ones.

use std::collections::BTreeMap;

use common::{
    Deadline, ToolError,
    error::ErrorCode,
    prometheus::{PrometheusApi, Target},
    text::clean,
};
use serde::{Deserialize, Serialize};

use crate::{
    AlertState, AlertsOutput, Items, Request, RuleType, TIMEOUT, clean_map, cut,
    matchers::all_match, severity_rank,
};

/// Longest annotation value kept, in characters.
pub const MAX_ANNOTATION_CHARS: usize = 1_000;
/// Longest label value kept, in characters.
pub const MAX_LABEL_CHARS: usize = 300;
/// Most labels or annotations kept per alert.
pub const MAX_ENTRIES: usize = 30;
/// Longest rule query kept, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Longest rule error kept, in characters.
pub const MAX_ERROR_CHARS: usize = 500;

/// One alert of an alerting rule.
#[derive(Debug, Serialize)]
pub struct Alert {
    /// The `alertname` label.
    pub name: String,
    /// `firing` or `pending`.
    pub state: String,
    /// Its labels other than `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Its annotations (summary, description, runbook_url, …), cleaned.
    pub annotations: BTreeMap<String, String>,
    /// When its condition became true (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_since: Option<String>,
    /// The value of its expression at the last evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One alerting or recording rule and its health.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Its group.
    pub group: String,
    /// The alert's name or the recorded series' name.
    pub name: String,
    /// `alert` or `record`.
    #[serde(rename = "type")]
    pub rule_type: &'static str,
    /// Its PromQL.
    pub query: String,
    /// `ok`, `err` (its last evaluation failed) or `unknown` (not evaluated yet).
    pub health: String,
    /// Why the last evaluation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was last evaluated (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluation: Option<String>,
    /// How long the last evaluation took, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_seconds: Option<f64>,
    /// Alerting rules: `inactive`, `pending` or `firing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Alerting rules: how many alerts it has now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_alerts: Option<usize>,
    /// Alerting rules: how long the condition must hold before firing, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<f64>,
    /// Alerting rules: the labels it adds (its `severity`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AlertsData {
    #[serde(default)]
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    state: String,
    #[serde(default, rename = "activeAt")]
    active_at: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct RulesData {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default)]
    name: String,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    health: String,
    #[serde(default, rename = "lastError")]
    last_error: Option<String>,
    #[serde(default, rename = "lastEvaluation")]
    last_evaluation: Option<String>,
    #[serde(default, rename = "evaluationTime")]
    evaluation_time: Option<f64>,
    #[serde(default, rename = "type")]
    rule_type: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    alerts: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn unexpected(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamError,
        format!("Prometheus answered with an unexpected {what} list"),
    )
}

/// Answers `alerts` or `rules` (other requests are not this module's).
pub async fn answer(
    api: &PrometheusApi,
    target: &Target,
    request: Request,
    deadline: &Deadline,
) -> Result<AlertsOutput, ToolError> {
    let endpoint = target.backend.as_str();
    match request {
        Request::Alerts {
            state,
            matchers,
            max_results,
        } => {
            let answer = api
                .get(target, "/api/v1/alerts", &[], TIMEOUT, deadline)
                .await?;
            let data: AlertsData =
                serde_json::from_str(answer.data.get()).map_err(|_| unexpected("alert"))?;
            let mut totals = BTreeMap::new();
            let mut alerts: Vec<RawAlert> = data
                .alerts
                .into_iter()
                .filter(|a| all_match(&matchers, &a.labels))
                .inspect(|a| *totals.entry(a.state.clone()).or_insert(0) += 1)
                .filter(|a| match state {
                    AlertState::Firing => a.state == "firing",
                    AlertState::Pending => a.state == "pending",
                    AlertState::Any => true,
                })
                .collect();
            alerts.sort_by(|a, b| {
                (a.state != "firing", severity_rank(&a.labels), &a.active_at).cmp(&(
                    b.state != "firing",
                    severity_rank(&b.labels),
                    &b.active_at,
                ))
            });
            let count = alerts.len();
            let (alerts, truncated) = cut(alerts.into_iter().map(alert).collect(), max_results);
            Ok(AlertsOutput {
                action: "alerts",
                endpoint,
                items: Items::Alerts(alerts),
                count,
                truncated,
                totals,
                hint: None,
            })
        }
        Request::Rules {
            rule_type,
            group,
            unhealthy_only,
            max_results,
        } => {
            // Servers that know `type` send less; the filter below holds for those that don't.
            let query: &[(&str, &str)] = match rule_type {
                RuleType::Alert => &[("type", "alert")],
                RuleType::Record => &[("type", "record")],
                RuleType::Any => &[],
            };
            let answer = api
                .get(target, "/api/v1/rules", query, TIMEOUT, deadline)
                .await?;
            let data: RulesData =
                serde_json::from_str(answer.data.get()).map_err(|_| unexpected("rule"))?;
            let mut totals = BTreeMap::new();
            let mut rules = Vec::new();
            let group_names: Vec<String> = data.groups.iter().map(|g| g.name.clone()).collect();
            for g in data.groups {
                for r in g.rules {
                    let kind = if r.rule_type == "alerting" {
                        "alert"
                    } else {
                        "record"
                    };
                    let selected = match rule_type {
                        RuleType::Alert => kind == "alert",
                        RuleType::Record => kind == "record",
                        RuleType::Any => true,
                    } && group.as_ref().is_none_or(|name| *name == g.name);
                    if !selected {
                        continue;
                    }
                    *totals.entry(r.health.clone()).or_insert(0) += 1;
                    if !unhealthy_only || r.health != "ok" {
                        rules.push(rule(&g.name, kind, r));
                    }
                }
            }
            // Stable: failing, then never evaluated, then healthy, each in the server's order.
            rules.sort_by_key(|r| match r.health.as_str() {
                "err" => 0,
                "ok" => 2,
                _ => 1,
            });
            let count = rules.len();
            let (rules, truncated) = cut(rules, max_results);
            let hint = group
                .as_deref()
                .filter(|name| !group_names.iter().any(|g| g == name))
                .map(|name| group_hint(name, &group_names));
            Ok(AlertsOutput {
                action: "rules",
                endpoint,
                items: Items::Rules(rules),
                count,
                truncated,
                totals,
                hint,
            })
        }
        Request::AlertmanagerAlerts { .. } | Request::Silences { .. } => Err(ToolError::internal(
            "an Alertmanager request reached the rule APIs",
        )),
    }
}

/// A `group` no rule group is named: the groups whose names contain it in any case, since
/// the name is compared exactly.
pub fn group_hint(name: &str, groups: &[String]) -> String {
    let needle = name.to_lowercase();
    let near: Vec<String> = groups
        .iter()
        .filter(|g| g.to_lowercase().contains(&needle))
        .take(10)
        .map(|g| clean(g, MAX_LABEL_CHARS))
        .collect();
    let name = clean(name, MAX_LABEL_CHARS);
    if near.is_empty() {
        format!(
            "no rule group is named {name} (an exact, case-sensitive name), nor contains it; rules without group lists every group"
        )
    } else {
        format!(
            "no rule group is named {name} (an exact, case-sensitive name); these contain it: {}",
            near.join(", ")
        )
    }
}

fn alert(raw: RawAlert) -> Alert {
    let mut labels = raw.labels;
    let name = labels.remove("alertname").unwrap_or_default();
    Alert {
        name: clean(&name, MAX_LABEL_CHARS),
        state: raw.state,
        labels: clean_map(labels, MAX_ENTRIES, MAX_LABEL_CHARS),
        annotations: clean_map(raw.annotations, MAX_ENTRIES, MAX_ANNOTATION_CHARS),
        active_since: raw.active_at,
        value: raw.value,
    }
}

fn rule(group: &str, kind: &'static str, raw: RawRule) -> Rule {
    let alerting = kind == "alert";
    Rule {
        group: clean(group, MAX_LABEL_CHARS),
        name: clean(&raw.name, MAX_LABEL_CHARS),
        rule_type: kind,
        query: clean(&raw.query, MAX_QUERY_CHARS),
        health: raw.health,
        last_error: raw
            .last_error
            .filter(|e| !e.is_empty())
            .map(|e| clean(&e, MAX_ERROR_CHARS)),
        last_evaluation: raw.last_evaluation,
        evaluation_seconds: raw.evaluation_time,
        state: raw.state.filter(|_| alerting),
        active_alerts: raw.alerts.filter(|_| alerting).map(|a| a.len()),
        for_seconds: raw.duration.filter(|_| alerting),
        labels: if alerting {
            clean_map(raw.labels, MAX_ENTRIES, MAX_LABEL_CHARS)
        } else {
            BTreeMap::new()
        },
    }
}
