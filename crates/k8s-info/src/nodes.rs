//! `list_nodes`: each node's readiness, pressure, cordon and taints, what it is (kubelet
//! version, instance type, node group), and how much of it pods have asked for (the sum of
//! the requests of the pods scheduled on it that have not finished).

use std::collections::HashMap;

use common::ToolError;
use serde_json::{Value, json};

use crate::{
    access::ClusterApi,
    shape::{self, cpu_millicores, memory_bytes, text},
};

/// Most pods read to add up requests.
pub const MAX_PODS_READ: usize = 5_000;

/// A node's `Ready` condition status: `True`, `False` or `Unknown`.
pub fn ready(node: &Value) -> String {
    condition(node, "Ready").unwrap_or_else(|| "Unknown".to_owned())
}

fn condition(node: &Value, kind: &str) -> Option<String> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| text(c, "/status"))
}

/// The pressure conditions that are true (`MemoryPressure`, `DiskPressure`, `PIDPressure`).
pub fn pressures(node: &Value) -> Vec<String> {
    ["MemoryPressure", "DiskPressure", "PIDPressure"]
        .into_iter()
        .filter(|k| condition(node, k).as_deref() == Some("True"))
        .map(str::to_owned)
        .collect()
}

/// Whether the node is cordoned.
pub fn cordoned(node: &Value) -> bool {
    node["spec"]["unschedulable"].as_bool() == Some(true)
}

/// Requested (cpu millicores, memory bytes) per node, from pods not finished.
pub fn requests_by_node(pods: &[Value]) -> HashMap<String, (u64, u64)> {
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for pod in pods {
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) {
            continue;
        }
        let Some(node) = pod["spec"]["nodeName"].as_str() else {
            continue;
        };
        let entry = out.entry(node.to_owned()).or_default();
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            let r = &c["resources"]["requests"];
            entry.0 += r["cpu"].as_str().and_then(cpu_millicores).unwrap_or(0);
            entry.1 += r["memory"].as_str().and_then(memory_bytes).unwrap_or(0);
        }
    }
    out
}

fn percent(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| part * 100 / whole)
}

/// One node as `list_nodes` gives it.
pub fn summary(node: &Value, requested: (u64, u64)) -> Value {
    let labels = &node["metadata"]["labels"];
    let cpu = node["status"]["allocatable"]["cpu"]
        .as_str()
        .and_then(cpu_millicores)
        .unwrap_or(0);
    let memory = node["status"]["allocatable"]["memory"]
        .as_str()
        .and_then(memory_bytes)
        .unwrap_or(0);
    json!({
        "name": shape::name(node),
        "ready": ready(node),
        "pressure": pressures(node),
        "unschedulable": cordoned(node),
        "taints": node["spec"]["taints"].as_array().into_iter().flatten().map(|t| {
            common::text::clean(&format!(
                "{}{}:{}",
                t["key"].as_str().unwrap_or_default(),
                t["value"].as_str().map(|v| format!("={v}")).unwrap_or_default(),
                t["effect"].as_str().unwrap_or_default()
            ), 300)
        }).collect::<Vec<_>>(),
        "kubelet_version": text(node, "/status/nodeInfo/kubeletVersion"),
        "instance_type": labels["node.kubernetes.io/instance-type"].as_str(),
        "nodegroup": labels["eks.amazonaws.com/nodegroup"].as_str(),
        "zone": labels["topology.kubernetes.io/zone"].as_str(),
        "allocatable": {"cpu_millicores": cpu, "memory_bytes": memory},
        "requested": {
            "cpu_millicores": requested.0,
            "memory_bytes": requested.1,
            "cpu_percent": percent(requested.0, cpu),
            "memory_percent": percent(requested.1, memory),
        },
    })
}

/// `list_nodes`.
pub async fn list(
    api: &ClusterApi<'_>,
    label_selector: Option<&str>,
    max_results: usize,
) -> Result<Value, ToolError> {
    let query: Vec<(&str, &str)> = label_selector
        .map(|s| vec![("labelSelector", s)])
        .unwrap_or_default();
    let (nodes, pods) = futures_util::join!(
        api.list("/api/v1/nodes", &query, max_results, |_| true),
        api.list("/api/v1/pods", &[], MAX_PODS_READ, |_| true),
    );
    let (nodes, truncated) = nodes?;
    let (pods, pods_cut) = pods?;
    let requested = requests_by_node(&pods);
    let mut out: Vec<Value> = nodes
        .iter()
        .map(|n| {
            summary(
                n,
                requested
                    .get(n["metadata"]["name"].as_str().unwrap_or_default())
                    .copied()
                    .unwrap_or_default(),
            )
        })
        .collect();
    // Nodes needing attention first.
    out.sort_by_key(|n| {
        n["ready"] == "True"
            && n["pressure"].as_array().is_none_or(Vec::is_empty)
            && n["unschedulable"] == false
    });
    let mut answer = json!({"nodes": out, "count": nodes.len(), "truncated": truncated});
    if pods_cut {
        answer["requests_note"] = json!(format!(
            "requests add up the first {MAX_PODS_READ} pods only"
        ));
    }
    Ok(answer)
}
