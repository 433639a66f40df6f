//! Cold start, warm latency and memory of `k8s-info` against the local stack: seeded moto,
//! its DescribeCluster of prod-eu pointed by the proxy at the Kubernetes API double (TLS with
//! a test CA, every token's presigned STS signature checked). `k8s_latency <bin-dir> [runs]`,
//! run by `scripts/measure-eks.sh` on release builds. A measurement, not a test: it prints
//! numbers and asserts nothing.
//!
//! The double is a Python server that verifies each request's token with botocore, so the
//! table is preceded by what one GET of `/api/v1/nodes` sent directly from this process costs
//! (`KubernetesApi::get`: a fresh token and TLS connection each time), to set the function's
//! times against: `list_nodes` reads nodes and every pod in parallel, `workload_health` checks
//! the namespace and then reads six lists in parallel, over connections the process keeps.
//! "EKS calls" are per process (DescribeCluster is cached), "k8s calls" per invocation.

use std::{path::PathBuf, time::Instant};

use integration_tests::{
    eks::point_cluster_at,
    k8s::KubernetesApi,
    lambda::Timings,
    moto::{self, Moto},
    proxy::FaultProxy,
};
use serde_json::json;

const CLUSTER: &str = "prod-eu";

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir =
        PathBuf::from(args.next().ok_or("usage: k8s_latency <bin-dir> [runs]")?).canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let (moto, _) = Moto::start_seeded().await?;
    let proxy = FaultProxy::start(moto.endpoint()).await?;
    let api = KubernetesApi::start(CLUSTER, moto::REGION)?;
    point_cluster_at(&proxy, CLUSTER, api.url(), &api.ca_base64());
    let mut env: Vec<(String, String)> = moto.env();
    env.push(("AWS_ENDPOINT_URL_EKS".to_owned(), proxy.url()));
    let binary = dir.join("k8s-info");

    api.get("/api/v1/nodes").await?;
    let mut direct = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let (status, _) = api.get("/api/v1/nodes").await?;
        direct.push(started.elapsed());
        if status != 200 {
            return Err(format!("direct GET /api/v1/nodes answered {status}").into());
        }
    }
    direct.sort();
    println!(
        "one GET /api/v1/nodes to the double directly (new token, new TLS connection): p50 {:.2} ms",
        Timings::ms(&direct, 50)
    );

    println!(
        "{:<16} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "action",
        "EKS calls",
        "k8s calls",
        "cold p50",
        "cold p90",
        "warm p50",
        "warm p90",
        "peak RSS"
    );
    for (action, event) in [
        (
            "list_nodes",
            json!({"action": "list_nodes", "cluster_name": CLUSTER}),
        ),
        (
            "workload_health",
            json!({"action": "workload_health", "cluster_name": CLUSTER, "namespace": "prod"}),
        ),
    ] {
        let eks_before = proxy.seen().len();
        let k8s_before = api.requests().len();
        let t = Timings::measure(&binary, &event, &env, 30, runs).await?;
        // DescribeCluster is cached for the life of a process: once for each cold start and
        // once for the warm process. Every invocation makes the same Kubernetes API calls.
        let eks_calls = (proxy.seen().len() - eks_before) / (30 + 1);
        let k8s_calls = (api.requests().len() - k8s_before) / (30 + 1 + runs);
        println!(
            "{action:<16} {:>9} {:>9} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>6.1} MB",
            eks_calls,
            k8s_calls,
            Timings::ms(&t.cold, 50),
            Timings::ms(&t.cold, 90),
            Timings::ms(&t.warm, 50),
            Timings::ms(&t.warm, 90),
            t.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
