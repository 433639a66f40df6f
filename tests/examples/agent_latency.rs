//! Cold start, warm latency and memory of the `agent` binary answering through the Runtime
//! API with the Converse double as its model (instant answers), so the numbers are the
//! agent's own. `agent_latency <bin-dir> [runs]`, run by `scripts/measure-agent.sh` on a
//! release build, with `cargo bench -p agent` for the cost per loop cycle. A measurement,
//! not a test: it prints numbers and asserts nothing.
//!
//! Then what team use adds per question (DynamoDB calls against moto, warm): sessions alone,
//! with a daily token budget, and with the in-flight limit too, one after the other against
//! the same moto.

use std::path::PathBuf;

use integration_tests::{
    bedrock::{ConverseDouble, text},
    lambda::Timings,
    moto::Moto,
};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> integration_tests::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: agent_latency <bin-dir> [runs]")?)
        .canonicalize()?;
    let runs: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let converse = ConverseDouble::start().await?;
    converse.fall_back_to(text("All targets are up.", "end_turn"));
    let moto = Moto::start().await?;
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push((
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".to_owned(),
        converse.url(),
    ));
    env.push((
        "MODEL_ID".to_owned(),
        "anthropic.claude-3-5-sonnet-20241022-v2:0".to_owned(),
    ));
    let event = json!({"prompt": "Are all scrape targets up?"});
    let t = Timings::measure(&dir.join("agent"), &event, &env, 30, runs).await?;
    println!(
        "agent (one model call, instant model): cold p50 {:.2} ms, p90 {:.2} ms; warm p50 {:.2} ms, p90 {:.2} ms; peak RSS {:.1} MB",
        Timings::ms(&t.cold, 50),
        Timings::ms(&t.cold, 90),
        Timings::ms(&t.warm, 50),
        Timings::ms(&t.warm, 90),
        t.peak_rss_kib as f64 / 1024.0
    );

    let table = "agent-sessions";
    moto.create_sessions_table(table).await?;
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push((
        "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
        moto.endpoint().to_owned(),
    ));
    env.push(("AGENT_SESSIONS_TABLE".to_owned(), table.to_owned()));
    // One conversation, as an operator's follow-ups are: the stored history stops growing at
    // twice the window.
    let event = json!({"prompt": "Are all scrape targets up?", "session_id": "measure"});
    let mut baseline = None;
    for (label, extra) in [
        ("sessions only (GetItem, PutItem)", None),
        (
            "+ daily token budget (+ GetItem, + UpdateItem per model call)",
            Some(("AGENT_DAILY_TOKEN_BUDGET", "1000000000000")),
        ),
        (
            "+ in-flight limit (+ GetItem, PutItem, UpdateItem)",
            Some(("AGENT_MAX_CONCURRENT_PER_CALLER", "10")),
        ),
    ] {
        if let Some((k, v)) = extra {
            env.push((k.to_owned(), v.to_owned()));
        }
        let t = Timings::measure(&dir.join("agent"), &event, &env, 0, runs).await?;
        let p50 = Timings::ms(&t.warm, 50);
        let added = baseline.map_or(String::new(), |b: f64| {
            format!(", {:+.2} ms over sessions only", p50 - b)
        });
        baseline.get_or_insert(p50);
        println!(
            "agent, one model call, {label}: warm p50 {p50:.2} ms, p90 {:.2} ms{added}",
            Timings::ms(&t.warm, 90)
        );
    }
    Ok(())
}
