//! What two or more of the DevOps agent's Lambdas share, and nothing else.
//!
//! A function built on this crate has a small `main`:
//!
//! ```no_run
//! # use common::{Handler, Invocation, ToolError};
//! # struct Tool;
//! # impl Handler for Tool {
//! #     const NAME: &'static str = "example";
//! #     type Input = serde_json::Value;
//! #     type Output = serde_json::Value;
//! #     async fn handle(&self, input: Self::Input, _: &Invocation) -> Result<Self::Output, ToolError> { Ok(input) }
//! # }
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     common::telemetry::init();
//!     // Build clients here, once per cold start, and give them to the handler.
//!     common::serve(Tool).await
//! }
//! ```
//!
//! and the modules below do the rest:
//!
//! * [`event`]: the three entry shapes (direct invoke, API Gateway, Function URL) and the
//!   AgentCore Gateway tool name, strict input decoding, the answer in the caller's shape.
//! * [`caller`]: who is asking, as the entry shape proves it (an IAM principal, a JWT's
//!   subject, a direct invoker's declared name).
//! * [`error`]: the contract's error envelope and the mapping of upstream failures to it.
//! * [`config`]: SSM Parameter Store configuration, cached with a TTL, environment overrides.
//! * [`http`]: the shared reqwest client and strict query/form encoding.
//! * `prometheus` (feature `prometheus`): the Prometheus HTTP API client for AMP and any
//!   Prometheus, and the plumbing every Prometheus tool shares (its client, configuration and
//!   the checks of the fields they have in common).
//! * `sigv4` (feature `sigv4`, part of `prometheus`): SigV4 for requests no SDK sends:
//!   signing AMP's Prometheus API calls, presigning the STS URL an EKS token carries.
//! * `invoke` (feature `invoke`): running a tool Lambda from another function (the agent, the
//!   MCP server): the tool → function map from `tools/<function>/function`, the Lambda Invoke
//!   call behind a trait, and its timeout inside the caller's deadline.
//! * [`aws`]: the one AWS SDK configuration, with its rustls/ring HTTP client.
//! * [`deadline`]: how long an upstream call may take before Lambda's deadline.
//! * [`retry`]: jittered exponential backoff for retryable errors, inside the deadline.
//! * [`scrub`]: secrets (keys, tokens, passwords) taken out of log lines before a model reads
//!   them (k8s-info's pod logs, CloudWatch Logs, CloudTrail's request parameters).
//! * [`series`]: a numeric series summarised and downsampled for a model (Prometheus ranges,
//!   CloudWatch metrics).
//! * [`text`]: untrusted text (search results, annotations) made safe to hand a model.
//! * [`time`]: the contract's times (RFC 3339, Unix seconds, `now-5m`) and durations.
//! * [`telemetry`]: JSON logs carrying request and trace ids, and EMF metrics.
//! * [`tools`]: each tool's name, description and input schema as the model sees them,
//!   shared by the tool (which tests its input type against it) and the agent.

pub mod aws;
pub mod caller;
pub mod config;
pub mod deadline;
pub mod error;
pub mod event;
pub mod http;
#[cfg(feature = "invoke")]
pub mod invoke;
#[cfg(feature = "prometheus")]
pub mod prometheus;
pub mod retry;
pub mod scrub;
pub mod series;
#[cfg(feature = "sigv4")]
pub mod sigv4;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod tools;

pub use caller::Caller;
pub use config::{AppConfig, Origin, Secret, Settings};
pub use deadline::Deadline;
pub use error::{ErrorCode, ToolError};
pub use event::{Handler, Invocation, Shape};

use std::{convert::Infallible, future::Future, pin::Pin};

use futures_util::Stream;
use lambda_runtime::{
    FunctionResponse, LambdaEvent, Runtime, layers::TracingLayer, service_fn, tower,
};
use serde_json::{Value, value::RawValue};

/// Runs `handler` on the Lambda Runtime API until the sandbox is shut down: every event goes
/// through [`event::dispatch`], so the function always answers with its result or an error
/// envelope, never with a Lambda function error.
pub async fn serve<H: Handler>(handler: H) -> Result<(), lambda_runtime::Error> {
    let handler = &handler;
    serve_streaming(move |event: LambdaEvent<Value>| async move {
        FunctionResponse::BufferedResponse(
            event::dispatch(handler, event.payload, &event.context).await,
        )
    })
    .await
}

/// A response body sent while it is produced (Lambda response streaming): text chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<String, Infallible>> + Send>>;

/// One event's answer: a JSON document, or (for a Function URL in `RESPONSE_STREAM` mode) a
/// status, headers and a body that is streamed as it is produced.
pub type Answer = FunctionResponse<Box<RawValue>, ByteStream>;

/// Runs `answer` on the Lambda Runtime API, with the same tracing and not-JSON guard as
/// [`serve`], for a function that streams some of its answers (the agent); `answer` sends
/// each event through [`event::handle_event`] as [`serve`] does. A handler that only buffers
/// uses [`serve`].
pub async fn serve_streaming<F, Fut>(answer: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Answer> + Send,
{
    let service = service_fn(move |event: LambdaEvent<Value>| {
        let answered = answer(event);
        async move { Ok::<_, lambda_runtime::Error>(answered.await) }
    });
    Runtime::new(service)
        .layer(TracingLayer::new())
        .layer(tower::layer::layer_fn(event::NotJsonGuard))
        .run()
        .await
}
