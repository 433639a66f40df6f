//! One table of loop scenarios, run against both model providers: Bedrock's Converse (and
//! ConverseStream) and an OpenAI-compatible chat-completions server (JSON and `stream: true`
//! chunks). The double serves both wire formats from the same scripted steps, so the same
//! assertions hold for both: the loop is written once against the provider seam.
//!
//! Tools answer from an in-process invoker that records each call: the tool Lambdas and the
//! Invoke API are tested with the real functions in `agent.rs`; here the provider is what
//! varies.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use agent::{
    Agent, AgentInput, AgentOutput, bedrock::Bedrock, events::Buffered, invoker::Invoker,
    openai::OpenAiCompatible, providers::Providers, web::Emitter,
};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use common::{AppConfig, Deadline, Invocation, ToolError};
use integration_tests::{
    bedrock::{CACHE, ConverseDouble, Step, USAGE, error, text, tool_uses},
    moto::Moto,
};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Provider {
    Bedrock,
    OpenAi,
}

const PROVIDERS: [Provider; 2] = [Provider::Bedrock, Provider::OpenAi];

/// Answers every tool call with a result of more than 1,000 bytes (so that a context
/// overflow can trim it) and records `(function, input)`.
#[derive(Default)]
struct RecordingTools {
    calls: Mutex<Vec<(String, Value)>>,
}

impl Invoker for RecordingTools {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, ToolError> {
        let input: Value = serde_json::from_slice(&payload).unwrap();
        self.calls
            .lock()
            .unwrap()
            .push((function.to_owned(), input.clone()));
        Ok(serde_json::to_vec(
            &json!({"function": function, "input": input, "notes": "n".repeat(1_100)}),
        )
        .unwrap())
    }
}

struct Case {
    agent: Agent<Providers, RecordingTools>,
    converse: ConverseDouble,
}

async fn case(provider: Provider, settings: &[(&str, &str)]) -> Case {
    let converse = ConverseDouble::start().await.unwrap();
    let mut values: HashMap<String, String> =
        HashMap::from([("model/id".to_owned(), "scenario-model".to_owned())]);
    if provider == Provider::OpenAi {
        values.insert("model/provider".to_owned(), "openai".to_owned());
        values.insert("model/base_url".to_owned(), converse.url());
    }
    values.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let bedrock = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::config::Builder::from(&Moto::sdk_config_for(&converse.url()).await)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let agent = Agent::new(
        Providers::with(Bedrock::with_client(bedrock), OpenAiCompatible::new()),
        RecordingTools::default(),
        AppConfig::fixed(values),
    );
    Case { agent, converse }
}

impl Case {
    fn invocation() -> Invocation {
        Invocation::local(Deadline::after(Duration::from_secs(60)))
    }

    async fn ask(
        &self,
        steps: impl IntoIterator<Item = Step>,
        prompt: &str,
    ) -> Result<AgentOutput, ToolError> {
        self.converse.script(steps);
        let input = AgentInput {
            prompt: prompt.to_owned(),
            session_id: None,
        };
        self.agent
            .answer(input, &Self::invocation(), &Buffered)
            .await
    }

    /// The same, streamed: the output and the SSE events (name, data) in order.
    async fn ask_streamed(
        &self,
        steps: impl IntoIterator<Item = Step>,
        prompt: &str,
    ) -> (Result<AgentOutput, ToolError>, Vec<(String, Value)>) {
        self.converse.script(steps);
        let input = AgentInput {
            prompt: prompt.to_owned(),
            session_id: None,
        };
        let (emitter, mut events) = Emitter::channel();
        let out = self
            .agent
            .answer(input, &Self::invocation(), &emitter)
            .await;
        drop(emitter);
        let mut got = Vec::new();
        while let Some(event) = events.recv().await {
            let mut lines = event.lines();
            let name = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_owned();
            let data = serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                .unwrap();
            got.push((name, data));
        }
        (out, got)
    }

    fn tool_calls(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.agent.invoker.calls.lock().unwrap())
    }
}

/// Checks that `request` is in `provider`'s wire format (Converse carries `system` beside
/// `messages`; chat completions put it first among `messages`, with `model` and `stream`).
fn assert_wire(provider: Provider, request: &Value, streamed: bool) {
    match provider {
        Provider::Bedrock => {
            assert!(
                request["system"].is_array() && request.get("model").is_none(),
                "{request}"
            );
        }
        Provider::OpenAi => {
            assert_eq!(request["model"], "scenario-model", "{request}");
            assert_eq!(request["messages"][0]["role"], "system", "{request}");
            assert_eq!(request["stream"], streamed, "{request}");
            assert_eq!(request["tools"][0]["type"], "function", "{request}");
        }
    }
}

fn calls(out: &AgentOutput) -> Vec<(&str, &str)> {
    out.tool_calls
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect()
}

#[tokio::test]
async fn one_tool_then_an_answer() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let out = c
            .ask(
                [
                    tool_uses(
                        Some("Checking."),
                        &[("t1", "prometheus_query", json!({"query": "sum(up)"}))],
                    ),
                    text("2 of 3 targets are up.", "end_turn"),
                ],
                "How many targets are up?",
            )
            .await
            .unwrap();
        assert_eq!(
            (out.response.as_str(), out.stop_reason.as_str(), out.cycles),
            ("2 of 3 targets are up.", "end_turn", 2),
            "{provider:?}"
        );
        assert_eq!(
            calls(&out),
            [("prometheus_query", "success")],
            "{provider:?}"
        );
        assert_eq!(
            c.tool_calls(),
            [("prometheus-query".to_owned(), json!({"query": "sum(up)"}))],
            "{provider:?}"
        );
        assert_eq!(
            (
                out.usage.tokens.input_tokens,
                out.usage.tokens.output_tokens,
                out.usage.tokens.total_tokens,
                out.usage.tokens.cache_read_input_tokens
            ),
            (
                2 * USAGE.0,
                2 * USAGE.1,
                2 * (USAGE.0 + USAGE.1),
                2 * CACHE.0
            ),
            "{provider:?}"
        );
        // Each provider spoke its own API, and the tool's result went back in its form.
        let requests = c.converse.take_requests();
        assert_wire(provider, &requests[0].1, false);
        let second = requests[1].1.to_string();
        assert!(
            second.contains("prometheus-query") && second.contains("t1"),
            "{provider:?}: {second}"
        );
    }
}

#[tokio::test]
async fn parallel_tool_calls_all_run_and_answer_in_order() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let out = c
            .ask(
                [
                    tool_uses(
                        None,
                        &[
                            ("a", "eks_info", json!({"action": "list_clusters"})),
                            ("b", "web_search", json!({"query": "karpenter drift"})),
                            (
                                "c",
                                "prometheus_metadata",
                                json!({"action": "list_metrics"}),
                            ),
                        ],
                    ),
                    text("Done.", "end_turn"),
                ],
                "Overview please",
            )
            .await
            .unwrap();
        assert_eq!(
            calls(&out),
            [
                ("eks_info", "success"),
                ("web_search", "success"),
                ("prometheus_metadata", "success")
            ],
            "{provider:?}"
        );
        let mut functions: Vec<String> = c.tool_calls().into_iter().map(|(f, _)| f).collect();
        functions.sort();
        assert_eq!(
            functions,
            ["eks-info", "prometheus-metadata", "web-search"],
            "{provider:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_tool_is_an_error_result_not_a_failure() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let out = c
            .ask(
                [
                    tool_uses(None, &[("x", "delete_cluster", json!({"name": "prod"}))]),
                    text("I cannot do that.", "end_turn"),
                ],
                "Delete prod",
            )
            .await
            .unwrap();
        assert_eq!(calls(&out), [("delete_cluster", "error")], "{provider:?}");
        assert!(
            c.tool_calls().is_empty(),
            "{provider:?}: an unknown tool was invoked"
        );
        let requests = c.converse.take_requests();
        let second = requests[1].1.to_string();
        assert!(
            second.contains("there is no tool named delete_cluster"),
            "{provider:?}: {second}"
        );
    }
}

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let out = c
            .ask(
                [
                    error(429, "ThrottlingException", "Too many requests"),
                    error(503, "ServiceUnavailableException", "busy"),
                    text("Fine now.", "end_turn"),
                ],
                "Status?",
            )
            .await
            .unwrap();
        assert_eq!(
            (out.response.as_str(), out.cycles),
            ("Fine now.", 1),
            "{provider:?}"
        );
        assert_eq!(c.converse.take_requests().len(), 3, "{provider:?}");
        // A final error is not retried.
        let e = c
            .ask(
                [error(
                    403,
                    "AccessDeniedException",
                    "no access to this model",
                )],
                "Again",
            )
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "ACCESS_DENIED", "{provider:?}");
        assert_eq!(c.converse.take_requests().len(), 1, "{provider:?}");
    }
}

#[tokio::test]
async fn a_context_length_error_trims_and_succeeds() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let out = c
            .ask(
                [
                    tool_uses(
                        None,
                        &[("big", "web_search", json!({"query": "crashloop"}))],
                    ),
                    error(
                        400,
                        "ValidationException",
                        "Input is too long for requested model.",
                    ),
                    text("Summarised.", "end_turn"),
                ],
                "crashloop?",
            )
            .await
            .unwrap();
        assert_eq!(out.response, "Summarised.", "{provider:?}");
        let requests = c.converse.take_requests();
        assert_eq!(requests.len(), 3, "{provider:?}");
        let (before, after) = (requests[1].1.to_string(), requests[2].1.to_string());
        assert!(before.contains("nnnnnnnnnn"), "{provider:?}");
        assert!(
            !after.contains("nnnnnnnnnn")
                && after.contains("removed to fit the model's context window"),
            "{provider:?}: {after}"
        );
    }
}

#[tokio::test]
async fn max_cycles_stops_the_loop() {
    for provider in PROVIDERS {
        let c = case(provider, &[("agent/max_cycles", "2")]).await;
        let again = || {
            tool_uses(
                Some("Still looking."),
                &[("t", "eks_info", json!({"action": "list_clusters"}))],
            )
        };
        let out = c.ask([again(), again(), again()], "Loop").await.unwrap();
        assert_eq!(
            (out.stop_reason.as_str(), out.cycles, out.response.as_str()),
            ("max_cycles", 2, "Still looking."),
            "{provider:?}"
        );
        assert_eq!(c.converse.left(), 1, "{provider:?}");
    }
}

#[tokio::test]
async fn a_streamed_answer_with_a_tool_call_in_the_middle() {
    for provider in PROVIDERS {
        let c = case(provider, &[]).await;
        let (out, events) = c
            .ask_streamed(
                [
                    tool_uses(
                        Some("Let me look."),
                        &[(
                            "t1",
                            "eks_info",
                            json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
                        )],
                    ),
                    text("prod-eu is ACTIVE.", "end_turn"),
                ],
                "Is prod-eu up?",
            )
            .await;
        let out = out.unwrap();
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["text", "text", "text", "tool", "text", "text", "text"],
            "{provider:?}: {events:?}"
        );
        let text: String = events
            .iter()
            .filter(|(n, _)| n == "text")
            .map(|(_, d)| d["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, "Let me look.prod-eu is ACTIVE.", "{provider:?}");
        assert_eq!(events[3].1["name"], "eks_info", "{provider:?}");
        assert_eq!(events[3].1["status"], "success", "{provider:?}");
        // The tool input, assembled from streamed pieces, reached the tool whole.
        assert_eq!(
            c.tool_calls(),
            [(
                "eks-info".to_owned(),
                json!({"action": "describe_cluster", "cluster_name": "prod-eu"})
            )],
            "{provider:?}"
        );
        assert_eq!(
            (out.cycles, out.response.as_str()),
            (2, "prod-eu is ACTIVE."),
            "{provider:?}"
        );
        for (_, request) in c.converse.take_requests() {
            assert_wire(provider, &request, true);
        }
    }
}

#[tokio::test]
async fn a_guardrail_cannot_be_configured_with_the_openai_provider() {
    let c = case(Provider::OpenAi, &[("guardrail/id", "gr-123")]).await;
    let e = c.ask([text("unused", "end_turn")], "Hi").await.unwrap_err();
    assert_eq!(e.code.as_str(), "CONFIG_ERROR");
    assert!(e.message.contains("guardrail/id"), "{}", e.message);
    assert_eq!(c.converse.take_requests().len(), 0);
}

#[tokio::test]
async fn no_openai_server_is_a_clear_retryable_error() {
    let port = integration_tests::process::free_port().unwrap();
    let c = case(
        Provider::OpenAi,
        &[("model/base_url", &format!("http://127.0.0.1:{port}"))],
    )
    .await;
    let e = c.ask([], "Hi").await.unwrap_err();
    assert_eq!(e.code.as_str(), "UNAVAILABLE", "{e:?}");
    assert!(e.retryable);
    assert_eq!(
        e.message,
        "could not connect to the OpenAI-compatible model server"
    );
    assert!(
        !e.message.contains(&port.to_string()),
        "the URL leaked: {}",
        e.message
    );
}

#[tokio::test]
async fn provider_settings_are_checked_and_named() {
    for (settings, key) in [
        (vec![("model/provider", "gpt")], "model/provider"),
        (
            vec![("model/provider", "openai"), ("model/base_url", "")],
            "model/base_url",
        ),
        (
            vec![
                ("model/provider", "openai"),
                ("model/base_url", "ftp://10.0.0.1"),
            ],
            "model/base_url",
        ),
    ] {
        let c = case(Provider::Bedrock, &settings).await;
        let e = c.ask([], "Hi").await.unwrap_err();
        assert_eq!(e.code.as_str(), "CONFIG_ERROR", "{settings:?}");
        assert!(e.message.contains(key), "{settings:?}: {}", e.message);
        assert!(
            !e.message.contains("10.0.0.1"),
            "a value leaked: {}",
            e.message
        );
    }
}

#[tokio::test]
async fn an_api_key_that_cannot_be_a_header_is_a_config_error_that_hides_it() {
    let c = case(
        Provider::OpenAi,
        &[("model/api_key", "sk-secret\nInjected: yes")],
    )
    .await;
    let e = c.ask([text("unused", "end_turn")], "Hi").await.unwrap_err();
    assert_eq!(e.code.as_str(), "CONFIG_ERROR");
    assert!(e.message.contains("model/api_key"), "{}", e.message);
    assert!(
        !e.message.contains("sk-secret"),
        "the key leaked: {}",
        e.message
    );
    assert_eq!(c.converse.take_requests().len(), 0, "a request went out");
}
