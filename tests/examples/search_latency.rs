//! Cold start, warm latency and memory of `web-search` against the loopback search engines
//! (`integration_tests::search`). `search_latency <bin-dir> [runs]`, run by
//! `scripts/measure-web-search.sh` on release builds. A measurement, not a test: it prints
//! numbers and asserts nothing.
//!
//! Each row also shows the same request sent directly with reqwest from this process, so the
//! difference is what the function adds (parsing and cleaning included).

use std::{path::PathBuf, time::Instant};

use integration_tests::{
    http_client,
    lambda::Timings,
    search::{API_KEY, SearchEngines},
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: search_latency <bin-dir> [runs]")?,
    )
    .canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let engines = SearchEngines::start().await?;
    let binary = dir.join("web-search");
    let client = http_client();
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>11} {:>9}",
        "provider", "cold p50", "cold p90", "warm p50", "warm p90", "direct p50", "peak RSS"
    );
    for provider in ["duckduckgo", "brave"] {
        let env = vec![
            ("WEBSEARCH_PROVIDER".to_owned(), provider.to_owned()),
            ("WEBSEARCH_URL".to_owned(), engines.url()),
            ("WEBSEARCH_API_KEY".to_owned(), API_KEY.to_owned()),
        ];
        let event = json!({"query": "kubernetes pod crashloopbackoff", "max_results": 10});
        let t = Timings::measure(&binary, &event, &env, 30, runs).await?;
        let mut direct = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let request = if provider == "duckduckgo" {
                client
                    .post(format!("{}/html/", engines.url()))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("q=kubernetes%20pod%20crashloopbackoff&b=&kl=wt-wt&kp=-1")
            } else {
                client
                    .get(format!(
                        "{}/res/v1/web/search?q=kubernetes&count=10",
                        engines.url()
                    ))
                    .header("x-subscription-token", API_KEY)
            };
            request.send().await?.bytes().await?;
            direct.push(started.elapsed());
        }
        direct.sort();
        println!(
            "{provider:<12} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>8.2} ms {:>6.1} MB",
            Timings::ms(&t.cold, 50),
            Timings::ms(&t.cold, 90),
            Timings::ms(&t.warm, 50),
            Timings::ms(&t.warm, 90),
            Timings::ms(&direct, 50),
            t.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
