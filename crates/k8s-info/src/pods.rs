//! `list_pods`, `describe_pod` and `pod_logs`: which pods are failing, how, and what they
//! said before they died.
//!
//! A pod's environment holds configuration and, too often, secrets: `describe_pod` gives the
//! variables' *names* only, never a value, and nothing from a Secret or ConfigMap is read.

use std::collections::BTreeMap;

use common::{ErrorCode, ToolError};
use regex_lite::Regex;
use serde_json::{Value, json};

use crate::{
    access::ClusterApi,
    events,
    shape::{self, age, container_state, message, text, time_ms},
};

/// Longest log line kept, in characters.
pub const MAX_LINE_CHARS: usize = 2_000;

/// The path of pods: one namespace's or all.
pub fn pods_path(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/pods"),
        None => "/api/v1/pods".to_owned(),
    }
}

/// How recent a container's last termination must be for its pod to count as a problem.
pub const RECENT_RESTART_MS: i64 = 3_600_000;

/// Whether a pod needs attention: not running (and not finished), running with a container
/// that is not ready, or with a container that restarted in the last hour (an OOM kill that
/// the restart hid).
pub fn has_problem(pod: &Value, now_ms: i64) -> bool {
    let restarted_recently = shape::statuses(pod).any(|s| {
        time_ms(s, "/lastState/terminated/finishedAt")
            .is_some_and(|at| now_ms - at <= RECENT_RESTART_MS)
    });
    restarted_recently
        || match pod["status"]["phase"].as_str() {
            Some("Succeeded") => false,
            Some("Running") => {
                shape::statuses(pod).any(|s| !s["ready"].as_bool().unwrap_or(false))
                    && pod["status"]["containerStatuses"].is_array()
            }
            _ => true,
        }
}

/// One pod as `list_pods` gives it.
pub fn summary(pod: &Value, now_ms: i64) -> Value {
    let containers: Vec<&Value> = pod["status"]["containerStatuses"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let ready = containers
        .iter()
        .filter(|c| c["ready"].as_bool().unwrap_or(false))
        .count();
    let total = pod["spec"]["containers"]
        .as_array()
        .map_or(containers.len(), Vec::len);
    let restarts: u64 = containers
        .iter()
        .map(|c| c["restartCount"].as_u64().unwrap_or(0))
        .sum();
    let mut out = json!({
        "name": shape::name(pod),
        "namespace": shape::namespace(pod),
        "phase": text(pod, "/status/phase"),
        "ready": format!("{ready}/{total}"),
        "restarts": restarts,
        "age": age(time_ms(pod, "/metadata/creationTimestamp"), now_ms),
        "node": text(pod, "/spec/nodeName"),
        "owner": shape::owner(pod),
        "containers": shape::statuses(pod).map(container_state).collect::<Vec<_>>(),
    });
    if let Some(reason) = text(pod, "/status/reason") {
        out["reason"] = json!(reason);
    }
    out
}

/// `list_pods`.
pub async fn list(
    api: &ClusterApi<'_>,
    namespace: Option<&str>,
    label_selector: Option<&str>,
    field_selector: Option<&str>,
    problems_only: bool,
    max_results: usize,
) -> Result<Value, ToolError> {
    let mut query = Vec::new();
    if let Some(s) = label_selector {
        query.push(("labelSelector", s));
    }
    if let Some(s) = field_selector {
        query.push(("fieldSelector", s));
    }
    let now = common::time::now_ms();
    let (pods, truncated) = api
        .list(&pods_path(namespace), &query, max_results, |p| {
            !problems_only || has_problem(p, now)
        })
        .await?;
    Ok(json!({
        "pods": pods.iter().map(|p| summary(p, now)).collect::<Vec<_>>(),
        "count": pods.len(),
        "truncated": truncated,
    }))
}

/// One probe, said briefly: `http GET :8080/healthz every 10s`.
fn probe(p: &Value) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let how = if let Some(h) = p.get("httpGet") {
        format!(
            "http GET :{}{}",
            h["port"],
            h["path"].as_str().unwrap_or("/")
        )
        .replace('"', "")
    } else if let Some(t) = p.get("tcpSocket") {
        format!("tcp :{}", t["port"]).replace('"', "")
    } else if p.get("exec").is_some() {
        "exec".to_owned()
    } else if p.get("grpc").is_some() {
        format!("grpc :{}", p["grpc"]["port"])
    } else {
        "other".to_owned()
    };
    let period = p["periodSeconds"].as_u64().unwrap_or(10);
    Some(common::text::clean(&format!("{how} every {period}s"), 200))
}

/// `describe_pod`.
pub async fn describe(
    api: &ClusterApi<'_>,
    namespace: &str,
    name: &str,
) -> Result<Value, ToolError> {
    let path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
    let (pod, events) = futures_util::join!(
        api.get_json(&path, &[]),
        events::for_object(api, namespace, "Pod", name),
    );
    let pod = pod?;
    let now = common::time::now_ms();
    let mut out = summary(&pod, now);
    let statuses: BTreeMap<String, &Value> = shape::statuses(&pod)
        .filter_map(|s| Some((s["name"].as_str()?.to_owned(), s)))
        .collect();
    let containers: Vec<Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][*k].as_array().into_iter().flatten())
        .map(|c| {
            let name = c["name"].as_str().unwrap_or_default();
            let mut detail = match statuses.get(name) {
                Some(status) => container_state(status),
                None => json!({"name": text(c, "/name"), "state": "not started"}),
            };
            detail["image"] = json!(text(c, "/image"));
            detail["requests"] = c["resources"]["requests"].clone();
            detail["limits"] = c["resources"]["limits"].clone();
            // Names only: values (and valueFrom references) can be secrets.
            detail["env_names"] = json!(
                c["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| text(e, "/name"))
                    .collect::<Vec<_>>()
            );
            for (key, field) in [
                ("liveness", "livenessProbe"),
                ("readiness", "readinessProbe"),
                ("startup", "startupProbe"),
            ] {
                if let Some(p) = probe(&c[field]) {
                    detail["probes"][key] = json!(p);
                }
            }
            detail
        })
        .collect();
    out["containers"] = json!(containers);
    out["qos_class"] = json!(text(&pod, "/status/qosClass"));
    out["conditions"] = json!(
        pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| json!({
                "type": text(c, "/type"),
                "status": text(c, "/status"),
                "reason": text(c, "/reason"),
                "message": message(c, "/message"),
            }))
            .collect::<Vec<_>>()
    );
    out["labels"] = pod["metadata"]["labels"].clone();
    // Events are a help, not the answer: a failure to read them is said, not fatal.
    match events {
        Ok(events) => out["events"] = events,
        Err(e) => out["events_error"] = json!(e.message),
    }
    Ok(out)
}

/// `pod_logs`.
#[allow(clippy::too_many_arguments)]
pub async fn logs(
    api: &ClusterApi<'_>,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
    tail_lines: u32,
    since: Option<std::time::Duration>,
    line_match: Option<&Regex>,
    limit_bytes: u32,
) -> Result<Value, ToolError> {
    let container = match container {
        Some(c) => c.to_owned(),
        None => {
            // The API needs a container when there are several; say which exist.
            let spec = api
                .get_json(&format!("/api/v1/namespaces/{namespace}/pods/{pod}"), &[])
                .await?;
            let names: Vec<&str> = spec["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            match names.as_slice() {
                [only] => (*only).to_owned(),
                _ => {
                    return Err(ToolError::invalid_input(format!(
                        "pod {pod} has containers {}: name one in container",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let tail = tail_lines.to_string();
    let limit = limit_bytes.to_string();
    let since_seconds = since.map(|d| d.as_secs().max(1).to_string());
    let mut query = vec![
        ("container", container.as_str()),
        ("tailLines", tail.as_str()),
        ("limitBytes", limit.as_str()),
    ];
    if previous {
        query.push(("previous", "true"));
    }
    if let Some(s) = &since_seconds {
        query.push(("sinceSeconds", s.as_str()));
    }
    let body = api
        .get_text(
            &format!("/api/v1/namespaces/{namespace}/pods/{pod}/log"),
            &query,
            limit_bytes as usize + 1,
        )
        .await
        .map_err(|mut e| {
            if e.code == ErrorCode::InvalidInput && previous {
                e.message
                    .push_str(" (previous reads the last terminated instance: this container has not restarted)");
            }
            e
        })?;
    let cut_by_bytes = body.len() >= limit_bytes as usize;
    let (clean, redactions) = common::scrub::scrub(&body);
    let mut lines: Vec<String> = clean
        .lines()
        .filter(|l| line_match.is_none_or(|re| re.is_match(l)))
        .map(|l| common::text::clean(l, MAX_LINE_CHARS))
        .collect();
    let line_count = lines.len();
    if lines.len() > tail_lines as usize {
        lines.drain(..lines.len() - tail_lines as usize);
    }
    Ok(json!({
        "pod": pod,
        "container": container,
        "previous": previous,
        "lines": lines,
        "line_count": line_count,
        "redactions": redactions,
        "truncated": cut_by_bytes,
    }))
}
