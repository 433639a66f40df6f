//! Running a tool Lambda from another function: the one way the agent and the MCP server
//! reach the tools (feature `invoke`).
//!
//! * [`ToolFunctions`]: which Lambda function implements each tool of [`crate::tools::ALL`]:
//!   `tools/<function>/function` when configured (the template sets each to the deployed
//!   function's name), else the crate's own name. Only registered tools have an entry, so a
//!   caller can never name a function to invoke: it names a tool, and the map answers.
//! * [`Invoker`]: the Lambda Invoke call behind a trait, so tests run tools in process;
//!   [`LambdaInvoker`] is the real one, its client built on the first call (nothing slow
//!   before the runtime's first poll).
//! * [`invoke_within`]: one call bounded by a timeout, a timeout named as `UPSTREAM_TIMEOUT`
//!   (retryable), and [`tool_timeout`]: how long a call may take before the caller's own
//!   deadline.
//!
//! A tool answers its failures with the error envelope (docs/contract.md §1.5); a Lambda
//! function error (a crash, the tool's own timeout) is reported as `UPSTREAM_ERROR`
//! (retryable), a function that does not exist as `NOT_FOUND` naming it.

use std::{collections::HashMap, future::Future, time::Duration};

use aws_sdk_lambda::primitives::Blob;

use crate::{
    Settings,
    deadline::{ANSWER_RESERVE, Deadline},
    error::{ErrorCode, ToolError},
};

/// Runs a function with a JSON payload and returns its response payload.
pub trait Invoker: Send + Sync {
    /// Invokes `function` synchronously; the caller bounds the time ([`invoke_within`]).
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, ToolError>> + Send;
}

/// The Lambda Invoke API; the client is built on first use.
#[derive(Debug, Default)]
pub struct LambdaInvoker {
    client: tokio::sync::OnceCell<aws_sdk_lambda::Client>,
}

impl LambdaInvoker {
    /// An invoker whose client is built on the first call, from [`crate::aws::sdk_config`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An invoker using `client` (tests point it at `cargo lambda watch`).
    pub fn with_client(client: aws_sdk_lambda::Client) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, ToolError> {
        let client = self
            .client
            .get_or_init(|| async { aws_sdk_lambda::Client::new(crate::aws::sdk_config().await) })
            .await;
        let out = client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                let mut error = ToolError::from_sdk("AWS Lambda", &e);
                if error.code == ErrorCode::NotFound {
                    error.message = format!("the tool function {function} does not exist");
                }
                error
            })?;
        if let Some(kind) = out.function_error() {
            // Our tools answer failures with the envelope; a function error is a crash or a
            // timeout of the tool itself.
            return Err(ToolError {
                code: ErrorCode::UpstreamError,
                message: format!("the tool function {function} failed ({kind})"),
                retryable: true,
            });
        }
        Ok(out
            .payload()
            .map(|p| p.as_ref().to_vec())
            .unwrap_or_default())
    }
}

/// How long a tool may run: `wanted`, or less when `deadline` is nearer, keeping back two
/// [`ANSWER_RESERVE`]s: one for the caller's own answer, one for the Invoke call's return.
pub fn tool_timeout(wanted: Duration, deadline: &Deadline) -> Duration {
    deadline
        .remaining()
        .saturating_sub(ANSWER_RESERVE * 2)
        .min(wanted)
}

/// Invokes `function` (the implementation of tool `tool`) with `payload`, giving up after
/// `timeout` with a retryable `UPSTREAM_TIMEOUT` that names the tool.
pub async fn invoke_within<I: Invoker>(
    invoker: &I,
    tool: &str,
    function: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, ToolError> {
    match tokio::time::timeout(timeout, invoker.invoke(function, payload)).await {
        Ok(result) => result,
        Err(_) => Err(ToolError::new(
            ErrorCode::UpstreamTimeout,
            format!(
                "the tool {tool} did not answer within {} ms",
                timeout.as_millis()
            ),
        )),
    }
}

/// The Lambda function behind each registered tool (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFunctions {
    functions: HashMap<String, String>,
}

impl ToolFunctions {
    /// Every tool of [`crate::tools::ALL`], each mapped to `tools/<function>/function` (trimmed)
    /// or, when that is unset or blank, its crate's name.
    pub fn from_settings(settings: &Settings) -> Self {
        let functions = crate::tools::ALL
            .iter()
            .map(|tool| {
                let key = format!("tools/{}/function", tool.function);
                let function = settings
                    .get(&key)
                    .map(|f| f.trim().to_owned())
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| tool.function.to_owned());
                (tool.name.to_owned(), function)
            })
            .collect();
        Self { functions }
    }

    /// The function implementing tool `name` (`web_search`), if it is a registered tool.
    pub fn function(&self, name: &str) -> Option<&str> {
        self.functions.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_tool_maps_to_its_configured_function_or_its_crate() {
        let settings = Settings::from_values(HashMap::from([
            (
                "tools/web-search/function".to_owned(),
                " arn:aws:lambda:us-east-1:123456789012:function:search-prod ".to_owned(),
            ),
            ("tools/cloudtrail/function".to_owned(), "  ".to_owned()),
        ]));
        let f = ToolFunctions::from_settings(&settings);
        assert_eq!(
            f.function("web_search"),
            Some("arn:aws:lambda:us-east-1:123456789012:function:search-prod")
        );
        assert_eq!(f.function("eks_info"), Some("eks-info"));
        assert_eq!(f.function("cloudtrail"), Some("cloudtrail"));
        // Names of functions are not names of tools; nothing else is reachable.
        assert_eq!(f.function("eks-info"), None);
        assert_eq!(f.function("delete_cluster"), None);
        for tool in crate::tools::ALL {
            assert!(f.function(tool.name).is_some(), "{}", tool.function);
        }
    }

    struct Never(AtomicUsize);

    impl Invoker for Never {
        async fn invoke(&self, _: &str, _: Vec<u8>) -> Result<Vec<u8>, ToolError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_call_that_never_answers_is_a_timeout_naming_the_tool() {
        let never = Never(AtomicUsize::new(0));
        let e = invoke_within(
            &never,
            "k8s_info",
            "k8s-info",
            b"{}".to_vec(),
            Duration::from_millis(20),
        )
        .await
        .unwrap_err();
        assert_eq!((e.code, e.retryable), (ErrorCode::UpstreamTimeout, true));
        assert_eq!(e.message, "the tool k8s_info did not answer within 20 ms");
        assert_eq!(never.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_timeout_keeps_two_reserves_before_the_deadline() {
        let wanted = Duration::from_secs(20);
        let far = Deadline::after(Duration::from_secs(60));
        assert_eq!(tool_timeout(wanted, &far), wanted);
        let near = tool_timeout(wanted, &Deadline::after(Duration::from_secs(2)));
        assert!(near <= Duration::from_millis(1_600), "{near:?}");
        assert_eq!(
            tool_timeout(wanted, &Deadline::after(Duration::ZERO)),
            Duration::ZERO
        );
    }
}
