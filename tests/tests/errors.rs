//! Upstream failures become the contract's envelope codes: reqwest failures against real
//! loopback sockets (refused, silent, HTTP statuses, garbage), and AWS SDK failures from
//! moto behind the fault proxy (throttling, denial, unavailability).

use std::time::Duration;

use common::{ErrorCode, ToolError, http::client};
use integration_tests::{
    moto::Moto,
    proxy::{FaultProxy, Mode},
};

fn mapped(err: &reqwest::Error) -> (ErrorCode, bool) {
    let e = ToolError::from_reqwest("prometheus", err);
    assert!(
        !e.message.contains("127.0.0.1"),
        "no URL in messages: {}",
        e.message
    );
    (e.code, e.retryable)
}

#[tokio::test]
async fn reqwest_failures_map_to_envelope_codes() {
    let http = client("devops-agent-test").unwrap();

    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = http
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(mapped(&err), (ErrorCode::Unavailable, true));

    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    let err = http
        .get(&silent_url)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert_eq!(mapped(&err), (ErrorCode::UpstreamTimeout, true));

    // HTTP statuses, through error_for_status.
    for (status, code, retryable) in [
        (429, ErrorCode::Throttled, true),
        (503, ErrorCode::Unavailable, true),
        (500, ErrorCode::UpstreamError, true),
        (401, ErrorCode::AccessDenied, false),
        (404, ErrorCode::NotFound, false),
        (400, ErrorCode::UpstreamError, false),
    ] {
        let url = integration_tests::answering(status, "{}").await.unwrap();
        let err = http
            .get(&url)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap_err();
        assert_eq!(mapped(&err), (code, retryable), "HTTP {status}");
    }

    // 200 with a body that is not what was asked for: an error, and (per the contract,
    // retryable only for 5xx) not worth retrying.
    let url = integration_tests::answering(200, "<html>not json</html>")
        .await
        .unwrap();
    let err = http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap_err();
    assert_eq!(mapped(&err), (ErrorCode::UpstreamError, false));
    drop(silent);
}

#[tokio::test]
async fn aws_sdk_failures_map_to_envelope_codes() {
    let moto = Moto::start().await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    let ssm = aws_sdk_ssm::Client::new(&Moto::sdk_config_for(&proxy.url()).await);
    for (status, code, retryable) in [
        (429, ErrorCode::Throttled, true),
        (403, ErrorCode::AccessDenied, false),
        (503, ErrorCode::Unavailable, true),
    ] {
        proxy.set_mode(Mode::Fail(status));
        let err = ssm.get_parameter().name("/x").send().await.unwrap_err();
        let e = ToolError::from_sdk("SSM", &err);
        assert_eq!(
            (e.code, e.retryable),
            (code, retryable),
            "HTTP {status}: {e}"
        );
    }

    // A real service error code from moto itself.
    proxy.set_mode(Mode::Pass);
    let err = ssm
        .get_parameter()
        .name("/does/not/exist")
        .send()
        .await
        .unwrap_err();
    let e = ToolError::from_sdk("SSM", &err);
    assert_eq!((e.code, e.retryable), (ErrorCode::NotFound, false), "{e}");
    assert!(
        e.message.starts_with("SSM returned ParameterNotFound"),
        "{e}"
    );
}

#[tokio::test]
async fn https_is_verified_against_trusted_roots_only() {
    use std::process::Command;
    // A loopback HTTPS server with a self-signed certificate: the client must complete a
    // TLS handshake (the stack is wired) and refuse the certificate (nobody trusted signed it).
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let script = format!(
        "import http.server, ssl\n\
         s = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\n\
         c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain({:?}, {:?})\n\
         s.socket = c.wrap_socket(s.socket, server_side=True)\n\
         print('LISTENING', s.server_address[1], flush=True)\n\
         s.serve_forever()\n",
        cert.display().to_string(),
        key.display().to_string()
    );
    let mut command = Command::new("python3");
    command.args(["-c", &script]);
    let (_server, port) = integration_tests::process::ServerProcess::spawn_announcing(
        "https",
        &mut command,
        &dir.path().join("https.log"),
    )
    .unwrap();
    let err = client("devops-agent-test")
        .unwrap()
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    let chain = format!("{:?}", err);
    assert!(
        chain.contains("InvalidCertificate"),
        "refused for its certificate: {chain}"
    );
    assert_eq!(mapped(&err).0, ErrorCode::Unavailable);
}
