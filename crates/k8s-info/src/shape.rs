//! Reading Kubernetes objects (JSON as the API sends it) into the few facts an operator
//! needs: ages, owners, container states, resource quantities. Every string that came from
//! the cluster passes through [`text`] (cleaned, bounded): object names and messages are
//! written by whoever can create objects there.

use serde_json::{Value, json};

/// Longest message kept (events, conditions, termination messages), in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest name or short field kept, in characters.
pub const MAX_NAME_CHARS: usize = 253;

/// A string field of the object at `pointer` (`/metadata/name`), cleaned.
pub fn text(object: &Value, pointer: &str) -> Option<String> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(|s| common::text::clean(s, MAX_NAME_CHARS))
}

/// A longer string field (messages), cleaned.
pub fn message(object: &Value, pointer: &str) -> Option<String> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(|s| common::text::clean(s, MAX_MESSAGE_CHARS))
}

/// `metadata.name`.
pub fn name(object: &Value) -> String {
    text(object, "/metadata/name").unwrap_or_default()
}

/// `metadata.namespace`.
pub fn namespace(object: &Value) -> String {
    text(object, "/metadata/namespace").unwrap_or_default()
}

/// An RFC 3339 time as Unix milliseconds.
pub fn time_ms(object: &Value, pointer: &str) -> Option<i64> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(common::time::parse_rfc3339)
}

/// How long ago `ms` was, as `45s`, `12m`, `3h12m`, `4d3h`.
pub fn age(ms: Option<i64>, now_ms: i64) -> Option<String> {
    let seconds = (now_ms - ms?).max(0) / 1000;
    Some(match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{}m", s / 3_600, s % 3_600 / 60),
        s => format!("{}d{}h", s / 86_400, s % 86_400 / 3_600),
    })
}

/// What a pod belongs to: `Deployment/api` (through its ReplicaSet, whose name is the
/// deployment's plus the pod template hash), `StatefulSet/db`, `DaemonSet/aws-node`,
/// `Job/migrate`, or the owner as given.
pub fn owner(pod: &Value) -> Option<String> {
    let owner = pod["metadata"]["ownerReferences"].as_array()?.first()?;
    let kind = owner["kind"].as_str()?;
    let name = common::text::clean(owner["name"].as_str()?, MAX_NAME_CHARS);
    if kind == "ReplicaSet" {
        let hash = pod["metadata"]["labels"]["pod-template-hash"].as_str();
        if let Some(deployment) = hash.and_then(|h| name.strip_suffix(&format!("-{h}"))) {
            return Some(format!("Deployment/{deployment}"));
        }
    }
    Some(format!("{kind}/{name}"))
}

/// A container's state: `{"state": "running"}`, `{"state": "waiting", "reason":
/// "CrashLoopBackOff"}`, `{"state": "terminated", "reason", "exit_code"}`, and its last
/// termination when there was one (`reason` such as `OOMKilled`, `exit_code`, `finished_at`).
pub fn container_state(status: &Value) -> Value {
    let mut out = json!({"name": text(status, "/name")});
    let state = &status["state"];
    if state.get("running").is_some() {
        out["state"] = json!("running");
    } else if let Some(w) = state.get("waiting") {
        out["state"] = json!("waiting");
        out["reason"] = json!(text(w, "/reason"));
        if let Some(m) = message(w, "/message") {
            out["message"] = json!(m);
        }
    } else if let Some(t) = state.get("terminated") {
        out["state"] = json!("terminated");
        out["reason"] = json!(text(t, "/reason"));
        out["exit_code"] = t["exitCode"].clone();
    } else {
        out["state"] = json!("unknown");
    }
    if let Some(t) = status["lastState"].get("terminated") {
        out["last_termination"] = json!({
            "reason": text(t, "/reason"),
            "exit_code": t["exitCode"],
            "finished_at": text(t, "/finishedAt"),
        });
    }
    out["ready"] = json!(status["ready"].as_bool().unwrap_or(false));
    out["restarts"] = json!(status["restartCount"].as_u64().unwrap_or(0));
    out
}

/// The waiting reason of any container (`CrashLoopBackOff`, `ImagePullBackOff`, …).
pub fn waiting_reasons(pod: &Value) -> Vec<String> {
    statuses(pod)
        .filter_map(|s| text(s, "/state/waiting/reason"))
        .collect()
}

/// Every container status, init containers included.
pub fn statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .flat_map(|k| pod["status"][k].as_array().into_iter().flatten())
}

/// CPU in millicores: `250m`, `1`, `0.5`.
pub fn cpu_millicores(quantity: &str) -> Option<u64> {
    match quantity.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => quantity
            .parse::<f64>()
            .ok()
            .map(|cores| (cores * 1000.0).round() as u64),
    }
}

/// Memory in bytes: `128Mi`, `1Gi`, `500M`, `1e9`, `1048576`.
pub fn memory_bytes(quantity: &str) -> Option<u64> {
    const UNITS: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in UNITS {
        if let Some(n) = quantity.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| (n * factor).round() as u64);
        }
    }
    quantity.parse::<f64>().ok().map(|n| n.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        assert_eq!(cpu_millicores("250m"), Some(250));
        assert_eq!(cpu_millicores("2"), Some(2000));
        assert_eq!(cpu_millicores("0.5"), Some(500));
        assert_eq!(memory_bytes("128Mi"), Some(134_217_728));
        assert_eq!(memory_bytes("1Gi"), Some(1_073_741_824));
        assert_eq!(memory_bytes("500M"), Some(500_000_000));
        assert_eq!(memory_bytes("1e9"), Some(1_000_000_000));
        assert_eq!(memory_bytes("x"), None);
    }

    #[test]
    fn ages_are_short() {
        let now = 1_000_000_000;
        assert_eq!(age(Some(now - 45_000), now).as_deref(), Some("45s"));
        assert_eq!(
            age(Some(now - 3_600_000 * 3 - 720_000), now).as_deref(),
            Some("3h12m")
        );
        assert_eq!(
            age(Some(now - 86_400_000 * 4), now).as_deref(),
            Some("4d0h")
        );
        assert_eq!(age(None, now), None);
    }

    #[test]
    fn a_replica_set_owner_is_its_deployment() {
        let pod = json!({"metadata": {"labels": {"pod-template-hash": "5f6a8e"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "api-5f6a8e"}]}});
        assert_eq!(owner(&pod).as_deref(), Some("Deployment/api"));
        let pod =
            json!({"metadata": {"ownerReferences": [{"kind": "StatefulSet", "name": "worker"}]}});
        assert_eq!(owner(&pod).as_deref(), Some("StatefulSet/worker"));
    }
}
