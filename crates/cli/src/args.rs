//! The command line: a hand-written parser for a handful of subcommands and flags (clap would
//! add more build time than this whole crate for the same few options), and the help text.
//!
//! Flags may come anywhere after the subcommand, as `--flag value` or `--flag=value`; `--`
//! ends them, so a question may start with a dash. Whatever breaks these rules is a
//! [`UsageError`], which the caller prints with a pointer to `--help` and exits with
//! [`crate::Exit::Usage`].

use std::fmt;

/// The help text, `devops-agent --help`.
pub const USAGE: &str = "\
devops-agent: ask the DevOps agent from a terminal, and list or call its tools.

Usage:
  devops-agent ask [options] <question>...      ask; the answer streams as it is written
  devops-agent ask [options] -                  the question from stdin
  devops-agent tools [list] [options] [--json]  the agent's tools, through the MCP endpoint
  devops-agent tools call [options] <tool> ['<json object>'] [--arg key=value]...
  devops-agent --help | --version

Options:
  --url URL        the agent's Function URL (default: env DEVOPS_AGENT_URL)
  --mcp-url URL    the MCP endpoint, for `tools` (default: env DEVOPS_AGENT_MCP_URL)
  --session ID     ask: continue session ID (default: the last session asked at this URL)
  --new            ask: start a new session (the kept one is forgotten)
  --region REGION  the SigV4 signing region (default: the one in a
                   <id>.lambda-url.<region>.on.aws URL, else the AWS configuration's)
  --sign           sign even a loopback URL (e.g. for a local signature checker)
  --no-sign        never sign (loopback URLs, like make dev's, are never signed by default)
  --json           tools list: the full definitions (input schemas included) as JSON
  --arg KEY=VALUE  tools call: the argument KEY as the string VALUE; KEY:=VALUE reads
                   VALUE as JSON (numbers, true/false, objects); both override the JSON object

Output: the answer goes to stdout as it streams; a line per tool call
(`⚙ k8s_info workload_health · success · 120 ms`), the closing summary (stop reason, model
calls, tokens, cost when priced, latency, session id) and errors go to stderr. `tools call`
prints the tool's structured result as JSON on stdout.

Requests to a non-loopback URL are signed with SigV4 (service lambda) with credentials from
the AWS SDK's default chain: environment, profile (static keys, assume-role), web identity,
container, instance profile. For SSO, export them first:
  eval \"$(aws configure export-credentials --format env)\"

Sessions: the session id of the last answer is kept per URL in
$XDG_STATE_HOME/devops-agent/sessions.json (~/.local/state/devops-agent/sessions.json when
XDG_STATE_HOME is not set), so the next `ask` follows up on it.

Exit status:
  0  answered
  1  the agent or the tool answered with an error (its code and message are printed)
  2  usage: unknown option, missing question or URL, arguments that are not JSON
  3  network or I/O: no connection, the stream cut before its end, stdout closed
  4  an HTTP answer that is neither the agent's stream nor its error (an authorizer's 403,
     a proxy's 502): its status and the start of its body are printed
  5  cannot sign: no AWS credentials or no region
";

/// A command line that does not follow [`USAGE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// When to sign requests with SigV4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signing {
    /// Sign unless the URL is loopback (`make dev`'s emulator checks no signature).
    #[default]
    Auto,
    /// `--sign`: always.
    Always,
    /// `--no-sign`: never.
    Never,
}

/// Where the request goes and how it is signed: the options every subcommand takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// `--url` (ask) or `--mcp-url` (tools), before the environment's default is applied.
    pub url: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--sign` / `--no-sign`.
    pub signing: Signing,
}

/// Which session a question belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionChoice {
    /// The one kept for this URL, if any (the default).
    #[default]
    Kept,
    /// `--session ID`.
    Given(String),
    /// `--new`.
    New,
}

/// `devops-agent ask`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The agent's URL and signing.
    pub target: Target,
    /// The question: the positional words joined by spaces, or `None` for `-` (stdin).
    pub prompt: Option<String>,
    /// The session to continue, or a new one.
    pub session: SessionChoice,
}

/// `devops-agent tools call`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The MCP endpoint and signing.
    pub target: Target,
    /// The tool's name.
    pub tool: String,
    /// The arguments: the JSON object given, with the `--arg` pairs applied over it.
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `--help`, `-h`, `help`, or no arguments at all.
    Help,
    /// `--version`, `-V`.
    Version,
    /// Ask the agent.
    Ask(Ask),
    /// List the tools; `json` for the full definitions.
    ToolsList {
        /// The MCP endpoint and signing.
        target: Target,
        /// `--json`.
        json: bool,
    },
    /// Call one tool.
    ToolsCall(Call),
}

/// The flags one subcommand accepts, and the positional words, as read.
#[derive(Default)]
struct Parsed {
    url: Option<String>,
    mcp_url: Option<String>,
    region: Option<String>,
    sign: bool,
    no_sign: bool,
    session: Option<String>,
    new: bool,
    json: bool,
    args: Vec<String>,
    positional: Vec<String>,
    /// `-` alone among the positional words: read from stdin.
    stdin: bool,
}

/// Flags taking a value.
const VALUED: [&str; 5] = ["--url", "--mcp-url", "--region", "--session", "--arg"];
/// Flags without one.
const SWITCHES: [&str; 4] = ["--sign", "--no-sign", "--new", "--json"];

fn read_flags(words: &[String], allowed: &[&str]) -> Result<Parsed, UsageError> {
    let mut parsed = Parsed::default();
    let mut words = words.iter();
    let mut only_positional = false;
    while let Some(word) = words.next() {
        if only_positional || !word.starts_with("--") {
            if word == "-" && !only_positional {
                parsed.stdin = true;
            } else if word.starts_with('-') && word.len() > 1 && !only_positional {
                return Err(usage(format!("unknown option {word}")));
            } else {
                parsed.positional.push(word.clone());
            }
            continue;
        }
        if word == "--" {
            only_positional = true;
            continue;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word.as_str(), None),
        };
        if !VALUED.contains(&flag) && !SWITCHES.contains(&flag) {
            return Err(usage(format!("unknown option {flag}")));
        }
        if !allowed.contains(&flag) {
            return Err(usage(format!("{flag} does not apply here")));
        }
        if SWITCHES.contains(&flag) {
            if inline.is_some() {
                return Err(usage(format!("{flag} takes no value")));
            }
            match flag {
                "--sign" => parsed.sign = true,
                "--no-sign" => parsed.no_sign = true,
                "--new" => parsed.new = true,
                _ => parsed.json = true,
            }
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => words
                .next()
                .cloned()
                .ok_or_else(|| usage(format!("{flag} needs a value")))?,
        };
        let slot = match flag {
            "--arg" => {
                parsed.args.push(value);
                continue;
            }
            "--url" => &mut parsed.url,
            "--mcp-url" => &mut parsed.mcp_url,
            "--region" => &mut parsed.region,
            _ => &mut parsed.session,
        };
        if slot.replace(value).is_some() {
            return Err(usage(format!("{flag} is given twice")));
        }
    }
    if parsed.sign && parsed.no_sign {
        return Err(usage("--sign and --no-sign contradict each other"));
    }
    Ok(parsed)
}

impl Parsed {
    fn target(&self, url: Option<String>) -> Target {
        Target {
            url,
            region: self.region.clone(),
            signing: if self.sign {
                Signing::Always
            } else if self.no_sign {
                Signing::Never
            } else {
                Signing::Auto
            },
        }
    }
}

const TARGET_FLAGS: [&str; 3] = ["--region", "--sign", "--no-sign"];

/// Reads the command line (without the program name).
pub fn parse(words: &[String]) -> Result<Command, UsageError> {
    let Some((first, rest)) = words.split_first() else {
        return Ok(Command::Help);
    };
    if rest
        .iter()
        .take_while(|w| *w != "--")
        .any(|w| w == "--help" || w == "-h")
    {
        return Ok(Command::Help);
    }
    match first.as_str() {
        "--help" | "-h" | "help" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        "ask" => parse_ask(rest),
        "tools" => parse_tools(rest),
        other => Err(usage(format!(
            "unknown command {other:?}: the commands are ask and tools"
        ))),
    }
}

fn parse_ask(words: &[String]) -> Result<Command, UsageError> {
    let mut allowed = vec!["--url", "--session", "--new"];
    allowed.extend(TARGET_FLAGS);
    let parsed = read_flags(words, &allowed)?;
    let session = match (parsed.session.clone(), parsed.new) {
        (Some(_), true) => return Err(usage("--session and --new contradict each other")),
        (Some(id), false) => SessionChoice::Given(id),
        (None, true) => SessionChoice::New,
        (None, false) => SessionChoice::Kept,
    };
    let prompt = match (parsed.stdin, parsed.positional.is_empty()) {
        (true, true) => None,
        (true, false) => {
            return Err(usage("a question is either words or - (stdin), not both"));
        }
        (false, true) => return Err(usage("ask needs a question: devops-agent ask \"…\"")),
        (false, false) => Some(parsed.positional.join(" ")),
    };
    Ok(Command::Ask(Ask {
        target: parsed.target(parsed.url.clone()),
        prompt,
        session,
    }))
}

fn parse_tools(words: &[String]) -> Result<Command, UsageError> {
    let (action, rest) = match words.split_first() {
        Some((w, rest)) if w == "list" || w == "call" => (w.as_str(), rest),
        _ => ("list", words),
    };
    let mut allowed = vec!["--mcp-url"];
    allowed.extend(TARGET_FLAGS);
    if action == "list" {
        allowed.push("--json");
        let parsed = read_flags(rest, &allowed)?;
        if let Some(word) = parsed.positional.first() {
            return Err(usage(format!(
                "unexpected {word:?}: the tools subcommands are list and call"
            )));
        }
        if parsed.stdin {
            return Err(usage("unexpected -"));
        }
        return Ok(Command::ToolsList {
            target: parsed.target(parsed.mcp_url.clone()),
            json: parsed.json,
        });
    }
    allowed.push("--arg");
    let parsed = read_flags(rest, &allowed)?;
    if parsed.stdin {
        return Err(usage("unexpected -"));
    }
    let (tool, json) = match parsed.positional.as_slice() {
        [tool] => (tool.clone(), None),
        [tool, json] => (tool.clone(), Some(json.as_str())),
        [] => return Err(usage("tools call needs a tool name")),
        [_, _, extra, ..] => {
            return Err(usage(format!(
                "unexpected {extra:?}: give the arguments as one JSON object or --arg pairs"
            )));
        }
    };
    let mut arguments = match json {
        None => serde_json::Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return Err(usage("the arguments must be a JSON object")),
            Err(e) => return Err(usage(format!("the arguments are not JSON: {e}"))),
        },
    };
    for pair in &parsed.args {
        let (key, value) = parse_arg(pair)?;
        arguments.insert(key, value);
    }
    Ok(Command::ToolsCall(Call {
        target: parsed.target(parsed.mcp_url.clone()),
        tool,
        arguments,
    }))
}

/// One `--arg`: `key=value` is the string `value`, `key:=value` is `value` read as JSON.
pub fn parse_arg(pair: &str) -> Result<(String, serde_json::Value), UsageError> {
    let at = pair
        .find('=')
        .ok_or_else(|| usage(format!("--arg {pair:?} is not key=value or key:=json")))?;
    let (key, value) = (&pair[..at], &pair[at + 1..]);
    if let Some(key) = key.strip_suffix(':') {
        if key.is_empty() {
            return Err(usage(format!("--arg {pair:?} has no key")));
        }
        let value = serde_json::from_str(value)
            .map_err(|e| usage(format!("--arg {key}:= is not JSON: {e}")))?;
        return Ok((key.to_owned(), value));
    }
    if key.is_empty() {
        return Err(usage(format!("--arg {pair:?} has no key")));
    }
    Ok((key.to_owned(), serde_json::Value::String(value.to_owned())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn words(line: &[&str]) -> Vec<String> {
        line.iter().map(|w| (*w).to_owned()).collect()
    }

    fn parse_line(line: &[&str]) -> Result<Command, UsageError> {
        parse(&words(line))
    }

    fn ask(line: &[&str]) -> Ask {
        match parse_line(line).unwrap() {
            Command::Ask(ask) => ask,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_and_version() {
        for line in [&[][..], &["--help"], &["-h"], &["help"], &["ask", "--help"]] {
            assert_eq!(parse_line(line).unwrap(), Command::Help, "{line:?}");
        }
        assert_eq!(parse_line(&["--version"]).unwrap(), Command::Version);
        // After `--`, --help is words of the question.
        assert_eq!(
            ask(&["ask", "--", "what", "does", "--help", "do?"])
                .prompt
                .as_deref(),
            Some("what does --help do?")
        );
    }

    #[test]
    fn ask_joins_words_and_reads_flags_anywhere() {
        let a = ask(&["ask", "is", "--url", "http://x/", "prod", "healthy?"]);
        assert_eq!(a.prompt.as_deref(), Some("is prod healthy?"));
        assert_eq!(a.target.url.as_deref(), Some("http://x/"));
        assert_eq!(a.target.signing, Signing::Auto);
        assert_eq!(a.session, SessionChoice::Kept);
        let a = ask(&[
            "ask",
            "--session=ops-1",
            "--no-sign",
            "--region",
            "eu-west-1",
            "q",
        ]);
        assert_eq!(a.session, SessionChoice::Given("ops-1".to_owned()));
        assert_eq!(a.target.signing, Signing::Never);
        assert_eq!(a.target.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            ask(&["ask", "--new", "--sign", "q"]).session,
            SessionChoice::New
        );
        assert_eq!(ask(&["ask", "-"]).prompt, None);
        assert_eq!(
            ask(&["ask", "--", "-x is a flag?"]).prompt.as_deref(),
            Some("-x is a flag?")
        );
    }

    #[test]
    fn usage_errors_name_the_problem() {
        for (line, says) in [
            (&["ask"][..], "needs a question"),
            (&["ask", "--verbose", "q"], "unknown option --verbose"),
            (&["ask", "-v", "q"], "unknown option -v"),
            (&["ask", "--session", "a", "--new", "q"], "contradict"),
            (&["ask", "--sign", "--no-sign", "q"], "contradict"),
            (&["ask", "--url"], "--url needs a value"),
            (&["ask", "--url", "a", "--url", "b", "q"], "given twice"),
            (&["ask", "--json", "q"], "--json does not apply"),
            (&["ask", "--new=yes", "q"], "takes no value"),
            (&["ask", "-", "q"], "not both"),
            (&["deploy"], "unknown command"),
            (&["tools", "call"], "needs a tool name"),
            (&["tools", "call", "t", "[1]"], "must be a JSON object"),
            (&["tools", "call", "t", "{"], "not JSON"),
            (&["tools", "call", "t", "{}", "x"], "unexpected \"x\""),
            (&["tools", "call", "t", "--arg", "novalue"], "not key=value"),
            (&["tools", "call", "t", "--arg", "n:=x"], "n:= is not JSON"),
            (&["tools", "call", "t", "--arg", "=v"], "has no key"),
            (
                &["tools", "list", "--session", "s"],
                "--session does not apply",
            ),
            (&["tools", "remove"], "list and call"),
            (&["tools", "call", "t", "--json"], "--json does not apply"),
        ] {
            let error = parse_line(line).unwrap_err();
            assert!(error.0.contains(says), "{line:?}: {error}");
        }
    }

    #[test]
    fn tools_list_is_the_default() {
        for line in [&["tools"][..], &["tools", "list"]] {
            assert_eq!(
                parse_line(line).unwrap(),
                Command::ToolsList {
                    target: Target::default(),
                    json: false
                }
            );
        }
        assert_eq!(
            parse_line(&["tools", "--json", "--mcp-url", "http://m/"]).unwrap(),
            Command::ToolsList {
                target: Target {
                    url: Some("http://m/".to_owned()),
                    ..Target::default()
                },
                json: true
            }
        );
    }

    #[test]
    fn tool_arguments_merge_the_object_and_the_pairs() {
        let Command::ToolsCall(call) = parse_line(&[
            "tools",
            "call",
            "k8s_info",
            r#"{"action": "pods", "namespace": "dev", "max_results": 5}"#,
            "--arg",
            "namespace=prod",
            "--arg=previous:=true",
            "--arg",
            "max_results:=10",
            "--arg",
            "note=a=b",
        ])
        .unwrap() else {
            panic!()
        };
        assert_eq!(call.tool, "k8s_info");
        assert_eq!(
            serde_json::Value::Object(call.arguments),
            json!({"action": "pods", "namespace": "prod", "max_results": 10, "previous": true, "note": "a=b"})
        );
        let Command::ToolsCall(call) = parse_line(&["tools", "call", "runbooks"]).unwrap() else {
            panic!()
        };
        assert!(call.arguments.is_empty());
    }
}
