//! Canary secrets in every place a secret lives — the AWS credentials in each function's
//! environment, the search key and the model server's key as SSM SecureStrings — with every
//! function logging at `debug`, through success and failure, including upstreams that echo
//! the key back in their error. No canary may appear in a log line or an answer.
//!
//! The same canaries are used by the whole suite ([`integration_tests::canary`]), and
//! `scripts/test.sh` scans every function log and answer the suite produced afterwards; this
//! test is the one that goes looking for leaks on purpose, and it proves the secrets were
//! really used (an engine that only answers the right key answered, the model server saw the
//! key), so a clean scan is not a scan of functions that never held a secret.

use aws_sdk_ssm::types::ParameterType;
use integration_tests::{
    bedrock::{ConverseDouble, error, text},
    canary::{self, MODEL_API_KEY, SEARCH_API_KEY, SSM_SECURE_STRING},
    lambda::LambdaFunction,
    moto::{Moto, RUNBOOKS_BUCKET},
    search::SearchEngines,
    verifier::SigV4Verifier,
};
use serde_json::{Value, json};

/// moto's environment (canary credentials) with configuration from `path` and debug logs.
fn env(moto: &Moto, path: &str) -> Vec<(String, String)> {
    let mut env = moto.env();
    env.push(("APP_CONFIG_PATH".into(), path.into()));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));
    env
}

fn assert_clean(what: &str, text: &str) {
    let found = canary::found_in(text);
    assert!(found.is_empty(), "{what} holds {found:?}:\n{text}");
}

async fn answer(f: &LambdaFunction, event: Value) -> Value {
    let answer = f.invoke(&event).await.unwrap().response();
    assert_clean("an answer", &answer.to_string());
    answer
}

#[tokio::test]
async fn no_secret_reaches_a_log_or_an_answer() {
    let moto = Moto::start().await.unwrap();
    let engines = SearchEngines::start().await.unwrap();
    let converse = ConverseDouble::start().await.unwrap();

    // web-search through Brave, its key a SecureString.
    for (key, value, kind) in [
        (
            "/secrets/search/websearch/provider",
            "brave",
            ParameterType::String,
        ),
        (
            "/secrets/search/websearch/url",
            &engines.url(),
            ParameterType::String,
        ),
        (
            "/secrets/search/websearch/api_key",
            SEARCH_API_KEY,
            ParameterType::SecureString,
        ),
        // The same engine with a key it refuses (its 401 names the key it got).
        (
            "/secrets/badkey/websearch/provider",
            "brave",
            ParameterType::String,
        ),
        (
            "/secrets/badkey/websearch/url",
            &engines.url(),
            ParameterType::String,
        ),
        (
            "/secrets/badkey/websearch/api_key",
            MODEL_API_KEY,
            ParameterType::SecureString,
        ),
    ] {
        moto.put_parameter(key, value, kind).await.unwrap();
    }
    let search = LambdaFunction::start("web-search", &env(&moto, "/secrets/search"))
        .await
        .unwrap();
    let found = answer(&search, json!({"query": "eks upgrade", "max_results": 3})).await;
    assert_eq!(found["provider"], "brave", "{found}");
    assert!(
        found["result_count"].as_u64() > Some(0),
        "the key was used: {found}"
    );
    let refused = answer(&search, json!({"query": "", "max_results": 3})).await;
    assert_eq!(refused["error"]["code"], "INVALID_INPUT");
    let wrong = LambdaFunction::start("web-search", &env(&moto, "/secrets/badkey"))
        .await
        .unwrap();
    let denied = answer(&wrong, json!({"query": "eks upgrade"})).await;
    assert_eq!(denied["error"]["code"], "ACCESS_DENIED", "{denied}");

    // The agent through an OpenAI-compatible server, its key a SecureString.
    for (key, value, kind) in [
        (
            "/secrets/agent/model/provider",
            "openai",
            ParameterType::String,
        ),
        (
            "/secrets/agent/model/base_url",
            &converse.url(),
            ParameterType::String,
        ),
        (
            "/secrets/agent/model/id",
            "canary-model",
            ParameterType::String,
        ),
        (
            "/secrets/agent/model/api_key",
            MODEL_API_KEY,
            ParameterType::SecureString,
        ),
    ] {
        moto.put_parameter(key, value, kind).await.unwrap();
    }
    let agent = LambdaFunction::start("agent", &env(&moto, "/secrets/agent"))
        .await
        .unwrap();
    converse.script([
        text("All nodes are ready.", "end_turn"),
        // What OpenAI and many local servers do with a bad key: say which one they got.
        error(
            401,
            "invalid_api_key",
            &format!("Incorrect API key provided: {MODEL_API_KEY}. Check your settings."),
        ),
    ]);
    let ok = answer(&agent, json!({"prompt": "Are my nodes ready?"})).await;
    assert_eq!(ok["response"], "All nodes are ready.", "{ok}");
    let denied = answer(&agent, json!({"prompt": "And now?"})).await;
    assert_eq!(denied["error"]["code"], "ACCESS_DENIED", "{denied}");
    assert_eq!(
        converse.authorizations(),
        vec![format!("Bearer {MODEL_API_KEY}"); 2],
        "the key was sent, as a bearer token only"
    );

    // prometheus-query signing for AMP with the session credentials (SigV4 verified by
    // botocore), at debug level.
    let prometheus = integration_tests::prometheus::Prometheus::start()
        .await
        .unwrap();
    let verifier = SigV4Verifier::amp(prometheus.url()).unwrap();
    let mut amp_env = verifier.amp_env();
    amp_env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));
    let query = LambdaFunction::start("prometheus-query", &amp_env)
        .await
        .unwrap();
    let signed = answer(
        &query,
        json!({"query": "up", "time": "2026-01-01T00:30:00Z"}),
    )
    .await;
    assert!(
        signed.get("error").is_none(),
        "signed and verified: {signed}"
    );

    // eks-info with the canary credentials, found and not found.
    let mut eks_env = moto.env();
    eks_env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));
    let eks = LambdaFunction::start("eks-info", &eks_env).await.unwrap();
    answer(&eks, json!({"action": "list_clusters"})).await;
    let missing = answer(
        &eks,
        json!({"action": "describe_cluster", "cluster_name": "nope"}),
    )
    .await;
    assert_eq!(missing["error"]["code"], "NOT_FOUND", "{missing}");

    // runbooks signing its S3 calls with the canary credentials and reading a runbook that
    // holds a canary password: scrubbed from every answer, counted, at debug level.
    moto.seed_runbooks(RUNBOOKS_BUCKET).await.unwrap();
    moto.put_object(
        RUNBOOKS_BUCKET,
        "runbooks/db-credentials.md",
        format!(
            "---\ntitle: Database credentials\n---\nThe old DB password: {SSM_SECURE_STRING}\n"
        ),
    )
    .await
    .unwrap();
    let mut runbooks_env = moto.env();
    runbooks_env.push(("RUNBOOKS_BUCKET".into(), RUNBOOKS_BUCKET.into()));
    runbooks_env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));
    let runbooks = LambdaFunction::start("runbooks", &runbooks_env)
        .await
        .unwrap();
    let read = answer(
        &runbooks,
        json!({"action": "get", "key": "runbooks/db-credentials.md"}),
    )
    .await;
    assert_eq!(read["redactions"], 1, "the secret was there: {read}");
    let found = answer(
        &runbooks,
        json!({"action": "search", "query": "database password"}),
    )
    .await;
    assert_eq!(
        found["runbooks"][0]["key"], "runbooks/db-credentials.md",
        "{found}"
    );
    let missing = answer(
        &runbooks,
        json!({"action": "get", "key": "runbooks/nope.md"}),
    )
    .await;
    assert_eq!(missing["error"]["code"], "NOT_FOUND", "{missing}");

    for (name, f) in [
        ("runbooks", &runbooks),
        ("web-search", &search),
        ("web-search (bad key)", &wrong),
        ("agent", &agent),
        ("prometheus-query", &query),
        ("eks-info", &eks),
    ] {
        let logs = f.logs();
        assert!(
            logs.lines().any(|l| l.contains("\"DEBUG\"")),
            "{name} logged at debug: {logs}"
        );
        assert_clean(&format!("{name}'s log"), &logs);
    }
}
