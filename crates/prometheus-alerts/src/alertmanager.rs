//! The `alertmanager_alerts` and `silences` actions: Alertmanager's API v2, at
//! `alertmanager/url` or under an AMP workspace (`…/workspaces/<id>/alertmanager`, SigV4 like
//! the workspace's other APIs).
//!
//! Matchers go to Alertmanager as `filter` parameters, one per matcher, so it selects. The
//! alerts' state flags are applied here with Alertmanager's own rules (an alert is left out
//! when it is active and `active` is false, silenced and `silenced` is false, inhibited and
//! `inhibited` is false), after counting every state for `totals`; so the answer to "what is
//! firing?" also says how much is silenced.

use std::collections::BTreeMap;

use common::{
    Deadline, Settings, ToolError,
    error::ErrorCode,
    prometheus::{Auth, Backend, PrometheusApi, Target},
    text::clean,
};
use serde::{Deserialize, Serialize};

use crate::{
    AlertsOutput, Items, Request, SilenceState, TIMEOUT, clean_map, cut,
    matchers::Matcher,
    rules::{MAX_ANNOTATION_CHARS, MAX_ENTRIES, MAX_LABEL_CHARS},
    severity_rank,
};

/// Longest silence comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// One alert as Alertmanager holds it.
#[derive(Debug, Serialize)]
pub struct AlertmanagerAlert {
    /// The `alertname` label.
    pub name: String,
    /// `active`, `suppressed` (silenced or inhibited) or `unprocessed`.
    pub state: String,
    /// Ids of the silences that silence it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    /// Its labels other than `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Its annotations, cleaned.
    pub annotations: BTreeMap<String, String>,
    /// When it started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Where it is routed.
    pub receivers: Vec<String>,
    /// Alertmanager's id of the alert (what `inhibited_by` refers to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One silence.
#[derive(Debug, Serialize)]
pub struct Silence {
    /// Its id (what an alert's `silenced_by` refers to).
    pub id: String,
    /// `active`, `pending` or `expired`.
    pub state: String,
    /// The alerts it silences, as matchers (`alertname="X"`, `namespace=~"prod.*"`).
    pub matchers: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// Why, cleaned.
    pub comment: String,
    /// When it starts (RFC 3339).
    pub starts_at: String,
    /// When it ends (RFC 3339).
    pub ends_at: String,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    status: RawStatus,
    #[serde(default, rename = "startsAt")]
    starts_at: Option<String>,
    #[serde(default)]
    receivers: Vec<RawReceiver>,
    #[serde(default)]
    fingerprint: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawStatus {
    #[serde(default)]
    state: String,
    #[serde(default, rename = "silencedBy")]
    silenced_by: Vec<String>,
    #[serde(default, rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct RawReceiver {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawSilence {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: RawSilenceStatus,
    #[serde(default)]
    matchers: Vec<RawMatcher>,
    #[serde(default, rename = "createdBy")]
    created_by: String,
    #[serde(default)]
    comment: String,
    #[serde(default, rename = "startsAt")]
    starts_at: String,
    #[serde(default, rename = "endsAt")]
    ends_at: String,
}

#[derive(Deserialize, Default)]
struct RawSilenceStatus {
    #[serde(default)]
    state: String,
}

#[derive(Deserialize)]
struct RawMatcher {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default, rename = "isRegex")]
    is_regex: bool,
    #[serde(default = "yes", rename = "isEqual")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// Where Alertmanager is, and the `endpoint` to report: `alertmanager/url` (unless the caller
/// named a workspace), else the AMP workspace's Alertmanager.
pub async fn target(
    api: &PrometheusApi,
    settings: &Settings,
    workspace_id: Option<&str>,
) -> Result<(Target, &'static str), ToolError> {
    let configured = settings
        .get("alertmanager/url")
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_owned());
    if let (Some(url), None) = (configured, workspace_id) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ToolError::config(
                "alertmanager/url must be an http:// or https:// URL",
            ));
        }
        let target = Target {
            base_url: url,
            backend: Backend::Prometheus,
            auth: Auth::None,
        };
        return Ok((target, "alertmanager"));
    }
    let workspace = api.target(settings, workspace_id).await?;
    // By the path, not the host: AMP behind a VPC endpoint or a proxy keeps its paths.
    if workspace.backend != Backend::Amp && !workspace.base_url.contains("/workspaces/ws-") {
        return Err(ToolError::config(
            "alertmanager/url is not set, and a plain Prometheus does not serve Alertmanager's API: set alertmanager/url to the Alertmanager's base URL",
        ));
    }
    Ok((
        Target {
            base_url: format!("{}/alertmanager", workspace.base_url),
            ..workspace
        },
        "amp",
    ))
}

fn unexpected(what: &str) -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamError,
        format!("Alertmanager answered with an unexpected {what} list"),
    )
}

/// Answers `alertmanager_alerts` or `silences` (other requests are not this module's).
pub async fn answer(
    api: &PrometheusApi,
    target: &Target,
    endpoint: &'static str,
    request: Request,
    deadline: &Deadline,
) -> Result<AlertsOutput, ToolError> {
    match request {
        Request::AlertmanagerAlerts {
            active,
            silenced,
            inhibited,
            matchers,
            max_results,
        } => {
            let filters = filters(&matchers);
            let mut query = vec![
                ("active", "true"),
                ("silenced", "true"),
                ("inhibited", "true"),
            ];
            query.extend(filters.iter().map(|f| ("filter", f.as_str())));
            let body = api
                .get_json(
                    target,
                    "/api/v2/alerts",
                    &query,
                    TIMEOUT,
                    deadline,
                    "Alertmanager",
                )
                .await?;
            let raw: Vec<RawAlert> =
                serde_json::from_slice(&body).map_err(|_| unexpected("alert"))?;
            let mut totals = BTreeMap::new();
            for a in &raw {
                *totals.entry(a.status.state.clone()).or_insert(0) += 1;
            }
            let mut alerts: Vec<RawAlert> = raw
                .into_iter()
                .filter(|a| {
                    let s = &a.status;
                    (active || s.state != "active")
                        && (silenced || s.silenced_by.is_empty())
                        && (inhibited || s.inhibited_by.is_empty())
                })
                .collect();
            alerts.sort_by(|a, b| {
                (
                    a.status.state != "active",
                    severity_rank(&a.labels),
                    &a.starts_at,
                )
                    .cmp(&(
                        b.status.state != "active",
                        severity_rank(&b.labels),
                        &b.starts_at,
                    ))
            });
            let count = alerts.len();
            let (alerts, truncated) = cut(
                alerts.into_iter().map(alertmanager_alert).collect(),
                max_results,
            );
            Ok(AlertsOutput {
                action: "alertmanager_alerts",
                endpoint,
                items: Items::AlertmanagerAlerts(alerts),
                count,
                truncated,
                totals,
                hint: None,
            })
        }
        Request::Silences {
            state,
            matchers,
            max_results,
        } => {
            let filters = filters(&matchers);
            let query: Vec<(&str, &str)> = filters.iter().map(|f| ("filter", f.as_str())).collect();
            let body = api
                .get_json(
                    target,
                    "/api/v2/silences",
                    &query,
                    TIMEOUT,
                    deadline,
                    "Alertmanager",
                )
                .await?;
            let raw: Vec<RawSilence> =
                serde_json::from_slice(&body).map_err(|_| unexpected("silence"))?;
            let mut totals = BTreeMap::new();
            for s in &raw {
                *totals.entry(s.status.state.clone()).or_insert(0) += 1;
            }
            let mut silences: Vec<RawSilence> = raw
                .into_iter()
                .filter(|s| match state {
                    SilenceState::Active => s.status.state == "active",
                    SilenceState::Pending => s.status.state == "pending",
                    SilenceState::Expired => s.status.state == "expired",
                    SilenceState::Any => true,
                })
                .collect();
            // In force first, then upcoming, then past; each by when it ends.
            silences.sort_by(|a, b| {
                (state_rank(&a.status.state), &a.ends_at)
                    .cmp(&(state_rank(&b.status.state), &b.ends_at))
            });
            let count = silences.len();
            let (silences, truncated) =
                cut(silences.into_iter().map(silence).collect(), max_results);
            Ok(AlertsOutput {
                action: "silences",
                endpoint,
                items: Items::Silences(silences),
                count,
                truncated,
                totals,
                hint: None,
            })
        }
        Request::Alerts { .. } | Request::Rules { .. } => {
            Err(ToolError::internal("a rule request reached Alertmanager"))
        }
    }
}

fn filters(matchers: &[Matcher]) -> Vec<String> {
    matchers.iter().map(Matcher::to_filter).collect()
}

fn state_rank(state: &str) -> u8 {
    match state {
        "active" => 0,
        "pending" => 1,
        _ => 2,
    }
}

fn alertmanager_alert(raw: RawAlert) -> AlertmanagerAlert {
    let mut labels = raw.labels;
    let name = labels.remove("alertname").unwrap_or_default();
    AlertmanagerAlert {
        name: clean(&name, MAX_LABEL_CHARS),
        state: raw.status.state,
        silenced_by: raw.status.silenced_by,
        inhibited_by: raw.status.inhibited_by,
        labels: clean_map(labels, MAX_ENTRIES, MAX_LABEL_CHARS),
        annotations: clean_map(raw.annotations, MAX_ENTRIES, MAX_ANNOTATION_CHARS),
        starts_at: raw.starts_at,
        receivers: raw
            .receivers
            .into_iter()
            .map(|r| clean(&r.name, MAX_LABEL_CHARS))
            .collect(),
        fingerprint: raw.fingerprint,
    }
}

fn silence(raw: RawSilence) -> Silence {
    Silence {
        id: raw.id,
        state: raw.status.state,
        matchers: raw
            .matchers
            .into_iter()
            .take(MAX_ENTRIES)
            .map(|m| {
                let op = match (m.is_equal, m.is_regex) {
                    (true, false) => "=",
                    (false, false) => "!=",
                    (true, true) => "=~",
                    (false, true) => "!~",
                };
                clean(
                    &format!("{}{op}{:?}", m.name, m.value),
                    MAX_LABEL_CHARS + 130,
                )
            })
            .collect(),
        created_by: clean(&raw.created_by, MAX_LABEL_CHARS),
        comment: clean(&raw.comment, MAX_COMMENT_CHARS),
        starts_at: raw.starts_at,
        ends_at: raw.ends_at,
    }
}
