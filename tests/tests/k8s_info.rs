//! `k8s-info` against a Kubernetes API double that speaks the real REST protocol over TLS with
//! a test CA and checks every token as EKS does (a presigned STS GetCallerIdentity URL,
//! signature verified by botocore, `x-k8s-aws-id` equal to the cluster); moto's EKS, its
//! DescribeCluster pointed at the double, gives the endpoint and CA. The double holds a
//! broken cluster (`tests/stack/k8s_fixtures.json`): crash-looping pods of a deployment past
//! its progress deadline, an OOMKilled container, an unschedulable pod, a NotReady node, a
//! cordoned node under memory pressure, a pending PVC, a failed job. One behaviour per test.

use std::time::Duration;

use common::{ToolError, sigv4::RequestSigner};
use integration_tests::{
    eks::point_cluster_at,
    k8s::{self, KubernetesApi},
    lambda::LambdaFunction,
    moto::{self, Moto},
    proxy::FaultProxy,
};
use k8s_info::{Clusters, K8sInfo};
use serde_json::{Value, json};

const CLUSTER: &str = "prod-eu";

struct Stack {
    moto: Moto,
    proxy: FaultProxy,
    api: KubernetesApi,
    config: aws_config::SdkConfig,
}

/// Seeded moto behind a proxy that points prod-eu at the double, with `ca` (the double's own
/// CA unless a test says otherwise).
async fn stack_with_ca(ca: impl FnOnce(&KubernetesApi) -> String) -> Stack {
    let (moto, _) = Moto::start_seeded().await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    let api = KubernetesApi::start(CLUSTER, moto::REGION).unwrap();
    point_cluster_at(&proxy, CLUSTER, api.url(), &ca(&api));
    let config = Moto::sdk_config_for(&proxy.url()).await;
    Stack {
        moto,
        proxy,
        api,
        config,
    }
}

async fn stack() -> Stack {
    stack_with_ca(KubernetesApi::ca_base64).await
}

impl Stack {
    fn handler(&self) -> K8sInfo {
        K8sInfo {
            clusters: Clusters::with_clients(
                aws_sdk_eks::Client::new(&self.config),
                RequestSigner::from_sdk_config(&self.config, "sts", None).unwrap(),
            ),
        }
    }
}

async fn call(h: &K8sInfo, input: Value) -> Result<Value, ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn objects(check: &Value) -> String {
    check["objects"].to_string()
}

#[tokio::test]
async fn workload_health_of_prod_names_every_broken_thing() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "workload_health", "cluster_name": CLUSTER, "namespace": "prod"}),
    )
    .await
    .unwrap();
    assert_eq!(out["overall"], "unhealthy", "{out}");
    let crash = check(&out, "crash_looping_pods");
    assert_eq!(crash["status"], "critical");
    assert!(
        objects(crash)
            .contains("prod/api-5f6a8e-x1: container api in CrashLoopBackOff (7 restarts)"),
        "{crash}"
    );
    assert!(objects(crash).contains("prod/api-5f6a8e-x2"), "{crash}");
    let oom = check(&out, "oom_killed");
    assert_eq!(oom["status"], "warning");
    assert!(
        objects(oom).contains("prod/worker-0: container worker OOMKilled"),
        "{oom}"
    );
    let pending = check(&out, "pending_pods");
    assert!(
        objects(pending).contains("prod/batch-pending: 0/3 nodes are available"),
        "{pending}"
    );
    let deployments = check(&out, "deployments_unavailable");
    assert!(
        objects(deployments).contains("prod/api: 1/3 available, progress deadline exceeded"),
        "{deployments}"
    );
    let nodes = check(&out, "nodes");
    assert_eq!(nodes["status"], "critical");
    assert!(
        objects(nodes).contains(&format!("{}: NotReady", k8s::NODE_NOT_READY)),
        "{nodes}"
    );
    assert!(
        objects(nodes).contains("MemoryPressure, cordoned"),
        "{nodes}"
    );
    assert!(objects(check(&out, "pvcs_pending")).contains("prod/data-worker-1"));
    assert!(objects(check(&out, "failed_jobs")).contains("prod/migrate"));
    assert_eq!(check(&out, "image_pull_failures")["status"], "ok");
}

#[tokio::test]
async fn workload_health_of_staging_finds_only_the_cluster_wide_node_problems() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "workload_health", "cluster_name": CLUSTER, "namespace": "staging"}),
    )
    .await
    .unwrap();
    for name in [
        "crash_looping_pods",
        "image_pull_failures",
        "oom_killed",
        "pending_pods",
        "deployments_unavailable",
        "pvcs_pending",
        "failed_jobs",
    ] {
        assert_eq!(check(&out, name)["status"], "ok", "{name}: {out}");
    }
    assert_eq!(check(&out, "nodes")["status"], "critical");
}

#[tokio::test]
async fn a_namespace_that_does_not_exist_is_not_found_not_an_empty_answer() {
    let s = stack().await;
    let h = s.handler();
    for action in ["workload_health", "list_pods", "events", "list_workloads"] {
        let e = call(
            &h,
            json!({"action": action, "cluster_name": CLUSTER, "namespace": "prdo"}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code.as_str(), "NOT_FOUND", "{action}: {e}");
        assert!(e.message.contains("namespaces \"prdo\" not found"), "{e}");
    }
}

#[tokio::test]
async fn list_pods_problems_only_pages_and_says_truncated() {
    let s = stack().await;
    let h = s.handler();
    let out = call(
        &h,
        json!({"action": "list_pods", "cluster_name": CLUSTER, "namespace": "prod", "problems_only": true}),
    )
    .await
    .unwrap();
    let names: Vec<&str> = out["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for want in [
        "api-5f6a8e-x1",
        "api-5f6a8e-x2",
        "worker-0",
        "batch-pending",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(!names.contains(&"api-7d4b9c-ok"), "{names:?}");
    let x1 = out["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "api-5f6a8e-x1")
        .unwrap();
    assert_eq!(
        (
            x1["ready"].as_str(),
            x1["restarts"].as_u64(),
            x1["owner"].as_str()
        ),
        (Some("0/1"), Some(7), Some("Deployment/api"))
    );
    assert_eq!(x1["containers"][0]["reason"], "CrashLoopBackOff");
    assert_eq!(x1["containers"][0]["last_termination"]["exit_code"], 1);

    // Two per page: the function follows `continue` to the end, or stops at max_results.
    let paged = K8sInfo {
        clusters: s.handler().clusters.with_page_size(2),
    };
    let before = s.api.requests().len();
    let out = call(
        &paged,
        json!({"action": "list_pods", "cluster_name": CLUSTER}),
    )
    .await
    .unwrap();
    let pages = s.api.requests()[before..]
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/pods?"))
        .count();
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(13), Some(false))
    );
    assert_eq!(pages, 7, "{:?}", s.api.requests());
    let out = call(
        &paged,
        json!({"action": "list_pods", "cluster_name": CLUSTER, "max_results": 3}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(3), Some(true))
    );
    let out = call(
        &h,
        json!({"action": "list_pods", "cluster_name": CLUSTER, "namespace": "prod", "label_selector": "app=api"}),
    )
    .await
    .unwrap();
    assert_eq!(out["count"], 3, "{out}");
    assert!(
        s.api
            .requests()
            .iter()
            .any(|r| r.contains("labelSelector=app%3Dapi")),
        "{:?}",
        s.api.requests()
    );
}

#[tokio::test]
async fn describe_pod_gives_env_names_never_values() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "describe_pod", "cluster_name": CLUSTER, "namespace": "prod", "pod": "worker-0"}),
    )
    .await
    .unwrap();
    let pod = &out["pod"];
    let worker = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "worker")
        .unwrap();
    assert!(
        worker["env_names"]
            .as_array()
            .unwrap()
            .contains(&json!("DB_PASSWORD")),
        "{worker}"
    );
    assert_eq!(worker["last_termination"]["reason"], "OOMKilled");
    assert!(worker["limits"]["memory"].is_string(), "{worker}");
    let text = out.to_string();
    assert!(
        !text.contains(k8s::DB_PASSWORD),
        "the env value leaked: {text}"
    );
    assert!(!text.contains(k8s::SECRET_VALUE));
    assert!(pod["qos_class"].is_string());
    assert!(pod["conditions"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn previous_logs_end_with_the_crash_and_hide_secrets() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "api-5f6a8e-x1", "previous": true}),
    )
    .await
    .unwrap();
    let lines: Vec<&str> = out["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(lines.last().copied(), Some(k8s::API_CRASH), "{lines:?}");
    let text = out.to_string();
    assert!(
        !text.contains(k8s::LOG_AWS_KEY) && !text.contains(k8s::LOG_PASSWORD),
        "{text}"
    );
    assert!(out["redactions"].as_u64().unwrap() >= 2, "{out}");
    assert_eq!(out["container"], "api");
    assert!(
        s.api
            .requests()
            .iter()
            .any(|r| r.contains("/pods/api-5f6a8e-x1/log?") && r.contains("previous=true")),
        "{:?}",
        s.api.requests()
    );
}

#[tokio::test]
async fn logs_of_a_pod_with_several_containers_need_one_named() {
    let s = stack().await;
    let h = s.handler();
    let e = call(
        &h,
        json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "worker-0"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "INVALID_INPUT");
    assert!(e.message.contains("worker, log-shipper"), "{e}");
    let out = call(
        &h,
        json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "worker-0",
               "container": "worker", "tail_lines": 2, "match": "(?i)error|warn"}),
    )
    .await
    .unwrap();
    assert!(out["lines"].as_array().unwrap().len() <= 2, "{out}");
}

#[tokio::test]
async fn events_are_deduplicated_newest_first() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "events", "cluster_name": CLUSTER, "namespace": "prod", "object": "Pod/api-5f6a8e-x1"}),
    )
    .await
    .unwrap();
    let events = out["events"].as_array().unwrap();
    let backoff: Vec<&Value> = events.iter().filter(|e| e["reason"] == "BackOff").collect();
    assert_eq!(backoff.len(), 1, "duplicates merged: {out}");
    assert!(backoff[0]["count"].as_u64().unwrap() > 1, "{out}");
    assert!(
        events
            .iter()
            .all(|e| e["object"] == "Pod/api-5f6a8e-x1" && e["type"] == "Warning")
    );
    let seen: Vec<&str> = events
        .iter()
        .filter_map(|e| e["last_seen"].as_str())
        .collect();
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
}

#[tokio::test]
async fn list_workloads_puts_the_stuck_deployment_first() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "list_workloads", "cluster_name": CLUSTER, "namespace": "prod"}),
    )
    .await
    .unwrap();
    let first = &out["workloads"][0];
    assert!(
        first["problems"]
            .to_string()
            .contains("ProgressDeadlineExceeded")
            || first["ready"] != first["desired"],
        "{out}"
    );
    let api = out["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "api")
        .unwrap();
    assert_eq!(
        (
            api["desired"].as_u64(),
            api["available"].as_u64(),
            api["revision"].as_str()
        ),
        (Some(3), Some(1), Some("2"))
    );
    assert!(
        api["problems"]
            .to_string()
            .contains("ProgressDeadlineExceeded")
    );
    assert!(!out.to_string().contains(k8s::DB_PASSWORD));
}

#[tokio::test]
async fn rollout_history_says_what_changed_and_when() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "rollout_history", "cluster_name": CLUSTER, "namespace": "prod", "deployment": "api"}),
    )
    .await
    .unwrap();
    let revisions = out["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2, "{out}");
    assert_eq!(revisions[0]["revision"], 2);
    assert!(
        revisions[0]["images"][0]
            .as_str()
            .unwrap()
            .ends_with("api:1.5.0")
    );
    assert_eq!(revisions[1]["revision"], 1);
    assert!(
        revisions[1]["images"][0]
            .as_str()
            .unwrap()
            .ends_with("api:1.4.0")
    );
    let e = call(
        &s.handler(),
        json!({"action": "rollout_history", "cluster_name": CLUSTER, "namespace": "prod", "deployment": "nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND", "{e}");
}

/// What a model plausibly writes (a name in capitals, a deployment's name for its pod, a kind
/// as kubectl spells it) is read as it meant or answered with the names that exist, and an
/// empty answer says how it was looked for.
#[tokio::test]
async fn names_are_read_as_meant_and_empty_answers_say_how_they_looked() {
    let s = stack().await;
    let h = s.handler();
    let e = call(
        &h,
        json!({"action": "describe_pod", "cluster_name": CLUSTER, "namespace": "prod", "pod": "api"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND", "{e}");
    assert!(
        e.message.contains("whose names contain api") && e.message.contains("api-5f6a8e-x1"),
        "{e}"
    );
    let e = call(
        &h,
        json!({"action": "rollout_history", "cluster_name": CLUSTER, "namespace": "prod", "deployment": "checkout"}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message
            .contains("no deployment in namespace prod has a name containing checkout"),
        "{e}"
    );
    let out = call(
        &h,
        json!({"action": "rollout_history", "cluster_name": CLUSTER, "namespace": "Prod", "deployment": "API"}),
    )
    .await
    .unwrap();
    assert_eq!(out["revisions"].as_array().unwrap().len(), 2, "{out}");
    let out = call(
        &h,
        json!({"action": "list_workloads", "cluster_name": CLUSTER, "namespace": "prod", "kind": "Deployments"}),
    )
    .await
    .unwrap();
    assert!(
        out["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "api"),
        "{out}"
    );
    let events = call(
        &h,
        json!({"action": "events", "cluster_name": CLUSTER, "namespace": "prod", "object": "pod/api-5f6a8e-x1", "since": 604800}),
    )
    .await
    .unwrap();
    assert!(events["count"].as_u64().unwrap() > 0, "{events}");
    assert!(events.get("hint").is_none(), "{events}");

    let quiet = call(
        &h,
        json!({"action": "events", "cluster_name": CLUSTER, "namespace": "prod", "object": "Deployment/nothing-here"}),
    )
    .await
    .unwrap();
    assert_eq!(quiet["count"], 0, "{quiet}");
    let hint = quiet["hint"].as_str().unwrap();
    assert!(
        hint.contains("no Warning event in the last 1h") && hint.contains("Pod/<name>"),
        "{hint}"
    );
    let none = call(
        &h,
        json!({"action": "list_pods", "cluster_name": CLUSTER, "label_selector": "app=nothing-here"}),
    )
    .await
    .unwrap();
    assert!(
        none["hint"]
            .as_str()
            .unwrap()
            .contains("exact and case-sensitive"),
        "{none}"
    );
    let lines = call(
        &h,
        json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "api-5f6a8e-x1",
               "previous": true, "match": "NO-SUCH-TEXT"}),
    )
    .await
    .unwrap();
    assert!(
        lines["hint"]
            .as_str()
            .unwrap()
            .contains("(?i) ignores case"),
        "{lines}"
    );
}

#[tokio::test]
async fn list_nodes_puts_the_troubled_nodes_first_with_what_pods_asked_for() {
    let s = stack().await;
    let out = call(
        &s.handler(),
        json!({"action": "list_nodes", "cluster_name": CLUSTER}),
    )
    .await
    .unwrap();
    let nodes = out["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert_ne!(nodes[0]["name"], k8s::NODE_READY, "{out}");
    let cordoned = nodes
        .iter()
        .find(|n| n["name"] == k8s::NODE_CORDONED)
        .unwrap();
    assert_eq!(cordoned["unschedulable"], true);
    assert_eq!(cordoned["pressure"], json!(["MemoryPressure"]));
    let not_ready = nodes
        .iter()
        .find(|n| n["name"] == k8s::NODE_NOT_READY)
        .unwrap();
    assert_ne!(not_ready["ready"], "True");
    assert!(
        nodes
            .iter()
            .any(|n| n["requested"]["cpu_millicores"].as_u64().unwrap_or(0) > 0),
        "{out}"
    );
}

#[tokio::test]
async fn a_token_refused_once_is_renewed_and_the_request_retried() {
    let s = stack().await;
    let h = s.handler();
    call(&h, json!({"action": "list_nodes", "cluster_name": CLUSTER}))
        .await
        .unwrap();
    s.api.reject_tokens_before_now().await;
    call(&h, json!({"action": "list_nodes", "cluster_name": CLUSTER}))
        .await
        .unwrap();
    let statuses: Vec<u16> = s
        .api
        .requests_with_status()
        .iter()
        .map(|(_, s)| *s)
        .collect();
    assert!(statuses.contains(&401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200));
}

/// What the accepted answers above prove rests on the double refusing what EKS refuses: a
/// token k8s-info makes is taken, and one for another cluster, one 16 minutes old, one signed
/// with another secret and one with a changed signature are each a 401.
#[tokio::test]
async fn the_double_refuses_every_token_eks_would() {
    use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
    use std::time::SystemTime;

    let api = KubernetesApi::start(CLUSTER, moto::REGION).unwrap();
    let signer = |secret: &str| {
        RequestSigner::new(
            SharedCredentialsProvider::new(Credentials::new(
                integration_tests::verifier::ACCESS_KEY,
                secret,
                None,
                None,
                "test",
            )),
            moto::REGION,
            "sts",
        )
    };
    let good = signer(integration_tests::verifier::SECRET_KEY);
    let now = SystemTime::now();
    let token = |signer: RequestSigner, cluster: &'static str, at: SystemTime| async move {
        k8s_info::access::token::make(&signer, cluster, at)
            .await
            .unwrap()
    };
    let ask = |token: String| {
        let client = api.client().unwrap();
        let url = format!("{}/api/v1/nodes", api.url());
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        ask(token(good, CLUSTER, now).await).await,
        200,
        "{}",
        api.logs()
    );
    let good = signer(integration_tests::verifier::SECRET_KEY);
    assert_eq!(ask(token(good, "staging", now).await).await, 401);
    let good = signer(integration_tests::verifier::SECRET_KEY);
    let old = now - Duration::from_secs(16 * 60);
    assert_eq!(ask(token(good, CLUSTER, old).await).await, 401);
    assert_eq!(
        ask(token(signer("another-secret"), CLUSTER, now).await).await,
        401
    );
    // The same URL with the signature's last hex digit changed.
    let url = format!(
        "https://sts.{}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        moto::REGION
    );
    let mut presigned = signer(integration_tests::verifier::SECRET_KEY)
        .presign(
            &url,
            &[("x-k8s-aws-id", CLUSTER)],
            Duration::from_secs(60),
            now,
        )
        .await
        .unwrap();
    assert_eq!(ask(k8s::token_of(&presigned)).await, 200);
    let at = presigned.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len() + 63;
    let digit = if &presigned[at..=at] == "0" { "1" } else { "0" };
    presigned.replace_range(at..=at, digit);
    assert_eq!(ask(k8s::token_of(&presigned)).await, 401);
}

#[tokio::test]
async fn a_server_not_signed_by_the_cluster_ca_is_refused() {
    let s = stack_with_ca(KubernetesApi::other_ca_base64).await;
    let e = call(
        &s.handler(),
        json!({"action": "list_nodes", "cluster_name": CLUSTER}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "UNAVAILABLE", "{e}");
    assert!(e.message.contains("cluster's CA"), "{e}");
    assert!(s.api.requests().is_empty(), "no request got through TLS");
}

#[tokio::test]
async fn rbac_refusals_say_what_the_role_lacks() {
    let s = stack().await;
    s.api.forbid("/api/v1/nodes");
    let e = call(
        &s.handler(),
        json!({"action": "list_nodes", "cluster_name": CLUSTER}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.retryable),
        ("ACCESS_DENIED", false),
        "{e}"
    );
    assert!(e.message.contains("AmazonEKSViewPolicy"), "{e}");
    assert!(!e.message.contains("k8s-aws-v1"), "{e}");
    // workload_health still answers: the node check is unknown, the rest judged.
    let out = call(
        &s.handler(),
        json!({"action": "workload_health", "cluster_name": CLUSTER, "namespace": "prod"}),
    )
    .await
    .unwrap();
    assert_eq!(check(&out, "nodes")["status"], "unknown", "{out}");
    assert_eq!(check(&out, "crash_looping_pods")["status"], "critical");
}

#[tokio::test]
async fn a_cluster_that_refuses_everything_is_access_denied_not_a_warning() {
    let s = stack().await;
    s.api.forbid("/");
    let e = call(
        &s.handler(),
        json!({"action": "workload_health", "cluster_name": CLUSTER}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "ACCESS_DENIED", "{e}");
}

#[tokio::test]
async fn an_unknown_cluster_is_not_found() {
    let s = stack().await;
    let e = call(
        &s.handler(),
        json!({"action": "list_nodes", "cluster_name": "nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND", "{e}");
    assert!(e.message.contains("cluster nope"), "{e}");
}

/// Every action, then: only GETs, only to the paths the actions need.
#[tokio::test]
async fn only_reads_of_the_paths_the_actions_need() {
    let s = stack().await;
    let h = s.handler();
    for input in [
        json!({"action": "workload_health", "cluster_name": CLUSTER}),
        json!({"action": "list_pods", "cluster_name": CLUSTER}),
        json!({"action": "describe_pod", "cluster_name": CLUSTER, "namespace": "prod", "pod": "worker-0"}),
        json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "api-5f6a8e-x1"}),
        json!({"action": "events", "cluster_name": CLUSTER, "warnings_only": false}),
        json!({"action": "list_workloads", "cluster_name": CLUSTER}),
        json!({"action": "rollout_history", "cluster_name": CLUSTER, "namespace": "prod", "deployment": "api"}),
        json!({"action": "list_nodes", "cluster_name": CLUSTER}),
    ] {
        call(&h, input.clone())
            .await
            .unwrap_or_else(|e| panic!("{input}: {e}"));
    }
    let allowed = [
        "/api/v1/pods",
        "/api/v1/namespaces/",
        "/api/v1/events",
        "/api/v1/nodes",
        "/api/v1/persistentvolumeclaims",
        "/apis/apps/v1/",
        "/apis/batch/v1/",
    ];
    for request in s.api.requests() {
        let (method, target) = request.split_once(' ').unwrap();
        assert_eq!(method, "GET", "{request}");
        assert!(allowed.iter().any(|p| target.starts_with(p)), "{request}");
        for never in [
            "secrets",
            "configmaps",
            "/exec",
            "/attach",
            "/portforward",
            "/proxy",
        ] {
            assert!(!target.contains(never), "{request}");
        }
    }
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let s = stack().await;
    let h = s.handler();
    let cases = [
        (
            json!({"action": "list_pods"}),
            "missing field `cluster_name`",
        ),
        (
            json!({"action": "list_pods", "cluster_name": "-x"}),
            "cluster_name must match",
        ),
        (
            json!({"action": "list_pods", "cluster_name": CLUSTER, "namespace": "prod_eu"}),
            "namespace must be a DNS-1123 label",
        ),
        (
            json!({"action": "list_pods", "cluster_name": CLUSTER, "label_selector": "app in prod"}),
            "is not a label selector term",
        ),
        (
            json!({"action": "list_pods", "cluster_name": CLUSTER, "field_selector": "status.phase"}),
            "is not a field selector term",
        ),
        (
            json!({"action": "list_pods", "cluster_name": CLUSTER, "max_results": 0}),
            "max_results must be between 1 and 500, got 0",
        ),
        (
            json!({"action": "describe_pod", "cluster_name": CLUSTER, "pod": "x"}),
            "namespace is required for describe_pod",
        ),
        (
            json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "x", "tail_lines": 1001}),
            "tail_lines must be between 1 and 1000, got 1001",
        ),
        (
            json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "x", "limit_bytes": 10}),
            "limit_bytes must be between 1024 and 1048576, got 10",
        ),
        (
            json!({"action": "pod_logs", "cluster_name": CLUSTER, "namespace": "prod", "pod": "x", "match": "("}),
            "match is not a valid regex",
        ),
        (
            json!({"action": "events", "cluster_name": CLUSTER, "since": "9d"}),
            "since must be more than 0 and at most 7d",
        ),
        (
            json!({"action": "events", "cluster_name": CLUSTER, "object": "api"}),
            "object must be Kind/name",
        ),
        (
            json!({"action": "list_nodes", "cluster_name": CLUSTER, "namespace": "prod"}),
            "namespace does not apply to list_nodes",
        ),
        (
            json!({"action": "exec", "cluster_name": CLUSTER}),
            "unknown variant `exec`",
        ),
        (
            json!({"action": "list_pods", "cluster_name": CLUSTER, "verb": "delete"}),
            "unknown field `verb`",
        ),
    ];
    for (input, part) in cases {
        let e = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("INVALID_INPUT", false),
            "{input}: {e}"
        );
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }
    assert!(s.proxy.seen().is_empty(), "{:?}", s.proxy.seen());
    assert!(s.api.requests().is_empty(), "{:?}", s.api.requests());
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let s = stack().await;
    let mut env = s.moto.env();
    env.push(("AWS_ENDPOINT_URL_EKS".to_owned(), s.proxy.url()));
    let f = LambdaFunction::start("k8s-info", &env).await.unwrap();
    let samples = f.answer_every_sample_event("k8s-info").await;
    assert_eq!(samples.direct["overall"], "unhealthy", "{}", samples.direct);
    let lines = samples.apigw_rest["lines"].as_array().unwrap();
    assert_eq!(lines.last().and_then(Value::as_str), Some(k8s::API_CRASH));
    assert!(
        samples.apigw_http["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(samples.function_url["revisions"][0]["revision"], 2);
    assert!(
        samples.agentcore["pods"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
}
