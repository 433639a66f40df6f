//! The terminal client, `devops-agent` (crates/cli), run as a subprocess the way an operator
//! runs it, against the agent under `cargo lambda watch` (its Function URL, the Converse
//! double as the model, the real tool Lambdas behind the Invoke API, sessions in moto's
//! DynamoDB) and the MCP server under the same watcher: a streamed answer with its tool line
//! and closing summary, the text on stdout while it streams, follow-ups in the kept session
//! (proved by the history the model received), `--new` and `--session`, the exit statuses
//! of every kind of failure, SigV4 signatures checked by botocore in front of the agent and
//! of the MCP server, and `tools list` / `tools call` through the MCP endpoint.
//!
//! The binary is `target/debug/devops-agent`, built by `cargo build --workspace --bins`
//! (`make test` does it first). Every run gets a cleared environment: only what the test
//! gives it (so no AWS profile or credentials of the machine running the tests leak in), and
//! its own `HOME` and `XDG_STATE_HOME` in a temporary directory.

use std::{path::PathBuf, process::Stdio, time::Duration};

use integration_tests::{
    bedrock::{ConverseDouble, Pace, error, text, tool_uses},
    lambda::binary,
    moto::Moto,
    process::free_port,
    prometheus::{Prometheus, dataset},
    verifier::{ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SigV4Verifier},
    watch::CargoLambdaWatch,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const TABLE: &str = "agent-sessions";
/// How long one run of the client may take: cargo-lambda may compile a function on its
/// first invocation.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The client's exit statuses (crates/cli/src/lib.rs, `Exit`).
const AGENT_ERROR: i32 = 1;
const USAGE: i32 = 2;
const NETWORK: i32 = 3;
const REFUSED: i32 = 4;
const CANNOT_SIGN: i32 = 5;

struct Stack {
    _prometheus: Prometheus,
    _moto: Moto,
    converse: ConverseDouble,
    watch: CargoLambdaWatch,
}

async fn stack() -> Stack {
    let prometheus = Prometheus::start().await.unwrap();
    let moto = Moto::start().await.unwrap();
    moto.create_sessions_table(TABLE).await.unwrap();
    let converse = ConverseDouble::start().await.unwrap();
    let port = free_port().unwrap();
    let mut env = moto.env();
    env.extend(
        [
            ("PROMETHEUS_URL", prometheus.url().to_owned()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", converse.url()),
            (
                "AWS_ENDPOINT_URL_LAMBDA",
                format!("http://127.0.0.1:{port}"),
            ),
            ("MODEL_ID", MODEL.to_owned()),
            ("AGENT_SESSIONS_TABLE", TABLE.to_owned()),
            // Priced, so the closing summary has a cost.
            ("MODEL_PRICE_INPUT_PER_MTOK", "3".to_owned()),
            ("MODEL_PRICE_OUTPUT_PER_MTOK", "15".to_owned()),
            ("MODEL_PRICE_CACHE_READ_PER_MTOK", "0.3".to_owned()),
            ("MODEL_PRICE_CACHE_WRITE_PER_MTOK", "3.75".to_owned()),
            // cargo-lambda starts a function on its first invocation, which can take seconds.
            ("AGENT_TOOL_TIMEOUT_SECONDS", "120".to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", "warn".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let watch = CargoLambdaWatch::start_on(port, &env).await.unwrap();
    // Started (and compiled if out of date) before any question: a tool compiled during a
    // call would run into the agent's tool timeout.
    watch
        .warm(&["agent", "prometheus-query", "mcp-server"])
        .await
        .unwrap();
    Stack {
        _prometheus: prometheus,
        _moto: moto,
        converse,
        watch,
    }
}

impl Stack {
    fn agent_url(&self) -> String {
        format!("{}/lambda-url/agent/", self.watch.url())
    }

    fn mcp_url(&self) -> String {
        format!("{}/lambda-url/mcp-server/", self.watch.url())
    }
}

/// A home for the client: `HOME` and `XDG_STATE_HOME` (the kept sessions) in a temporary
/// directory.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("cli-home-")
                .tempdir()
                .unwrap(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The kept sessions, `{url: id}`.
    fn sessions(&self) -> Value {
        let path = self.state().join("devops-agent/sessions.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(_) => json!({}),
        }
    }

    /// The environment of a run: the home, no AWS configuration of this machine, and `extra`.
    fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let home = self.dir.path();
        let mut env = vec![
            ("HOME".to_owned(), home.display().to_string()),
            (
                "XDG_STATE_HOME".to_owned(),
                self.state().display().to_string(),
            ),
            (
                "AWS_CONFIG_FILE".to_owned(),
                home.join("no-aws-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                home.join("no-aws-credentials").display().to_string(),
            ),
            // No instance metadata lookups from a test.
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// Runs the client with `args` and `extra` environment to its end.
    async fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        self.run_with_stdin(args, extra, "").await
    }

    /// [`Home::run`] with `input` on the client's stdin.
    async fn run_with_stdin(&self, args: &[&str], extra: &[(&str, &str)], input: &str) -> Run {
        let mut child = client(args, &self.env(extra))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // The client reads stdin only for `ask -`; otherwise the write may find it closed.
        let _ = stdin.write_all(input.as_bytes()).await;
        drop(stdin);
        let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
            .await
            .expect("the client finished in time")
            .unwrap();
        Run {
            status: output.status.code().expect("the client exited, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

fn client(args: &[&str], env: &[(String, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("devops-agent").unwrap());
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// One finished run of the client.
#[derive(Debug)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_status(&self, status: i32) -> &Self {
        assert_eq!(self.status, status, "{self:#?}");
        self
    }

    /// The session id in the closing summary (`… · session <id>`).
    fn session(&self) -> String {
        let footer = self
            .stderr
            .lines()
            .find(|l| l.starts_with("── "))
            .unwrap_or_else(|| panic!("no closing summary: {self:#?}"));
        footer
            .rsplit_once(" · session ")
            .map(|(_, id)| id.to_owned())
            .unwrap_or_else(|| panic!("no session in {footer}"))
    }
}

/// The texts of the messages the model received in its `n`-th request.
fn history(requests: &[(String, Value)], n: usize) -> Vec<String> {
    requests[n].1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().unwrap())
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_answer_streams_with_its_tool_line_and_follow_ups_keep_the_session() {
    let s = stack().await;
    let home = Home::new();
    let url = s.agent_url();
    let t = dataset::T0 + 60;
    s.converse.script([
        tool_uses(
            Some("Checking the targets."),
            &[(
                "tu-1",
                "prometheus_query",
                json!({"query": "sum(up)", "time": t}),
            )],
        ),
        text("2 of 3 targets are up.", "end_turn"),
        text("Check db-1 first.", "end_turn"),
        text("A fresh start.", "end_turn"),
        text("Back in the first session.", "end_turn"),
    ]);

    let first = home
        .run(&["ask", "--url", &url, "How many", "targets are up?"], &[])
        .await;
    first.assert_status(0);
    // The answer alone on stdout: each cycle's text, a paragraph apart.
    assert_eq!(
        first.stdout,
        "Checking the targets.\n\n2 of 3 targets are up.\n"
    );
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{first:#?}");
    assert!(
        lines[0].starts_with("⚙ prometheus_query · success · ") && lines[0].ends_with(" ms"),
        "{}",
        lines[0]
    );
    // Two model calls of 100 in / 20 out tokens (and 30 cache reads, 10 cache writes) at $3,
    // $15, $0.30 and $3.75 per million: $0.001293.
    assert!(
        lines[1].starts_with("── end_turn · 2 model call(s) · 200 in / 40 out tokens · $0.0013 · "),
        "{}",
        lines[1]
    );
    let session = first.session();
    assert_eq!(session.len(), 32, "{session}");
    assert_eq!(home.sessions(), json!({ &url: &session }));

    // A follow-up (read from stdin) carries the kept session: the model receives the first
    // exchange.
    let follow_up = home
        .run_with_stdin(
            &["ask", "--url", &url, "-"],
            &[],
            "  What should I check first?\n",
        )
        .await;
    follow_up.assert_status(0);
    assert_eq!(follow_up.stdout, "Check db-1 first.\n");
    assert_eq!(follow_up.session(), session);
    let requests = s.converse.take_requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        history(&requests, 0),
        ["How many targets are up?"],
        "the words of the question were joined"
    );
    assert_eq!(
        history(&requests, 2),
        [
            "How many targets are up?",
            "Checking the targets.",
            "2 of 3 targets are up.",
            "What should I check first?"
        ]
    );

    // --new: no history, a new id, kept in place of the old one (the URL from the
    // environment this time).
    let fresh = home
        .run(
            &["ask", "--new", "Start over"],
            &[("DEVOPS_AGENT_URL", &url)],
        )
        .await;
    fresh.assert_status(0);
    assert_eq!(fresh.stdout, "A fresh start.\n");
    let new_session = fresh.session();
    assert_ne!(new_session, session);
    assert_eq!(home.sessions(), json!({ &url: &new_session }));
    let requests = s.converse.take_requests();
    assert_eq!(history(&requests, 0), ["Start over"]);

    // --session goes back to the first conversation, and keeps it.
    let back = home
        .run(
            &["ask", "--url", &url, "--session", &session, "And now?"],
            &[],
        )
        .await;
    back.assert_status(0);
    assert_eq!(back.session(), session);
    let requests = s.converse.take_requests();
    let texts = history(&requests, 0);
    assert_eq!(
        (
            texts.first().map(String::as_str),
            texts.last().map(String::as_str),
            texts.len()
        ),
        (Some("How many targets are up?"), Some("And now?"), 6),
        "{texts:?}"
    );
    assert_eq!(home.sessions(), json!({ &url: &session }));
}

/// Text is written as it arrives: with the model writing a word every 150 ms, the first
/// words are on stdout while the client is still running.
#[tokio::test]
async fn the_answer_is_on_stdout_while_it_streams() {
    let s = stack().await;
    let home = Home::new();
    s.converse.pace(Pace {
        first: Duration::ZERO,
        per_delta: Duration::from_millis(150),
    });
    let words = vec!["word"; 30].join(" ");
    s.converse.script([text(&words, "end_turn")]);
    let url = s.agent_url();
    let mut child = client(&["ask", "--url", &url, "Tell me a story"], &home.env(&[]))
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0; 64];
    let n = tokio::time::timeout(RUN_TIMEOUT, stdout.read(&mut first))
        .await
        .expect("text arrived")
        .unwrap();
    assert!(n > 0);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the client had ended before its first text was read"
    );
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(
        first.starts_with("word") && first.len() < words.len(),
        "{first}"
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    let status = tokio::time::timeout(RUN_TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(first + &rest, format!("{words}\n"));
}

#[tokio::test]
async fn an_agent_error_exits_1_with_its_code_and_request_id() {
    let s = stack().await;
    let home = Home::new();
    let url = s.agent_url();
    s.converse.script([
        text("First answer.", "end_turn"),
        error(
            400,
            "ValidationException",
            "The model rejected the request.",
        ),
    ]);
    let kept = home.run(&["ask", "--url", &url, "Hello"], &[]).await;
    kept.assert_status(0);
    let session = kept.session();

    // A model error: an `error` event; the kept session stays.
    let failed = home.run(&["ask", "--url", &url, "Again"], &[]).await;
    failed.assert_status(AGENT_ERROR);
    assert_eq!(failed.stdout, "");
    assert!(
        failed.stderr.starts_with("error: UPSTREAM_ERROR: ")
            && failed.stderr.contains("The model rejected the request.")
            && failed.stderr.contains(" · request "),
        "{failed:#?}"
    );
    assert_eq!(home.sessions(), json!({ &url: &session }));

    // An invalid question, refused by the agent before any model call.
    let long = "x".repeat(10_001);
    let invalid = home.run(&["ask", "--url", &url, &long], &[]).await;
    invalid.assert_status(AGENT_ERROR);
    assert!(
        invalid.stderr.starts_with("error: INVALID_INPUT: ") && invalid.stderr.contains("10000"),
        "{invalid:#?}"
    );
    // So is an invalid session id.
    let bad_session = home
        .run(
            &["ask", "--url", &url, "--session", "not a valid id!", "Hi"],
            &[],
        )
        .await;
    bad_session.assert_status(AGENT_ERROR);
    assert!(
        bad_session.stderr.starts_with("error: INVALID_INPUT: "),
        "{bad_session:#?}"
    );
    assert_eq!(s.converse.left(), 0);
    assert_eq!(
        s.converse.take_requests().len(),
        2,
        "bad input reached the model"
    );
}

/// Failures that never reach the agent, each with its own exit status: no stack needed.
#[tokio::test]
async fn usage_network_and_refusals_have_their_own_exit_statuses() {
    let home = Home::new();

    let help = home.run(&["--help"], &[]).await;
    help.assert_status(0);
    assert!(help.stdout.contains("Exit status:"), "{help:#?}");
    let no_url = home.run(&["ask", "Is prod healthy?"], &[]).await;
    no_url.assert_status(USAGE);
    assert!(no_url.stderr.contains("DEVOPS_AGENT_URL"), "{no_url:#?}");
    home.run(&["ask", "--url", "http://127.0.0.1:9/"], &[])
        .await
        .assert_status(USAGE);
    home.run(&["ask", "--verbose", "q"], &[])
        .await
        .assert_status(USAGE);
    let blank = home
        .run_with_stdin(&["ask", "--url", "http://127.0.0.1:9/", "-"], &[], " \n\t")
        .await;
    blank.assert_status(USAGE);
    assert!(blank.stderr.contains("the question is empty"), "{blank:#?}");
    home.run(
        &["tools", "call"],
        &[("DEVOPS_AGENT_MCP_URL", "http://127.0.0.1:9/")],
    )
    .await
    .assert_status(USAGE);

    // Nothing listens: a network failure.
    let closed = format!(
        "http://127.0.0.1:{}/lambda-url/agent/",
        free_port().unwrap()
    );
    let refused_connection = home.run(&["ask", "--url", &closed, "Hi"], &[]).await;
    refused_connection.assert_status(NETWORK);
    assert!(
        refused_connection
            .stderr
            .contains("could not reach 127.0.0.1"),
        "{refused_connection:#?}"
    );

    // Something in front of the function answers instead of it.
    for (status, body) in [
        (403, r#"{"Message":"Forbidden"}"#),
        (502, "<html><body>502 Bad Gateway</body></html>"),
    ] {
        let url = integration_tests::answering(status, body).await.unwrap();
        let run = home.run(&["ask", "--url", &url, "Hi"], &[]).await;
        run.assert_status(REFUSED);
        assert!(
            run.stderr.contains(&format!("HTTP {status}")) && run.stderr.contains(body),
            "{run:#?}"
        );
        let tools = home.run(&["tools", "--mcp-url", &url], &[]).await;
        tools.assert_status(REFUSED);
        assert!(
            tools.stderr.contains(&format!("HTTP {status}")),
            "{tools:#?}"
        );
    }
    assert_eq!(
        home.sessions(),
        json!({}),
        "a failed question kept a session"
    );

    // Signing with no credentials anywhere (nor a region).
    let no_credentials = home
        .run(&["ask", "--url", &closed, "--sign", "Hi"], &[])
        .await;
    no_credentials.assert_status(CANNOT_SIGN);
    assert!(
        no_credentials.stderr.contains("region"),
        "{no_credentials:#?}"
    );
    let no_credentials = home
        .run(
            &[
                "ask",
                "--url",
                &closed,
                "--sign",
                "--region",
                "eu-west-1",
                "Hi",
            ],
            &[],
        )
        .await;
    no_credentials.assert_status(CANNOT_SIGN);
    assert!(
        no_credentials.stderr.contains("no AWS credentials"),
        "{no_credentials:#?}"
    );
}

/// The verifier's credentials, as the standard environment variables the default chain reads.
fn verifier_credentials(secret: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_REGION", "eu-west-1"),
    ]
}

/// botocore, in front of the agent and the MCP server, recomputes every signature the client
/// sends (service `lambda`, the region from the chain, the session token signed) and
/// forwards only what verifies; a wrong secret, or another region, is its 403.
#[tokio::test]
async fn signed_requests_pass_botocore_and_a_wrong_secret_is_refused() {
    let s = stack().await;
    let verifier =
        SigV4Verifier::start("lambda", "eu-west-1", true, Some(&s.watch.url()), None).unwrap();
    let home = Home::new();
    let url = format!("{}/lambda-url/agent/", verifier.url());
    s.converse
        .script([text("Signed and answered.", "end_turn")]);

    let signed = home
        .run(
            &["ask", "--url", &url, "--sign", "Is prod healthy?"],
            &verifier_credentials(SECRET_KEY),
        )
        .await;
    signed.assert_status(0);
    assert_eq!(
        signed.stdout,
        "Signed and answered.\n",
        "{}",
        verifier.logs()
    );

    let wrong = home
        .run(
            &["ask", "--url", &url, "--sign", "Is prod healthy?"],
            &verifier_credentials("not-the-secret"),
        )
        .await;
    wrong.assert_status(REFUSED);
    assert!(
        wrong.stderr.contains("HTTP 403") && wrong.stderr.contains("signature mismatch"),
        "{wrong:#?}"
    );
    let elsewhere = home
        .run(
            &[
                "ask",
                "--url",
                &url,
                "--sign",
                "--region",
                "us-east-1",
                "Hi",
            ],
            &verifier_credentials(SECRET_KEY),
        )
        .await;
    elsewhere.assert_status(REFUSED);
    assert!(
        elsewhere
            .stderr
            .contains("scope us-east-1/lambda is not eu-west-1/lambda"),
        "{elsewhere:#?}"
    );
    // Not signed: a loopback URL is not signed unless asked.
    let unsigned = home.run(&["ask", "--url", &url, "Hi"], &[]).await;
    unsigned.assert_status(REFUSED);
    assert!(
        unsigned.stderr.contains("missing authorization header"),
        "{unsigned:#?}"
    );
    assert_eq!(
        s.converse.take_requests().len(),
        1,
        "a refused request reached the model"
    );

    // The MCP exchange (initialize, the notification, tools/list) signed the same way.
    let mcp_url = format!("{}/lambda-url/mcp-server/", verifier.url());
    let tools = home
        .run(
            &["tools", "list", "--mcp-url", &mcp_url, "--sign"],
            &verifier_credentials(SECRET_KEY),
        )
        .await;
    tools.assert_status(0);
    assert!(tools.stdout.contains("prometheus_query"), "{tools:#?}");
    let wrong = home
        .run(
            &["tools", "list", "--mcp-url", &mcp_url, "--sign"],
            &verifier_credentials("not-the-secret"),
        )
        .await;
    wrong.assert_status(REFUSED);
    assert!(wrong.stderr.contains("signature mismatch"), "{wrong:#?}");
}

/// The names of the registered tools.
fn registered_tools() -> Vec<String> {
    common::tools::ALL
        .iter()
        .map(|t| t.parsed()["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn tools_are_listed_and_called_through_the_mcp_server() {
    let s = stack().await;
    let home = Home::new();
    let mcp = s.mcp_url();
    let env = [("DEVOPS_AGENT_MCP_URL", mcp.as_str())];

    let table = home.run(&["tools"], &env).await;
    table.assert_status(0);
    let names: Vec<&str> = table
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut expected = registered_tools();
    let mut listed: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected, "{table:#?}");
    assert!(
        table.stdout.lines().all(|l| l.chars().count() < 140),
        "one short line per tool: {}",
        table.stdout
    );

    let json = home.run(&["tools", "list", "--json"], &env).await;
    json.assert_status(0);
    let definitions: Value = serde_json::from_str(&json.stdout).unwrap();
    let definitions = definitions.as_array().unwrap();
    assert_eq!(definitions.len(), expected.len());
    assert!(
        definitions
            .iter()
            .all(|d| d["inputSchema"]["type"] == "object"),
        "{definitions:?}"
    );

    // A call: the tool's structured result as JSON on stdout.
    let t = (dataset::T0 + 60).to_string();
    let time = format!("time:={t}");
    let call = home
        .run(
            &[
                "tools",
                "call",
                "prometheus_query",
                r#"{"query": "sum(up)"}"#,
                "--arg",
                &time,
            ],
            &env,
        )
        .await;
    call.assert_status(0);
    let result: Value =
        serde_json::from_str(&call.stdout).unwrap_or_else(|e| panic!("{e}: {call:#?}"));
    assert!(result.to_string().contains("\"value\""), "{result}");

    // The tool refuses its input: its envelope's code, exit 1.
    let refused = home
        .run(
            &[
                "tools",
                "call",
                "prometheus_query",
                "--arg",
                "query=sum(up",
                "--arg",
                &time,
            ],
            &env,
        )
        .await;
    refused.assert_status(AGENT_ERROR);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.starts_with("error: ") && refused.stderr.contains("INVALID_INPUT"),
        "{refused:#?}"
    );

    // A tool that does not exist: the server's JSON-RPC error (or its tool error), exit 1.
    let unknown = home.run(&["tools", "call", "no_such_tool"], &env).await;
    unknown.assert_status(AGENT_ERROR);
    assert!(unknown.stderr.contains("no_such_tool"), "{unknown:#?}");
}
