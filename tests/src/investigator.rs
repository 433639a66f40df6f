//! The local investigator: a deterministic stand-in for the model in `make dev`, so that a
//! newcomer asking "Is prod-eu healthy?" sees the agent do its job (tools chosen, called
//! together, followed, quoted) with no model running. It answers Bedrock's Converse requests
//! through the [`crate::bedrock::ConverseDouble`]: the agent's loop, its tools and their
//! upstreams are all real; only the choice of tools and the wording of the answer are rules
//! here instead of a model's judgement. Every answer says so in its first line.
//!
//! It works from what the agent sends, as a model would:
//!
//! 1. The question picks the first tools by its words: health → `k8s_info workload_health`
//!    and `eks_info cluster_health`; "firing", "alert", "alarm" → `prometheus_alerts` and
//!    `cloudwatch alarms`; logs, errors, crashes → `workload_health` and the cluster's
//!    Container Insights logs; "what changed" → `cloudtrail changes` and `workload_health`;
//!    a runbook → `runbooks search`. No word it knows: health and alerts. All of them go in
//!    one turn, as the system prompt asks.
//! 2. The results are followed one step: a crash-looping pod → its previous logs; a change
//!    asked about → the deployment's `rollout_history`; a problem found → `runbooks search`
//!    for it.
//! 3. Then it answers: the finding, the evidence quoted from each tool result (naming the
//!    tool), the gaps (tools that failed, with their code and message), the next step.
//!
//! Only tools present in the request's `toolConfig` are called, so a deployment without one
//! of them still gets an answer.

use std::{collections::BTreeSet, sync::Arc};

use serde_json::{Value, json};

use crate::bedrock::{Responder, Step, text, tool_uses};

/// The first line of every answer: what wrote it.
pub const LABEL: &str = "[Local investigator for make dev, not a language model: it picks tools by the question's words, follows what they return one step, and quotes them.]";

/// The cluster asked about when the question names none of `clusters`.
#[derive(Debug, Clone)]
pub struct Investigator {
    clusters: Vec<String>,
    default_cluster: String,
}

impl Investigator {
    /// Knows `clusters` by name; a question naming none is about `default_cluster`.
    pub fn new(clusters: &[String], default_cluster: &str) -> Self {
        Self {
            clusters: clusters.to_vec(),
            default_cluster: default_cluster.to_owned(),
        }
    }

    /// The investigator as the Converse double's responder.
    pub fn responder(self) -> Responder {
        Arc::new(move |request: &Value| self.step(request))
    }

    /// The next step for one Converse request.
    pub fn step(&self, request: &Value) -> Step {
        let turn = Turn::of(request);
        let tools: BTreeSet<&str> = request["toolConfig"]["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["toolSpec"]["name"].as_str())
            .collect();
        let cluster = self.cluster(&turn.question);
        let calls = match turn.rounds {
            0 => first_calls(&turn.question, &cluster),
            1 => follow_ups(&turn, &cluster),
            _ => Vec::new(),
        };
        let calls: Vec<(String, Value)> = calls
            .into_iter()
            .filter(|(name, _)| tools.contains(name.as_str()))
            .collect();
        if calls.is_empty() {
            return text(&answer(&turn), "end_turn");
        }
        let uses: Vec<(String, String, Value)> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, input))| (format!("local-{}-{i}", turn.rounds), name, input))
            .collect();
        let borrowed: Vec<(&str, &str, Value)> = uses
            .iter()
            .map(|(id, name, input)| (id.as_str(), name.as_str(), input.clone()))
            .collect();
        let checking = format!(
            "Checking {}.",
            uses.iter()
                .map(|(_, name, input)| describe(name, input))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // The label leads the first words of a turn and the answer, not every step between.
        let lead = match turn.rounds {
            0 => format!("{LABEL}\n{checking}"),
            _ => checking,
        };
        tool_uses(Some(&lead), &borrowed)
    }

    fn cluster(&self, question: &str) -> String {
        let lower = question.to_lowercase();
        self.clusters
            .iter()
            .filter(|c| lower.contains(&c.to_lowercase()))
            // The longest name wins: "prod-eu" over "prod".
            .max_by_key(|c| c.len())
            .cloned()
            .unwrap_or_else(|| self.default_cluster.clone())
    }
}

/// One tool call of this turn and how it ended.
#[derive(Debug)]
struct Call {
    name: String,
    input: Value,
    /// The tool result's text (the tool's JSON answer, or the agent's error envelope).
    result: String,
    failed: bool,
}

/// The question being answered and what happened since it was asked.
#[derive(Debug)]
struct Turn {
    question: String,
    /// Model replies since the question.
    rounds: usize,
    calls: Vec<Call>,
}

impl Turn {
    fn of(request: &Value) -> Self {
        let messages = request["messages"].as_array().cloned().unwrap_or_default();
        let asked = messages
            .iter()
            .rposition(|m| {
                m["role"] == "user"
                    && m["content"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|b| b.get("text").is_some()))
            })
            .unwrap_or(0);
        let question = messages
            .get(asked)
            .and_then(|m| m["content"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let since = messages.get(asked + 1..).unwrap_or_default();
        let mut calls = Vec::new();
        for block in since
            .iter()
            .filter(|m| m["role"] == "assistant")
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        {
            if let Some(tool) = block.get("toolUse") {
                let id = tool["toolUseId"].as_str().unwrap_or_default();
                let result = since
                    .iter()
                    .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                    .filter_map(|b| b.get("toolResult").cloned())
                    .find(|r| r["toolUseId"] == id);
                if let Some(result) = result {
                    calls.push(Call {
                        name: tool["name"].as_str().unwrap_or_default().to_owned(),
                        input: tool["input"].clone(),
                        result: result["content"][0]["text"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| result["content"][0]["json"].to_string()),
                        failed: result["status"] == "error",
                    });
                }
            }
        }
        Self {
            question,
            rounds: since.iter().filter(|m| m["role"] == "assistant").count(),
            calls,
        }
    }
}

fn has_any(question: &str, words: &[&str]) -> bool {
    let lower = question.to_lowercase();
    words.iter().any(|w| lower.contains(w))
}

fn workload_health(cluster: &str) -> (String, Value) {
    (
        "k8s_info".into(),
        json!({"action": "workload_health", "cluster_name": cluster}),
    )
}

/// The first tools, from the question's words.
fn first_calls(question: &str, cluster: &str) -> Vec<(String, Value)> {
    let health = has_any(
        question,
        &[
            "health", "wrong", "broken", "failing", "down", "problem", "status",
        ],
    );
    let alerts = has_any(question, &["firing", "alert", "alarm", "incident", "paged"]);
    let logs = has_any(question, &["log", "error", "crash", "exception", "panic"]);
    let changes = has_any(
        question,
        &["changed", "change", "deploy", "rollout", "release"],
    );
    let runbook = has_any(question, &["runbook", "procedure", "playbook"]);
    let (health, alerts) = if health || alerts || logs || changes || runbook {
        (health, alerts)
    } else {
        (true, true)
    };
    let mut calls = Vec::new();
    if health || logs || changes {
        calls.push(workload_health(cluster));
    }
    if health {
        calls.push((
            "eks_info".into(),
            json!({"action": "cluster_health", "cluster_name": cluster}),
        ));
    }
    if alerts {
        calls.push(("prometheus_alerts".into(), json!({"action": "alerts"})));
        calls.push((
            "cloudwatch".into(),
            json!({"action": "alarms", "state": "ALARM"}),
        ));
    }
    if logs {
        calls.push((
            "cloudwatch".into(),
            json!({
                "action": "logs_query",
                "log_groups": [format!("/aws/containerinsights/{cluster}/application")],
                "query": "fields @timestamp, @message | filter @message like /(?i)error|exception|panic/ | sort @timestamp desc | limit 20",
            }),
        ));
    }
    if changes {
        calls.push((
            "cloudtrail".into(),
            json!({"action": "changes", "resource_name": cluster, "start": "now-48h"}),
        ));
    }
    if runbook {
        calls.push((
            "runbooks".into(),
            json!({"action": "search", "query": keywords(question)}),
        ));
    }
    calls
}

/// A question's longer words, for a runbook search.
fn keywords(question: &str) -> String {
    let words: Vec<&str> = question
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| w.len() > 3)
        .take(6)
        .collect();
    if words.is_empty() {
        question.chars().take(100).collect()
    } else {
        words.join(" ")
    }
}

/// A crash-looping pod that workload_health named: (namespace, pod, container).
fn crash_looping(calls: &[Call]) -> Option<(String, String, String)> {
    calls
        .iter()
        .filter(|c| c.name == "k8s_info" && !c.failed)
        .flat_map(|c| objects(&c.result))
        .find_map(|object| {
            let (who, why) = object.split_once(": ")?;
            let container = why
                .strip_prefix("container ")?
                .split_once(" in CrashLoopBackOff")?
                .0;
            let (namespace, pod) = who.split_once('/')?;
            Some((namespace.into(), pod.into(), container.into()))
        })
}

/// The `objects` of every check that is not ok in a workload_health answer, the critical
/// checks' first (a crash loop before a pending volume claim).
fn objects(result: &str) -> Vec<String> {
    let parsed: Value = serde_json::from_str(result).unwrap_or_default();
    let checks: Vec<&Value> = parsed["checks"].as_array().into_iter().flatten().collect();
    ["critical", "warning", "unknown"]
        .iter()
        .flat_map(|status| checks.iter().filter(move |c| c["status"] == *status))
        .flat_map(|c| c["objects"].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o.as_str().map(str::to_owned))
        .collect()
}

/// The problem words worth a runbook search, from what the tools found.
fn problem(calls: &[Call]) -> Option<&'static str> {
    let all: String = calls
        .iter()
        .filter(|c| !c.failed)
        .map(|c| c.result.as_str())
        .collect();
    [
        ("CrashLoopBackOff", "crash loop"),
        ("OOMKilled", "OOMKilled"),
        ("NotReady", "node NotReady"),
        ("5xx", "5xx"),
        ("Throttl", "throttling"),
    ]
    .into_iter()
    .find(|(seen, _)| all.contains(seen))
    .map(|(_, query)| query)
}

/// The second round: one step further along what the first found.
fn follow_ups(turn: &Turn, cluster: &str) -> Vec<(String, Value)> {
    let mut calls = Vec::new();
    let crashed = crash_looping(&turn.calls);
    if let Some((namespace, pod, container)) = &crashed {
        calls.push((
            "k8s_info".into(),
            json!({"action": "pod_logs", "cluster_name": cluster, "namespace": namespace,
                   "pod": pod, "container": container, "previous": true, "tail_lines": 50}),
        ));
        if has_any(
            &turn.question,
            &["changed", "change", "deploy", "rollout", "release"],
        ) {
            // A Deployment's pods are named <deployment>-<replica set hash>-<suffix>.
            let parts: Vec<&str> = pod.rsplitn(3, '-').collect();
            if let Some(deployment) = parts.get(2) {
                calls.push((
                    "k8s_info".into(),
                    json!({"action": "rollout_history", "cluster_name": cluster,
                           "namespace": namespace, "deployment": deployment}),
                ));
            }
        }
    }
    let searched = turn.calls.iter().any(|c| c.name == "runbooks");
    if let (Some(problem), false) = (problem(&turn.calls), searched) {
        calls.push((
            "runbooks".into(),
            json!({"action": "search", "query": problem}),
        ));
    }
    calls
}

/// "k8s_info workload_health on prod-eu" and the like.
fn describe(name: &str, input: &Value) -> String {
    let mut out = name.to_owned();
    if let Some(action) = input["action"].as_str() {
        out.push(' ');
        out.push_str(action);
    }
    if let Some(pod) = input["pod"].as_str() {
        out.push_str(&format!(" of {pod}"));
        if input["previous"] == true {
            out.push_str(" (previous run)");
        }
    } else if let Some(deployment) = input["deployment"].as_str() {
        out.push_str(&format!(" of {deployment}"));
    } else if let Some(cluster) = input["cluster_name"].as_str() {
        out.push_str(&format!(" on {cluster}"));
    } else if let Some(query) = input["query"].as_str().filter(|_| name == "runbooks") {
        out.push_str(&format!(" \"{query}\""));
    }
    out
}

/// Up to `max` characters of `text`, marked when cut.
fn cut(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// What a tool result says, in a line or a few: the parts of its JSON an operator reads
/// first, quoted as they came.
fn quote(call: &Call) -> String {
    let parsed: Value = serde_json::from_str(&call.result).unwrap_or(Value::Null);
    if call.name == "k8s_info" && call.input["action"] == "workload_health" {
        let found = objects(&call.result);
        if !found.is_empty() {
            return found
                .iter()
                .take(4)
                .map(|o| cut(o, 200))
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    if call.name == "k8s_info" && call.input["action"] == "pod_logs" {
        let lines: Vec<&str> = parsed["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !lines.is_empty() {
            let last: Vec<String> = lines
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(|l| format!("\"{}\"", cut(l, 200)))
                .collect();
            return format!("last lines: {}", last.join(" "));
        }
    }
    let mut found = Vec::new();
    collect_quotes(&parsed, &mut found);
    if found.is_empty() {
        return cut(&call.result, 240);
    }
    found.truncate(4);
    found.join("; ")
}

/// The fields an operator reads first, wherever they are in an answer.
const QUOTED: &[&str] = &[
    "alertname",
    "alarm_name",
    "detail",
    "summary",
    "reason",
    "message",
    "event_name",
    "title",
    "key",
    "verdict",
    "state",
];

fn collect_quotes(value: &Value, found: &mut Vec<String>) {
    if found.len() >= 4 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (QUOTED.contains(&k.as_str()), v.as_str()) {
                    let line = format!("{k}: {}", cut(s, 160));
                    if !found.contains(&line) {
                        found.push(line);
                    }
                } else {
                    collect_quotes(v, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_quotes(v, found)),
        _ => {}
    }
}

/// The final answer: finding, evidence, gaps, next step.
fn answer(turn: &Turn) -> String {
    let (failed, worked): (Vec<&Call>, Vec<&Call>) = turn.calls.iter().partition(|c| c.failed);
    let finding = worked
        .iter()
        .filter(|c| c.name == "k8s_info" && c.input["action"] == "workload_health")
        .flat_map(|c| objects(&c.result))
        .next()
        .map(|o| format!("{o}."))
        .unwrap_or_else(|| {
            if worked.is_empty() {
                "nothing could be checked.".to_owned()
            } else {
                "nothing stands out in what was checked.".to_owned()
            }
        });
    let mut out = format!("{LABEL}\n\nFinding: {finding}\n\nEvidence:\n");
    if worked.is_empty() {
        out.push_str("- none\n");
    }
    for call in &worked {
        out.push_str(&format!(
            "- {}: {}\n",
            describe(&call.name, &call.input),
            quote(call)
        ));
    }
    if !failed.is_empty() {
        out.push_str("\nGaps:\n");
        for call in &failed {
            let envelope: Value = serde_json::from_str(&call.result).unwrap_or_default();
            out.push_str(&format!(
                "- could not check {}: {} {}\n",
                describe(&call.name, &call.input),
                envelope["error"]["code"].as_str().unwrap_or("ERROR"),
                cut(
                    envelope["error"]["message"]
                        .as_str()
                        .unwrap_or(&call.result),
                    300
                )
            ));
        }
    }
    let runbook = worked
        .iter()
        .filter(|c| c.name == "runbooks")
        .find_map(|c| {
            let parsed: Value = serde_json::from_str(&c.result).ok()?;
            parsed["runbooks"][0]["key"].as_str().map(str::to_owned)
        });
    out.push_str("\nNext step: ");
    out.push_str(&match runbook {
        Some(key) => format!("follow the team's runbook {key}."),
        None if !failed.is_empty() => "fix what could not be checked, then ask again.".into(),
        None => "ask a narrower question, or run a real model (docs/local-development.md).".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value) -> Value {
        let tools: Vec<Value> = [
            "k8s_info",
            "eks_info",
            "prometheus_alerts",
            "cloudwatch",
            "cloudtrail",
            "runbooks",
        ]
        .iter()
        .map(|n| json!({"toolSpec": {"name": n}}))
        .collect();
        json!({"messages": messages, "toolConfig": {"tools": tools}})
    }

    fn uses(step: &Step) -> Vec<(String, Value)> {
        let Step::Reply(body) = step else {
            panic!("{step:?}")
        };
        body["output"]["message"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b.get("toolUse"))
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t["input"].clone()))
            .collect()
    }

    fn investigator() -> Investigator {
        Investigator::new(&["prod".into(), "prod-eu".into()], "prod")
    }

    #[test]
    fn a_health_question_checks_the_named_cluster_in_one_turn() {
        let step = investigator().step(&request(
            json!([{"role": "user", "content": [{"text": "Is prod-eu healthy?"}]}]),
        ));
        let calls = uses(&step);
        assert_eq!(
            calls,
            vec![
                workload_health("prod-eu"),
                (
                    "eks_info".into(),
                    json!({"action": "cluster_health", "cluster_name": "prod-eu"})
                )
            ]
        );
    }

    #[test]
    fn a_crash_loop_is_followed_to_its_previous_logs_and_a_runbook() {
        let health = json!({"checks": [{"name": "crash_loops", "status": "critical", "detail": "1 pods crash-looping",
            "objects": ["prod/api-7d4b9c-x1: container api in CrashLoopBackOff (7 restarts), last exit: Error"]}]});
        let messages = json!([
            {"role": "user", "content": [{"text": "what changed in prod-eu?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "a", "name": "k8s_info",
                "input": {"action": "workload_health", "cluster_name": "prod-eu"}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "a", "status": "success",
                "content": [{"text": health.to_string()}]}}]}
        ]);
        let calls = uses(&investigator().step(&request(messages)));
        let actions: Vec<&str> = calls
            .iter()
            .map(|(_, i)| i["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["pod_logs", "rollout_history", "search"]);
        assert_eq!(calls[0].1["pod"], "api-7d4b9c-x1");
        assert_eq!(calls[0].1["previous"], true);
        assert_eq!(calls[1].1["deployment"], "api");
        assert_eq!(calls[2].1["query"], "crash loop");
    }

    #[test]
    fn the_answer_quotes_the_evidence_and_names_the_gaps() {
        let messages = json!([
            {"role": "user", "content": [{"text": "anything firing?"}]},
            {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "a", "name": "prometheus_alerts", "input": {"action": "alerts"}}},
                {"toolUse": {"toolUseId": "b", "name": "cloudwatch", "input": {"action": "alarms"}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "a", "status": "success",
                    "content": [{"text": r#"{"alerts": [{"labels": {"alertname": "AlwaysFiring"}}]}"#}]}},
                {"toolResult": {"toolUseId": "b", "status": "error",
                    "content": [{"text": r#"{"error": {"code": "ACCESS_DENIED", "message": "no cloudwatch:DescribeAlarms"}}"#}]}}]},
            {"role": "assistant", "content": [{"text": "…"}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "z", "status": "success", "content": [{"text": "{}"}]}}]}
        ]);
        let Step::Reply(body) = investigator().step(&request(messages)) else {
            panic!()
        };
        let answer = body["output"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap();
        assert!(answer.starts_with(LABEL), "{answer}");
        assert!(answer.contains("alertname: AlwaysFiring"), "{answer}");
        assert!(
            answer.contains(
                "could not check cloudwatch alarms: ACCESS_DENIED no cloudwatch:DescribeAlarms"
            ),
            "{answer}"
        );
    }
}
