//! `prometheus-alerts`: the first question of an incident, "what is alerting right now?",
//! answered from Prometheus' rule evaluation and from Alertmanager, for Amazon Managed
//! Service for Prometheus (AMP) or any Prometheus.
//!
//! Input (docs/contract.md §2.10): `action` is
//! * `alerts`: the alerts of alerting rules (`/api/v1/alerts`): `state` `firing` (default),
//!   `pending` or `any`; label matchers `match`; most critical and oldest first;
//! * `rules`: every alerting and recording rule with its health (`/api/v1/rules`): `type`
//!   `alert`, `record` or `any` (default), `group` (one group's name), `unhealthy_only`
//!   (rules whose last evaluation failed or that never ran); failing rules first;
//! * `alertmanager_alerts`: what Alertmanager holds (`/api/v2/alerts`): `active` (default
//!   true), `silenced`, `inhibited` (default false) and `match`;
//! * `silences`: Alertmanager's silences (`/api/v2/silences`): `state` `active` (default),
//!   `pending`, `expired` or `any`, and `match`.
//!
//! `max_results` (1–500, default 100) bounds every list; `count` says how many matched, and
//! `totals` how many of each state (health, for rules) matched every filter but the state
//! one, so neither a cut nor the default `firing` hides that more exists. When nothing
//! matched at all, a `hint` says how `match` compares (whole values, anchored regexes) or
//! which rule groups contain a `group` that names none. `state` and `type` are read in any
//! case (`type` also as `alerting`, `recording`). `workspace_id` picks an AMP workspace as in
//! the query functions.
//!
//! Alertmanager is found at `alertmanager/url`, or for AMP under the workspace
//! (`…/workspaces/<id>/alertmanager`); a plain Prometheus without `alertmanager/url` is a
//! `CONFIG_ERROR` for the two Alertmanager actions only. Every field is checked before any
//! request ([`AlertsInput::check`]); matchers are parsed here ([`matchers`]). Labels,
//! annotations, rule errors and silence comments are text anyone with write access to a rule
//! or a silence controls, so they are cleaned ([`common::text::clean`]) before they reach a
//! model.

pub mod alertmanager;
pub mod matchers;
pub mod rules;

use std::{collections::BTreeMap, time::Duration};

use common::{
    Handler, Invocation, ToolError,
    prometheus::{PrometheusTool, RESULT_BUDGET_BYTES, check_workspace_id},
};
use serde::{Deserialize, Serialize};

use matchers::Matcher;

/// Largest `max_results`.
pub const MAX_RESULTS: u32 = 500;
/// `max_results` when none is given.
pub const DEFAULT_RESULTS: u32 = 100;
/// Longest `group` name, in characters.
pub const MAX_GROUP_CHARS: usize = 256;
/// Timeout of each request to Prometheus or Alertmanager.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What to look up.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Alerts of Prometheus' alerting rules.
    Alerts,
    /// Alerting and recording rules with their health.
    Rules,
    /// Alerts as Alertmanager holds them (silenced, inhibited, routed).
    AlertmanagerAlerts,
    /// Alertmanager's silences.
    Silences,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Alerts => "alerts",
            Self::Rules => "rules",
            Self::AlertmanagerAlerts => "alertmanager_alerts",
            Self::Silences => "silences",
        }
    }
}

/// Which rules `rules` lists. Read in any case, and as Prometheus names the rule types in
/// its answers (`alerting`, `recording`), which a model has seen more often than the
/// API's `type=alert`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(try_from = "String")]
pub enum RuleType {
    /// Alerting rules.
    Alert,
    /// Recording rules.
    Record,
    /// Both.
    #[default]
    Any,
}

impl TryFrom<String> for RuleType {
    type Error = String;

    fn try_from(kind: String) -> Result<Self, String> {
        match kind.trim().to_ascii_lowercase().as_str() {
            "alert" | "alerting" | "alerts" => Ok(Self::Alert),
            "record" | "recording" | "records" => Ok(Self::Record),
            "any" | "all" | "both" => Ok(Self::Any),
            _ => Err(format!(
                "type must be alert, record or any, got `{}`",
                kind.chars().take(50).collect::<String>()
            )),
        }
    }
}

/// The function's input; which fields apply depends on `action`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsInput {
    /// What to look up.
    pub action: Action,
    /// `alerts`: `firing`, `pending` or `any`; `silences`: `active`, `pending`, `expired` or
    /// `any`.
    #[serde(default)]
    pub state: Option<String>,
    /// Label matchers, e.g. `severity="critical",namespace=~"prod.*"`.
    #[serde(default, rename = "match")]
    pub matchers: Option<String>,
    /// Most items returned.
    #[serde(default)]
    pub max_results: Option<u32>,
    /// `rules`: which kind.
    #[serde(default, rename = "type")]
    pub rule_type: Option<RuleType>,
    /// `rules`: one group's name.
    #[serde(default)]
    pub group: Option<String>,
    /// `rules`: only rules whose health is not `ok`.
    #[serde(default)]
    pub unhealthy_only: Option<bool>,
    /// `alertmanager_alerts`: include active (neither silenced nor inhibited) alerts.
    #[serde(default)]
    pub active: Option<bool>,
    /// `alertmanager_alerts`: include silenced alerts.
    #[serde(default)]
    pub silenced: Option<bool>,
    /// `alertmanager_alerts`: include inhibited alerts.
    #[serde(default)]
    pub inhibited: Option<bool>,
    /// An AMP workspace other than the configured one.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// Which alerts of alerting rules `alerts` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Condition true for at least the rule's `for` duration.
    Firing,
    /// Condition true, not yet for long enough.
    Pending,
    /// Both.
    Any,
}

/// Which silences `silences` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    /// In force now.
    Active,
    /// Starting later.
    Pending,
    /// Ended or expired by hand.
    Expired,
    /// All of them.
    Any,
}

/// A checked request: one variant per action, holding only what applies to it.
#[derive(Debug)]
pub enum Request {
    /// `alerts`.
    Alerts {
        /// Which states.
        state: AlertState,
        /// All must match.
        matchers: Vec<Matcher>,
        /// Most alerts returned.
        max_results: usize,
    },
    /// `rules`.
    Rules {
        /// Which kind.
        rule_type: RuleType,
        /// Only this group.
        group: Option<String>,
        /// Only rules whose health is not `ok`.
        unhealthy_only: bool,
        /// Most rules returned.
        max_results: usize,
    },
    /// `alertmanager_alerts`.
    AlertmanagerAlerts {
        /// Include active alerts.
        active: bool,
        /// Include silenced alerts.
        silenced: bool,
        /// Include inhibited alerts.
        inhibited: bool,
        /// All must match.
        matchers: Vec<Matcher>,
        /// Most alerts returned.
        max_results: usize,
    },
    /// `silences`.
    Silences {
        /// Which states.
        state: SilenceState,
        /// All must match.
        matchers: Vec<Matcher>,
        /// Most silences returned.
        max_results: usize,
    },
}

impl AlertsInput {
    /// Validates every field for the action, before any request.
    pub fn check(self) -> Result<Request, ToolError> {
        check_workspace_id(self.workspace_id.as_deref())?;
        let action = self.action.as_str();
        let max_results = self.max_results.unwrap_or(DEFAULT_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max_results) {
            return Err(ToolError::invalid_input(format!(
                "max_results must be between 1 and {MAX_RESULTS}, got {max_results}"
            )));
        }
        let max_results = max_results as usize;
        let not_for = |field: &str, given: bool| ToolError::refuse_if_given(given, field, action);
        let rules_only = [
            ("type", self.rule_type.is_some()),
            ("group", self.group.is_some()),
            ("unhealthy_only", self.unhealthy_only.is_some()),
        ];
        let alertmanager_only = [
            ("active", self.active.is_some()),
            ("silenced", self.silenced.is_some()),
            ("inhibited", self.inhibited.is_some()),
        ];
        let matchers = match &self.matchers {
            Some(text) if self.action != Action::Rules => matchers::parse(text)?,
            _ => Vec::new(),
        };
        // `FIRING` means `firing`: the case does not change the meaning.
        let state = self.state.as_deref().map(|s| s.trim().to_ascii_lowercase());
        let state = state.as_deref();
        let bad_state = |allowed: &str| {
            ToolError::invalid_input(format!(
                "state must be one of {allowed} for {action}, got {:?}",
                state.unwrap_or_default()
            ))
        };
        match self.action {
            Action::Alerts => {
                for (field, set) in rules_only.iter().chain(&alertmanager_only) {
                    not_for(field, *set)?;
                }
                let state = match state {
                    None | Some("firing") => AlertState::Firing,
                    Some("pending") => AlertState::Pending,
                    Some("any") => AlertState::Any,
                    Some(_) => return Err(bad_state("firing, pending, any")),
                };
                Ok(Request::Alerts {
                    state,
                    matchers,
                    max_results,
                })
            }
            Action::Rules => {
                not_for("state", state.is_some())?;
                not_for("match (use group or type)", self.matchers.is_some())?;
                for (field, set) in &alertmanager_only {
                    not_for(field, *set)?;
                }
                if let Some(group) = &self.group {
                    let chars = group.chars().count();
                    if group.trim().is_empty() || chars > MAX_GROUP_CHARS {
                        return Err(ToolError::invalid_input(format!(
                            "group must be 1 to {MAX_GROUP_CHARS} characters, got {chars}"
                        )));
                    }
                }
                Ok(Request::Rules {
                    rule_type: self.rule_type.unwrap_or_default(),
                    group: self.group,
                    unhealthy_only: self.unhealthy_only.unwrap_or(false),
                    max_results,
                })
            }
            Action::AlertmanagerAlerts => {
                not_for("state (use active, silenced, inhibited)", state.is_some())?;
                for (field, set) in &rules_only {
                    not_for(field, *set)?;
                }
                let active = self.active.unwrap_or(true);
                let silenced = self.silenced.unwrap_or(false);
                let inhibited = self.inhibited.unwrap_or(false);
                if !(active || silenced || inhibited) {
                    return Err(ToolError::invalid_input(
                        "at least one of active, silenced and inhibited must be true",
                    ));
                }
                Ok(Request::AlertmanagerAlerts {
                    active,
                    silenced,
                    inhibited,
                    matchers,
                    max_results,
                })
            }
            Action::Silences => {
                for (field, set) in rules_only.iter().chain(&alertmanager_only) {
                    not_for(field, *set)?;
                }
                let state = match state {
                    None | Some("active") => SilenceState::Active,
                    Some("pending") => SilenceState::Pending,
                    Some("expired") => SilenceState::Expired,
                    Some("any") => SilenceState::Any,
                    Some(_) => return Err(bad_state("active, pending, expired, any")),
                };
                Ok(Request::Silences {
                    state,
                    matchers,
                    max_results,
                })
            }
        }
    }
}

/// The function's output: the action's list, most pressing first, and what was left out.
#[derive(Debug, Serialize)]
pub struct AlertsOutput {
    /// The action performed.
    pub action: &'static str,
    /// `amp`, `prometheus` (the rule APIs) or `alertmanager` (a configured `alertmanager/url`).
    pub endpoint: &'static str,
    /// The list, under the action's own key.
    #[serde(flatten)]
    pub items: Items,
    /// How many matched the request (before `max_results`).
    pub count: usize,
    /// Whether `max_results` (or the size budget) cut the list.
    pub truncated: bool,
    /// How many of each state (health, for rules) matched every filter but the state one
    /// (`state`, `active`/`silenced`/`inhibited`, `unhealthy_only`).
    pub totals: BTreeMap<String, usize>,
    /// When nothing matched the filters: how they were applied, so "no alert" is not read as
    /// "all is well" when a matcher or a group name could not match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The hint of an answer in which nothing matched `match`: values are compared exactly and
/// a regex must match the whole value, as in PromQL, which a model often forgets.
pub fn no_match_hint(what: &str, matchers: &str) -> String {
    format!(
        "no {what} matched {}: = compares whole values, case-sensitively, and =~ must match the whole value (write =~\".*cpu.*\" to search, (?i) to ignore case); leave match out to see them all",
        matchers.chars().take(200).collect::<String>()
    )
}

/// The list an action returns.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Items {
    /// `alerts`.
    Alerts(Vec<rules::Alert>),
    /// `rules`.
    Rules(Vec<rules::Rule>),
    /// `alertmanager_alerts`, under the key `alerts`.
    #[serde(rename = "alerts")]
    AlertmanagerAlerts(Vec<alertmanager::AlertmanagerAlert>),
    /// `silences`.
    Silences(Vec<alertmanager::Silence>),
}

/// The first `max` of `items` that fit the result budget, and whether any were left out.
pub(crate) fn cut<T: Serialize>(mut items: Vec<T>, max: usize) -> (Vec<T>, bool) {
    let mut truncated = items.len() > max;
    items.truncate(max);
    let mut used = 0;
    let mut fit = items.len();
    for (i, item) in items.iter().enumerate() {
        used += serde_json::to_vec(item).map_or(0, |v| v.len()) + 1;
        if used > RESULT_BUDGET_BYTES {
            fit = i;
            truncated = true;
            break;
        }
    }
    items.truncate(fit);
    (items, truncated)
}

/// Labels and annotations as untrusted text: keys and values cleaned and bounded.
pub(crate) fn clean_map(
    map: BTreeMap<String, String>,
    max_entries: usize,
    max_value_chars: usize,
) -> BTreeMap<String, String> {
    map.into_iter()
        .take(max_entries)
        .map(|(k, v)| {
            (
                common::text::clean(&k, 128),
                common::text::clean(&v, max_value_chars),
            )
        })
        .collect()
}

/// How urgent a `severity` label is, for ordering (lower first).
pub(crate) fn severity_rank(labels: &BTreeMap<String, String>) -> u8 {
    match labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical" | "page" | "emergency") => 0,
        Some("error" | "high" | "major") => 1,
        Some("warning" | "warn" | "medium") => 2,
        Some("info" | "low" | "minor") => 3,
        _ => 4,
    }
}

/// The handler, holding the clients `main` built once per cold start.
#[derive(Debug)]
pub struct PrometheusAlerts {
    /// The Prometheus client (also used for Alertmanager) and the configuration.
    pub prometheus: PrometheusTool,
}

impl Handler for PrometheusAlerts {
    const NAME: &'static str = "prometheus_alerts";
    type Input = AlertsInput;
    type Output = AlertsOutput;

    async fn handle(
        &self,
        input: AlertsInput,
        invocation: &Invocation,
    ) -> Result<AlertsOutput, ToolError> {
        let workspace_id = input.workspace_id.clone();
        let matchers = input.matchers.clone();
        let request = input.check()?;
        let deadline = &invocation.deadline;
        let workspace_id = workspace_id.as_deref();
        let mut out = match request {
            Request::Alerts { .. } | Request::Rules { .. } => {
                let target = self.prometheus.target(workspace_id).await?;
                rules::answer(&self.prometheus.api, &target, request, deadline).await?
            }
            Request::AlertmanagerAlerts { .. } | Request::Silences { .. } => {
                let settings = self.prometheus.config.settings().await?;
                let (target, endpoint) =
                    alertmanager::target(&self.prometheus.api, &settings, workspace_id).await?;
                alertmanager::answer(&self.prometheus.api, &target, endpoint, request, deadline)
                    .await?
            }
        };
        // Nothing matched in any state: the matchers are the likely reason.
        if let (None, Some(text), true) = (&out.hint, &matchers, out.totals.is_empty()) {
            let what = if out.action == "silences" {
                "silence"
            } else {
                "alert"
            };
            out.hint = Some(no_match_hint(what, text));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: serde_json::Value) -> Result<Request, ToolError> {
        serde_json::from_value::<AlertsInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    fn refused(input: serde_json::Value, part: &str) {
        let e = check(input.clone()).unwrap_err();
        assert_eq!(e.code, common::ErrorCode::InvalidInput, "{input}");
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<AlertsInput>(&common::tools::PROMETHEUS_ALERTS).unwrap();
    }

    #[test]
    fn defaults_are_firing_alerts_active_notifications_and_active_silences() {
        match check(json!({"action": "alerts"})).unwrap() {
            Request::Alerts {
                state,
                matchers,
                max_results,
            } => assert_eq!(
                (state, matchers.len(), max_results),
                (AlertState::Firing, 0, 100)
            ),
            other => panic!("{other:?}"),
        }
        match check(json!({"action": "alertmanager_alerts", "match": "a=\"b\""})).unwrap() {
            Request::AlertmanagerAlerts {
                active,
                silenced,
                inhibited,
                matchers,
                ..
            } => assert_eq!(
                (active, silenced, inhibited, matchers.len()),
                (true, false, false, 1)
            ),
            other => panic!("{other:?}"),
        }
        match check(json!({"action": "silences"})).unwrap() {
            Request::Silences { state, .. } => assert_eq!(state, SilenceState::Active),
            other => panic!("{other:?}"),
        }
        match check(
            json!({"action": "rules", "type": "alert", "group": "g", "unhealthy_only": true}),
        )
        .unwrap()
        {
            Request::Rules {
                rule_type,
                group,
                unhealthy_only,
                ..
            } => assert_eq!(
                (rule_type, group.as_deref(), unhealthy_only),
                (RuleType::Alert, Some("g"), true)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn max_results_is_bounded() {
        refused(
            json!({"action": "alerts", "max_results": 0}),
            "between 1 and 500, got 0",
        );
        refused(
            json!({"action": "rules", "max_results": 501}),
            "between 1 and 500, got 501",
        );
    }

    #[test]
    fn states_are_checked_per_action() {
        refused(
            json!({"action": "alerts", "state": "active"}),
            "state must be one of firing, pending, any for alerts, got \"active\"",
        );
        refused(
            json!({"action": "silences", "state": "firing"}),
            "state must be one of active, pending, expired, any for silences",
        );
        refused(
            json!({"action": "rules", "state": "firing"}),
            "state does not apply to rules",
        );
        refused(
            json!({"action": "alertmanager_alerts", "state": "firing"}),
            "use active, silenced, inhibited",
        );
    }

    /// The case of a state or a rule type does not change its meaning, and Prometheus' own
    /// names of the rule types are read too.
    #[test]
    fn states_and_types_are_read_in_any_case() {
        assert!(matches!(
            check(json!({"action": "alerts", "state": " FIRING"})).unwrap(),
            Request::Alerts {
                state: AlertState::Firing,
                ..
            }
        ));
        assert!(matches!(
            check(json!({"action": "silences", "state": "Expired"})).unwrap(),
            Request::Silences {
                state: SilenceState::Expired,
                ..
            }
        ));
        for (given, want) in [
            ("alerting", RuleType::Alert),
            ("Record", RuleType::Record),
            ("recording", RuleType::Record),
            ("ANY", RuleType::Any),
        ] {
            match check(json!({"action": "rules", "type": given})).unwrap() {
                Request::Rules { rule_type, .. } => assert_eq!(rule_type, want, "{given}"),
                other => panic!("{other:?}"),
            }
        }
        refused(
            json!({"action": "rules", "type": "page"}),
            "type must be alert, record or any, got `page`",
        );
    }

    #[test]
    fn an_empty_answer_says_how_it_matched() {
        let hint = no_match_hint("alert", r#"alertname="HighCPU""#);
        assert!(
            hint.starts_with(r#"no alert matched alertname="HighCPU": = compares whole values"#),
            "{hint}"
        );
        let groups = ["kubernetes-apps".to_owned(), "node-exporter".to_owned()];
        assert_eq!(
            rules::group_hint("Kubernetes", &groups),
            "no rule group is named Kubernetes (an exact, case-sensitive name); these contain it: kubernetes-apps"
        );
        assert!(rules::group_hint("etcd", &groups).contains("nor contains it"));
    }

    #[test]
    fn fields_of_other_actions_are_refused() {
        refused(
            json!({"action": "alerts", "group": "g"}),
            "group does not apply to alerts",
        );
        refused(
            json!({"action": "alerts", "silenced": true}),
            "silenced does not apply to alerts",
        );
        refused(
            json!({"action": "silences", "type": "alert"}),
            "type does not apply to silences",
        );
        refused(
            json!({"action": "rules", "match": "a=\"b\""}),
            "match (use group or type) does not apply to rules",
        );
        refused(
            json!({"action": "rules", "active": true}),
            "active does not apply to rules",
        );
        refused(
            json!({"action": "alertmanager_alerts", "unhealthy_only": true}),
            "unhealthy_only does not apply to alertmanager_alerts",
        );
        refused(
            json!({"action": "alerts", "bogus": 1}),
            "unknown field `bogus`",
        );
        refused(
            json!({"action": "page_someone"}),
            "unknown variant `page_someone`",
        );
    }

    #[test]
    fn other_fields_are_checked_before_any_request() {
        refused(
            json!({"action": "alertmanager_alerts", "active": false}),
            "at least one of active, silenced and inhibited",
        );
        refused(
            json!({"action": "rules", "group": " "}),
            "group must be 1 to 256 characters",
        );
        refused(
            json!({"action": "rules", "group": "g".repeat(257)}),
            "group must be 1 to 256 characters, got 257",
        );
        refused(
            json!({"action": "alerts", "match": "severity=~"}),
            "double quotes",
        );
        refused(
            json!({"action": "alerts", "workspace_id": "prod"}),
            "workspace_id",
        );
    }

    #[test]
    fn severities_order_pages_before_warnings() {
        let with = |s: &str| BTreeMap::from([("severity".to_owned(), s.to_owned())]);
        assert!(severity_rank(&with("critical")) < severity_rank(&with("warning")));
        assert!(severity_rank(&with("Warning")) < severity_rank(&with("info")));
        assert!(severity_rank(&with("info")) < severity_rank(&BTreeMap::new()));
    }

    #[test]
    fn cut_keeps_max_results_and_says_so() {
        assert_eq!(cut(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(cut(vec![1, 2], 2), (vec![1, 2], false));
        let big = vec!["x".repeat(1_000_000); 6];
        let (kept, truncated) = cut(big, 6);
        assert!(truncated && kept.len() == 5, "{}", kept.len());
    }
}
