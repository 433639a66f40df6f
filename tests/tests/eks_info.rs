//! `eks-info` against moto's EKS, seeded by `stack/seed_moto.py`, one behaviour per test,
//! each on its own seeded stack: every action with its exact fixtures, paging across several
//! pages, the health verdict (with a DEGRADED node group and add-ons served by the
//! wire-level double of `integration_tests::eks`, since moto has neither), partial failures,
//! the parallel fan-out, AWS errors mapped to the envelope (a hanging EKS answered before the
//! deadline the handler was given), validation with proof that no request went out, and
//! every entry shape through the Lambda Runtime API.

use std::time::Duration;

use aws_sdk_eks::config::retry::RetryConfig;
use common::{Deadline, ToolError};
use eks_info::EksInfo;
use integration_tests::{
    eks::{Addon, HEALTHY_ADDONS, degrade_nodegroup, fail, serve_addons},
    lambda::LambdaFunction,
    moto::{Fixtures, Moto},
    proxy::FaultProxy,
    sample_event,
};
use serde_json::{Value, json};

/// Seeded moto, a proxy in front of it (counting, and serving add-ons for every cluster),
/// and the handler's EKS client pointed at the proxy.
struct Stack {
    _moto: Moto,
    fixtures: Fixtures,
    proxy: FaultProxy,
    eks: aws_sdk_eks::Client,
}

async fn stack() -> Stack {
    let (moto, fixtures) = Moto::start_seeded().await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    for cluster in ["prod-eu", "staging"] {
        serve_addons(&proxy, cluster, &HEALTHY_ADDONS);
    }
    serve_addons(&proxy, "dev", &[]);
    let config = Moto::sdk_config_for(&proxy.url()).await;
    // The SDK's standard retries as in production, with short waits so throttling tests
    // do not sleep for seconds.
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::config::Builder::from(&config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build(),
    );
    Stack {
        _moto: moto,
        fixtures,
        proxy,
        eks,
    }
}

impl Stack {
    fn handler(&self, page_size: u32) -> EksInfo {
        let mut h = EksInfo::with_client(self.eks.clone());
        h.page_size = page_size;
        h
    }
}

async fn call(h: &EksInfo, input: Value) -> Result<Value, ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect()
}

fn check<'a>(report: &'a Value, name: &str) -> (&'a str, &'a str) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"));
    (c["status"].as_str().unwrap(), c["detail"].as_str().unwrap())
}

// The actions, each on a fresh seeded stack. Two entries per page where paging is tested, so
// three clusters and three node groups span two pages each.

#[tokio::test]
async fn list_clusters_pages_through_every_cluster() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(&h, json!({"action": "list_clusters"})).await.unwrap();
    assert_eq!(
        out["clusters"],
        json!([
            {"name": "dev", "status": "ACTIVE", "version": "1.31", "platform_version": out["clusters"][0]["platform_version"]},
            {"name": "prod-eu", "status": "ACTIVE", "version": "1.30", "platform_version": out["clusters"][1]["platform_version"]},
            {"name": "staging", "status": "ACTIVE", "version": "1.29", "platform_version": out["clusters"][2]["platform_version"]},
        ])
    );
    assert_eq!(
        (
            out["count"].as_u64(),
            out["truncated"].as_bool(),
            out["region"].as_str()
        ),
        (Some(3), Some(false), Some("us-east-1"))
    );
    assert_eq!(
        s.proxy.count("GET /clusters"),
        2,
        "two pages: {:?}",
        s.proxy.seen()
    );
}

#[tokio::test]
async fn list_clusters_max_results_truncates() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(&h, json!({"action": "list_clusters", "max_results": 2}))
        .await
        .unwrap();
    assert_eq!(names(&out["clusters"]), ["dev", "prod-eu"]);
    assert_eq!(out["truncated"], true);
}

#[tokio::test]
async fn describe_cluster_returns_the_seeded_facts() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    let c = &out["cluster"];
    assert_eq!(
        (
            c["name"].as_str(),
            c["version"].as_str(),
            c["status"].as_str()
        ),
        (Some("prod-eu"), Some("1.30"), Some("ACTIVE"))
    );
    assert_eq!(c["tags"], json!({"env": "prod-eu", "team": "platform"}));
    assert_eq!(
        c["networking"]["subnet_ids"],
        json!(["subnet-0a1b2c3d", "subnet-4e5f6a7b"])
    );
    assert_eq!(c["role_arn"], "arn:aws:iam::123456789012:role/eks-test");
    assert!(c["endpoint"].as_str().unwrap().starts_with("https://"));
}

#[tokio::test]
async fn describe_cluster_hides_the_certificate_authority() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    // moto fills in certificate authority data; it must not reach the answer.
    let raw = s
        .eks
        .describe_cluster()
        .name("prod-eu")
        .send()
        .await
        .unwrap();
    let ca = raw
        .cluster()
        .and_then(|c| c.certificate_authority())
        .and_then(|a| a.data())
        .unwrap();
    assert!(ca.len() > 100);
    let text = out.to_string();
    assert!(
        !text.contains(ca) && !text.contains("certificate"),
        "{text}"
    );
}

#[tokio::test]
async fn list_nodegroups_pages_through_every_nodegroup() {
    let s = stack().await;
    let h = s.handler(2);
    let before = s.proxy.count("GET /clusters/prod-eu/node-groups");
    let out = call(
        &h,
        json!({"action": "list_nodegroups", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    assert_eq!(
        s.proxy.count("GET /clusters/prod-eu/node-groups") - before,
        2
    );
    let mut listed = names(&out["nodegroups"]);
    listed.sort_unstable();
    let mut seeded: Vec<&str> = s.fixtures.clusters["prod-eu"]
        .nodegroups
        .iter()
        .map(String::as_str)
        .collect();
    seeded.sort_unstable();
    assert_eq!(listed, seeded);
    assert_eq!(
        (out["count"].as_u64(), out["truncated"].as_bool()),
        (Some(3), Some(false))
    );
}

#[tokio::test]
async fn list_nodegroups_gives_each_group_its_scaling_capacity_instances_and_labels() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "list_nodegroups", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    let spot = out["nodegroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "spot-batch")
        .unwrap();
    assert_eq!(
        (
            &spot["scaling"],
            &spot["capacity_type"],
            &spot["instance_types"],
            &spot["labels"]
        ),
        (
            &json!({"min_size": 0, "max_size": 10, "desired_size": 10}),
            &json!("SPOT"),
            &json!(["c6i.xlarge", "c5.xlarge"]),
            &json!({"pool": "spot-batch"})
        )
    );
}

#[tokio::test]
async fn describe_nodegroup_returns_the_seeded_facts() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(&h, json!({"action": "describe_nodegroup", "cluster_name": "prod-eu", "nodegroup_name": "legacy"})).await.unwrap();
    let n = &out["nodegroup"];
    assert_eq!(
        (
            n["name"].as_str(),
            n["version"].as_str(),
            n["status"].as_str(),
            n["capacity_type"].as_str()
        ),
        (
            Some("legacy"),
            Some("1.28"),
            Some("ACTIVE"),
            Some("ON_DEMAND")
        )
    );
    assert_eq!(
        n["scaling"],
        json!({"min_size": 1, "max_size": 4, "desired_size": 2})
    );
    assert_eq!(out["cluster_name"], "prod-eu");
}

#[tokio::test]
async fn list_fargate_profiles_returns_status_and_selectors() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "list_fargate_profiles", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out["fargate_profiles"]), ["serverless-jobs"]);
    let p = &out["fargate_profiles"][0];
    assert_eq!(
        (&p["status"], &p["selectors"]),
        (
            &json!("ACTIVE"),
            &json!([{"namespace": "jobs", "labels": {}}])
        )
    );
}

#[tokio::test]
async fn list_addons_max_results_truncates() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "list_addons", "cluster_name": "prod-eu", "max_results": 2}),
    )
    .await
    .unwrap();
    assert_eq!(names(&out["addons"]), ["coredns", "kube-proxy"]);
    assert_eq!(out["truncated"], true);
}

#[tokio::test]
async fn list_addons_gives_every_field_of_an_addon() {
    let s = stack().await;
    let h = s.handler(2);
    let out = call(
        &h,
        json!({"action": "list_addons", "cluster_name": "prod-eu", "max_results": 2}),
    )
    .await
    .unwrap();
    assert_eq!(
        out["addons"][0],
        json!({"name": "coredns", "version": "v1.11.3-eksbuild.1", "status": "ACTIVE",
               "health_issues": [], "service_account_role_arn": "arn:aws:iam::123456789012:role/coredns",
               "created_at": "2026-01-01T00:00:00Z", "modified_at": "2026-01-01T00:05:00.5Z"})
    );
}

// cluster_health: the verdict per cluster, a partial failure, and the parallel fan-out.

/// Makes prod-eu unhealthy through the proxy: its `general` node group DEGRADED and its
/// coredns add-on DEGRADED (besides what the seed gives it: one node group at its maximum,
/// one two versions behind).
fn degrade_prod_eu(s: &Stack) {
    degrade_nodegroup(
        &s.proxy,
        "prod-eu",
        "general",
        (
            "AsgInstanceLaunchFailures",
            "Could not launch On-Demand Instances",
        ),
    );
    let mut addons = HEALTHY_ADDONS;
    addons[0] = Addon {
        status: "DEGRADED",
        issues: &[(
            "InsufficientNumberOfReplicas",
            "The add-on is unhealthy because it doesn't have the desired number of replicas.",
        )],
        ..addons[0]
    };
    serve_addons(&s.proxy, "prod-eu", &addons);
}

#[tokio::test]
async fn cluster_health_of_staging_is_healthy_with_every_check_in_order() {
    let s = stack().await;
    let h = s.handler(100);
    // staging: one node group at the cluster's version with room to scale, healthy add-ons.
    let out = call(
        &h,
        json!({"action": "cluster_health", "cluster_name": "staging"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            out["overall"].as_str(),
            out["status"].as_str(),
            out["version"].as_str()
        ),
        (Some("healthy"), Some("ACTIVE"), Some("1.29")),
        "{out}"
    );
    let all: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        all,
        [
            "cluster_status",
            "cluster_health_issues",
            "compute",
            "nodegroup/general",
            "addon/coredns",
            "addon/kube-proxy",
            "addon/vpc-cni"
        ]
    );
}

#[tokio::test]
async fn cluster_health_of_a_degraded_prod_eu_is_unhealthy_and_names_each_finding() {
    let s = stack().await;
    let h = s.handler(100);
    // prod-eu: a DEGRADED node group, one at its maximum, one two versions behind, a
    // DEGRADED add-on.
    degrade_prod_eu(&s);
    let out = call(
        &h,
        json!({"action": "cluster_health", "cluster_name": "prod-eu"}),
    )
    .await
    .unwrap();
    assert_eq!(out["overall"], "unhealthy", "{out}");
    let expect = [
        ("cluster_status", "ok", "ACTIVE"),
        (
            "compute",
            "ok",
            "3 managed node group(s), 1 Fargate profile(s)",
        ),
        (
            "nodegroup/general",
            "critical",
            "DEGRADED; health issues: AsgInstanceLaunchFailures (Could not launch On-Demand Instances)",
        ),
        (
            "nodegroup/spot-batch",
            "warning",
            "10 nodes desired, which is its maximum",
        ),
        (
            "nodegroup/legacy",
            "warning",
            "version 1.28 is 2 minor version(s) behind the cluster's 1.30",
        ),
        ("addon/coredns", "critical", "InsufficientNumberOfReplicas"),
        ("addon/vpc-cni", "ok", "ACTIVE, version v1.18.3-eksbuild.2"),
        ("fargate_profile/serverless-jobs", "ok", "ACTIVE"),
    ];
    for (name, status, phrase) in expect {
        let (got, detail) = check(&out, name);
        assert_eq!(got, status, "{name}: {detail}");
        assert!(detail.contains(phrase), "{name}: {detail}");
    }
}

#[tokio::test]
async fn cluster_health_of_an_empty_dev_cluster_warns_about_compute() {
    let s = stack().await;
    let h = s.handler(100);
    // dev: no node groups, no Fargate profiles, no add-ons.
    let out = call(
        &h,
        json!({"action": "cluster_health", "cluster_name": "dev"}),
    )
    .await
    .unwrap();
    assert_eq!(out["overall"], "warning");
    assert_eq!(check(&out, "compute").0, "warning");
}

#[tokio::test]
async fn cluster_health_with_fargate_profiles_denied_warns_and_claims_nothing_about_compute() {
    let s = stack().await;
    let h = s.handler(100);
    // Partial failure: Fargate profiles denied. The answer still comes, with the denial as a
    // check, and nothing claimed about compute it could not see.
    fail(
        &s.proxy,
        "GET",
        "/clusters/staging/fargate-profiles",
        403,
        "AccessDeniedException",
    );
    let out = call(
        &h,
        json!({"action": "cluster_health", "cluster_name": "staging"}),
    )
    .await
    .unwrap();
    assert_eq!(out["overall"], "warning");
    let (status, detail) = check(&out, "fargate_profiles");
    assert_eq!(status, "warning");
    assert!(
        detail.contains("could not list the Fargate profiles") && detail.contains("ACCESS_DENIED"),
        "{detail}"
    );
    assert!(
        out["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "compute")
    );
}

#[tokio::test]
async fn cluster_health_sends_its_four_lookups_in_parallel() {
    let s = stack().await;
    // The same degraded prod-eu as above, so the verdict after the release is known.
    degrade_prod_eu(&s);
    // Parallel: with the proxy holding every request, the cluster, node group, add-on and
    // Fargate calls all arrive before any is answered.
    s.proxy.hold();
    let seen = s.proxy.seen().len();
    let health = tokio::spawn({
        let eks = s.eks.clone();
        async move {
            let h = EksInfo::with_client(eks);
            call(
                &h,
                json!({"action": "cluster_health", "cluster_name": "prod-eu"}),
            )
            .await
        }
    });
    tokio::time::timeout(Duration::from_secs(10), s.proxy.wait_for(seen + 4))
        .await
        .expect("four requests in flight at once");
    let mut first: Vec<String> = s.proxy.seen()[seen..seen + 4].to_vec();
    first.sort();
    assert_eq!(
        first,
        [
            "GET /clusters/prod-eu",
            "GET /clusters/prod-eu/addons",
            "GET /clusters/prod-eu/fargate-profiles",
            "GET /clusters/prod-eu/node-groups"
        ]
    );
    s.proxy.open();
    assert_eq!(health.await.unwrap().unwrap()["overall"], "unhealthy");
}

// AWS errors mapped to the contract envelope, one kind per test.

#[tokio::test]
async fn describe_cluster_of_an_unknown_cluster_is_not_found() {
    let s = stack().await;
    let h = s.handler(100);
    let e = call(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.retryable), ("NOT_FOUND", false));
    // Names are exact: the clusters that exist are named, so the model can pick one.
    assert!(
        e.message
            .starts_with("cluster `nope` was not found in region us-east-1; the clusters there: ")
            && e.message.contains("prod-eu"),
        "{e}"
    );
    let e = call(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "PROD"}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.ends_with(
            "names are exact and case-sensitive: clusters whose names contain it: prod-eu"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn cluster_health_of_an_unknown_cluster_is_not_found() {
    let s = stack().await;
    let h = s.handler(100);
    let e = call(
        &h,
        json!({"action": "cluster_health", "cluster_name": "nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    assert!(
        e.message
            .starts_with("cluster `nope` was not found in region us-east-1; the clusters there: "),
        "{e}"
    );
}

#[tokio::test]
async fn describe_nodegroup_of_an_unknown_nodegroup_is_not_found() {
    let s = stack().await;
    let h = s.handler(100);
    let e = call(
        &h,
        json!({"action": "describe_nodegroup", "cluster_name": "prod-eu", "nodegroup_name": "gpu"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code.as_str(), "NOT_FOUND");
    assert!(
        e.message.starts_with(
            "node group `gpu` of cluster `prod-eu` was not found in region us-east-1; the cluster's node groups: "
        ),
        "{e}"
    );
    // The cluster itself missing: said as such, with the clusters there.
    let e = call(
        &h,
        json!({"action": "describe_nodegroup", "cluster_name": "nope", "nodegroup_name": "gpu"}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message
            .starts_with("cluster `nope` was not found in region us-east-1; the clusters there: "),
        "{e}"
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_throttled_and_retryable() {
    let s = stack().await;
    let h = s.handler(100);
    // Throttling: the SDK's own retries (3 attempts), then THROTTLED, retryable.
    fail(
        &s.proxy,
        "GET",
        "/clusters/staging",
        400,
        "ThrottlingException",
    );
    let before = s.proxy.count("GET /clusters/staging");
    let e = call(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "staging"}),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.retryable), ("THROTTLED", true), "{e}");
    assert_eq!(s.proxy.count("GET /clusters/staging") - before, 3);
}

#[tokio::test]
async fn access_denied_is_access_denied_and_not_retryable() {
    let s = stack().await;
    let h = s.handler(100);
    fail(
        &s.proxy,
        "GET",
        "/clusters/staging/node-groups",
        403,
        "AccessDeniedException",
    );
    let e = call(
        &h,
        json!({"action": "list_nodegroups", "cluster_name": "staging"}),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code.as_str(), e.retryable), ("ACCESS_DENIED", false));
}

#[tokio::test]
async fn a_hanging_eks_is_upstream_timeout_before_the_deadline() {
    let s = stack().await;
    let h = s.handler(100);
    // A hanging EKS: the answer comes before the Lambda's deadline, as UPSTREAM_TIMEOUT.
    s.proxy.hold();
    let deadline = Deadline::after(Duration::from_millis(1_000));
    let e = integration_tests::handle_by(
        &h,
        json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
        deadline,
    )
    .await
    .unwrap_err();
    let left = deadline.remaining();
    s.proxy.open();
    assert_eq!((e.code.as_str(), e.retryable), ("UPSTREAM_TIMEOUT", true));
    assert!(
        left > Duration::ZERO,
        "answered after the deadline it was given (1 s): {e}"
    );
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let s = stack().await;
    let h = s.handler(100);
    let cases = [
        (
            json!({"action": "describe_cluster"}),
            "cluster_name is required",
        ),
        (
            json!({"action": "describe_cluster", "cluster_name": "-prod"}),
            "cluster_name must match",
        ),
        (
            json!({"action": "describe_cluster", "cluster_name": "a".repeat(101)}),
            "1 to 100 characters",
        ),
        (
            json!({"action": "describe_cluster", "cluster_name": "prod eu"}),
            "cluster_name must match",
        ),
        (
            json!({"action": "describe_nodegroup", "cluster_name": "prod-eu", "nodegroup_name": "../x"}),
            "nodegroup_name must match",
        ),
        (
            json!({"action": "list_clusters", "max_results": 0}),
            "max_results must be between 1 and 100, got 0",
        ),
        (
            json!({"action": "list_clusters", "max_results": 101}),
            "max_results must be between 1 and 100, got 101",
        ),
        (
            json!({"action": "list_clusters", "region": "eu-west-1"}),
            "unknown field `region`",
        ),
        (
            json!({"action": "delete_cluster"}),
            "unknown variant `delete_cluster`",
        ),
    ];
    for (input, phrase) in cases {
        let e = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(e.code.as_str(), "INVALID_INPUT", "{input}");
        assert!(e.message.contains(phrase), "{input}: {}", e.message);
    }
    assert!(s.proxy.seen().is_empty(), "{:?}", s.proxy.seen());
}

fn body_of(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let s = stack().await;
    // The function finds EKS through the SDK's own service-specific endpoint variable.
    let mut env: Vec<(String, String)> = s
        ._moto
        .env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .collect();
    env.push(("AWS_ENDPOINT_URL_EKS".to_owned(), s.proxy.url()));
    let f = LambdaFunction::start("eks-info", &env).await.unwrap();
    let name = "eks-info";
    let samples = f.answer_every_sample_event("eks-info").await;
    let direct = &samples.direct;
    assert_eq!(
        (direct["cluster_name"].as_str(), direct["overall"].as_str()),
        (Some("prod-eu"), Some("warning")),
        "{direct}"
    );
    assert_eq!(samples.apigw_rest["cluster"]["version"], "1.30");
    let http = &samples.apigw_http;
    assert_eq!(
        (http["count"].as_u64(), http["truncated"].as_bool()),
        (Some(2), Some(true)),
        "{http}"
    );
    let url = &samples.function_url;
    assert_eq!(names(&url["clusters"]), ["dev", "prod-eu"], "{url}");
    let ac = &samples.agentcore;
    assert_eq!(names(&ac["fargate_profiles"]), ["serverless-jobs"], "{ac}");

    // An unknown cluster through API Gateway: 404 with the envelope.
    let mut missing = sample_event(name, "apigw-rest.json");
    missing["body"] = json!(r#"{"action": "describe_cluster", "cluster_name": "nope"}"#);
    let out = f.invoke(&missing).await.unwrap().response();
    assert_eq!(out["statusCode"], 404);
    assert_eq!(body_of(&out)["error"]["code"], "NOT_FOUND");
    assert!(s.proxy.count("GET /clusters/nope") >= 1);
    let logs = f.logs();
    assert!(
        !logs.contains("Signature=") && !logs.contains("x-amz-security-token"),
        "no signed header in the logs"
    );
}
