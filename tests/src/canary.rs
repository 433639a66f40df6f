//! Canary secrets, and the record of everything the suite's functions said.
//!
//! Every secret the suite hands a function is one of [`ALL`]: moto's credentials in each
//! function's environment, the search engines' API key and the model server's key as SSM
//! SecureStrings, the SSM canary of the configuration tests. Each function process's log, the
//! `cargo lambda watch` log and every answer posted to a [`crate::lambda::RuntimeApi`] are
//! kept under `target/test-logs/` when their handle drops, and `scan_secrets` (run by
//! `scripts/test.sh` after the whole suite) fails if any canary appears there.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU64, Ordering},
};

/// `AWS_SECRET_ACCESS_KEY` of every function process (moto accepts any).
pub const AWS_SECRET_ACCESS_KEY: &str = "canary-aws-secret-9c41e7b2d05f";

/// `AWS_SESSION_TOKEN` of every function process.
pub const AWS_SESSION_TOKEN: &str = "canary-aws-session-5d2e80a1c3b7";

/// The API key of the keyed search engines (`websearch/api_key`).
pub const SEARCH_API_KEY: &str = crate::search::API_KEY;

/// The OpenAI-compatible model server's key (`model/api_key`).
pub const MODEL_API_KEY: &str = "canary-model-key-71fa09c2e4d8";

/// The SecureString of the configuration tests.
pub const SSM_SECURE_STRING: &str = "canary-6f1d2a9e-never-print-me";

/// A bearer token in an HTTP event's `Authorization` header (API Gateway passes the header on
/// after its JWT authorizer has checked it).
pub const BEARER_TOKEN: &str = "canary-bearer-eyJ0b2tlbiI6ImF1ZGl0In0";

/// Every canary, with the SigV4 verifier's credentials (odd characters on purpose) and the
/// Kubernetes double's secrets (a pod's env value, a Secret's data, what its logs leak), and
/// what the CloudWatch double's log lines leak.
pub const ALL: [&str; 14] = [
    BEARER_TOKEN,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    SEARCH_API_KEY,
    MODEL_API_KEY,
    SSM_SECURE_STRING,
    crate::verifier::SECRET_KEY,
    crate::verifier::SESSION_TOKEN,
    crate::k8s::DB_PASSWORD,
    crate::k8s::SECRET_VALUE,
    crate::k8s::LOG_AWS_KEY,
    crate::k8s::LOG_PASSWORD,
    crate::cloudwatch::LOG_PASSWORD,
    crate::cloudwatch::LOG_AWS_KEY,
];

/// Where the suite's logs and answers are kept: `target/test-logs`.
pub fn log_dir() -> PathBuf {
    crate::workspace_root().join("target/test-logs")
}

/// The most kept of one log.
pub const MAX_KEPT_BYTES: usize = 32 << 20;

/// Keeps `contents` under [`log_dir`] as `<kind>-<pid>-<n>.log`. Best effort: a test must not
/// fail because the record could not be written (the scan then sees less, and says how much).
pub fn keep(kind: &str, contents: &str) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if contents.is_empty() {
        return;
    }
    let dir = log_dir();
    let _ = std::fs::create_dir_all(&dir);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("{kind}-{}-{n}.log", std::process::id());
    // A long fuzz or soak run writes hundreds of megabytes; its start says what its end
    // would (the same code paths), and the scan stays quick.
    let mut end = contents.len().min(MAX_KEPT_BYTES);
    while !contents.is_char_boundary(end) {
        end -= 1;
    }
    let _ = std::fs::write(dir.join(name), &contents[..end]);
}

/// The canaries found in `text`.
pub fn found_in(text: &str) -> Vec<&'static str> {
    ALL.into_iter().filter(|c| text.contains(c)).collect()
}
