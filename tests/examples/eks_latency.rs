//! Cold start, warm latency and memory of `eks-info` against the local stack (seeded moto
//! behind the add-on double). `eks_latency <bin-dir> [runs]`, run by
//! `scripts/measure-eks.sh` on release builds. A measurement, not a test: it prints numbers
//! and asserts nothing.
//!
//! moto is a Python server taking about a millisecond per call, and `cluster_health` makes a
//! dozen calls, so the table also shows one DescribeCluster sent directly by an SDK client in
//! this process, and `describe_cluster` of a cluster the proxy answers from memory: the
//! function's own cost without moto's.

use std::{path::PathBuf, time::Instant};

use integration_tests::{
    eks::{HEALTHY_ADDONS, serve_addons},
    lambda::Timings,
    moto::Moto,
    proxy::FaultProxy,
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir =
        PathBuf::from(args.next().ok_or("usage: eks_latency <bin-dir> [runs]")?).canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let (moto, fixtures) = Moto::start_seeded().await?;
    let proxy = FaultProxy::start(moto.endpoint()).await?;
    for cluster in fixtures.clusters.keys() {
        serve_addons(&proxy, cluster, &HEALTHY_ADDONS);
    }
    let mut env: Vec<(String, String)> = moto.env();
    env.push(("AWS_ENDPOINT_URL_EKS".to_owned(), proxy.url()));
    let binary = dir.join("eks-info");

    let eks = aws_sdk_eks::Client::new(&Moto::sdk_config_for(&proxy.url()).await);
    eks.describe_cluster().name("prod-eu").send().await?;
    let mut direct = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        eks.describe_cluster().name("prod-eu").send().await?;
        direct.push(started.elapsed());
    }
    direct.sort();
    println!(
        "one DescribeCluster, SDK client to moto directly: p50 {:.2} ms",
        Timings::ms(&direct, 50)
    );

    println!(
        "{:<18} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "action", "calls", "cold p50", "cold p90", "warm p50", "warm p90", "peak RSS"
    );
    // A cluster the proxy answers itself (Rust, in memory): the function's own cost.
    proxy.answer(
        "GET",
        "/clusters/canned",
        200,
        None,
        json!({"cluster": {"name": "canned", "status": "ACTIVE", "version": "1.30"}}),
    );
    for (action, event) in [
        (
            "describe (canned)",
            json!({"action": "describe_cluster", "cluster_name": "canned"}),
        ),
        (
            "describe_cluster",
            json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
        ),
        (
            "cluster_health",
            json!({"action": "cluster_health", "cluster_name": "prod-eu"}),
        ),
    ] {
        let before = proxy.seen().len();
        let t = Timings::measure(&binary, &event, &env, 30, runs).await?;
        // Every cold start, the warm-up and every warm run made the same calls.
        let calls = (proxy.seen().len() - before) / (30 + 1 + runs);
        println!(
            "{action:<18} {calls:>7} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>6.1} MB",
            Timings::ms(&t.cold, 50),
            Timings::ms(&t.cold, 90),
            Timings::ms(&t.warm, 50),
            Timings::ms(&t.warm, 90),
            t.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
