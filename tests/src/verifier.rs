//! The SigV4 verifier (`stack/sigv4_verifier.py`): botocore recomputes the signature of
//! every request from the bytes received and rejects a mismatch with 403.

use std::process::Command;

use tempfile::TempDir;

use crate::{Result, process::ServerProcess, stack_file, venv};

/// Static test credentials the verifier knows (and the signer under test uses).
pub const ACCESS_KEY: &str = "AKIDVERIFIER";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "verifier/secret+key=with/odd+chars";
/// See [`ACCESS_KEY`].
pub const SESSION_TOKEN: &str = "session-token-for-verifier";

/// A running verifier.
#[derive(Debug)]
pub struct SigV4Verifier {
    process: ServerProcess,
    url: String,
    _dir: TempDir,
}

/// The workspace path an AMP stand-in serves ([`SigV4Verifier::amp`]).
pub const AMP_WORKSPACE_PATH: &str = "/workspaces/ws-test";

impl SigV4Verifier {
    /// Starts a verifier for `service` in `region` that expects [`SESSION_TOKEN`] when
    /// `with_token`. With `upstream`, verified requests are forwarded there after removing
    /// `strip_prefix` from the path (AMP's `/workspaces/ws-…` prefix, for a plain Prometheus).
    pub fn start(
        service: &str,
        region: &str,
        with_token: bool,
        upstream: Option<&str>,
        strip_prefix: Option<&str>,
    ) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("sigv4-").tempdir()?;
        let mut command = Command::new(venv()?.join("bin/python"));
        command.arg(stack_file("sigv4_verifier.py")).args([
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
            "--region",
            region,
            "--service",
            service,
        ]);
        if with_token {
            command.args(["--token", SESSION_TOKEN]);
        }
        if let Some(upstream) = upstream {
            command.args(["--upstream", upstream]);
        }
        if let Some(prefix) = strip_prefix {
            command.args(["--strip-prefix", prefix]);
        }
        let (process, port) = ServerProcess::spawn_announcing(
            "sigv4 verifier",
            &mut command,
            &dir.path().join("verifier.log"),
        )?;
        Ok(Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }

    /// Base URL.
    /// An AMP stand-in: verifies `aps` signatures for eu-west-1 (with the session token) and
    /// forwards to the real Prometheus at `prometheus`.
    pub fn amp(prometheus: &str) -> Result<Self> {
        Self::start(
            "aps",
            "eu-west-1",
            true,
            Some(prometheus),
            Some(AMP_WORKSPACE_PATH),
        )
    }

    /// The environment of a Prometheus tool that queries this AMP stand-in with SigV4 and
    /// the verifier's credentials.
    pub fn amp_env(&self) -> Vec<(String, String)> {
        [
            (
                "PROMETHEUS_URL",
                format!("{}{AMP_WORKSPACE_PATH}", self.url),
            ),
            ("PROMETHEUS_AUTH", "sigv4".to_owned()),
            ("PROMETHEUS_REGION", "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The verifier's stderr so far (Python tracebacks, if any).
    pub fn logs(&self) -> String {
        self.process.logs()
    }
}
