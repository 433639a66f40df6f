//! `devops-agent`, the terminal client: asks the agent through its Function URL and prints
//! the answer as it streams, and lists or calls the tools through the MCP endpoint. It runs on
//! an operator's machine; it is not a Lambda and is in no zip.
//!
//! * [`args`]: the command line and the help text ([`args::USAGE`], which also lists the
//!   exit statuses of [`Exit`]).
//! * [`ask`]: `ask`: one POST with `Accept: text/event-stream`, the events of contract §2.9
//!   printed as they arrive ([`ask::Printer`]).
//! * [`sse`]: Server-Sent Events read from the body chunk by chunk.
//! * [`sign`]: SigV4 (service `lambda`) with the AWS SDK's default credential chain, and when
//!   to sign (never for a loopback URL unless asked).
//! * [`session`]: the session id kept per URL between runs.
//! * [`mcp`]: `tools`: a Model Context Protocol client over Streamable HTTP.
//!
//! [`run`] is the whole program with its inputs passed in (arguments, environment, stdin,
//! stdout, stderr), so `main.rs` only wires the process's own.

#![warn(missing_docs)]

pub mod args;
pub mod ask;
pub mod mcp;
pub mod session;
pub mod sign;
pub mod sse;

use std::{fmt, io::Write, time::Duration};

use reqwest::Url;

use crate::args::{Command, Target};

/// The program's exit statuses ([`args::USAGE`] documents them for the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Answered.
    Ok = 0,
    /// The agent or the tool answered with an error: its envelope, an MCP `isError` result,
    /// a JSON-RPC error.
    Agent = 1,
    /// The command line is wrong, or names no URL.
    Usage = 2,
    /// No connection, a stream cut before its last event, or stdout could not be written.
    Network = 3,
    /// An HTTP answer that is neither the stream nor the agent's own (an authorizer's 403, a
    /// proxy's 502).
    Refused = 4,
    /// The request could not be signed: no credentials, no region.
    Credentials = 5,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A failure, with the exit status it ends the program with. The message is printed as
/// `devops-agent: <message>` on stderr (an agent error's own lines are printed by
/// [`ask::Printer`] before it, so its message may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The exit status.
    pub exit: Exit,
    /// What went wrong, for the person at the terminal.
    pub message: String,
}

impl CliError {
    /// A failure ending the program with `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A failure to write the output (stdout closed: `| head`).
    pub fn output(e: std::io::Error) -> Self {
        Self::new(Exit::Network, format!("could not write the output: {e}"))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Where the program reads and writes: the process's own in `main.rs`, buffers in tests.
pub struct Io<'a> {
    /// An environment variable's value.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The whole of stdin (read only for `ask -`).
    pub stdin: &'a mut dyn FnMut() -> std::io::Result<String>,
    /// The answer, the tool list, a tool's result.
    pub out: &'a mut dyn Write,
    /// Tool lines, the closing summary, warnings and errors.
    pub err: &'a mut dyn Write,
}

/// The environment variable holding the agent's Function URL.
pub const URL_VAR: &str = "DEVOPS_AGENT_URL";
/// The environment variable holding the MCP endpoint.
pub const MCP_URL_VAR: &str = "DEVOPS_AGENT_MCP_URL";

/// Runs the command line `words` (without the program name) and returns the exit status.
pub async fn run(words: &[String], io: Io<'_>) -> Exit {
    let Io {
        env,
        stdin,
        out,
        err,
    } = io;
    let result = match args::parse(words) {
        Err(e) => Err(CliError::new(
            Exit::Usage,
            format!("{e} (devops-agent --help shows the usage)"),
        )),
        Ok(Command::Help) => out
            .write_all(args::USAGE.as_bytes())
            .map_err(CliError::output),
        Ok(Command::Version) => {
            writeln!(out, "devops-agent {}", env!("CARGO_PKG_VERSION")).map_err(CliError::output)
        }
        Ok(Command::Ask(ask)) => run_ask(ask, env, stdin, out, err).await,
        Ok(Command::ToolsList { target, json }) => match mcp_client(&target, env).await {
            Ok(mut client) => mcp::list(&mut client, json, out).await,
            Err(e) => Err(e),
        },
        Ok(Command::ToolsCall(call)) => match mcp_client(&call.target, env).await {
            Ok(mut client) => mcp::call(&mut client, &call.tool, call.arguments, out, err).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            if !e.message.is_empty() {
                let _ = writeln!(err, "devops-agent: {}", e.message);
            }
            e.exit
        }
    }
}

async fn run_ask(
    ask: args::Ask,
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn FnMut() -> std::io::Result<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let url = target_url(&ask.target, env, URL_VAR, "--url")?;
    let prompt = match ask.prompt {
        Some(prompt) => prompt,
        None => stdin().map(|text| text.trim().to_owned()).map_err(|e| {
            CliError::new(
                Exit::Usage,
                format!("could not read the question from stdin: {e}"),
            )
        })?,
    };
    if prompt.trim().is_empty() {
        return Err(CliError::new(Exit::Usage, "the question is empty"));
    }
    let signer = signer_for(&ask.target, &url).await?;
    let store = session::Store::locate(env);
    let key = url.as_str().to_owned();
    let session = match ask.session {
        args::SessionChoice::Given(id) => Some(id),
        args::SessionChoice::Kept => store.get(&key),
        args::SessionChoice::New => {
            if store.get(&key).is_some()
                && let Err(e) = store.set(&key, None)
            {
                let _ = writeln!(err, "devops-agent: could not forget the kept session: {e}");
            }
            None
        }
    };
    let output = ask::ask(
        &client()?,
        &url,
        signer.as_ref(),
        &prompt,
        session.as_deref(),
        &mut ask::Printer::new(out, err),
    )
    .await?;
    if let Some(id) = output.get("session_id").and_then(|v| v.as_str())
        && let Err(e) = store.set(&key, Some(id))
    {
        let _ = writeln!(
            err,
            "devops-agent: the session is not kept for the next question ({e}): pass --session {id}"
        );
    }
    Ok(())
}

async fn mcp_client(
    target: &Target,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<mcp::Client, CliError> {
    let url = target_url(target, env, MCP_URL_VAR, "--mcp-url")?;
    let signer = signer_for(target, &url).await?;
    Ok(mcp::Client::new(client()?, url, signer))
}

/// The URL from the flag, else the environment; parsed, http(s) only.
fn target_url(
    target: &Target,
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
    flag: &str,
) -> Result<Url, CliError> {
    let text = target
        .url
        .clone()
        .or_else(|| env(var).filter(|v| !v.trim().is_empty()))
        .ok_or_else(|| CliError::new(Exit::Usage, format!("no URL: pass {flag} or set {var}")))?;
    let url = Url::parse(text.trim())
        .map_err(|e| CliError::new(Exit::Usage, format!("{flag} {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CliError::new(
            Exit::Usage,
            format!("{flag} {text:?} is not an http(s) URL"),
        ));
    }
    Ok(url)
}

async fn signer_for(target: &Target, url: &Url) -> Result<Option<sign::Signer>, CliError> {
    if !sign::should_sign(target.signing, url) {
        return Ok(None);
    }
    sign::Signer::from_chain(target.region.as_deref(), url)
        .await
        .map(Some)
}

/// The HTTP client: rustls on ring trusting Mozilla's roots compiled in (the same roots the
/// AWS SDK's client gets), HTTP/2 when the server offers it. No overall timeout: an answer
/// takes as long as the agent's loop (Ctrl-C stops it, and the agent with it); a connection
/// silent for 15 minutes, Lambda's longest run, is given up.
pub fn client() -> Result<reqwest::Client, CliError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let mut tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| CliError::new(Exit::Network, format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("devops-agent/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(15 * 60))
        .build()
        .map_err(|e| CliError::new(Exit::Network, format!("the HTTP client: {e}")))
}

/// Sends `request`, signed first when there is a signer; a failure to reach the server is
/// [`Exit::Network`].
pub async fn send(
    client: &reqwest::Client,
    mut request: reqwest::Request,
    signer: Option<&sign::Signer>,
) -> Result<reqwest::Response, CliError> {
    if let Some(signer) = signer {
        signer.sign(&mut request)?;
    }
    let host = request.url().host_str().unwrap_or_default().to_owned();
    client.execute(request).await.map_err(|e| {
        CliError::new(
            Exit::Network,
            format!("could not reach {host}: {}", chain(&e)),
        )
    })
}

/// An error and its sources, `a: b: c` (reqwest's own text alone says "error sending
/// request", not why).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// The response's status, content type and start of body, for an answer that is not the
/// agent's: [`Exit::Refused`].
pub async fn refused(response: reqwest::Response) -> CliError {
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_owned();
    let body = response.text().await.unwrap_or_default();
    CliError::new(
        Exit::Refused,
        format!("HTTP {status} ({kind}): {}", body_start(&body)),
    )
}

/// The first 500 characters of a body on one line, for an error message.
pub fn body_start(body: &str) -> String {
    let flat: String = body
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None if flat.is_empty() => "(empty body)".to_owned(),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_start_is_one_short_line() {
        assert_eq!(body_start("  <html>\n<b>502</b>\r\n "), "<html> <b>502</b>");
        assert_eq!(body_start(""), "(empty body)");
        let long = "é".repeat(600);
        let start = body_start(&long);
        assert_eq!(start.chars().count(), 501);
        assert!(start.ends_with('…'));
    }

    #[test]
    fn the_url_comes_from_the_flag_then_the_environment() {
        let env =
            |key: &str| (key == URL_VAR).then(|| "http://127.0.0.1:9/lambda-url/agent/".to_owned());
        let none = |_: &str| None;
        let flag = Target {
            url: Some("https://abc.lambda-url.eu-west-1.on.aws".to_owned()),
            ..Target::default()
        };
        assert_eq!(
            target_url(&flag, &env, URL_VAR, "--url").unwrap().as_str(),
            "https://abc.lambda-url.eu-west-1.on.aws/"
        );
        assert_eq!(
            target_url(&Target::default(), &env, URL_VAR, "--url")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/lambda-url/agent/"
        );
        let missing = target_url(&Target::default(), &none, URL_VAR, "--url").unwrap_err();
        assert_eq!(missing.exit, Exit::Usage);
        assert!(missing.message.contains("DEVOPS_AGENT_URL"), "{missing}");
        for bad in ["ftp://x/", "not a url", "file:///tmp/x"] {
            let target = Target {
                url: Some(bad.to_owned()),
                ..Target::default()
            };
            assert_eq!(
                target_url(&target, &none, URL_VAR, "--url")
                    .unwrap_err()
                    .exit,
                Exit::Usage,
                "{bad}"
            );
        }
    }
}
