//! How long shaping a large range answer takes: 50 series × 11,000 points (Prometheus'
//! per-series maximum), parsed, summarised over every point and downsampled to 120.
//! `cargo bench -p prometheus-range-query` (no external harness: a timed loop, median of 30).

use std::{fmt::Write, hint::black_box, time::Instant};

fn main() {
    let mut data = String::from(r#"{"resultType":"matrix","result":["#);
    for s in 0..50 {
        if s > 0 {
            data.push(',');
        }
        let _ = write!(
            data,
            r#"{{"metric":{{"__name__":"node_cpu_seconds_total","cpu":"{s}","mode":"user","instance":"ip-10-0-1-{s}.ec2.internal:9100"}},"values":["#
        );
        for i in 0..11_000 {
            if i > 0 {
                data.push(',');
            }
            let _ = write!(
                data,
                r#"[{},"{}"]"#,
                1_767_225_600 + i * 15,
                (i * 7919 % 1000) as f64 / 3.0
            );
        }
        data.push_str("]}");
    }
    data.push_str("]}");
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let summarized =
            prometheus_range_query::condense(black_box(&data), 50, 120).expect("condenses");
        black_box(&summarized.series);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "condense 50 series x 11000 points ({:.1} MB): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        data.len() as f64 / 1_048_576.0,
        times[15].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[29].as_secs_f64() * 1000.0
    );
}
