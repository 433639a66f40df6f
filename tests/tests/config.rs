//! `common::config` against moto's SSM, seen through a proxy that counts and fails
//! requests: one sweep serves many reads within the TTL, an expired TTL refreshes, many
//! concurrent callers share one refresh, a failed refresh is an error only when nothing was
//! cached, and a SecureString never reaches a log line or a response. (Serving stale values
//! with a warning is in `config_logs.rs`, which captures logs in a process of its own.)

use std::{sync::Arc, time::Duration};

use aws_sdk_ssm::types::ParameterType;
use common::{AppConfig, ErrorCode};
use integration_tests::{lambda::LambdaFunction, proxy::Mode};
use serde_json::json;

mod support;

use support::{CANARY, PATH, SWEEP, config_via, put, ssm_client, stack};

#[tokio::test]
async fn one_sweep_serves_every_read_within_the_ttl() {
    // 12 + 2 parameters: more than one page (GetParametersByPath returns at most 10).
    let (_moto, proxy, _) = stack(12).await;
    let config = config_via(&proxy, Duration::from_secs(300)).await;
    for _ in 0..25 {
        let settings = config.settings().await.unwrap();
        assert_eq!(settings.get("k11").as_deref(), Some("v11"));
        assert_eq!(
            settings.parse::<u32>("agent/max_cycles").unwrap(),
            Some(8),
            "nested keys are read (recursive)"
        );
        assert_eq!(
            settings.secret("websearch/api_key").unwrap().expose(),
            CANARY,
            "SecureStrings arrive decrypted"
        );
        assert_eq!(settings.generation(), 1);
    }
    assert_eq!(
        proxy.count(SWEEP),
        2,
        "one paginated sweep (two pages) for 25 reads: {:?}",
        proxy.seen()
    );
}

#[tokio::test]
async fn an_expired_ttl_refreshes_and_sees_new_values() {
    let (_moto, proxy, direct) = stack(1).await;
    // A TTL of zero: every read is past it, so each read must refresh; no sleeping needed.
    let config = config_via(&proxy, Duration::ZERO).await;
    let first = config.settings().await.unwrap();
    assert_eq!(first.get("k00").as_deref(), Some("v0"));
    put(&direct, "k00", "changed", ParameterType::String).await;
    let second = config.settings().await.unwrap();
    assert_eq!(second.get("k00").as_deref(), Some("changed"));
    assert_eq!((first.generation(), second.generation()), (1, 2));
    assert_eq!(
        first.get("k00").as_deref(),
        Some("v0"),
        "a snapshot held by a request does not change under it"
    );
    assert_eq!(proxy.count(SWEEP), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let (_moto, proxy, _) = stack(1).await;
    let config = Arc::new(config_via(&proxy, Duration::from_secs(300)).await);
    proxy.hold();
    const CALLERS: usize = 16;
    let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (config, waiting) = (config.clone(), waiting.clone());
            tokio::spawn(async move {
                waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                config.settings().await.map(|s| s.generation())
            })
        })
        .collect();
    // The first sweep is now held at the proxy. The test's runtime has one thread, so a
    // caller that has counted itself has run into `settings()` up to its first wait: once
    // all have, every one of them overlaps the held sweep, and only then is it let go.
    proxy.wait_for(1).await;
    while waiting.load(std::sync::atomic::Ordering::SeqCst) < CALLERS {
        tokio::task::yield_now().await;
    }
    proxy.open();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), 1);
    }
    assert_eq!(proxy.count(SWEEP), 1, "{:?}", proxy.seen());
}

#[tokio::test]
async fn a_cold_start_without_ssm_is_a_retryable_error_naming_the_path() {
    let (_moto, proxy, _) = stack(1).await;
    proxy.set_mode(Mode::Fail(503));
    let err = config_via(&proxy, Duration::from_secs(300))
        .await
        .settings()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (ErrorCode::Unavailable, true),
        "{err}"
    );
    assert!(err.message.contains(PATH), "{err}");

    // Nothing listening at all: connection refused.
    let refused = AppConfig::with_ssm_client(
        ssm_client("http://127.0.0.1:9").await,
        PATH,
        Duration::from_secs(300),
    )
    .unwrap();
    let err = refused.settings().await.unwrap_err();
    assert_eq!(
        (err.code, err.retryable),
        (ErrorCode::Unavailable, true),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_required_key_is_a_config_error_naming_key_and_places() {
    let (_moto, proxy, _) = stack(1).await;
    let settings = config_via(&proxy, Duration::from_secs(300))
        .await
        .settings()
        .await
        .unwrap();
    let err = settings.require("model/id").unwrap_err();
    assert_eq!(err.code, ErrorCode::ConfigError);
    assert_eq!(
        err.message,
        format!(
            "configuration key `model/id` is not set: add the SSM parameter {PATH}/model/id or the environment variable MODEL_ID"
        )
    );
    let err = settings.parse::<u32>("websearch/api_key").unwrap_err();
    assert!(
        err.message.contains("`websearch/api_key`") && !err.message.contains(CANARY),
        "{err}"
    );
}

#[tokio::test]
async fn a_function_reads_ssm_once_prefers_the_environment_and_never_prints_a_secret() {
    let (moto, proxy, _) = stack(1).await;
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.extend([
        ("AWS_ENDPOINT_URL_SSM".to_owned(), proxy.url()),
        ("APP_CONFIG_PATH".to_owned(), PATH.to_owned()),
        // The most verbose logging there is: still no secret may appear.
        ("RUST_LOG".to_owned(), "trace".to_owned()),
        ("AGENT_MAX_CYCLES".to_owned(), "3".to_owned()),
    ]);
    let f = LambdaFunction::start("echo", &env).await.unwrap();
    assert_eq!(
        proxy.count(SWEEP),
        0,
        "nothing is read before the first request asks"
    );

    let mut responses = Vec::new();
    for (key, origin) in [
        ("websearch/api_key", Some("ssm")),
        ("agent/max_cycles", Some("environment")),
        ("model/id", None),
    ] {
        let answer = f
            .invoke(&json!({"message": "cfg", "config_key": key}))
            .await
            .unwrap()
            .response();
        assert_eq!(
            answer["config"]["origin"].as_str(),
            origin,
            "{key}: {answer}"
        );
        responses.push(answer.to_string());
    }
    // An error path, so its log lines are scanned too.
    responses.push(
        f.invoke(&json!({"message": "x".repeat(1001)}))
            .await
            .unwrap()
            .response()
            .to_string(),
    );
    assert_eq!(
        proxy.count(SWEEP),
        1,
        "one sweep for three reads: {:?}",
        proxy.seen()
    );

    let logs = f.logs();
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "trace logging was on:\n{logs}"
    );
    for (i, text) in responses.iter().enumerate() {
        assert!(
            !text.contains(CANARY),
            "response {i} leaks the SecureString: {text}"
        );
    }
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(CANARY)).collect();
    assert!(
        leaks.is_empty(),
        "log lines carry the SecureString:\n{}",
        leaks.join("\n")
    );
}
