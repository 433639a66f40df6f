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
        let mut body = match &request {
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
        };
        body["action"] = json!(action);
        body["cluster"] = json!(cluster_name);
        if let Some(ns) = namespace_of(&request) {
            body["namespace"] = json!(ns);
        }
        Ok(body)
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
