//! Cold start, warm latency and memory of the Prometheus functions against the stack's real
//! Prometheus. `prometheus_latency <bin-dir> [runs]`, run by `scripts/measure-prometheus.sh`
//! on release builds. A measurement, not a test: it prints numbers and asserts nothing.
//!
//! * cold start: process start to first answer through the Runtime API, with the event
//!   queued before the process exists; the answer includes the first Prometheus query.
//! * warm: the same event again and again in one process, against a direct HTTP POST of the
//!   same query to the same Prometheus; the difference is what the function adds.

use std::{path::PathBuf, time::Instant};

use integration_tests::{
    http_client,
    lambda::{LambdaFunction, cold_start},
    prometheus::{Prometheus, dataset},
};
use serde_json::json;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: prometheus_latency <bin-dir> [runs]")?,
    )
    .canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    // With the stack's alert rules, so prometheus-alerts has rules and alerts to read.
    let prometheus = Prometheus::start_alerting(None).await?;
    prometheus
        .wait_for_rules(std::time::Duration::from_secs(30))
        .await?;
    let env = vec![("PROMETHEUS_URL".to_owned(), prometheus.url().to_owned())];
    let t = dataset::T_END;
    let functions = [
        (
            "prometheus-query",
            json!({"query": r#"sum by (code) (rate(http_requests_total[1m]))"#, "time": t}),
        ),
        (
            "prometheus-range-query",
            json!({"query": r#"sum by (code) (rate(http_requests_total[1m]))"#, "start": dataset::T0, "end": t}),
        ),
        ("prometheus-metadata", json!({"action": "list_metrics"})),
        ("prometheus-alerts", json!({"action": "rules"})),
    ];
    println!(
        "{:<24} {:>10} {:>10} {:>11} {:>11} {:>11} {:>9}",
        "function", "cold p50", "cold p90", "warm p50", "direct p50", "added p50", "peak RSS"
    );
    let client = http_client();
    for (name, event) in functions {
        let binary = dir.join(name);
        let mut cold = Vec::new();
        for _ in 0..30 {
            cold.push(cold_start(&binary, &event, &env).await?.0);
        }
        cold.sort();

        let f = LambdaFunction::start(binary.to_str().ok_or("path")?, &env).await?;
        f.invoke(&event).await?.response();
        let mut warm = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            f.invoke(&event).await?.response();
            warm.push(started.elapsed());
        }
        warm.sort();

        // The same Prometheus request, sent directly.
        let (path, form): (&str, Vec<(&str, String)>) = match name {
            "prometheus-query" => (
                "/api/v1/query",
                vec![
                    (
                        "query",
                        event["query"].as_str().unwrap_or_default().to_owned(),
                    ),
                    ("time", t.to_string()),
                ],
            ),
            "prometheus-range-query" => (
                "/api/v1/query_range",
                vec![
                    (
                        "query",
                        event["query"].as_str().unwrap_or_default().to_owned(),
                    ),
                    ("start", dataset::T0.to_string()),
                    ("end", t.to_string()),
                    ("step", "60".to_owned()),
                ],
            ),
            "prometheus-alerts" => ("/api/v1/rules", vec![]),
            _ => ("/api/v1/label/__name__/values", vec![]),
        };
        let mut direct = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let request = if form.is_empty() {
                client.get(format!("{}{path}", prometheus.url()))
            } else {
                client
                    .post(format!("{}{path}", prometheus.url()))
                    .form(&form)
            };
            request.send().await?.bytes().await?;
            direct.push(started.elapsed());
        }
        direct.sort();
        let rss = f.peak_rss_kib().unwrap_or(0) as f64 / 1024.0;
        println!(
            "{name:<24} {:>7.2} ms {:>7.2} ms {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>6.1} MB",
            ms(cold[15]),
            ms(cold[27]),
            ms(warm[runs / 2]),
            ms(direct[runs / 2]),
            ms(warm[runs / 2]) - ms(direct[runs / 2]),
            rss
        );
    }
    Ok(())
}
