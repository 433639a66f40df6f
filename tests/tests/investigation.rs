//! An investigation end to end on the local stack `make dev` runs ([`LocalStack`]): the
//! agent binary under `cargo lambda watch`, streamed through its Function URL, calling the
//! real tool Lambdas through the Invoke API, which read the Kubernetes API double, moto, the
//! CloudWatch and CloudTrail doubles, Prometheus and Alertmanager, and moto's S3 for the
//! runbooks. The model is scripted (or the local investigator), so the assertions are on the
//! evidence trail an operator gets: every tool call with its input, the start of each result,
//! the failures named.

use std::time::Duration;

use integration_tests::{
    bedrock::{Step, text, tool_uses},
    investigator::LABEL,
    local_stack::{K8S_CLUSTER, LocalStack},
    watch::CargoLambdaWatch,
};
use serde_json::{Value, json};

struct Stack {
    local: LocalStack,
    watch: CargoLambdaWatch,
    http: reqwest::Client,
}

async fn stack() -> Stack {
    let local = LocalStack::start().await.unwrap();
    let watch = local
        .watch(&[
            // cargo-lambda starts a function on its first invocation, which can take seconds.
            ("AGENT_TOOL_TIMEOUT_SECONDS", "120"),
            ("AWS_LAMBDA_LOG_LEVEL", "warn"),
        ])
        .await
        .unwrap();
    Stack {
        local,
        watch,
        http: integration_tests::http_client(),
    }
}

impl Stack {
    /// Asks through the Function URL, streamed; returns the `tool` events and the `done`
    /// output.
    async fn ask(&self, prompt: &str) -> (Vec<Value>, Value) {
        let body = self
            .http
            .post(format!("{}/lambda-url/agent/", self.watch.url()))
            .header("accept", "text/event-stream")
            .json(&json!({"prompt": prompt}))
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut tools = Vec::new();
        let mut done = None;
        for frame in body.split("\n\n").filter(|f| !f.trim().is_empty()) {
            let name = frame.lines().find_map(|l| l.strip_prefix("event: "));
            let data: Value = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).unwrap())
                .unwrap_or_default();
            match name {
                Some("tool") => tools.push(data),
                Some("done") => done = Some(data),
                Some("error") => panic!("the answer failed: {data}"),
                _ => {}
            }
        }
        (
            tools,
            done.unwrap_or_else(|| panic!("no done event in {body}")),
        )
    }
}

fn call(id: &str, name: &str, input: Value) -> (String, String, Value) {
    (id.to_owned(), name.to_owned(), input)
}

fn step(uses: &[(String, String, Value)]) -> Step {
    let borrowed: Vec<(&str, &str, Value)> = uses
        .iter()
        .map(|(id, name, input)| (id.as_str(), name.as_str(), input.clone()))
        .collect();
    tool_uses(None, &borrowed)
}

/// The broken `api` workload of `prod-eu`, the way an investigation walks it: what is firing,
/// the workload's health, the crashed container's previous logs, what changed (the rollout
/// and CloudTrail, which is made to refuse), the team's runbook. Every step's evidence reaches
/// the caller, in the stream and in the output, and the refusal is named.
#[tokio::test]
async fn a_scripted_investigation_leaves_an_evidence_trail() {
    let s = stack().await;
    s.local.cloudtrail.deny(true);
    let ns = json!({"cluster_name": K8S_CLUSTER, "namespace": "prod"});
    let with = |extra: Value| {
        let mut v = ns.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let turns = [
        vec![
            call("alerts", "prometheus_alerts", json!({"action": "alerts"})),
            call(
                "alarms",
                "cloudwatch",
                json!({"action": "alarms", "state": "ALARM"}),
            ),
        ],
        vec![call(
            "health",
            "k8s_info",
            with(json!({"action": "workload_health"})),
        )],
        vec![call(
            "logs",
            "k8s_info",
            with(
                json!({"action": "pod_logs", "pod": "api-5f6a8e-x1", "container": "api", "previous": true}),
            ),
        )],
        vec![
            call(
                "rollout",
                "k8s_info",
                with(json!({"action": "rollout_history", "deployment": "api"})),
            ),
            call(
                "changes",
                "cloudtrail",
                json!({"action": "changes", "resource_name": K8S_CLUSTER}),
            ),
        ],
        vec![call(
            "runbook",
            "runbooks",
            json!({"action": "search", "query": "crash loop"}),
        )],
    ];
    let mut script: Vec<Step> = turns.iter().map(|t| step(t)).collect();
    script.push(text(
        "Finding: api crash-loops on a database password rejected since the rollout. Gap: CloudTrail was refused.",
        "end_turn",
    ));
    s.local.converse.script(script);
    let (events, output) = s.ask("What is wrong with api in prod-eu?").await;

    let sent: Vec<&(String, String, Value)> = turns.iter().flatten().collect();
    let calls = output["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), sent.len(), "{output}");
    // The stream told each call as it ended (order within a turn may differ); the output
    // keeps the order the model asked in, with the same evidence.
    assert_eq!(events.len(), calls.len());
    for event in &events {
        assert!(calls.contains(event), "{event} is not in the output");
    }
    for (call, (id, name, input)) in calls.iter().zip(&sent) {
        assert_eq!(call["name"], name.as_str(), "{id}");
        assert_eq!(
            &call["input"], input,
            "{id}: the input as the model sent it"
        );
        if id == "changes" {
            assert_eq!(call["status"], "error", "{call}");
            assert_eq!(call["error"]["code"], "ACCESS_DENIED", "{call}");
            assert!(
                call["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("cloudtrail:LookupEvents"),
                "{call}"
            );
            assert_eq!(call.get("result_preview"), None);
        } else {
            assert_eq!(call["status"], "success", "{id}: {call}");
            let preview = call["result_preview"].as_str().unwrap();
            assert!(!preview.is_empty() && preview.len() <= 1_024 + 80, "{id}");
        }
    }
    let preview = |id: &str| -> &str {
        let i = sent.iter().position(|(c, _, _)| c == id).unwrap();
        calls[i]["result_preview"].as_str().unwrap()
    };
    // What each tool found is in the part an operator sees.
    assert!(
        preview("alerts").contains("AlwaysFiring"),
        "{}",
        preview("alerts")
    );
    assert!(
        preview("health").contains("CrashLoopBackOff"),
        "{}",
        preview("health")
    );
    assert!(
        preview("logs").contains("password authentication failed"),
        "{}",
        preview("logs")
    );
    // The same secrets the tool scrubs stay scrubbed in the evidence.
    assert!(!preview("logs").contains("hunter2"), "{}", preview("logs"));
    assert!(preview("rollout").contains("api"), "{}", preview("rollout"));
    assert!(
        preview("runbook").contains("crash"),
        "{}",
        preview("runbook")
    );
    assert_eq!(output["cycles"], 6);
    assert_eq!(output["stop_reason"], "end_turn");
}

/// `make dev`'s default model, the local investigator, does the job a newcomer expects: a
/// health question runs the health tools in one turn, follows the crash loop to its previous
/// logs and a runbook, and the answer quotes them, labelled as no model.
#[tokio::test]
async fn the_local_investigator_answers_from_the_tools() {
    let s = stack().await;
    let (_, output) = s.ask("Is prod-eu healthy?").await;
    let response = output["response"].as_str().unwrap();
    assert!(response.starts_with(LABEL), "{response}");
    let calls: Vec<(String, String)> = output["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["status"], "success", "{c}");
            (
                c["name"].as_str().unwrap().to_owned(),
                c["input"]["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let names: Vec<(&str, &str)> = calls
        .iter()
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("k8s_info", "workload_health"),
            ("eks_info", "cluster_health"),
            ("k8s_info", "pod_logs"),
            ("runbooks", "search"),
        ],
        "{output}"
    );
    // Both first tools came from one model reply: three cycles for two rounds of tools.
    assert_eq!(output["cycles"], 3, "{output}");
    assert!(response.contains("CrashLoopBackOff"), "{response}");
    assert!(
        response.contains("password authentication failed"),
        "{response}"
    );
    assert!(
        response.contains("Next step: follow the team's runbook"),
        "{response}"
    );
}
