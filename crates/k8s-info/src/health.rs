//! `workload_health`: the questions an operator asks first, as named checks over a namespace
//! (or the whole cluster) with the objects involved, and a verdict.
//!
//! Pods, warning events, deployments, nodes, PVCs and jobs are read in parallel. Each check is
//! `ok`, `warning` or `critical` and names at most [`MAX_OBJECTS`] objects; a list the
//! function could not read makes its checks `unknown` with the reason (a role without access
//! to nodes still gets its pod checks); when nothing at all could be read, that error is the
//! answer. `overall` is `unhealthy` with any critical check, `warning` with any warning or
//! unknown one, else `healthy`. `notes` say what the verdict could not see (a list cut at
//! [`MAX_READ`], events unreadable).

use std::collections::HashMap;

use common::ToolError;
use serde_json::{Value, json};

use crate::{
    access::ClusterApi,
    input::WorkloadKind,
    nodes,
    pods::pods_path,
    shape::{self, message, text, time_ms},
    workloads,
};

/// Most objects a check names.
pub const MAX_OBJECTS: usize = 20;
/// Most objects of each kind read.
pub const MAX_READ: usize = 2_000;
/// How recent an OOM kill must be to count.
pub const OOM_WINDOW_MS: i64 = 3_600_000;

/// One check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing found.
    Ok,
    /// Could not be judged.
    Unknown,
    /// Worth a look.
    Warning,
    /// Broken.
    Critical,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unknown => "unknown",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// One named check.
#[derive(Debug)]
pub struct Check {
    /// Its name.
    pub name: &'static str,
    /// Its verdict.
    pub status: Status,
    /// What it found, in a sentence.
    pub detail: String,
    /// The objects involved, `namespace/name: why`.
    pub objects: Vec<String>,
}

impl Check {
    fn from_findings(
        name: &'static str,
        found: Vec<String>,
        when_found: Status,
        what: &str,
    ) -> Self {
        let count = found.len();
        Self {
            name,
            status: if count == 0 { Status::Ok } else { when_found },
            detail: if count == 0 {
                format!("no {what}")
            } else {
                format!("{count} {what}")
            },
            objects: found.into_iter().take(MAX_OBJECTS).collect(),
        }
    }

    fn unknown(name: &'static str, error: &ToolError) -> Self {
        Self {
            name,
            status: Status::Unknown,
            detail: format!("could not be checked: {}", error.message),
            objects: Vec::new(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"name": self.name, "status": self.status.as_str(), "detail": self.detail,
               "objects": self.objects})
    }
}

fn id(object: &Value) -> String {
    let ns = shape::namespace(object);
    if ns.is_empty() {
        shape::name(object)
    } else {
        format!("{ns}/{}", shape::name(object))
    }
}

/// The pod checks: crash loops, image pulls, recent OOM kills, pending pods (with the
/// scheduler's reason from `FailedScheduling` events).
pub fn pod_checks(pods: &[Value], events: &[Value], now_ms: i64) -> Vec<Check> {
    let mut crash = Vec::new();
    let mut pull = Vec::new();
    let mut oom = Vec::new();
    let mut pending = Vec::new();
    let scheduling: HashMap<String, String> = events
        .iter()
        .filter(|e| e["reason"] == "FailedScheduling")
        .filter_map(|e| {
            let key = format!(
                "{}/{}",
                text(e, "/involvedObject/namespace").unwrap_or_default(),
                text(e, "/involvedObject/name")?
            );
            Some((key, message(e, "/message").unwrap_or_default()))
        })
        .collect();
    for pod in pods {
        let who = id(pod);
        for status in shape::statuses(pod) {
            let container = text(status, "/name").unwrap_or_default();
            let restarts = status["restartCount"].as_u64().unwrap_or(0);
            match text(status, "/state/waiting/reason").as_deref() {
                Some("CrashLoopBackOff") => crash.push(format!(
                    "{who}: container {container} in CrashLoopBackOff ({restarts} restarts){}",
                    text(status, "/lastState/terminated/reason")
                        .map(|r| format!(", last exit: {r}"))
                        .unwrap_or_default()
                )),
                Some(r @ ("ErrImagePull" | "ImagePullBackOff" | "InvalidImageName")) => {
                    pull.push(format!("{who}: container {container}: {r}"))
                }
                _ => {}
            }
            for state in ["/lastState/terminated", "/state/terminated"] {
                let t = status.pointer(state);
                if t.and_then(|t| t["reason"].as_str()) == Some("OOMKilled")
                    && t.and_then(|t| time_ms(t, "/finishedAt"))
                        .is_some_and(|at| now_ms - at <= OOM_WINDOW_MS)
                {
                    oom.push(format!("{who}: container {container} OOMKilled"));
                    break;
                }
            }
        }
        if pod["status"]["phase"] == "Pending" {
            let reason = scheduling
                .get(&who)
                .cloned()
                .or_else(|| {
                    pod["status"]["conditions"]
                        .as_array()?
                        .iter()
                        .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
                        .and_then(|c| message(c, "/message").or_else(|| text(c, "/reason")))
                })
                .unwrap_or_else(|| "waiting to be scheduled or started".to_owned());
            pending.push(format!("{who}: {reason}"));
        }
    }
    vec![
        Check::from_findings(
            "crash_looping_pods",
            crash,
            Status::Critical,
            "containers crash looping",
        ),
        Check::from_findings(
            "image_pull_failures",
            pull,
            Status::Critical,
            "containers failing to pull their image",
        ),
        Check::from_findings(
            "oom_killed",
            oom,
            Status::Warning,
            "containers OOMKilled in the last hour",
        ),
        Check::from_findings("pending_pods", pending, Status::Warning, "pods pending"),
    ]
}

/// Deployments not available, or past their progress deadline.
pub fn deployment_check(deployments: &[Value]) -> Check {
    let mut found = Vec::new();
    let mut none_available = false;
    for d in deployments {
        let (desired, _, _, available) = workloads::counts(WorkloadKind::Deployment, d);
        let stuck = d["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
        if available < desired || stuck {
            none_available |= available == 0 && desired > 0;
            found.push(format!(
                "{}: {available}/{desired} available{}",
                id(d),
                if stuck {
                    ", progress deadline exceeded"
                } else {
                    ""
                }
            ));
        }
    }
    let status = if none_available {
        Status::Critical
    } else {
        Status::Warning
    };
    Check::from_findings(
        "deployments_unavailable",
        found,
        status,
        "deployments not fully available",
    )
}

/// Nodes not ready (critical), under pressure or cordoned (warning).
pub fn node_check(nodes: &[Value]) -> Check {
    let mut found = Vec::new();
    let mut not_ready = false;
    for n in nodes {
        let mut why = Vec::new();
        if nodes::ready(n) != "True" {
            not_ready = true;
            why.push("NotReady".to_owned());
        }
        why.extend(nodes::pressures(n));
        if nodes::cordoned(n) {
            why.push("cordoned".to_owned());
        }
        if !why.is_empty() {
            found.push(format!("{}: {}", shape::name(n), why.join(", ")));
        }
    }
    let status = if not_ready {
        Status::Critical
    } else {
        Status::Warning
    };
    Check::from_findings(
        "nodes",
        found,
        status,
        "nodes not ready, under pressure or cordoned",
    )
}

/// PVCs still pending.
pub fn pvc_check(pvcs: &[Value]) -> Check {
    let found = pvcs
        .iter()
        .filter(|p| p["status"]["phase"] == "Pending")
        .map(|p| format!("{}: Pending", id(p)))
        .collect();
    Check::from_findings(
        "pvcs_pending",
        found,
        Status::Warning,
        "persistent volume claims pending",
    )
}

/// Jobs that failed.
pub fn job_check(jobs: &[Value]) -> Check {
    let found = jobs
        .iter()
        .filter(|j| {
            j["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Failed" && c["status"] == "True")
        })
        .map(|j| {
            let reason = j["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Failed")
                .and_then(|c| text(c, "/reason"))
                .unwrap_or_else(|| "Failed".to_owned());
            format!("{}: {reason}", id(j))
        })
        .collect();
    Check::from_findings("failed_jobs", found, Status::Warning, "jobs failed")
}

fn ns_path(group: &str, resource: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{group}/namespaces/{ns}/{resource}"),
        None => format!("{group}/{resource}"),
    }
}

/// `workload_health`.
pub async fn judge(api: &ClusterApi<'_>, namespace: Option<&str>) -> Result<Value, ToolError> {
    let all = |_: &Value| true;
    let events_path = ns_path("/api/v1", "events", namespace);
    let pvc_path = ns_path("/api/v1", "persistentvolumeclaims", namespace);
    let jobs_path = ns_path("/apis/batch/v1", "jobs", namespace);
    let deployments_path = ns_path("/apis/apps/v1", "deployments", namespace);
    let pods_path = pods_path(namespace);
    let warnings = [("fieldSelector", "type=Warning")];
    let (pods, events, deployments, node_list, pvcs, jobs) = futures_util::join!(
        api.list(&pods_path, &[], MAX_READ, all),
        api.list(&events_path, &warnings, MAX_READ, all),
        api.list(&deployments_path, &[], MAX_READ, all),
        api.list("/api/v1/nodes", &[], MAX_READ, all),
        api.list(&pvc_path, &[], MAX_READ, all),
        api.list(&jobs_path, &[], MAX_READ, all),
    );
    // Nothing readable (no access entry, say): that is the answer, not a "warning".
    if let (Err(e), Err(_), Err(_), Err(_), Err(_)) =
        (&pods, &deployments, &node_list, &pvcs, &jobs)
    {
        return Err(e.clone());
    }
    // What the verdict could not see is said, not silently left out.
    let mut notes = Vec::new();
    for (what, cut) in [
        ("pods", matches!(&pods, Ok((_, true)))),
        ("warning events", matches!(&events, Ok((_, true)))),
        ("deployments", matches!(&deployments, Ok((_, true)))),
        ("nodes", matches!(&node_list, Ok((_, true)))),
        ("persistent volume claims", matches!(&pvcs, Ok((_, true)))),
        ("jobs", matches!(&jobs, Ok((_, true)))),
    ] {
        if cut {
            notes.push(format!("only the first {MAX_READ} {what} were checked"));
        }
    }
    if let Err(e) = &events {
        notes.push(format!(
            "warning events could not be read ({}): pending pods lack the scheduler's reason",
            e.message
        ));
    }
    let now = common::time::now_ms();
    let mut checks = Vec::new();
    let no_events = Vec::new();
    match &pods {
        Ok((pods, _)) => checks.extend(pod_checks(
            pods,
            events.as_ref().map(|(e, _)| e).unwrap_or(&no_events),
            now,
        )),
        Err(e) => checks.extend(
            [
                "crash_looping_pods",
                "image_pull_failures",
                "oom_killed",
                "pending_pods",
            ]
            .map(|name| Check::unknown(name, e)),
        ),
    }
    checks.push(match &deployments {
        Ok((d, _)) => deployment_check(d),
        Err(e) => Check::unknown("deployments_unavailable", e),
    });
    checks.push(match &node_list {
        Ok((n, _)) => node_check(n),
        Err(e) => Check::unknown("nodes", e),
    });
    checks.push(match &pvcs {
        Ok((p, _)) => pvc_check(p),
        Err(e) => Check::unknown("pvcs_pending", e),
    });
    checks.push(match &jobs {
        Ok((j, _)) => job_check(j),
        Err(e) => Check::unknown("failed_jobs", e),
    });
    let worst = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    let overall = match worst {
        Status::Critical => "unhealthy",
        Status::Warning | Status::Unknown => "warning",
        Status::Ok => "healthy",
    };
    Ok(json!({
        "overall": overall,
        "checks": checks.iter().map(Check::to_json).collect::<Vec<_>>(),
        "notes": notes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str, status: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "prod"},
               "status": {"phase": phase, "containerStatuses": [status]}})
    }

    #[test]
    fn each_pod_check_finds_its_problem_and_only_it() {
        let now = common::time::parse_rfc3339("2026-01-01T01:00:00Z").unwrap();
        let pods = [
            pod(
                "crash",
                "Running",
                json!({"name": "app", "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}),
            ),
            pod(
                "pull",
                "Pending",
                json!({"name": "app",
                "state": {"waiting": {"reason": "ImagePullBackOff"}}}),
            ),
            pod(
                "oom",
                "Running",
                json!({"name": "app", "ready": true, "state": {"running": {}},
                "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2026-01-01T00:30:00Z"}}}),
            ),
            pod(
                "old-oom",
                "Running",
                json!({"name": "app", "ready": true, "state": {"running": {}},
                "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2025-12-31T20:00:00Z"}}}),
            ),
            pod(
                "fine",
                "Running",
                json!({"name": "app", "ready": true, "state": {"running": {}}}),
            ),
        ];
        let events = [
            json!({"reason": "FailedScheduling", "message": "0/3 nodes are available",
            "involvedObject": {"namespace": "prod", "name": "pull"}}),
        ];
        let checks = pod_checks(&pods, &events, now);
        let by = |name: &str| checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(
            by("crash_looping_pods").objects,
            ["prod/crash: container app in CrashLoopBackOff (4 restarts), last exit: Error"]
        );
        assert_eq!(by("crash_looping_pods").status, Status::Critical);
        assert_eq!(
            by("image_pull_failures").objects,
            ["prod/pull: container app: ImagePullBackOff"]
        );
        assert_eq!(by("image_pull_failures").status, Status::Critical);
        assert_eq!(
            by("oom_killed").objects,
            ["prod/oom: container app OOMKilled"]
        );
        assert_eq!(
            by("pending_pods").objects,
            ["prod/pull: 0/3 nodes are available"]
        );
        let healthy = pod_checks(&pods[4..], &[], now);
        assert!(
            healthy
                .iter()
                .all(|c| c.status == Status::Ok && c.objects.is_empty())
        );
    }

    #[test]
    fn deployments_nodes_pvcs_and_jobs_are_judged() {
        let deployments = [
            json!({"metadata": {"name": "none", "namespace": "p"}, "spec": {"replicas": 2},
                   "status": {"availableReplicas": 0}}),
            json!({"metadata": {"name": "ok", "namespace": "p"}, "spec": {"replicas": 1},
                   "status": {"availableReplicas": 1}}),
        ];
        let d = deployment_check(&deployments);
        assert_eq!(
            (d.status, d.objects.clone()),
            (Status::Critical, vec!["p/none: 0/2 available".to_owned()])
        );
        let nodes = [
            json!({"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                   "spec": {"unschedulable": true}}),
        ];
        let n = node_check(&nodes);
        assert_eq!(
            (n.status, n.objects.clone()),
            (Status::Warning, vec!["n1: cordoned".to_owned()])
        );
        let p = pvc_check(&[
            json!({"metadata": {"name": "c", "namespace": "p"}, "status": {"phase": "Pending"}}),
        ]);
        assert_eq!(p.objects, ["p/c: Pending"]);
        let j = job_check(&[json!({"metadata": {"name": "j", "namespace": "p"},
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}})]);
        assert_eq!(j.objects, ["p/j: BackoffLimitExceeded"]);
    }
}
