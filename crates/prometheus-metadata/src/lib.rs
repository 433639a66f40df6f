//! `prometheus-metadata`: what a model needs to write valid PromQL: which metrics exist,
//! which values a label takes, and what the server is.
//!
//! Input (docs/contract.md §2.5): `action` is
//! * `list_metrics`: metric names (the `__name__` label's values), optionally only those
//!   whose name contains a match of the regex `match` (RE2, searched anywhere in the name as
//!   grep does: `http_requests` finds `http_requests_total`, `^acc_` the names starting with
//!   `acc_`), at most `limit` (1–10,000, default 200). An empty list carries a `hint`, so
//!   "no metric matched" is never read as "the metric does not exist" without saying how it
//!   was looked for;
//! * `label_values`: the values of `label` (a Prometheus label name), optionally only on
//!   series matching the selector `match[]`, at most `limit`; no value carries a `hint` too;
//! * `server_info`: for a plain Prometheus its build information; for AMP the workspace's
//!   alias and status (`DescribeWorkspace`).
//!
//! `workspace_id` picks an AMP workspace as in the query functions. Regexes and selectors are
//! judged by Prometheus: its `bad_data` answer comes back as `INVALID_INPUT`.

use std::time::Duration;

use common::{
    Handler, Invocation, ToolError,
    error::ErrorCode,
    prometheus::{Backend, PrometheusTool, check_workspace_id, promql_string},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};

/// Largest `limit`.
pub const MAX_LIMIT: u32 = 10_000;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: u32 = 200;
/// Longest `match` regex or `match[]` selector, in characters.
pub const MAX_MATCH_CHARS: usize = 1_000;
/// Longest label name.
pub const MAX_LABEL_CHARS: usize = 128;
/// Timeout of each metadata request.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What to look up.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Metric names.
    ListMetrics,
    /// Values of one label.
    LabelValues,
    /// Build information or workspace status.
    ServerInfo,
}

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataInput {
    /// What to look up.
    pub action: Action,
    /// `list_metrics`: regex on the metric name.
    #[serde(default, rename = "match")]
    pub name_regex: Option<String>,
    /// `label_values`: the label.
    #[serde(default)]
    pub label: Option<String>,
    /// `label_values`: a series selector.
    #[serde(default, rename = "match[]")]
    pub selector: Option<String>,
    /// Most names or values returned.
    #[serde(default)]
    pub limit: Option<u32>,
    /// An AMP workspace other than the configured one.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// The function's output; which fields are present depends on the action.
#[derive(Debug, Serialize)]
pub struct MetadataOutput {
    /// The action performed.
    pub action: &'static str,
    /// `list_metrics`: the names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<String>>,
    /// `label_values`: the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `label_values`: its values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Names or values that exist (before `limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// Whether `limit` cut the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// `server_info`: Prometheus' build information or the AMP workspace's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Value>,
    /// `list_metrics` with `match`, or `label_values`, that found nothing: how it was looked
    /// for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `amp` or `prometheus`.
    pub endpoint: &'static str,
    /// Prometheus' warnings.
    pub warnings: Vec<String>,
}

fn valid_label_name(label: &str) -> bool {
    let mut bytes = label.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && label.len() <= MAX_LABEL_CHARS
}

fn check_match(field: &str, text: &str) -> Result<(), ToolError> {
    let chars = text.chars().count();
    if chars > 0 && text.trim().is_empty() {
        return Err(ToolError::invalid_input(format!(
            "{field} must not be blank"
        )));
    }
    if chars == 0 || chars > MAX_MATCH_CHARS {
        return Err(ToolError::invalid_input(format!(
            "{field} must be 1 to {MAX_MATCH_CHARS} characters, got {chars}"
        )));
    }
    Ok(())
}

impl MetadataInput {
    fn check(&self) -> Result<usize, ToolError> {
        check_workspace_id(self.workspace_id.as_deref())?;
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ToolError::invalid_input(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        let only = |field: &str, set: bool, action: &str| {
            if set {
                Err(ToolError::invalid_input(format!(
                    "{field} does not apply to {action}"
                )))
            } else {
                Ok(())
            }
        };
        match self.action {
            Action::ListMetrics => {
                only("label", self.label.is_some(), "list_metrics")?;
                only(
                    "match[]",
                    self.selector.is_some(),
                    "list_metrics (use match)",
                )?;
                if let Some(regex) = &self.name_regex {
                    check_match("match", regex)?;
                }
            }
            Action::LabelValues => {
                only(
                    "match",
                    self.name_regex.is_some(),
                    "label_values (use match[])",
                )?;
                match &self.label {
                    None => {
                        return Err(ToolError::invalid_input(
                            "label is required for label_values",
                        ));
                    }
                    Some(label) if !valid_label_name(label) => {
                        return Err(ToolError::invalid_input(format!(
                            "label must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, at most {MAX_LABEL_CHARS} characters)"
                        )));
                    }
                    Some(_) => {}
                }
                if let Some(selector) = &self.selector {
                    check_match("match[]", selector)?;
                }
            }
            Action::ServerInfo => {
                only("match", self.name_regex.is_some(), "server_info")?;
                only("match[]", self.selector.is_some(), "server_info")?;
                only("label", self.label.is_some(), "server_info")?;
                only("limit", self.limit.is_some(), "server_info")?;
            }
        }
        Ok(limit as usize)
    }
}

/// The handler, holding the clients `main` built once per cold start.
#[derive(Debug)]
pub struct PrometheusMetadata {
    /// The Prometheus client and the configuration naming the target.
    pub prometheus: PrometheusTool,
}

impl Handler for PrometheusMetadata {
    const NAME: &'static str = "prometheus_metadata";
    type Input = MetadataInput;
    type Output = MetadataOutput;

    async fn handle(
        &self,
        input: MetadataInput,
        invocation: &Invocation,
    ) -> Result<MetadataOutput, ToolError> {
        let limit = input.check()?;
        // Read here as well as by the target: `workspace_of` needs the configured workspace.
        let settings = self.prometheus.config.settings().await?;
        let target = self
            .prometheus
            .api
            .target(&settings, input.workspace_id.as_deref())
            .await?;
        let mut out = MetadataOutput {
            action: "",
            metrics: None,
            label: None,
            values: None,
            count: None,
            truncated: None,
            server: None,
            hint: None,
            endpoint: target.backend.as_str(),
            warnings: Vec::new(),
        };
        let deadline = &invocation.deadline;
        match input.action {
            Action::ListMetrics | Action::LabelValues => {
                let (label, selector) = match input.action {
                    Action::ListMetrics => (
                        "__name__".to_owned(),
                        input
                            .name_regex
                            .as_deref()
                            // PromQL anchors `=~` at both ends; a model asking for `http_requests`
                            // or `^acc_` means a search, as grep does it.
                            .map(|re| {
                                format!("{{__name__=~{}}}", promql_string(&format!(".*(?:{re}).*")))
                            }),
                    ),
                    _ => (
                        input.label.clone().unwrap_or_default(),
                        input.selector.clone(),
                    ),
                };
                let query: Vec<(&str, &str)> = selector
                    .as_deref()
                    .map(|s| ("match[]", s))
                    .into_iter()
                    .collect();
                let answer = self
                    .prometheus
                    .api
                    .get(
                        &target,
                        &format!("/api/v1/label/{label}/values"),
                        &query,
                        TIMEOUT,
                        deadline,
                    )
                    .await?;
                let mut all: Vec<String> =
                    serde_json::from_str(answer.data.get()).map_err(|_| {
                        ToolError::new(
                            ErrorCode::UpstreamError,
                            "Prometheus answered with an unexpected list",
                        )
                    })?;
                let count = all.len();
                all.truncate(limit);
                out.count = Some(count);
                out.truncated = Some(count > limit);
                out.warnings = answer.warnings;
                if input.action == Action::ListMetrics {
                    out.action = "list_metrics";
                    if let (0, Some(re)) = (count, &input.name_regex) {
                        out.hint = Some(format!(
                            "no metric name contains a match of `{}` (a case-sensitive regex searched anywhere in the name); list_metrics without match lists every name",
                            re.chars().take(100).collect::<String>()
                        ));
                    }
                    out.metrics = Some(all);
                } else {
                    out.action = "label_values";
                    if count == 0 {
                        // No values reads as "the label exists but is empty"; say how it was
                        // looked for instead.
                        out.hint = Some(format!(
                            "no series{} has the label {label}: label names are case-sensitive (a query of the metric, e.g. prometheus_query, shows the labels it has)",
                            if input.selector.is_some() {
                                " matching match[]"
                            } else {
                                ""
                            }
                        ));
                    }
                    out.label = Some(label);
                    out.values = Some(all);
                }
            }
            Action::ServerInfo => {
                out.action = "server_info";
                out.server = Some(
                    match (
                        target.backend,
                        workspace_of(&target.base_url, &input, &settings),
                    ) {
                        (Backend::Amp, Some(ws)) => {
                            self.prometheus.api.describe_workspace(&ws).await?
                        }
                        _ => {
                            let answer = self
                                .prometheus
                                .api
                                .get(&target, "/api/v1/status/buildinfo", &[], TIMEOUT, deadline)
                                .await?;
                            let build: Box<RawValue> = answer.data;
                            serde_json::from_str(build.get()).map_err(|_| {
                                ToolError::new(
                                    ErrorCode::UpstreamError,
                                    "Prometheus answered with unexpected build info",
                                )
                            })?
                        }
                    },
                );
            }
        }
        Ok(out)
    }
}

/// The AMP workspace a target belongs to: the caller's, the configured one, or the last
/// path segment of an AMP URL.
fn workspace_of(
    base_url: &str,
    input: &MetadataInput,
    settings: &common::Settings,
) -> Option<String> {
    input
        .workspace_id
        .clone()
        .or_else(|| {
            settings
                .get("prometheus/workspace_id")
                .map(|w| w.into_owned())
        })
        .or_else(|| {
            base_url
                .rsplit_once("/workspaces/")
                .map(|(_, ws)| ws.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: serde_json::Value) -> Result<usize, ToolError> {
        serde_json::from_value::<MetadataInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    fn accepted(input: serde_json::Value) -> usize {
        check(input.clone()).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn refused(input: serde_json::Value, part: &str) {
        let e = check(input.clone()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{input}");
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<MetadataInput>(&common::tools::PROMETHEUS_METADATA).unwrap();
    }

    #[test]
    fn limit_is_between_1_and_10000_default_200() {
        assert_eq!(accepted(json!({"action": "list_metrics"})), 200);
        assert_eq!(accepted(json!({"action": "server_info"})), 200);
        for limit in [1, 10_000] {
            assert_eq!(
                accepted(json!({"action": "list_metrics", "limit": limit})),
                limit
            );
            assert_eq!(
                accepted(json!({"action": "label_values", "label": "job", "limit": limit})),
                limit
            );
        }
        for limit in [0, 10_001] {
            refused(
                json!({"action": "list_metrics", "limit": limit}),
                &format!("limit must be between 1 and 10000, got {limit}"),
            );
            refused(
                json!({"action": "label_values", "label": "job", "limit": limit}),
                &format!("limit must be between 1 and 10000, got {limit}"),
            );
        }
    }

    #[test]
    fn workspace_id_is_ws_and_1_to_64_letters_digits_or_dashes() {
        accepted(json!({"action": "server_info", "workspace_id": "ws-1"}));
        accepted(
            json!({"action": "list_metrics", "workspace_id": format!("ws-{}", "a".repeat(64))}),
        );
        for bad in ["ws-", "ws1", "ws-a_b", &format!("ws-{}", "a".repeat(65))] {
            refused(
                json!({"action": "server_info", "workspace_id": bad}),
                "workspace_id must be `ws-` followed by 1 to 64 letters, digits or dashes",
            );
        }
    }

    #[test]
    fn match_and_match_selector_are_1_to_1000_characters() {
        for (action, field) in [
            (json!({"action": "list_metrics"}), "match"),
            (json!({"action": "label_values", "label": "job"}), "match[]"),
        ] {
            let with = |text: String| {
                let mut input = action.clone();
                input[field] = json!(text);
                input
            };
            accepted(with("x".into()));
            accepted(with("x".repeat(1_000)));
            // Characters, not bytes.
            accepted(with("é".repeat(1_000)));
            refused(
                with(String::new()),
                &format!("{field} must be 1 to 1000 characters, got 0"),
            );
            // Blank counts as empty (the message gives its length).
            refused(with("   ".into()), &format!("{field} must not be blank"));
            refused(
                with("x".repeat(1_001)),
                &format!("{field} must be 1 to 1000 characters, got 1001"),
            );
        }
    }

    #[test]
    fn list_metrics_takes_match_not_label_or_match_selector() {
        accepted(json!({"action": "list_metrics", "match": "http_.*"}));
        refused(
            json!({"action": "list_metrics", "label": "job"}),
            "label does not apply to list_metrics",
        );
        refused(
            json!({"action": "list_metrics", "match[]": "up"}),
            "match[] does not apply to list_metrics (use match)",
        );
    }

    #[test]
    fn label_values_needs_a_label_and_takes_match_selector_not_match() {
        accepted(json!({"action": "label_values", "label": "job", "match[]": "up"}));
        refused(
            json!({"action": "label_values"}),
            "label is required for label_values",
        );
        refused(
            json!({"action": "label_values", "label": "job", "match": "up"}),
            "match does not apply to label_values (use match[])",
        );
    }

    #[test]
    fn label_is_a_prometheus_label_name_of_at_most_128_characters() {
        for ok in ["job", "_x1", "__name__", "A", &"a".repeat(128)] {
            accepted(json!({"action": "label_values", "label": ok}));
        }
        for bad in ["", "1x", "a-b", "a.b", "é", &"a".repeat(129)] {
            refused(
                json!({"action": "label_values", "label": bad}),
                "label must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, at most 128 characters)",
            );
        }
    }

    #[test]
    fn server_info_takes_no_match_label_or_limit() {
        for (field, value) in [
            ("match", json!("up")),
            ("match[]", json!("up")),
            ("label", json!("job")),
            ("limit", json!(200)),
        ] {
            let mut input = json!({"action": "server_info"});
            input[field] = value;
            refused(input, &format!("{field} does not apply to server_info"));
        }
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(valid_label_name("job") && valid_label_name("_x1") && valid_label_name("__name__"));
        assert!(
            !valid_label_name("1x")
                && !valid_label_name("a-b")
                && !valid_label_name("")
                && !valid_label_name(&"a".repeat(129))
        );
    }
}
