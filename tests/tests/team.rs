//! One agent shared by a team (docs/agent.md, "Callers, budgets and the audit line"): sessions
//! belong to the caller the entry shape proves, each caller has a daily token budget and a
//! limit on questions in flight, and every question leaves one audit line. Everything runs
//! against moto's DynamoDB and the Converse double, through the real event shapes (HTTP API
//! v2 with JWT claims and with IAM, Function URL with IAM, REST v1 with IAM, direct with and
//! without a declared caller) and `common`'s pipeline; the audit line through the agent's
//! binary on the Lambda Runtime API.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use agent::{Agent, bedrock::Bedrock, invoker::LambdaInvoker, owner::Owner};
use aws_sdk_dynamodb::types::AttributeValue;
use common::{AppConfig, Caller};
use futures_util::StreamExt;
use integration_tests::{
    bedrock::{CACHE, ConverseDouble, MODEL, USAGE, agent_config, error, text, tool_uses},
    lambda::{Invoke, LambdaFunction},
    moto::Moto,
    proxy::FaultProxy,
    sample_event,
};
use lambda_runtime::{Context, FunctionResponse, LambdaEvent};
use serde_json::{Value, json};

const TABLE: &str = "agent-sessions";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example";
/// What one scripted model reply counts against a budget with no prices: input, output and
/// both kinds of cache tokens.
const PER_CALL: u64 = USAGE.0 + USAGE.1 + CACHE.0 + CACHE.1;

struct Stack {
    converse: ConverseDouble,
    /// In front of the Converse double: counts and holds model calls.
    model: FaultProxy,
    moto: Moto,
    /// In front of moto, one request at a time (see `proxy`'s module docs): the agents'
    /// DynamoDB.
    serial_moto: FaultProxy,
    /// The test's own view of the table, straight to moto.
    dynamodb: aws_sdk_dynamodb::Client,
}

async fn stack() -> Stack {
    let converse = ConverseDouble::start().await.unwrap();
    let model = FaultProxy::start(&converse.url()).await.unwrap();
    let moto = Moto::start().await.unwrap();
    moto.create_sessions_table(TABLE).await.unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&Moto::sdk_config_for(moto.endpoint()).await);
    let serial_moto = FaultProxy::start(moto.endpoint())
        .await
        .unwrap()
        .one_at_a_time();
    Stack {
        converse,
        model,
        moto,
        serial_moto,
        dynamodb,
    }
}

impl Stack {
    /// An agent with sessions in moto and `settings` on top; it lives for the test process,
    /// as the function's does (the Function URL path needs `'static`).
    async fn agent(&self, settings: &[(&str, &str)]) -> &'static Agent<Bedrock, LambdaInvoker> {
        let mut settings = settings.to_vec();
        settings.push(("agent/sessions_table", TABLE));
        let bedrock = integration_tests::bedrock::client(&self.model.url()).await;
        // No tool Lambda runs here: the scripted model only asks for a tool that does not
        // exist, which the agent answers itself.
        let lambda = aws_sdk_lambda::Client::new(&Moto::sdk_config_for("http://127.0.0.1:9").await);
        Box::leak(Box::new(
            Agent::new(
                Bedrock::with_client(bedrock),
                LambdaInvoker::with_client(lambda),
                agent_config(&settings),
            )
            .with_dynamodb(aws_sdk_dynamodb::Client::new(
                &Moto::sdk_config_for(&self.serial_moto.url()).await,
            )),
        ))
    }

    async fn item(&self, key: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(TABLE)
            .key("session_id", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    async fn all_items(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamodb
            .scan()
            .table_name(TABLE)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// The texts of every message of the last model request.
    fn last_request_texts(&self) -> Vec<String> {
        let requests = self.converse.take_requests();
        let (_, last) = requests.last().expect("a model request");
        last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["content"].as_array().unwrap().clone())
            .filter_map(|b| b["text"].as_str().map(str::to_owned))
            .collect()
    }
}

/// How a question reaches the agent, and who the entry shape says is asking.
#[derive(Debug, Clone)]
enum Entry {
    /// HTTP API (v2) behind its JWT authorizer.
    HttpJwt(&'static str),
    /// HTTP API (v2) behind its IAM authorizer.
    HttpIam(&'static str),
    /// The Function URL with `AWS_IAM` auth (the JSON answer, not the stream).
    FunctionUrlIam(&'static str),
    /// REST API (v1) with IAM auth.
    RestIam(&'static str),
    /// A direct invoke, with or without `caller` in the client context.
    Direct(Option<&'static str>),
}

const ALICE: &str = "arn:aws:sts::123456789012:assumed-role/PlatformOps/alice@example.com";
const BOB: &str = "arn:aws:sts::123456789012:assumed-role/PlatformOps/bob@example.com";
const CAROL: &str = "arn:aws:iam::123456789012:user/carol";

impl Entry {
    /// The caller the agent should see.
    fn caller(&self) -> Caller {
        match self {
            Self::HttpJwt(sub) => Caller::Jwt {
                issuer: ISSUER.to_owned(),
                subject: (*sub).to_owned(),
            },
            Self::HttpIam(arn) | Self::FunctionUrlIam(arn) | Self::RestIam(arn) => Caller::Iam {
                arn: (*arn).to_owned(),
            },
            Self::Direct(Some(name)) => Caller::Declared((*name).to_owned()),
            Self::Direct(None) => Caller::Direct,
        }
    }

    /// The event, from the function's sample of that shape, carrying `body`.
    fn event(&self, body: &Value) -> Value {
        let body = body.to_string();
        match self {
            Self::HttpJwt(sub) => {
                let mut e = sample_event("agent", "apigw-http.json");
                e["requestContext"]["authorizer"]["jwt"]["claims"] =
                    json!({"iss": ISSUER, "sub": sub, "token_use": "access"});
                e["body"] = json!(body);
                e["isBase64Encoded"] = json!(false);
                e
            }
            Self::HttpIam(arn) => {
                let mut e = sample_event("agent", "apigw-http.json");
                e["requestContext"]["authorizer"] =
                    json!({"iam": {"userArn": arn, "accountId": "123456789012"}});
                e["headers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authorization");
                e["body"] = json!(body);
                e["isBase64Encoded"] = json!(false);
                e
            }
            Self::FunctionUrlIam(arn) => {
                let mut e = sample_event("agent", "function-url.json");
                e["requestContext"]["authorizer"]["iam"]["userArn"] = json!(arn);
                e["body"] = json!(body);
                e
            }
            Self::RestIam(arn) => {
                let mut e = sample_event("agent", "apigw-rest.json");
                e["requestContext"]["identity"]["userArn"] = json!(arn);
                e["body"] = json!(body);
                e
            }
            Self::Direct(_) => serde_json::from_str(&body).unwrap(),
        }
    }

    fn context(&self, deadline_in: Duration) -> Context {
        let mut context = Context::default();
        context.request_id = "team-test".to_owned();
        context.deadline = (common::time::now_ms() as u64) + deadline_in.as_millis() as u64;
        if let Self::Direct(Some(name)) = self {
            context.client_context =
                serde_json::from_value(json!({"custom": {"caller": name}})).unwrap();
        }
        context
    }
}

/// Asks through `entry`: the output object, or the envelope's `error`.
async fn ask(
    agent: &'static Agent<Bedrock, LambdaInvoker>,
    entry: Entry,
    body: Value,
) -> Result<Value, Value> {
    ask_by(agent, entry, body, Duration::from_secs(60)).await
}

async fn ask_by(
    agent: &'static Agent<Bedrock, LambdaInvoker>,
    entry: Entry,
    body: Value,
    deadline_in: Duration,
) -> Result<Value, Value> {
    let event = entry.event(&body);
    let context = entry.context(deadline_in);
    let answer: Value = match &entry {
        // The agent's own route for Function URLs (web.rs), as its binary takes it.
        Entry::FunctionUrlIam(_) => {
            match agent::web::answer_event(agent, LambdaEvent::new(event, context)).await {
                FunctionResponse::StreamingResponse(response) => {
                    let chunks: Vec<Result<String, Infallible>> = response.stream.collect().await;
                    let body: String = chunks.into_iter().map(Result::unwrap).collect();
                    serde_json::from_str(&body).unwrap()
                }
                FunctionResponse::BufferedResponse(_) => {
                    panic!("a Function URL event answered buffered")
                }
            }
        }
        _ => {
            let raw = common::event::dispatch(agent, event, &context).await;
            let answer: Value = serde_json::from_str(raw.get()).unwrap();
            match answer.get("body").and_then(Value::as_str) {
                Some(body) => serde_json::from_str(body).unwrap(),
                None => answer,
            }
        }
    };
    match answer.get("error") {
        Some(e) => Err(e.clone()),
        None => Ok(answer),
    }
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn one_session_id_used_by_many_callers_is_one_session_each() {
    let s = stack().await;
    let agent = s.agent(&[]).await;
    let entries = [
        Entry::HttpJwt("alice-sub"),
        Entry::HttpJwt("mallory-sub"),
        Entry::HttpIam(ALICE),
        Entry::FunctionUrlIam(BOB),
        Entry::RestIam(CAROL),
        Entry::Direct(Some("slack-bot")),
        Entry::Direct(None),
    ];
    for (i, entry) in entries.iter().enumerate() {
        s.converse
            .script([text(&format!("Answer {i}."), "end_turn")]);
        let out = ask(
            agent,
            entry.clone(),
            json!({"prompt": format!("Question {i}"), "session_id": "incident-42"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{entry:?}: {e}"));
        assert_eq!(out["session_id"], "incident-42");
        assert_eq!(
            s.last_request_texts(),
            texts(&[&format!("Question {i}")]),
            "{entry:?}"
        );
    }
    // Each follow-up continues its own caller's conversation, and the model sees nothing of
    // the others'.
    for (i, entry) in entries.iter().enumerate() {
        s.converse.script([text("Again.", "end_turn")]);
        ask(
            agent,
            entry.clone(),
            json!({"prompt": format!("Follow-up {i}"), "session_id": "incident-42"}),
        )
        .await
        .unwrap();
        assert_eq!(
            s.last_request_texts(),
            texts(&[
                &format!("Question {i}"),
                &format!("Answer {i}."),
                &format!("Follow-up {i}")
            ]),
            "{entry:?}"
        );
    }
    // The caller is the principal, not the way in: Bob through the HTTP API continues what he
    // asked through the Function URL.
    s.converse.script([text("Same Bob.", "end_turn")]);
    ask(
        agent,
        Entry::HttpIam(BOB),
        json!({"prompt": "Bob again", "session_id": "incident-42"}),
    )
    .await
    .unwrap();
    assert_eq!(
        s.last_request_texts(),
        texts(&[
            "Question 3",
            "Answer 3.",
            "Follow-up 3",
            "Again.",
            "Bob again"
        ])
    );
    // One item per caller, keyed by owner and session id, each saying whose it is.
    let items = s.all_items().await;
    assert_eq!(items.len(), entries.len(), "{items:?}");
    for entry in &entries {
        let owner = Owner::of(&entry.caller());
        let item = s
            .item(&format!("{}#incident-42", owner.key()))
            .await
            .unwrap_or_else(|| panic!("no session item for {entry:?}"));
        assert_eq!(item["owner"].as_s().unwrap(), owner.name());
    }
    assert!(s.item("incident-42").await.is_none());
}

/// Items written before sessions had owners are keyed by the bare session id; nobody can
/// prove they wrote one, so nobody is handed one (they expire by TTL within a day).
#[tokio::test]
async fn a_session_stored_before_owners_is_handed_to_no_one() {
    let s = stack().await;
    let agent = s.agent(&[]).await;
    let old = json!([{"role": "user", "content": [{"text": "Someone else's question"}]},
                     {"role": "assistant", "content": [{"text": "Someone else's answer"}]}]);
    s.dynamodb
        .put_item()
        .table_name(TABLE)
        .item("session_id", AttributeValue::S("incident-7".into()))
        .item("history", AttributeValue::S(old.to_string()))
        .item("version", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    for entry in [Entry::HttpIam(ALICE), Entry::Direct(None)] {
        s.converse.script([text("Fresh.", "end_turn")]);
        ask(
            agent,
            entry.clone(),
            json!({"prompt": "Mine", "session_id": "incident-7"}),
        )
        .await
        .unwrap();
        assert_eq!(s.last_request_texts(), texts(&["Mine"]), "{entry:?}");
    }
}

fn count(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item[name].as_n().unwrap().parse().unwrap()
}

fn budget_key(caller: &Caller) -> String {
    let today = common::time::format_rfc3339(common::time::now_ms());
    format!("budget#{}#{}", Owner::of(caller).key(), &today[..10])
}

#[tokio::test]
async fn a_caller_over_the_daily_budget_is_refused_until_the_next_utc_day() {
    let s = stack().await;
    // With prices, cache tokens count at their price's share of input: 30 cache reads at a
    // tenth (3 tokens), 10 cache writes at 1.25 (13 tokens), so a call counts 136 tokens.
    let agent = s
        .agent(&[
            ("agent/daily_token_budget", "250"),
            ("model/price_input_per_mtok", "3"),
            ("model/price_output_per_mtok", "15"),
            ("model/price_cache_read_per_mtok", "0.30"),
            ("model/price_cache_write_per_mtok", "3.75"),
        ])
        .await;
    let per_call = USAGE.0 + USAGE.1 + 3 + 13;
    let alice = Entry::Direct(Some("alice"));
    s.converse.script([text("First.", "end_turn")]);
    let first = ask(
        agent,
        alice.clone(),
        json!({"prompt": "One", "session_id": "s1"}),
    )
    .await
    .unwrap();
    assert_eq!(first["stop_reason"], "end_turn");
    // The budget runs out between two model calls of one question: the loop ends like
    // max_cycles, with the tool calls made and the turn saved.
    s.converse.script([
        tool_uses(Some("Checking."), &[("t1", "nope", json!({}))]),
        text("Never sent.", "end_turn"),
    ]);
    let second = ask(
        agent,
        alice.clone(),
        json!({"prompt": "Two", "session_id": "s1"}),
    )
    .await
    .unwrap();
    assert_eq!(second["stop_reason"], "token_budget", "{second}");
    assert_eq!(second["cycles"], 1);
    assert_eq!(second["tool_calls"][0]["name"], "nope");
    assert_eq!(second["response"], "Checking.");
    assert_eq!(s.converse.left(), 1, "the second call was never made");
    let session = s
        .item(&format!("{}#s1", Owner::of(&alice.caller()).key()))
        .await
        .unwrap();
    assert!(session["history"].as_s().unwrap().contains("\"Two\""));
    // Over budget: refused before any model call, not retryable, saying when it resets.
    s.converse.take_requests();
    let refused = ask(
        agent,
        alice.clone(),
        json!({"prompt": "Three", "session_id": "s1"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (refused["code"].as_str(), refused["retryable"].as_bool()),
        (Some("THROTTLED"), Some(false))
    );
    let tomorrow =
        common::time::format_rfc3339((common::time::now_ms() / 86_400_000 + 1) * 86_400_000);
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("daily token budget of 250 tokens")
            && message.contains(&format!("{} tokens today", 2 * per_call))
            && message.contains(&format!("resets at {tomorrow}")),
        "{message}"
    );
    assert!(s.converse.take_requests().is_empty());
    // The counter: one item per caller and day, with a TTL after the day.
    let counter = s.item(&budget_key(&alice.caller())).await.unwrap();
    assert_eq!(count(&counter, "tokens"), 2 * per_call);
    assert_eq!(counter["owner"].as_s().unwrap(), "caller:alice");
    assert!(
        count(&counter, "expires_at") as i64 * 1000
            > common::time::parse_rfc3339(&tomorrow).unwrap()
    );
    // Another caller has a budget of their own.
    s.converse.script([text("Bob's answer.", "end_turn")]);
    ask(agent, Entry::Direct(Some("bob")), json!({"prompt": "Bob"}))
        .await
        .unwrap();
}

/// Requests of one caller running at once each pass the check while the total is under the
/// limit; the total may pass it by at most one model call per request, never more.
#[tokio::test]
async fn parallel_requests_pass_the_budget_by_at_most_one_model_call_each() {
    const REQUESTS: u64 = 4;
    const LIMIT: u64 = 2 * PER_CALL + PER_CALL / 2;
    let s = stack().await;
    let agent = s
        .agent(&[
            ("agent/daily_token_budget", &LIMIT.to_string()),
            ("agent/max_cycles", "8"),
        ])
        .await;
    // Every reply asks for another (unknown) tool: without the budget each request would
    // make 8 model calls.
    s.converse
        .fall_back_to(tool_uses(None, &[("t", "nope", json!({}))]));
    s.model.hold();
    let caller = Entry::Direct(Some("racer"));
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let caller = caller.clone();
            tokio::spawn(async move {
                ask(
                    agent,
                    caller.clone(),
                    json!({"prompt": format!("Race {i}")}),
                )
                .await
            })
        })
        .collect();
    // All four are at the model before any is answered: the worst case for the check.
    tokio::time::timeout(Duration::from_secs(20), s.model.wait_for(REQUESTS as usize))
        .await
        .expect("every request at the model");
    s.model.open();
    let mut calls = 0;
    for task in tasks {
        let out = task.await.unwrap().unwrap();
        assert_eq!(out["stop_reason"], "token_budget", "{out}");
        calls += out["cycles"].as_u64().unwrap();
    }
    let answered = s.converse.take_requests().len() as u64;
    assert_eq!(
        calls, answered,
        "every model call the double answered is a cycle"
    );
    let total = count(
        &s.item(&budget_key(&caller.caller())).await.unwrap(),
        "tokens",
    );
    assert_eq!(total, calls * PER_CALL, "every call was charged");
    assert!(total >= LIMIT, "the budget was reached: {total}");
    assert!(
        total < LIMIT + REQUESTS * PER_CALL,
        "{total} tokens in {calls} calls: over the bound of one call per request"
    );
    assert!(calls < REQUESTS * 8);
}

#[tokio::test]
async fn a_caller_beyond_the_in_flight_limit_waits_for_a_slot_that_always_comes_back() {
    let s = stack().await;
    let agent = s.agent(&[("agent/max_concurrent_per_caller", "1")]).await;
    let alice = Entry::HttpIam(ALICE);
    let ask_alice = || ask(agent, Entry::HttpIam(ALICE), json!({"prompt": "Hi"}));
    s.converse
        .script([text("A.", "end_turn"), text("C.", "end_turn")]);
    s.model.hold();
    let first = tokio::spawn(ask(
        agent,
        Entry::HttpIam(ALICE),
        json!({"prompt": "First"}),
    ));
    tokio::time::timeout(Duration::from_secs(20), s.model.wait_for(1))
        .await
        .expect("the first request at the model");
    // Alice's second question is refused at once, retryable; Bob is not Alice.
    let refused = ask_alice().await.unwrap_err();
    assert_eq!(
        (refused["code"].as_str(), refused["retryable"].as_bool()),
        (Some("THROTTLED"), Some(true))
    );
    assert!(
        refused["message"].as_str().unwrap().contains(
            "already has as many questions being answered as agent/max_concurrent_per_caller allows (1)"
        ),
        "{refused}"
    );
    let bob = tokio::spawn(ask(agent, Entry::HttpIam(BOB), json!({"prompt": "Bob"})));
    tokio::time::timeout(Duration::from_secs(20), s.model.wait_for(2))
        .await
        .expect("Bob at the model beside Alice");
    s.model.open();
    first.await.unwrap().unwrap();
    bob.await.unwrap().unwrap();
    assert_eq!(
        s.model.seen().len(),
        2,
        "the refused question never reached the model"
    );

    // Given back after an answer, …
    s.converse.script([text("Again.", "end_turn")]);
    ask_alice().await.unwrap();
    // … after a failure, …
    s.converse.script([error(
        400,
        "ValidationException",
        "The model refused the request.",
    )]);
    assert_eq!(ask_alice().await.unwrap_err()["code"], "UPSTREAM_ERROR");
    s.converse.script([text("After the failure.", "end_turn")]);
    ask_alice().await.unwrap();
    // … after a timeout, …
    s.model.hold();
    let timed_out = ask_by(
        agent,
        alice.clone(),
        json!({"prompt": "Slow"}),
        Duration::from_secs(3),
    )
    .await
    .unwrap_err();
    assert_eq!(timed_out["code"], "UPSTREAM_TIMEOUT", "{timed_out}");
    s.model.open();
    // The request the timeout left at the held proxy may still reach the model: from here on
    // every call is answered, whichever arrives first.
    s.converse.fall_back_to(text("Answered.", "end_turn"));
    ask_alice().await.unwrap();
    // … and when the request is dropped (the client left): the dropped lease is given back
    // by a task of its own.
    s.model.hold();
    let seen = s.model.seen().len();
    let dropped = tokio::spawn(ask(agent, Entry::HttpIam(ALICE), json!({"prompt": "Gone"})));
    tokio::time::timeout(Duration::from_secs(20), s.model.wait_for(seen + 1))
        .await
        .expect("the request at the model");
    dropped.abort();
    let key = format!("inflight#{}", Owner::of(&alice.caller()).key());
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let item = s.item(&key).await.unwrap();
            if item["leases"].as_m().unwrap().is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the dropped request's lease given back");
    s.model.open();
    ask_alice().await.unwrap();
}

/// A lease whose request was killed at its deadline (no code ran to give it back) stops
/// counting at that deadline.
#[tokio::test]
async fn a_lease_past_its_deadline_holds_no_slot() {
    let s = stack().await;
    let agent = s.agent(&[("agent/max_concurrent_per_caller", "1")]).await;
    let caller = Entry::Direct(Some("killed"));
    let ended = common::time::now_ms() - 1;
    s.dynamodb
        .put_item()
        .table_name(TABLE)
        .item(
            "session_id",
            AttributeValue::S(format!("inflight#{}", Owner::of(&caller.caller()).key())),
        )
        .item(
            "leases",
            AttributeValue::M(HashMap::from([(
                "0123456789abcdef".to_owned(),
                AttributeValue::N(ended.to_string()),
            )])),
        )
        .item("version", AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    s.converse.script([text("Answered.", "end_turn")]);
    ask(agent, caller.clone(), json!({"prompt": "Hi"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn limits_without_a_sessions_table_are_a_configuration_error() {
    let s = stack().await;
    for key in [
        "agent/daily_token_budget",
        "agent/max_concurrent_per_caller",
    ] {
        let agent = Box::leak(Box::new(Agent::new(
            Bedrock::new(),
            LambdaInvoker::new(),
            AppConfig::fixed(HashMap::from([
                ("model/id".to_owned(), MODEL.to_owned()),
                (key.to_owned(), "10".to_owned()),
            ])),
        )));
        let e = ask(agent, Entry::Direct(None), json!({"prompt": "Hi"}))
            .await
            .unwrap_err();
        assert_eq!(e["code"], "CONFIG_ERROR");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{key}` needs `agent/sessions_table`")),
            "{e}"
        );
    }
    for (key, value) in [
        ("agent/daily_token_budget", "0"),
        ("agent/max_concurrent_per_caller", "1001"),
    ] {
        let agent = s.agent(&[(key, value)]).await;
        let e = ask(agent, Entry::Direct(None), json!({"prompt": "Hi"}))
            .await
            .unwrap_err();
        assert_eq!(e["code"], "CONFIG_ERROR", "{key}={value}");
        assert!(e["message"].as_str().unwrap().contains(key), "{e}");
    }
    assert!(s.converse.take_requests().is_empty());
}

/// The audit line, from the agent's binary on the Lambda Runtime API: one per question, with
/// the caller from the event or the client context, and no prompt or token in it.
#[tokio::test]
async fn every_question_leaves_one_audit_line_naming_the_caller_and_no_secret() {
    const PROMPT: &str = "Which pods of checkout crash-loop? marker-5b1e0c";
    let s = stack().await;
    let mut env = s.moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.extend(
        [
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", s.converse.url()),
            ("AWS_ENDPOINT_URL_DYNAMODB", s.moto.endpoint().to_owned()),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9".to_owned()),
            ("MODEL_ID", MODEL.to_owned()),
            ("AGENT_SESSIONS_TABLE", TABLE.to_owned()),
            ("MODEL_PRICE_INPUT_PER_MTOK", "3".to_owned()),
            ("MODEL_PRICE_OUTPUT_PER_MTOK", "15".to_owned()),
            ("MODEL_PRICE_CACHE_READ_PER_MTOK", "0.30".to_owned()),
            ("MODEL_PRICE_CACHE_WRITE_PER_MTOK", "3.75".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let f = LambdaFunction::start("agent", &env).await.unwrap();
    // Through the HTTP API's JWT authorizer, the raw token in the Authorization header.
    let mut event =
        Entry::HttpJwt("alice-sub").event(&json!({"prompt": PROMPT, "session_id": "audit-1"}));
    event["headers"]["authorization"] = json!(format!(
        "Bearer {}",
        integration_tests::canary::BEARER_TOKEN
    ));
    s.converse.script([
        tool_uses(None, &[("t1", "nope", json!({"pod": "checkout-7d9"}))]),
        text("Two pods crash-loop.", "end_turn"),
    ]);
    let answered = f.invoke(&event).await.unwrap().response();
    assert_eq!(answered["statusCode"], 200, "{answered}");
    // A direct invoke naming its caller in the client context, ending in an error.
    s.converse.script([error(
        400,
        "ValidationException",
        "The model refused the request.",
    )]);
    let options = Invoke {
        client_context: Some(json!({"custom": {"caller": "slack-bot"}})),
        ..Invoke::default()
    };
    let failed = f
        .invoke_with(json!({"prompt": PROMPT}).to_string().as_bytes(), &options)
        .await
        .unwrap()
        .response();
    assert_eq!(failed["error"]["code"], "UPSTREAM_ERROR", "{failed}");

    let logs = f.logs();
    let audit: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "audit")
        .collect();
    assert_eq!(audit.len(), 2, "one line per question:\n{logs}");
    let first = &audit[0]["fields"];
    let cost = (2.0 * USAGE.0 as f64 * 3.0
        + 2.0 * USAGE.1 as f64 * 15.0
        + 2.0 * CACHE.0 as f64 * 0.30
        + 2.0 * CACHE.1 as f64 * 3.75)
        / 1e6;
    assert_eq!(audit[0]["level"], "INFO");
    assert_eq!(
        (
            first["message"].as_str(),
            first["caller"].as_str(),
            first["session_id"].as_str(),
            first["status"].as_str(),
            first["stop_reason"].as_str(),
            first["tools"].as_str(),
            first["cycles"].as_u64(),
            first["input_tokens"].as_u64(),
            first["output_tokens"].as_u64(),
        ),
        (
            Some("question"),
            Some(format!("jwt:{ISSUER} alice-sub").as_str()),
            Some("audit-1"),
            Some("answered"),
            Some("end_turn"),
            Some("nope:error"),
            Some(2),
            Some(2 * USAGE.0),
            Some(2 * USAGE.1),
        ),
        "{first}"
    );
    assert!(
        (first["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-12,
        "{first}"
    );
    assert!(first["latency_ms"].as_u64().is_some(), "{first}");
    let second = &audit[1]["fields"];
    assert_eq!(
        (
            second["caller"].as_str(),
            second["status"].as_str(),
            second["code"].as_str()
        ),
        (
            Some("caller:slack-bot"),
            Some("error"),
            Some("UPSTREAM_ERROR")
        ),
        "{second}"
    );
    assert!(
        second["session_id"]
            .as_str()
            .is_some_and(|id| id.len() == 32)
    );
    assert!(
        !logs.contains("marker-5b1e0c"),
        "the prompt is not logged at info"
    );
    assert!(!logs.contains(integration_tests::canary::BEARER_TOKEN));
}
