//! `cloudwatch`: read-only CloudWatch for an incident: what the logs say, which alarms fire
//! and since when, and what a metric did (docs/contract.md §2.12).
//!
//! | action | what it calls | module |
//! |---|---|---|
//! | `logs_query` | Logs Insights: StartQuery, GetQueryResults with growing waits, StopQuery when time runs out | [`logs`] |
//! | `log_groups` | DescribeLogGroups | [`logs`] |
//! | `alarms` | DescribeAlarms (metric and composite) | [`alarms`] |
//! | `alarm_history` | DescribeAlarmHistory (state changes) | [`alarms`] |
//! | `list_metrics` | ListMetrics | [`metrics`] |
//! | `metric_data` | GetMetricData, summarised and downsampled as prometheus-range-query does | [`metrics`] |
//!
//! Every field is checked before any call ([`input`]). CloudWatch's name prefixes are exact
//! and case-sensitive: when no alarm or log group starts with `prefix`, the names containing
//! it in any case answer, with a `hint`; a query's `log_group_prefix` that starts none, or an
//! `alarm_history` of an alarm that does not exist, is `NOT_FOUND` naming the ones that
//! contain it. Each AWS call gets the smaller of
//! [`CALL_TIMEOUT`] and the Lambda's time left, with the SDK's standard retries inside; its
//! failures map to the envelope as for every AWS tool, and an access denial names the IAM
//! action the function's role lacks (`logs:StartQuery`), because that is what an operator must
//! grant. Log lines and alarm reasons are untrusted text: secrets are scrubbed
//! ([`common::scrub`]), invisible characters removed and each value cut at a named length.
//!
//! Only the client an action needs is built, on its first use: a question about alarms never
//! builds the Logs client.

pub mod alarms;
pub mod input;
pub mod logs;
pub mod metrics;

use std::{future::Future, time::Duration};

use aws_smithy_runtime_api::client::{orchestrator::HttpResponse, result::SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{Deadline, ErrorCode, Handler, Invocation, ToolError};
use serde_json::Value;

use crate::input::{CloudWatchInput, Request};

/// Timeout of one AWS call (retries included), before the deadline cuts it shorter.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest value of a log row or an alarm's reason kept, in characters.
pub const MAX_VALUE_CHARS: usize = 2_000;

/// The handler: the two SDK clients, each built on first use.
#[derive(Debug)]
pub struct CloudWatch {
    logs: tokio::sync::OnceCell<aws_sdk_cloudwatchlogs::Client>,
    metrics: tokio::sync::OnceCell<aws_sdk_cloudwatch::Client>,
    /// How long `logs_query` waits between two GetQueryResults at first (it doubles up to
    /// [`logs::MAX_POLL_WAIT`]).
    pub first_poll_wait: Duration,
}

impl CloudWatch {
    /// A handler whose clients come from [`common::aws::sdk_config`] when first needed.
    pub fn new() -> Self {
        Self {
            logs: tokio::sync::OnceCell::new(),
            metrics: tokio::sync::OnceCell::new(),
            first_poll_wait: logs::FIRST_POLL_WAIT,
        }
    }

    /// A handler using these clients.
    pub fn with_clients(
        logs: aws_sdk_cloudwatchlogs::Client,
        metrics: aws_sdk_cloudwatch::Client,
    ) -> Self {
        Self {
            logs: tokio::sync::OnceCell::new_with(Some(logs)),
            metrics: tokio::sync::OnceCell::new_with(Some(metrics)),
            first_poll_wait: logs::FIRST_POLL_WAIT,
        }
    }

    async fn logs_client(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.logs
            .get_or_init(|| async {
                aws_sdk_cloudwatchlogs::Client::new(common::aws::sdk_config().await)
            })
            .await
    }

    async fn metrics_client(&self) -> &aws_sdk_cloudwatch::Client {
        self.metrics
            .get_or_init(|| async {
                aws_sdk_cloudwatch::Client::new(common::aws::sdk_config().await)
            })
            .await
    }
}

/// The same as [`CloudWatch::new`]: a derived default would poll Logs Insights without
/// waiting.
impl Default for CloudWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl Handler for CloudWatch {
    const NAME: &'static str = "cloudwatch";
    type Input = CloudWatchInput;
    type Output = Value;

    async fn handle(
        &self,
        input: CloudWatchInput,
        invocation: &Invocation,
    ) -> Result<Value, ToolError> {
        let request = input.check(common::time::now_ms())?;
        let deadline = &invocation.deadline;
        match request {
            Request::LogsQuery { .. } => {
                logs::query(
                    self.logs_client().await,
                    &request,
                    deadline,
                    self.first_poll_wait,
                )
                .await
            }
            Request::LogGroups {
                prefix,
                max_results,
            } => {
                logs::groups(
                    self.logs_client().await,
                    prefix.as_deref(),
                    max_results,
                    deadline,
                )
                .await
            }
            Request::Alarms {
                state,
                prefix,
                max_results,
            } => {
                alarms::alarms(
                    self.metrics_client().await,
                    state,
                    prefix.as_deref(),
                    max_results,
                    deadline,
                )
                .await
            }
            Request::AlarmHistory {
                alarm_name,
                start_ms,
                end_ms,
                max_results,
            } => {
                alarms::history(
                    self.metrics_client().await,
                    &alarm_name,
                    (start_ms, end_ms),
                    max_results,
                    deadline,
                )
                .await
            }
            Request::ListMetrics { .. } => {
                metrics::list(self.metrics_client().await, &request, deadline).await
            }
            Request::MetricData { .. } => {
                metrics::data(self.metrics_client().await, &request, deadline).await
            }
        }
    }
}

/// One AWS call inside the deadline, its error mapped to the envelope. `service` names the
/// service ("CloudWatch Logs"), `action` the IAM action the call needs (`logs:StartQuery`),
/// named in an access denial.
pub(crate) async fn call<T, E>(
    deadline: &Deadline,
    service: &str,
    action: &str,
    request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, ToolError>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let result = common::aws::bounded(deadline, service, CALL_TIMEOUT, request).await?;
    result.map_err(|e| {
        let mut error = ToolError::from_sdk(service, &e);
        // A Logs Insights query CloudWatch cannot parse is the caller's to fix, in
        // CloudWatch's words.
        if e.as_service_error().and_then(|s| s.code()) == Some("MalformedQueryException") {
            error.code = ErrorCode::InvalidInput;
            error.retryable = false;
        }
        if error.code == ErrorCode::AccessDenied {
            error.message = format!(
                "{}; the function's role needs {action}",
                error.message.trim_end_matches('.')
            );
        }
        error
    })
}

/// Untrusted text made safe for a model: secrets scrubbed (counted in `redactions`),
/// invisible characters removed, one line, at most [`MAX_VALUE_CHARS`].
pub(crate) fn untrusted(text: &str, redactions: &mut usize) -> String {
    let (scrubbed, n) = common::scrub::scrub(text);
    *redactions += n;
    common::text::clean(&scrubbed, MAX_VALUE_CHARS)
}

/// Unix milliseconds as RFC 3339.
pub(crate) fn rfc3339(ms: i64) -> String {
    common::time::format_rfc3339(ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_input_type_matches_the_schema() {
        common::tools::conforms::<crate::input::CloudWatchInput>(&common::tools::CLOUDWATCH)
            .unwrap();
    }
}
