//! Soak: each tool Lambda answers many invocations (10,000 by default) in one process through
//! the Runtime API against the local stack, and its memory must not creep. `soak <bin-dir>
//! [invocations]`, run by `scripts/soak.sh` on release builds.
//!
//! Every function gets a rotating mix of what it meets in service: successes, invalid input
//! and upstream errors, through the direct and API Gateway shapes. Peak RSS (`VmHWM`) is read
//! after the first 1,000 invocations and after the last; the run fails if it grew by more than
//! 10 %. Latency percentiles are printed for context. A measurement, not a timed test.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use integration_tests::{
    eks::{HEALTHY_ADDONS, serve_addons},
    lambda::{Invoke, LambdaFunction, Timings},
    moto::Moto,
    prometheus::Prometheus,
    proxy::FaultProxy,
    search::SearchEngines,
};
use serde_json::{Value, json};

/// Largest accepted growth of peak RSS from the first 1,000 invocations to the last.
const MAX_GROWTH: f64 = 0.10;

/// Where the first reading is taken.
const FIRST: usize = 1_000;

struct Soaked {
    function: &'static str,
    invocations: usize,
    errors: usize,
    first_kib: u64,
    last_kib: u64,
    rss_last_kib: u64,
    latencies: Vec<Duration>,
}

fn apigw(event: &Value) -> Value {
    json!({
        "resource": "/tools/x", "path": "/tools/x", "httpMethod": "POST",
        "requestContext": {"requestId": "soak", "stage": "prod"},
        "body": event.to_string(), "isBase64Encoded": false,
    })
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn soak(
    dir: &Path,
    function: &'static str,
    env: Vec<(String, String)>,
    events: Vec<Value>,
    invocations: usize,
) -> integration_tests::Result<Soaked> {
    let binary = dir.join(function);
    let f = LambdaFunction::start(binary.to_str().ok_or("path")?, &env).await?;
    let mut latencies = Vec::with_capacity(invocations);
    let (mut errors, mut first_kib) = (0, 0);
    let options = Invoke::default();
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .flat_map(|e| {
            [
                e.to_string().into_bytes(),
                apigw(e).to_string().into_bytes(),
            ]
        })
        .collect();
    for i in 0..invocations {
        let started = Instant::now();
        let answer = f
            .invoke_with(&bodies[i % bodies.len()], &options)
            .await?
            .response();
        latencies.push(started.elapsed());
        let failed = answer.get("error").is_some()
            || answer
                .get("statusCode")
                .and_then(Value::as_u64)
                .is_some_and(|s| s >= 400);
        errors += usize::from(failed);
        if i + 1 == FIRST {
            first_kib = f.peak_rss_kib().unwrap_or(0);
        }
    }
    let last_kib = f.peak_rss_kib().unwrap_or(0);
    let rss_last_kib = rss_kib(f.pid());
    latencies.sort();
    Ok(Soaked {
        function,
        invocations,
        errors,
        first_kib,
        last_kib,
        rss_last_kib,
        latencies,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir: PathBuf =
        PathBuf::from(args.next().ok_or("usage: soak <bin-dir> [invocations]")?).canonicalize()?;
    let invocations: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    if invocations < FIRST {
        return Err(format!("at least {FIRST} invocations").into());
    }

    let prometheus = Prometheus::start().await?;
    let engines = SearchEngines::start().await?;
    let (moto, fixtures) = Moto::start_seeded().await?;
    let eks = FaultProxy::start(moto.endpoint()).await?;
    for cluster in fixtures.clusters.keys() {
        serve_addons(&eks, cluster, &HEALTHY_ADDONS);
    }
    let prom_env = vec![("PROMETHEUS_URL".to_owned(), prometheus.url().to_owned())];
    let mut eks_env = moto.env();
    eks_env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    eks_env.push(("AWS_ENDPOINT_URL_EKS".to_owned(), eks.url()));

    let runs = vec![
        soak(
            &dir,
            "prometheus-query",
            prom_env.clone(),
            vec![
                json!({"query": "sum by (code) (rate(http_requests_total{job=\"api\"}[1m]))", "time": "2026-01-01T00:30:00Z"}),
                json!({"query": "up", "time": "2026-01-01T00:30:00Z", "max_series": 2}),
                json!({"query": "sum(rate(x[1m]", "time": "2026-01-01T00:30:00Z"}),
                json!({"query": "", "max_series": 9999}),
            ],
            invocations,
        ),
        soak(
            &dir,
            "prometheus-range-query",
            prom_env.clone(),
            vec![
                json!({"query": "rate(http_requests_total{instance=\"api-1\",code=\"200\"}[1m])", "start": "2026-01-01T00:10:00Z", "end": "2026-01-01T00:20:00Z", "step": "1m"}),
                json!({"query": "up", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "max_points": 10}),
                json!({"query": "up", "start": "2026-01-01T01:00:00Z", "end": "2026-01-01T00:00:00Z"}),
            ],
            invocations,
        ),
        soak(
            &dir,
            "prometheus-metadata",
            prom_env,
            vec![
                json!({"action": "list_metrics"}),
                json!({"action": "label_values", "label": "job"}),
                json!({"action": "server_info"}),
                json!({"action": "label_values"}),
            ],
            invocations,
        ),
        soak(
            &dir,
            "web-search",
            vec![("WEBSEARCH_URL".to_owned(), engines.url())],
            vec![
                json!({"query": "kubernetes pod crashloopbackoff", "max_results": 3}),
                json!({"query": "karpenter consolidation", "max_results": 10}),
                json!({"query": "", "max_results": 50}),
            ],
            invocations,
        ),
        soak(
            &dir,
            "eks-info",
            eks_env,
            vec![
                json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
                json!({"action": "list_clusters"}),
                json!({"action": "describe_cluster", "cluster_name": "no-such-cluster"}),
                json!({"action": "list_nodegroups", "cluster_name": "prod-eu"}),
            ],
            invocations,
        ),
    ];
    let results = futures_util::future::join_all(runs).await;

    println!(
        "{:<24} {:>11} {:>7} {:>9} {:>9} {:>13} {:>13} {:>7} {:>13}",
        "function",
        "invocations",
        "errors",
        "p50 ms",
        "p99 ms",
        "peak @1k KiB",
        "peak @end KiB",
        "growth",
        "RSS @end KiB"
    );
    let mut failed = Vec::new();
    for result in results {
        let s = result?;
        let growth = s.last_kib as f64 / s.first_kib.max(1) as f64 - 1.0;
        println!(
            "{:<24} {:>11} {:>7} {:>9.2} {:>9.2} {:>13} {:>13} {:>6.1}% {:>13}",
            s.function,
            s.invocations,
            s.errors,
            Timings::ms(&s.latencies, 50),
            Timings::ms(&s.latencies, 99),
            s.first_kib,
            s.last_kib,
            growth * 100.0,
            s.rss_last_kib
        );
        if growth > MAX_GROWTH {
            failed.push(s.function);
        }
    }
    drop(moto);
    if failed.is_empty() {
        println!(
            "peak RSS grew by at most {:.0} % for every function",
            MAX_GROWTH * 100.0
        );
        Ok(())
    } else {
        Err(format!("peak RSS grew by more than 10 %: {failed:?}").into())
    }
}
