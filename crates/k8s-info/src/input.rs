//! The input, and [`K8sInput::check`], which turns it into a [`Request`] holding only what
//! the action uses, after validating every field: names in Kubernetes' own syntax, selectors
//! in theirs, every limit named in its message. A field that does not apply to the action is
//! an error, so a caller never believes a filter was applied when it was not. What can be
//! read only one way is read that way first: names in lower case, a kind as Kubernetes spells
//! it ([`kind_of`], [`WorkloadKind`]), `since` as a duration or seconds.

use std::time::Duration;

use common::ToolError;
use regex_lite::Regex;
use serde::Deserialize;

/// Largest `max_results`.
pub const MAX_RESULTS: u32 = 500;
/// `max_results` when none is given.
pub const DEFAULT_RESULTS: u32 = 100;
/// Longest label or field selector, in characters.
pub const MAX_SELECTOR_CHARS: usize = 500;
/// Largest `tail_lines`.
pub const MAX_TAIL_LINES: u32 = 1_000;
/// `tail_lines` when none is given.
pub const DEFAULT_TAIL_LINES: u32 = 100;
/// Smallest `limit_bytes`.
pub const MIN_LIMIT_BYTES: u32 = 1_024;
/// Largest `limit_bytes`.
pub const MAX_LIMIT_BYTES: u32 = 1_048_576;
/// `limit_bytes` when none is given.
pub const DEFAULT_LIMIT_BYTES: u32 = 65_536;
/// Longest `match` regex, in characters.
pub const MAX_MATCH_CHARS: usize = 500;
/// `since` of `events` when none is given.
pub const DEFAULT_EVENTS_SINCE: Duration = Duration::from_secs(3_600);
/// Longest `since`: Kubernetes keeps events for an hour by default, logs for the container's
/// life; a week covers both.
pub const MAX_SINCE: Duration = Duration::from_secs(7 * 86_400);

/// What to look up.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Pods with their state.
    ListPods,
    /// One pod in detail, with its events.
    DescribePod,
    /// A container's log.
    PodLogs,
    /// Events, deduplicated.
    Events,
    /// Deployments, StatefulSets and DaemonSets.
    ListWorkloads,
    /// A deployment's ReplicaSets by revision.
    RolloutHistory,
    /// Nodes with their conditions and capacity.
    ListNodes,
    /// Named checks over a namespace (or the cluster) and a verdict.
    WorkloadHealth,
}

impl Action {
    /// The action's name in the input.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListPods => "list_pods",
            Self::DescribePod => "describe_pod",
            Self::PodLogs => "pod_logs",
            Self::Events => "events",
            Self::ListWorkloads => "list_workloads",
            Self::RolloutHistory => "rollout_history",
            Self::ListNodes => "list_nodes",
            Self::WorkloadHealth => "workload_health",
        }
    }
}

/// Which workloads `list_workloads` lists. Read in any case, singular or plural, or as
/// kubectl's short name (`Deployment`, `deployments`, `deploy`), since a model writes a kind
/// the way Kubernetes does as often as the way the schema does.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub enum WorkloadKind {
    /// Deployments.
    Deployment,
    /// StatefulSets.
    Statefulset,
    /// DaemonSets.
    Daemonset,
}

impl TryFrom<String> for WorkloadKind {
    type Error = String;

    fn try_from(kind: String) -> Result<Self, String> {
        match kind.trim().to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Ok(Self::Deployment),
            "statefulset" | "statefulsets" | "sts" => Ok(Self::Statefulset),
            "daemonset" | "daemonsets" | "ds" => Ok(Self::Daemonset),
            _ => Err(format!(
                "kind must be deployment, statefulset or daemonset, got `{}`",
                kind.chars().take(50).collect::<String>()
            )),
        }
    }
}

/// The Kubernetes spelling of a kind as a model may write it (`pod`, `pods`, `deploy`,
/// `StatefulSet`): an event's `involvedObject.kind` is matched exactly and case-sensitively,
/// so `pod/api-1` would find nothing. A kind not listed keeps its letters, with a capital
/// first.
pub fn kind_of(kind: &str) -> String {
    const KINDS: [(&str, &[&str]); 16] = [
        ("Pod", &["pod", "pods", "po"]),
        ("Deployment", &["deployment", "deployments", "deploy"]),
        ("ReplicaSet", &["replicaset", "replicasets", "rs"]),
        ("StatefulSet", &["statefulset", "statefulsets", "sts"]),
        ("DaemonSet", &["daemonset", "daemonsets", "ds"]),
        ("Job", &["job", "jobs"]),
        ("CronJob", &["cronjob", "cronjobs", "cj"]),
        ("Node", &["node", "nodes", "no"]),
        ("Service", &["service", "services", "svc"]),
        ("Endpoints", &["endpoints", "ep"]),
        ("Ingress", &["ingress", "ingresses", "ing"]),
        (
            "PersistentVolumeClaim",
            &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"],
        ),
        (
            "PersistentVolume",
            &["persistentvolume", "persistentvolumes", "pv"],
        ),
        (
            "HorizontalPodAutoscaler",
            &["horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"],
        ),
        ("Namespace", &["namespace", "namespaces", "ns"]),
        (
            "PodDisruptionBudget",
            &["poddisruptionbudget", "poddisruptionbudgets", "pdb"],
        ),
    ];
    let lower = kind.to_ascii_lowercase();
    if let Some((canonical, _)) = KINDS
        .iter()
        .find(|(_, names)| names.contains(&lower.as_str()))
    {
        return (*canonical).to_owned();
    }
    let mut chars = kind.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// A Kubernetes name as sent: trimmed and in lower case. Namespaces, pods, containers and
/// deployments are DNS names, lower case by rule, so `Prod` can only mean `prod`.
fn lower(name: Option<String>) -> Option<String> {
    name.map(|n| n.trim().to_ascii_lowercase())
}

/// The function's input; which fields apply depends on `action`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sInput {
    /// What to look up.
    pub action: Action,
    /// The EKS cluster (in the function's account and region).
    pub cluster_name: String,
    /// One namespace; all when absent (where the action allows).
    #[serde(default)]
    pub namespace: Option<String>,
    /// `list_pods`, `list_nodes`: a label selector.
    #[serde(default)]
    pub label_selector: Option<String>,
    /// `list_pods`: a field selector.
    #[serde(default)]
    pub field_selector: Option<String>,
    /// `list_pods`: only pods that are not running and ready.
    #[serde(default)]
    pub problems_only: Option<bool>,
    /// `describe_pod`, `pod_logs`: the pod.
    #[serde(default)]
    pub pod: Option<String>,
    /// `pod_logs`: the container.
    #[serde(default)]
    pub container: Option<String>,
    /// `pod_logs`: the last terminated instance's log.
    #[serde(default)]
    pub previous: Option<bool>,
    /// `pod_logs`: the last lines.
    #[serde(default)]
    pub tail_lines: Option<u32>,
    /// `pod_logs`, `events`: how far back, a duration (`30m`) or seconds, as every tool
    /// takes durations.
    #[serde(default, deserialize_with = "common::time::duration_field")]
    pub since: Option<Duration>,
    /// `pod_logs`: keep only lines matching this regex.
    #[serde(default, rename = "match")]
    pub line_match: Option<String>,
    /// `pod_logs`: most bytes read.
    #[serde(default)]
    pub limit_bytes: Option<u32>,
    /// `events`: one object, `Kind/name`.
    #[serde(default)]
    pub object: Option<String>,
    /// `events`: only warnings.
    #[serde(default)]
    pub warnings_only: Option<bool>,
    /// `list_workloads`: one kind.
    #[serde(default)]
    pub kind: Option<WorkloadKind>,
    /// `rollout_history`: the deployment.
    #[serde(default)]
    pub deployment: Option<String>,
    /// Most items a list returns.
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// A checked request: one variant per action.
#[derive(Debug)]
pub enum Request {
    /// `list_pods`.
    ListPods {
        /// One namespace, or all.
        namespace: Option<String>,
        /// Kubernetes label selector.
        label_selector: Option<String>,
        /// Kubernetes field selector.
        field_selector: Option<String>,
        /// Only pods with a problem.
        problems_only: bool,
        /// Most pods.
        max_results: usize,
    },
    /// `describe_pod`.
    DescribePod {
        /// The namespace.
        namespace: String,
        /// The pod.
        pod: String,
    },
    /// `pod_logs`.
    PodLogs {
        /// The namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The container, when named.
        container: Option<String>,
        /// The previous instance.
        previous: bool,
        /// Last lines asked of the API.
        tail_lines: u32,
        /// How far back.
        since: Option<Duration>,
        /// Lines kept.
        line_match: Option<Regex>,
        /// Most bytes read.
        limit_bytes: u32,
    },
    /// `events`.
    Events {
        /// One namespace, or all.
        namespace: Option<String>,
        /// `(kind, name)` of one object.
        object: Option<(String, String)>,
        /// Only `Warning` events.
        warnings_only: bool,
        /// How far back.
        since: Duration,
        /// Most events (after deduplication).
        max_results: usize,
    },
    /// `list_workloads`.
    ListWorkloads {
        /// One namespace, or all.
        namespace: Option<String>,
        /// One kind, or all three.
        kind: Option<WorkloadKind>,
        /// Most workloads.
        max_results: usize,
    },
    /// `rollout_history`.
    RolloutHistory {
        /// The namespace.
        namespace: String,
        /// The deployment.
        deployment: String,
    },
    /// `list_nodes`.
    ListNodes {
        /// Kubernetes label selector.
        label_selector: Option<String>,
        /// Most nodes.
        max_results: usize,
    },
    /// `workload_health`.
    WorkloadHealth {
        /// One namespace, or all.
        namespace: Option<String>,
    },
}

/// An EKS cluster name: `^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`.
pub fn valid_cluster_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 100
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A DNS-1123 label (namespaces, containers): lower-case alphanumerics and `-`, starting and
/// ending alphanumeric, at most 63 characters.
pub fn valid_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// A DNS-1123 subdomain (pods, deployments): labels joined by `.`, at most 253 characters.
pub fn valid_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(valid_label)
}

/// One key or value of a label selector: a qualified name (`[prefix/]name`).
fn valid_selector_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(valid_subdomain) && valid_selector_value(name) && !name.is_empty()
}

/// A label value: empty, or alphanumerics with `-`, `_`, `.` inside, at most 63 characters.
fn valid_selector_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric())
}

/// Splits on commas outside parentheses (a set's values are comma-separated too).
fn terms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn check_length(field: &str, text: &str) -> Result<(), ToolError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > MAX_SELECTOR_CHARS {
        return Err(ToolError::invalid_input(format!(
            "{field} must be 1 to {MAX_SELECTOR_CHARS} characters, got {chars}"
        )));
    }
    Ok(())
}

/// Checks a label selector in Kubernetes syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
/// `a notin (x)`, `a`, `!a`, joined by commas.
pub fn check_label_selector(field: &str, text: &str) -> Result<(), ToolError> {
    check_length(field, text)?;
    for term in terms(text) {
        let term = term.trim();
        let bad = || {
            ToolError::invalid_input(format!(
                "{field}: `{term}` is not a label selector term (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)"
            ))
        };
        let set = [" in ", " notin "].iter().find_map(|op| {
            term.split_once(op)
                .map(|(key, values)| (key.trim(), values.trim()))
        });
        let ok = if let Some((key, values)) = set {
            valid_selector_key(key)
                && values.starts_with('(')
                && values.ends_with(')')
                && values[1..values.len() - 1]
                    .split(',')
                    .all(|v| valid_selector_value(v.trim()))
        } else if let Some((key, value)) = term.split_once("!=") {
            valid_selector_key(key.trim()) && valid_selector_value(value.trim())
        } else if let Some((key, value)) = term.split_once('=') {
            let value = value.strip_prefix('=').unwrap_or(value);
            valid_selector_key(key.trim()) && valid_selector_value(value.trim())
        } else if let Some(key) = term.strip_prefix('!') {
            valid_selector_key(key.trim())
        } else {
            valid_selector_key(term)
        };
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Checks a field selector: `field=value`, `field==value` or `field!=value`, joined by
/// commas; fields are dotted paths (`status.phase`, `spec.nodeName`).
pub fn check_field_selector(field: &str, text: &str) -> Result<(), ToolError> {
    check_length(field, text)?;
    for term in text.split(',') {
        let term = term.trim();
        let (key, value) = term
            .split_once("!=")
            .or_else(|| term.split_once("=="))
            .or_else(|| term.split_once('='))
            .unwrap_or((term, ""));
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
        let value_ok = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b':'));
        if !term.contains('=') || !key_ok || !value_ok {
            return Err(ToolError::invalid_input(format!(
                "{field}: `{term}` is not a field selector term (field=value or field!=value, e.g. status.phase=Pending)"
            )));
        }
    }
    Ok(())
}

fn name_field(field: &str, value: Option<&str>, action: &str) -> Result<String, ToolError> {
    let value = value
        .ok_or_else(|| ToolError::invalid_input(format!("{field} is required for {action}")))?;
    if !valid_subdomain(value) {
        return Err(ToolError::invalid_input(format!(
            "{field} must be a Kubernetes object name (lower-case letters, digits, - and ., at most 253 characters)"
        )));
    }
    Ok(value.to_owned())
}

impl K8sInput {
    /// Validates every field for the action, before any request. Names are taken in lower
    /// case first: Kubernetes names are lower case by rule, so `Prod` can only mean `prod`.
    pub fn check(mut self) -> Result<Request, ToolError> {
        self.namespace = lower(self.namespace);
        self.pod = lower(self.pod);
        self.container = lower(self.container);
        self.deployment = lower(self.deployment);
        let action = self.action.as_str();
        if !valid_cluster_name(&self.cluster_name) {
            return Err(ToolError::invalid_input(
                "cluster_name must match ^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$",
            ));
        }
        if let Some(ns) = &self.namespace
            && !valid_label(ns)
        {
            return Err(ToolError::invalid_input(
                "namespace must be a DNS-1123 label (lower-case letters, digits and -, at most 63 characters)",
            ));
        }
        let max_results = self.max_results.unwrap_or(DEFAULT_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max_results) {
            return Err(ToolError::invalid_input(format!(
                "max_results must be between 1 and {MAX_RESULTS}, got {max_results}"
            )));
        }
        let max_results = max_results as usize;
        // Which optional fields each action takes; any other that is set is refused.
        let takes: &[&str] = match self.action {
            Action::ListPods => &[
                "namespace",
                "label_selector",
                "field_selector",
                "problems_only",
                "max_results",
            ],
            Action::DescribePod => &["namespace", "pod"],
            Action::PodLogs => &[
                "namespace",
                "pod",
                "container",
                "previous",
                "tail_lines",
                "since",
                "match",
                "limit_bytes",
            ],
            Action::Events => &[
                "namespace",
                "object",
                "warnings_only",
                "since",
                "max_results",
            ],
            Action::ListWorkloads => &["namespace", "kind", "max_results"],
            Action::RolloutHistory => &["namespace", "deployment"],
            Action::ListNodes => &["label_selector", "max_results"],
            Action::WorkloadHealth => &["namespace"],
        };
        let set = [
            ("namespace", self.namespace.is_some()),
            ("label_selector", self.label_selector.is_some()),
            ("field_selector", self.field_selector.is_some()),
            ("problems_only", self.problems_only.is_some()),
            ("pod", self.pod.is_some()),
            ("container", self.container.is_some()),
            ("previous", self.previous.is_some()),
            ("tail_lines", self.tail_lines.is_some()),
            ("since", self.since.is_some()),
            ("match", self.line_match.is_some()),
            ("limit_bytes", self.limit_bytes.is_some()),
            ("object", self.object.is_some()),
            ("warnings_only", self.warnings_only.is_some()),
            ("kind", self.kind.is_some()),
            ("deployment", self.deployment.is_some()),
            ("max_results", self.max_results.is_some()),
        ];
        if let Some((field, _)) = set.iter().find(|(f, on)| *on && !takes.contains(f)) {
            ToolError::refuse_if_given(true, field, action)?;
        }
        if let Some(s) = &self.label_selector {
            check_label_selector("label_selector", s)?;
        }
        if let Some(s) = &self.field_selector {
            check_field_selector("field_selector", s)?;
        }
        let since = self
            .since
            .map(|d| {
                if d.is_zero() || d > MAX_SINCE {
                    return Err(ToolError::invalid_input(
                        "since must be more than 0 and at most 7d",
                    ));
                }
                Ok(d)
            })
            .transpose()?;
        let namespace_required = |ns: Option<String>| {
            ns.ok_or_else(|| {
                ToolError::invalid_input(format!("namespace is required for {action}"))
            })
        };
        Ok(match self.action {
            Action::ListPods => Request::ListPods {
                namespace: self.namespace,
                label_selector: self.label_selector,
                field_selector: self.field_selector,
                problems_only: self.problems_only.unwrap_or(false),
                max_results,
            },
            Action::DescribePod => Request::DescribePod {
                namespace: namespace_required(self.namespace)?,
                pod: name_field("pod", self.pod.as_deref(), action)?,
            },
            Action::PodLogs => {
                let namespace = namespace_required(self.namespace)?;
                let pod = name_field("pod", self.pod.as_deref(), action)?;
                if let Some(c) = &self.container
                    && !valid_label(c)
                {
                    return Err(ToolError::invalid_input(
                        "container must be a DNS-1123 label (lower-case letters, digits and -, at most 63 characters)",
                    ));
                }
                let tail_lines = self.tail_lines.unwrap_or(DEFAULT_TAIL_LINES);
                if !(1..=MAX_TAIL_LINES).contains(&tail_lines) {
                    return Err(ToolError::invalid_input(format!(
                        "tail_lines must be between 1 and {MAX_TAIL_LINES}, got {tail_lines}"
                    )));
                }
                let limit_bytes = self.limit_bytes.unwrap_or(DEFAULT_LIMIT_BYTES);
                if !(MIN_LIMIT_BYTES..=MAX_LIMIT_BYTES).contains(&limit_bytes) {
                    return Err(ToolError::invalid_input(format!(
                        "limit_bytes must be between {MIN_LIMIT_BYTES} and {MAX_LIMIT_BYTES}, got {limit_bytes}"
                    )));
                }
                let line_match = match &self.line_match {
                    None => None,
                    Some(re) => {
                        let chars = re.chars().count();
                        if re.is_empty() || chars > MAX_MATCH_CHARS {
                            return Err(ToolError::invalid_input(format!(
                                "match must be 1 to {MAX_MATCH_CHARS} characters, got {chars}"
                            )));
                        }
                        Some(Regex::new(re).map_err(|e| {
                            ToolError::invalid_input(format!(
                                "match is not a valid regex: {}",
                                e.to_string().lines().last().unwrap_or_default()
                            ))
                        })?)
                    }
                };
                Request::PodLogs {
                    namespace,
                    pod,
                    container: self.container,
                    previous: self.previous.unwrap_or(false),
                    tail_lines,
                    since,
                    line_match,
                    limit_bytes,
                }
            }
            Action::Events => {
                let object = match &self.object {
                    None => None,
                    Some(o) => {
                        let (kind, name) = o.trim().split_once('/').unwrap_or(("", ""));
                        let name = name.to_ascii_lowercase();
                        if kind.is_empty()
                            || !kind.bytes().all(|b| b.is_ascii_alphabetic())
                            || !valid_subdomain(&name)
                        {
                            return Err(ToolError::invalid_input(
                                "object must be Kind/name, e.g. Pod/api-5f6a8e-x1 or Deployment/api",
                            ));
                        }
                        Some((kind_of(kind), name))
                    }
                };
                Request::Events {
                    namespace: self.namespace,
                    object,
                    warnings_only: self.warnings_only.unwrap_or(true),
                    since: since.unwrap_or(DEFAULT_EVENTS_SINCE),
                    max_results,
                }
            }
            Action::ListWorkloads => Request::ListWorkloads {
                namespace: self.namespace,
                kind: self.kind,
                max_results,
            },
            Action::RolloutHistory => Request::RolloutHistory {
                namespace: namespace_required(self.namespace)?,
                deployment: name_field("deployment", self.deployment.as_deref(), action)?,
            },
            Action::ListNodes => Request::ListNodes {
                label_selector: self.label_selector,
                max_results,
            },
            Action::WorkloadHealth => Request::WorkloadHealth {
                namespace: self.namespace,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: serde_json::Value) -> Result<Request, ToolError> {
        serde_json::from_value::<K8sInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    fn refused(input: serde_json::Value, part: &str) {
        let e = check(input.clone()).unwrap_err();
        assert_eq!(e.code, common::ErrorCode::InvalidInput, "{input}");
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }

    #[test]
    fn names_follow_kubernetes_and_eks() {
        assert!(valid_cluster_name("prod-eu") && valid_cluster_name("a_1"));
        assert!(
            !valid_cluster_name("-x")
                && !valid_cluster_name("")
                && !valid_cluster_name(&"a".repeat(101))
        );
        assert!(valid_label("prod") && valid_label("a-1"));
        assert!(
            !valid_label("Prod")
                && !valid_label("-a")
                && !valid_label("a-")
                && !valid_label(&"a".repeat(64))
        );
        assert!(valid_subdomain("api-5f6a8e-x1") && valid_subdomain("a.b"));
        assert!(!valid_subdomain("a..b") && !valid_subdomain("a_b"));
    }

    #[test]
    fn label_selectors_in_kubernetes_syntax_pass_and_others_are_named() {
        for ok in [
            "app=api",
            "app==api,tier!=db",
            "env in (prod, staging),!canary",
            "app.kubernetes.io/name=api",
            "team notin (a),release",
            "app=",
        ] {
            check_label_selector("label_selector", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["app=a b", "=x", "app in prod", "a=(b)", "ap p=x", "a=-x"] {
            let e = check_label_selector("label_selector", bad).unwrap_err();
            assert!(
                e.message.contains("is not a label selector term"),
                "{bad}: {e}"
            );
        }
        refused(
            json!({"action": "list_pods", "cluster_name": "c", "label_selector": "a".repeat(501)}),
            "label_selector must be 1 to 500 characters, got 501",
        );
    }

    #[test]
    fn field_selectors_are_field_op_value_terms() {
        for ok in [
            "status.phase=Pending",
            "spec.nodeName!=node-1,metadata.name==x",
        ] {
            check_field_selector("field_selector", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["status.phase", "status phase=x", "a=b c"] {
            let e = check_field_selector("field_selector", bad).unwrap_err();
            assert!(
                e.message.contains("is not a field selector term"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn every_limit_is_named() {
        let c = |extra: serde_json::Value| {
            let mut v =
                json!({"action": "pod_logs", "cluster_name": "c", "namespace": "prod", "pod": "p"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        refused(
            c(json!({"tail_lines": 0})),
            "tail_lines must be between 1 and 1000, got 0",
        );
        refused(c(json!({"tail_lines": 1001})), "got 1001");
        refused(
            c(json!({"limit_bytes": 1023})),
            "limit_bytes must be between 1024 and 1048576, got 1023",
        );
        refused(
            c(json!({"since": "0s"})),
            "since must be more than 0 and at most 7d",
        );
        refused(c(json!({"since": "8d"})), "at most 7d");
        refused(c(json!({"since": "soon"})), "must be a duration");
        refused(c(json!({"match": "("})), "match is not a valid regex");
        refused(
            c(json!({"match": ""})),
            "match must be 1 to 500 characters, got 0",
        );
        refused(
            c(json!({"container": "app_1"})),
            "container must be a DNS-1123 label",
        );
        refused(
            json!({"action": "list_pods", "cluster_name": "c", "max_results": 501}),
            "max_results must be between 1 and 500, got 501",
        );
        assert!(
            check(c(
                json!({"tail_lines": 1000, "limit_bytes": 1048576, "since": "7d"})
            ))
            .is_ok()
        );
    }

    #[test]
    fn required_and_inapplicable_fields_are_refused() {
        refused(
            json!({"action": "list_pods", "cluster_name": "-bad"}),
            "cluster_name must match",
        );
        refused(
            json!({"action": "list_pods", "cluster_name": "c", "namespace": "prod_eu"}),
            "namespace must be a DNS-1123 label",
        );
        refused(
            json!({"action": "describe_pod", "cluster_name": "c", "pod": "p"}),
            "namespace is required for describe_pod",
        );
        refused(
            json!({"action": "describe_pod", "cluster_name": "c", "namespace": "n"}),
            "pod is required for describe_pod",
        );
        refused(
            json!({"action": "describe_pod", "cluster_name": "c", "namespace": "n", "pod": "P_1"}),
            "pod must be a Kubernetes object name",
        );
        refused(
            json!({"action": "rollout_history", "cluster_name": "c", "namespace": "n"}),
            "deployment is required for rollout_history",
        );
        refused(
            json!({"action": "list_nodes", "cluster_name": "c", "namespace": "n"}),
            "namespace does not apply to list_nodes",
        );
        refused(
            json!({"action": "events", "cluster_name": "c", "pod": "p"}),
            "pod does not apply to events",
        );
        refused(
            json!({"action": "workload_health", "cluster_name": "c", "max_results": 5}),
            "max_results does not apply to workload_health",
        );
        refused(
            json!({"action": "events", "cluster_name": "c", "object": "api"}),
            "object must be Kind/name",
        );
        refused(
            json!({"action": "list_workloads", "cluster_name": "c", "kind": "job"}),
            "kind must be deployment, statefulset or daemonset, got `job`",
        );
        refused(
            json!({"action": "list_pods"}),
            "missing field `cluster_name`",
        );
    }

    /// What a model plausibly writes for a name, a kind or a duration is read as it meant.
    #[test]
    fn names_kinds_and_durations_are_read_as_meant() {
        match check(
            json!({"action": "pod_logs", "cluster_name": "c", "namespace": " Prod ",
                           "pod": "API-5f6a8e-X1", "container": "App", "since": 1800}),
        )
        .unwrap()
        {
            Request::PodLogs {
                namespace,
                pod,
                container,
                since,
                ..
            } => assert_eq!(
                (
                    namespace.as_str(),
                    pod.as_str(),
                    container.as_deref(),
                    since
                ),
                (
                    "prod",
                    "api-5f6a8e-x1",
                    Some("app"),
                    Some(Duration::from_secs(1800))
                )
            ),
            other => panic!("{other:?}"),
        }
        for (given, kind) in [
            ("Deployment", WorkloadKind::Deployment),
            ("deployments", WorkloadKind::Deployment),
            ("StatefulSet", WorkloadKind::Statefulset),
            ("ds", WorkloadKind::Daemonset),
        ] {
            match check(json!({"action": "list_workloads", "cluster_name": "c", "kind": given}))
                .unwrap()
            {
                Request::ListWorkloads { kind: k, .. } => assert_eq!(k, Some(kind), "{given}"),
                other => panic!("{other:?}"),
            }
        }
        for (given, want) in [
            ("pod/API-1", ("Pod", "api-1")),
            ("pods/api-1", ("Pod", "api-1")),
            ("deploy/api", ("Deployment", "api")),
            ("statefulset/db", ("StatefulSet", "db")),
            ("Pod/api-1", ("Pod", "api-1")),
            ("widget/w", ("Widget", "w")),
        ] {
            match check(json!({"action": "events", "cluster_name": "c", "object": given})).unwrap()
            {
                Request::Events { object, .. } => assert_eq!(
                    object,
                    Some((want.0.to_owned(), want.1.to_owned())),
                    "{given}"
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn defaults() {
        match check(json!({"action": "events", "cluster_name": "c"})).unwrap() {
            Request::Events {
                warnings_only,
                since,
                max_results,
                object,
                ..
            } => {
                assert_eq!(
                    (warnings_only, since, max_results, object),
                    (true, DEFAULT_EVENTS_SINCE, 100, None)
                );
            }
            other => panic!("{other:?}"),
        }
        match check(
            json!({"action": "pod_logs", "cluster_name": "c", "namespace": "n", "pod": "p"}),
        )
        .unwrap()
        {
            Request::PodLogs {
                tail_lines,
                limit_bytes,
                previous,
                ..
            } => {
                assert_eq!((tail_lines, limit_bytes, previous), (100, 65_536, false));
            }
            other => panic!("{other:?}"),
        }
    }
}
