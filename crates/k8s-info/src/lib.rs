//! `k8s-info`: what is running inside the EKS clusters of the function's account and region,
//! read-only, through each cluster's Kubernetes API: which pods fail and why, what they
//! logged before dying, what the cluster said (events), whether workloads and nodes have
//! what they need, and what changed.
//!
//! Input (docs/contract.md §2.11): `action` is one of `list_pods`, `describe_pod`,
//! `pod_logs`, `events`, `list_workloads`, `rollout_history`, `list_nodes`,
//! `workload_health`; `cluster_name` is required for all. Every field is validated before
//! any request ([`input`]); lists page with the API's `limit`/`continue` and say
//! `truncated`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`input`] | the input, its checks, the [`Request`] per action |
//! | [`access`] | reaching a cluster: endpoint and CA from EKS, the IAM token, TLS, GET only |
//! | [`pods`] | `list_pods`, `describe_pod`, `pod_logs` |
//! | [`events`] | `events`, deduplicated |
//! | [`workloads`] | `list_workloads`, `rollout_history` |
//! | [`nodes`] | `list_nodes` |
//! | [`health`] | `workload_health`'s checks and verdict |
//! | [`shape`] | reading Kubernetes objects into facts |
//!
//! **Read-only by construction**: the client only sends GETs, and only to the paths these
//! modules name (pods, their logs, events, nodes, PVCs, jobs, deployments, stateful sets,
//! daemon sets, replica sets, one namespace); never Secrets, ConfigMaps, `exec`, `attach`,
//! `portforward` or `proxy`. Environment variables are reported by name only.

pub mod access;
pub mod events;
pub mod health;
pub mod input;
pub mod nodes;
pub mod pods;
pub mod shape;
pub mod workloads;

use access::ClusterApi;
use common::{Handler, Invocation, ToolError};
use serde_json::{Value, json};

pub use access::Clusters;
pub use input::{K8sInput, Request};

/// The handler, holding the clients `main` built (lazily) once per cold start.
#[derive(Debug, Default)]
pub struct K8sInfo {
    /// EKS, the token signer and every cluster reached so far.
    pub clusters: Clusters,
}

impl K8sInfo {
    /// Clients from the process's SDK configuration, built on first use.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Handler for K8sInfo {
    const NAME: &'static str = "k8s_info";
    type Input = K8sInput;
    type Output = Value;

    async fn handle(&self, input: K8sInput, invocation: &Invocation) -> Result<Value, ToolError> {
        let action = input.action.as_str();
        let cluster_name = input.cluster_name.clone();
        let request = input.check()?;
        let deadline = &invocation.deadline;
        let cluster = self.clusters.cluster(&cluster_name, deadline).await?;
        let api = &ClusterApi {
            clusters: &self.clusters,
            cluster: &cluster,
            deadline,
        };
        // Listing in a namespace that does not exist answers an empty list (the API does not
        // tell who may not see which namespaces exist): ask for the namespace first, so a
        // misspelt one is NOT_FOUND and not a healthy-looking nothing.
        let lists = matches!(
            request,
            Request::ListPods { .. }
                | Request::Events { .. }
                | Request::ListWorkloads { .. }
                | Request::WorkloadHealth { .. }
        );
        if lists && let Some(ns) = namespace_of(&request) {
            api.get_json(&format!("/api/v1/namespaces/{ns}"), &[])
                .await?;
        }
        // Boxed: the actions' futures together, inline in this one, overflow a 2 MB thread
        // stack in a debug build.
        let body = match Box::pin(Self::answer(api, &request)).await {
            Ok(body) => body,
            Err(e) if e.code == common::ErrorCode::NotFound => {
                return Err(Box::pin(with_suggestions(api, &request, e)).await);
            }
            Err(e) => return Err(e),
        };
        let mut body = with_hint(body, &request);
        body["action"] = json!(action);
        body["cluster"] = json!(cluster_name);
        if let Some(ns) = namespace_of(&request) {
            body["namespace"] = json!(ns);
        }
        Ok(body)
    }
}

impl K8sInfo {
    /// The action's answer, before the fields every answer has.
    async fn answer(api: &ClusterApi<'_>, request: &Request) -> Result<Value, ToolError> {
        Ok(match request {
            Request::ListPods {
                namespace,
                label_selector,
                field_selector,
                problems_only,
                max_results,
            } => {
                pods::list(
                    api,
                    namespace.as_deref(),
                    label_selector.as_deref(),
                    field_selector.as_deref(),
                    *problems_only,
                    *max_results,
                )
                .await?
            }
            Request::DescribePod { namespace, pod } => {
                json!({"pod": pods::describe(api, namespace, pod).await?})
            }
            Request::PodLogs {
                namespace,
                pod,
                container,
                previous,
                tail_lines,
                since,
                line_match,
                limit_bytes,
            } => {
                pods::logs(
                    api,
                    namespace,
                    pod,
                    container.as_deref(),
                    *previous,
                    *tail_lines,
                    *since,
                    line_match.as_ref(),
                    *limit_bytes,
                )
                .await?
            }
            Request::Events {
                namespace,
                object,
                warnings_only,
                since,
                max_results,
            } => {
                let (events, distinct, truncated) = events::read(
                    api,
                    namespace.as_deref(),
                    object.as_ref().map(|(k, n)| (k.as_str(), n.as_str())),
                    *warnings_only,
                    *since,
                    *max_results,
                )
                .await?;
                json!({"events": events, "count": distinct, "truncated": truncated})
            }
            Request::ListWorkloads {
                namespace,
                kind,
                max_results,
            } => workloads::list(api, namespace.as_deref(), *kind, *max_results).await?,
            Request::RolloutHistory {
                namespace,
                deployment,
            } => workloads::history(api, namespace, deployment).await?,
            Request::ListNodes {
                label_selector,
                max_results,
            } => nodes::list(api, label_selector.as_deref(), *max_results).await?,
            Request::WorkloadHealth { namespace } => {
                health::judge(api, namespace.as_deref()).await?
            }
        })
    }
}

/// Most names a "not found" suggests.
const SUGGESTIONS: usize = 10;

/// A pod or deployment that does not exist, with the names in its namespace that contain the
/// one given: a model often gives a deployment's name for its pod (`api` for `api-5f6a8e-x1`)
/// or a part of a name, and a bare "not found" reads as "it does not exist".
async fn with_suggestions(api: &ClusterApi<'_>, request: &Request, error: ToolError) -> ToolError {
    let (namespace, what, name, path, lister) = match request {
        Request::DescribePod { namespace, pod } | Request::PodLogs { namespace, pod, .. } => (
            namespace,
            "pod",
            pod,
            pods::pods_path(Some(namespace)),
            "list_pods",
        ),
        Request::RolloutHistory {
            namespace,
            deployment,
        } => (
            namespace,
            "deployment",
            deployment,
            format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
            "list_workloads",
        ),
        _ => return error,
    };
    let Ok((near, _)) = api
        .list(&path, &[], SUGGESTIONS, |item| {
            shape::name(item).contains(name.as_str())
        })
        .await
    else {
        // The suggestions are a help: the answer is still the original "not found".
        return error;
    };
    let names: Vec<String> = near.iter().map(shape::name).collect();
    let mut error = error;
    error.message = if names.is_empty() {
        format!(
            "{}; no {what} in namespace {namespace} has a name containing {name} ({lister} without namespace searches every namespace)",
            error.message
        )
    } else {
        format!(
            "{}; {what}s in namespace {namespace} whose names contain {name}: {}",
            error.message,
            names.join(", ")
        )
    };
    error
}

/// An answer that is empty where a reader would wrongly conclude "nothing is wrong" or "it
/// does not exist" gets a `hint`: how it was looked for, and where else to look.
fn with_hint(mut body: Value, request: &Request) -> Value {
    let empty = |key: &str| body[key].as_array().is_some_and(Vec::is_empty);
    let hint = match request {
        Request::Events {
            object,
            warnings_only,
            since,
            ..
        } if empty("events") => {
            let mut hint = format!(
                "no {}event in the last {}; Kubernetes keeps events for about an hour",
                if *warnings_only { "Warning " } else { "" },
                humantime(*since)
            );
            if *warnings_only {
                hint.push_str(", and warnings_only=false shows Normal events too");
            }
            if let Some((kind, _)) = object
                && kind != "Pod"
            {
                hint.push_str(
                    "; a workload's failures are reported on its pods (Pod/<name>), not on the workload",
                );
            }
            Some(hint)
        }
        Request::ListPods {
            label_selector,
            field_selector,
            problems_only,
            ..
        } if empty("pods") => match (label_selector, field_selector) {
            (None, None) if *problems_only => {
                Some("no pod has a problem: every pod is running and ready, none restarted in the last hour".to_owned())
            }
            (None, None) => None,
            _ => Some(
                "no pod matched the selectors: label and field values are exact and case-sensitive; list_workloads shows each workload's selector labels".to_owned(),
            ),
        },
        Request::PodLogs {
            line_match,
            previous,
            since,
            ..
        } if empty("lines") => Some(match line_match {
            Some(re) => format!(
                "no line matched `{}` (a case-sensitive regex; (?i) ignores case) among the lines read",
                re.as_str().chars().take(100).collect::<String>()
            ),
            None if since.is_some() => {
                "the container logged nothing in the since window; leave since out for its whole log".to_owned()
            }
            None if !previous => {
                "the container has logged nothing since it started; previous=true reads the run before a restart".to_owned()
            }
            None => "the container's previous run logged nothing".to_owned(),
        }),
        _ => None,
    };
    if let Some(hint) = hint {
        body["hint"] = json!(hint);
    }
    body
}

/// `1h`, `30m`, `90s`: a window as a reader writes it.
fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 3_600 && s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn namespace_of(request: &Request) -> Option<&str> {
    match request {
        Request::ListPods { namespace, .. }
        | Request::Events { namespace, .. }
        | Request::ListWorkloads { namespace, .. }
        | Request::WorkloadHealth { namespace } => namespace.as_deref(),
        Request::DescribePod { namespace, .. }
        | Request::PodLogs { namespace, .. }
        | Request::RolloutHistory { namespace, .. } => Some(namespace),
        Request::ListNodes { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<K8sInput>(&common::tools::K8S_INFO).unwrap();
    }
}
