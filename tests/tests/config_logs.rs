//! The configuration cache's log output, in a test binary of its own: tracing keeps
//! per-callsite interest in global state, so a log-capturing subscriber shares a process
//! with no other test (other threads hitting SDK callsites first made it miss lines).

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use integration_tests::proxy::Mode;

mod support;

use support::{CANARY, SWEEP, config_via, stack};

/// Captures this thread's log output as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_failed_refresh_serves_the_last_good_values_with_a_warning() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing caches per-callsite interest globally: a callsite another test thread hit
    // first, with no subscriber, is cached as disabled. Recompute it now that ours exists.
    tracing::callsite::rebuild_interest_cache();

    let (_moto, proxy, _) = stack(1).await;
    let config = config_via(&proxy, Duration::ZERO).await;
    assert_eq!(config.settings().await.unwrap().generation(), 1);

    proxy.set_mode(Mode::Fail(503));
    let stale = config
        .settings()
        .await
        .expect("stale values instead of an error");
    assert_eq!(
        (stale.generation(), stale.get("k00").as_deref()),
        (1, Some("v0"))
    );
    assert!(
        proxy.count(SWEEP) >= 2,
        "the refresh was attempted: {:?}",
        proxy.seen()
    );
    let text = logs.text();
    assert!(
        text.contains("configuration refresh failed; serving the last good values"),
        "{text}"
    );
    assert!(text.contains("UNAVAILABLE"), "{text}");

    proxy.set_mode(Mode::Pass);
    assert_eq!(
        config.settings().await.unwrap().generation(),
        2,
        "recovers once SSM answers"
    );
    // This subscriber is uncapped: the SDK's own trace output is here, and still no secret.
    let text = logs.text();
    assert!(
        text.contains("GetParametersByPath") && text.contains("\"level\":\"TRACE\""),
        "the SDK logged at trace"
    );
    assert!(
        !text.contains(CANARY),
        "no SecureString in any log line, even at trace level"
    );
}
