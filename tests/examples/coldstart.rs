//! Cold start of a function binary: time from spawning the process to its first answer
//! through the Lambda Runtime API, and its peak RSS at that moment.
//!
//! `coldstart [--runs N] [--event JSON] <binary>…` starts each binary N times (default 30)
//! with the event already queued, as Lambda does, and prints min / median / p90 / max.
//! A measurement, not a test: `scripts/coldstart.sh` builds the release binaries and runs it.

use std::{path::PathBuf, time::Duration};

use integration_tests::lambda::cold_start;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut runs = 30usize;
    let mut event: Value = serde_json::json!({"message": "hello"});
    let mut binaries = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--event" => event = serde_json::from_str(&args.next().ok_or("--event JSON")?)?,
            _ => binaries.push(PathBuf::from(arg)),
        }
    }
    if binaries.is_empty() {
        return Err("usage: coldstart [--runs N] [--event JSON] <binary>...".into());
    }
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "binary", "min ms", "p50 ms", "p90 ms", "max ms", "RSS p50", "size"
    );
    for binary in &binaries {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut rss: Vec<u64> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let (elapsed, peak) = cold_start(binary, &event, &[]).await?;
            times.push(elapsed);
            rss.push(peak);
        }
        times.sort();
        rss.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let size = std::fs::metadata(binary)?.len();
        println!(
            "{:<28} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.1} MB {:>7.2} MB",
            binary.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            ms(times[0]),
            ms(times[runs / 2]),
            ms(times[runs * 9 / 10]),
            ms(times[runs - 1]),
            rss[runs / 2] as f64 / 1024.0,
            size as f64 / 1_048_576.0,
        );
    }
    Ok(())
}
