//! The agent's own cost per cycle: the real loop (`Agent::handle`: settings, registry, window,
//! concurrent tool calls, result truncation, metrics) with a model and tools that answer
//! instantly from memory, so what is measured is the agent alone. `cargo bench -p agent`
//! (harness-less); results go to stderr because the loop writes its EMF records to stdout.

use std::{collections::HashMap, hint::black_box, time::Instant};

use agent::{
    Agent,
    conversation::{Block, Message, Role},
    invoker::Invoker,
    model::{Model, ModelError, ModelReply, ModelRequest, StopReason, Usage},
};
use common::{AppConfig, Deadline, Handler, Invocation, ToolError};
use serde_json::json;

const CYCLES: u32 = 8;

/// Asks for two tools until the last cycle, then answers.
struct InstantModel;

impl Model for InstantModel {
    async fn converse(&self, request: &ModelRequest<'_>) -> Result<ModelReply, ModelError> {
        let cycle = request
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count() as u32
            + 1;
        let usage = Usage {
            input_tokens: 1_000,
            output_tokens: 50,
            total_tokens: 1_050,
            ..Usage::default()
        };
        if cycle == CYCLES {
            return Ok(ModelReply {
                message: Message {
                    role: Role::Assistant,
                    content: vec![Block::Text {
                        text: "done".into(),
                    }],
                },
                stop_reason: StopReason::EndTurn,
                usage,
            });
        }
        Ok(ModelReply {
            message: Message {
                role: Role::Assistant,
                content: vec![
                    Block::ToolUse {
                        id: format!("q{cycle}"),
                        name: "prometheus_query".into(),
                        input: json!({"query": "sum by (code) (rate(http_requests_total[5m]))"}),
                    },
                    Block::ToolUse {
                        id: format!("s{cycle}"),
                        name: "web_search".into(),
                        input: json!({"query": "karpenter consolidation"}),
                    },
                ],
            },
            stop_reason: StopReason::ToolUse,
            usage,
        })
    }
}

/// Answers every tool call with a 4 KB result.
struct InstantTools(Vec<u8>);

impl Invoker for InstantTools {
    async fn invoke(&self, _function: &str, _payload: Vec<u8>) -> Result<Vec<u8>, ToolError> {
        Ok(self.0.clone())
    }
}

fn main() {
    let result = serde_json::to_vec(&json!({
        "results": (0..20).map(|i| json!({"rank": i, "title": "t".repeat(40), "url": format!("https://example.com/{i}"), "snippet": "s".repeat(120)})).collect::<Vec<_>>()
    }))
    .unwrap();
    let agent = Agent::new(
        InstantModel,
        InstantTools(result),
        AppConfig::fixed(HashMap::from([
            ("model/id".to_owned(), "bench".to_owned()),
            ("agent/max_cycles".to_owned(), CYCLES.to_string()),
        ])),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let invocation = Invocation::local(Deadline::after(std::time::Duration::from_secs(60)));
    let mut times = Vec::new();
    for run in 0..1_100 {
        let input = serde_json::from_value(json!({"prompt": "Why is checkout slow?"})).unwrap();
        let started = Instant::now();
        let out = runtime.block_on(agent.handle(input, &invocation)).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(out.cycles, CYCLES);
        black_box(out);
        if run >= 100 {
            times.push(elapsed);
        }
    }
    times.sort();
    let per_cycle = |i: usize| times[i].as_secs_f64() * 1e6 / f64::from(CYCLES);
    eprintln!(
        "agent loop, {CYCLES} cycles, 2 tool calls per cycle, 4 KB results: per cycle median {:.1} µs, p90 {:.1} µs (whole request median {:.2} ms)",
        per_cycle(times.len() / 2),
        per_cycle(times.len() * 9 / 10),
        times[times.len() / 2].as_secs_f64() * 1e3
    );
}
