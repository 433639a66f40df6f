//! `list_workloads` and `rollout_history`: whether Deployments, StatefulSets and DaemonSets
//! have what they asked for, and what changed in a deployment and when (its ReplicaSets by
//! revision).

use common::ToolError;
use serde_json::{Value, json};

use crate::{
    access::ClusterApi,
    input::WorkloadKind,
    shape::{self, message, text, time_ms},
};

fn path(resource: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/apis/apps/v1/namespaces/{ns}/{resource}"),
        None => format!("/apis/apps/v1/{resource}"),
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn images(template: &Value) -> Vec<String> {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| text(c, "/image"))
        .collect()
}

/// Conditions that say something is wrong: `Available`/`Progressing` false, or
/// `ReplicaFailure` true.
fn unhealthy_conditions(object: &Value) -> Vec<Value> {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            let status = c["status"].as_str().unwrap_or_default();
            match c["type"].as_str().unwrap_or_default() {
                "ReplicaFailure" => status == "True",
                _ => status != "True",
            }
        })
        .map(|c| {
            json!({"type": text(c, "/type"), "status": text(c, "/status"),
                   "reason": text(c, "/reason"), "message": message(c, "/message")})
        })
        .collect()
}

/// One workload's counts: `(desired, ready, updated, available)`.
pub fn counts(kind: WorkloadKind, w: &Value) -> (u64, u64, u64, u64) {
    let s = &w["status"];
    match kind {
        WorkloadKind::Deployment | WorkloadKind::Statefulset => (
            w["spec"]["replicas"].as_u64().unwrap_or(1),
            n(&s["readyReplicas"]),
            n(&s["updatedReplicas"]),
            if kind == WorkloadKind::Deployment {
                n(&s["availableReplicas"])
            } else {
                s["availableReplicas"]
                    .as_u64()
                    .unwrap_or_else(|| n(&s["readyReplicas"]))
            },
        ),
        WorkloadKind::Daemonset => (
            n(&s["desiredNumberScheduled"]),
            n(&s["numberReady"]),
            n(&s["updatedNumberScheduled"]),
            n(&s["numberAvailable"]),
        ),
    }
}

/// One workload as `list_workloads` gives it.
pub fn summary(kind: WorkloadKind, w: &Value) -> Value {
    let (desired, ready, updated, available) = counts(kind, w);
    let mut out = json!({
        "kind": match kind {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::Statefulset => "StatefulSet",
            WorkloadKind::Daemonset => "DaemonSet",
        },
        "name": shape::name(w),
        "namespace": shape::namespace(w),
        "desired": desired,
        "ready": ready,
        "updated": updated,
        "available": available,
        "images": images(&w["spec"]["template"]),
        "problems": unhealthy_conditions(w),
    });
    if let Some(revision) = text(
        w,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    ) {
        out["revision"] = json!(revision);
    }
    if w["spec"]["paused"].as_bool() == Some(true) {
        out["paused"] = json!(true);
    }
    out
}

/// The three kinds with their API resources.
pub const KINDS: [(WorkloadKind, &str); 3] = [
    (WorkloadKind::Deployment, "deployments"),
    (WorkloadKind::Statefulset, "statefulsets"),
    (WorkloadKind::Daemonset, "daemonsets"),
];

/// Lists one kind of workload.
pub async fn read(
    api: &ClusterApi<'_>,
    kind: WorkloadKind,
    namespace: Option<&str>,
    max: usize,
) -> Result<(Vec<Value>, bool), ToolError> {
    let resource = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("deployments", |(_, r)| r);
    api.list(&path(resource, namespace), &[], max, |_| true)
        .await
}

/// `list_workloads`.
pub async fn list(
    api: &ClusterApi<'_>,
    namespace: Option<&str>,
    kind: Option<WorkloadKind>,
    max_results: usize,
) -> Result<Value, ToolError> {
    let kinds: Vec<WorkloadKind> = match kind {
        Some(k) => vec![k],
        None => KINDS.iter().map(|(k, _)| *k).collect(),
    };
    let reads =
        futures_util::future::join_all(kinds.iter().map(|k| read(api, *k, namespace, max_results)))
            .await;
    let mut workloads = Vec::new();
    let mut truncated = false;
    for (kind, read) in kinds.iter().zip(reads) {
        let (items, cut) = read?;
        truncated |= cut;
        workloads.extend(items.iter().map(|w| summary(*kind, w)));
    }
    // Those with problems first.
    workloads.sort_by_key(|w| {
        w["problems"].as_array().is_none_or(Vec::is_empty) && w["ready"] == w["desired"]
    });
    if workloads.len() > max_results {
        workloads.truncate(max_results);
        truncated = true;
    }
    Ok(json!({"workloads": workloads, "count": workloads.len(), "truncated": truncated}))
}

/// `rollout_history`.
pub async fn history(
    api: &ClusterApi<'_>,
    namespace: &str,
    deployment: &str,
) -> Result<Value, ToolError> {
    let d = api
        .get_json(
            &format!("/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}"),
            &[],
        )
        .await?;
    let selector = d["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let query: Vec<(&str, &str)> = if selector.is_empty() {
        Vec::new()
    } else {
        vec![("labelSelector", selector.as_str())]
    };
    let uid = d["metadata"]["uid"].as_str().unwrap_or_default();
    let (sets, _) = api
        .list(&path("replicasets", Some(namespace)), &query, 500, |rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| {
                    o["kind"] == "Deployment"
                        && (o["uid"].as_str() == Some(uid) || o["name"] == deployment)
                })
        })
        .await?;
    let revision = |rs: &Value| {
        rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut sets: Vec<&Value> = sets.iter().collect();
    sets.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    let now = common::time::now_ms();
    let revisions: Vec<Value> = sets
        .iter()
        .map(|rs| {
            json!({
                "revision": revision(rs),
                "replica_set": shape::name(rs),
                "images": images(&rs["spec"]["template"]),
                "created": text(rs, "/metadata/creationTimestamp"),
                "age": shape::age(time_ms(rs, "/metadata/creationTimestamp"), now),
                "replicas": n(&rs["status"]["replicas"]),
                "ready": n(&rs["status"]["readyReplicas"]),
            })
        })
        .collect();
    Ok(json!({
        "deployment": summary(WorkloadKind::Deployment, &d),
        "revisions": revisions,
    }))
}
