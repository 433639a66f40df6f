//! Time to first byte against time to the full answer for the agent's Function URL, with the
//! Converse double streaming at a model's pace (first token after `FIRST_MS`, then one word
//! every `WORD_MS`: 40 words/s is about 50 tokens/s, Claude Sonnet's order on Bedrock).
//! The agent runs under `cargo lambda watch` (its Function URL emulation and Runtime API),
//! so the bytes cross the same hops as in Lambda but the network. `stream_latency [runs]`,
//! run by `scripts/measure-stream.sh`. A measurement, not a test: it asserts nothing.

use std::time::{Duration, Instant};

use integration_tests::{
    bedrock::{ConverseDouble, Pace, text},
    moto::Moto,
    process::free_port,
    watch::CargoLambdaWatch,
};
use serde_json::json;

const FIRST_MS: u64 = 600;
const WORD_MS: u64 = 25;
const WORDS: usize = 150;

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> integration_tests::Result<()> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(5), |r| r.parse())?;
    let converse = ConverseDouble::start().await?;
    let answer = vec!["word"; WORDS].join(" ");
    converse.fall_back_to(text(&answer, "end_turn"));
    let moto = Moto::start().await?;
    let port = free_port()?;
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push((
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".to_owned(),
        converse.url(),
    ));
    env.push(("MODEL_ID".to_owned(), "stream-latency".to_owned()));
    env.push(("AWS_LAMBDA_LOG_LEVEL".to_owned(), "warn".to_owned()));
    let watch = CargoLambdaWatch::start_on(port, &env).await?;
    let url = format!("{}/lambda-url/agent/", watch.url());
    let http = integration_tests::http_client();
    // The first request builds and starts the function; not measured.
    http.post(&url)
        .json(&json!({"prompt": "warm up"}))
        .timeout(Duration::from_secs(600))
        .send()
        .await?
        .bytes()
        .await?;
    converse.pace(Pace {
        first: Duration::from_millis(FIRST_MS),
        per_delta: Duration::from_millis(WORD_MS),
    });
    let (mut first_byte, mut streamed_total, mut buffered_total) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let started = Instant::now();
        let mut response = http
            .post(&url)
            .header("accept", "text/event-stream")
            .json(&json!({"prompt": "Summarise the cluster's health."}))
            .send()
            .await?;
        let mut first = None;
        let mut all = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if first.is_none() && chunk.windows(11).any(|w| w == b"event: text") {
                first = Some(started.elapsed());
            }
            all.extend_from_slice(&chunk);
        }
        streamed_total.push(started.elapsed());
        first_byte.push(first.ok_or("no text event")?);
        if !all.windows(11).any(|w| w == b"event: done") {
            return Err(format!("no done event: {}", String::from_utf8_lossy(&all)).into());
        }

        let started = Instant::now();
        http.post(&url)
            .json(&json!({"prompt": "Summarise the cluster's health."}))
            .send()
            .await?
            .bytes()
            .await?;
        buffered_total.push(started.elapsed());
    }
    println!(
        "model pace: first token {FIRST_MS} ms, then {WORD_MS} ms per word, {WORDS} words; {runs} runs, medians"
    );
    println!(
        "streamed (Accept: text/event-stream): first text after {:.0} ms, full answer after {:.0} ms",
        median(first_byte),
        median(streamed_total)
    );
    println!(
        "buffered (JSON):                      first byte = full answer after {:.0} ms",
        median(buffered_total)
    );
    Ok(())
}
