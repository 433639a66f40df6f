//! Cold start, warm latency and memory of `cloudwatch` and `cloudtrail` against their local
//! upstreams: moto behind the CloudWatch double (seeded with the broken `api` workload), and
//! the CloudTrail LookupEvents double. `cloudwatch_latency <bin-dir> [runs]`, run by
//! `scripts/measure-cloudwatch.sh` on release builds. A measurement, not a test: it prints
//! numbers and asserts nothing.
//!
//! The doubles' own time is in these numbers; the `(canned)` rows are answered from memory by
//! a Rust proxy (one DescribeLogGroups, one LookupEvents): the function's own cost. cloudtrail spaces its requests 600 ms apart (LookupEvents
//! allows 2 a second), so its warm runs are paced: the table shows its first answer.

use std::path::PathBuf;

use integration_tests::{
    cloudtrail::CloudTrailDouble, cloudwatch::CloudWatchDouble, lambda::Timings, moto::Moto,
    proxy::FaultProxy,
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: cloudwatch_latency <bin-dir> [runs]")?,
    )
    .canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let moto = Moto::start().await?;
    let cloudwatch = CloudWatchDouble::start(moto.endpoint()).await?;
    cloudwatch.seed().await?;
    let cloudtrail = CloudTrailDouble::start().await?;
    // The function's pacing keeps it within the double's 2 requests a second per process;
    // cold starts are new processes, so the double must not throttle across them.
    cloudtrail.rate_limit(1_000);
    let mut env: Vec<(String, String)> = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".to_owned(), cloudwatch.url().to_owned()));
    env.push(("AWS_ENDPOINT_URL_CLOUDTRAIL".to_owned(), cloudtrail.url()));
    let canned = FaultProxy::start(cloudwatch.url()).await?;
    // Both JSON protocols post to `/`: one canned answer serves DescribeLogGroups and
    // LookupEvents alike (each SDK reads only its own member).
    canned.answer(
        "POST",
        "/",
        200,
        None,
        json!({"logGroups": [{"logGroupName": "/aws/containerinsights/prod-eu/application", "storedBytes": 1}], "Events": []}),
    );
    let mut canned_env = env.clone();
    canned_env.retain(|(k, _)| k != "AWS_ENDPOINT_URL" && k != "AWS_ENDPOINT_URL_CLOUDTRAIL");
    canned_env.push(("AWS_ENDPOINT_URL".to_owned(), canned.url()));
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "function / action", "cold p50", "cold p90", "warm p50", "warm p90", "peak RSS"
    );
    for (binary, label, event, warm_runs, env) in [
        (
            "cloudwatch",
            "cloudwatch log_groups (canned)",
            json!({"action": "log_groups"}),
            runs,
            &canned_env,
        ),
        // Paced 600 ms apart: a handful of warm runs says enough.
        (
            "cloudtrail",
            "cloudtrail changes (canned)",
            json!({"action": "changes"}),
            5,
            &canned_env,
        ),
        (
            "cloudwatch",
            "cloudwatch alarms",
            json!({"action": "alarms"}),
            runs,
            &env,
        ),
        (
            "cloudwatch",
            "cloudwatch log_groups",
            json!({"action": "log_groups"}),
            runs,
            &env,
        ),
        (
            "cloudwatch",
            "cloudwatch metric_data",
            json!({"action": "metric_data", "namespace": "ContainerInsights",
                   "metric_name": "pod_cpu_utilization", "start": "now-2h",
                   "dimensions": {"ClusterName": "prod-eu", "Namespace": "prod", "PodName": "api"}}),
            runs,
            &env,
        ),
        (
            "cloudtrail",
            "cloudtrail changes",
            json!({"action": "changes"}),
            5,
            &env,
        ),
    ] {
        let t = Timings::measure(&dir.join(binary), &event, env, 30, warm_runs).await?;
        println!(
            "{label:<32} {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>6.1} MB",
            Timings::ms(&t.cold, 50),
            Timings::ms(&t.cold, 90),
            Timings::ms(&t.warm, 50),
            Timings::ms(&t.warm, 90),
            t.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
