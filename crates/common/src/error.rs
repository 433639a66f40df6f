//! The error envelope every function answers with when it cannot give a result.
//!
//! A failure is not a Lambda function error: it is a normal response of the shape
//! `{"error": {"code", "message", "retryable", "request_id"}}` (docs/contract.md §1), so that a calling
//! agent can hand it to the model, and an HTTP caller gets the matching status code.
//!
//! Messages are written by us, never copied from a transport error that could carry a URL
//! with a key in it, a signed header or a SecureString value. Conversions below therefore
//! keep only the *kind* of a reqwest or AWS SDK failure plus the service's error code.

use std::fmt;

use aws_smithy_runtime_api::client::{orchestrator::HttpResponse, result::SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

/// The error codes of docs/contract.md §1, each with its HTTP status and default retryability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Missing, extra, ill-typed or out-of-range input; PromQL the server calls bad_data.
    InvalidInput,
    /// Upstream 401/403 or an IAM denial.
    AccessDenied,
    /// Unknown cluster, workspace or tool.
    NotFound,
    /// A request body or a result that cannot be cut down to the response budget.
    PayloadTooLarge,
    /// Upstream 429, a search engine's rate-limit page, AWS throttling.
    Throttled,
    /// Upstream answered with an error or something unparseable.
    UpstreamError,
    /// Upstream refused the connection or answered 503.
    Unavailable,
    /// Upstream did not answer within the tool's timeout or the Lambda's remaining time.
    UpstreamTimeout,
    /// Configuration missing or invalid (names the parameter, never its value).
    ConfigError,
    /// A bug.
    Internal,
}

impl ErrorCode {
    /// The HTTP status an API Gateway or Function URL caller receives.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidInput => 400,
            Self::AccessDenied => 403,
            Self::NotFound => 404,
            Self::PayloadTooLarge => 413,
            Self::Throttled => 429,
            Self::UpstreamError => 502,
            Self::Unavailable => 503,
            Self::UpstreamTimeout => 504,
            Self::ConfigError | Self::Internal => 500,
        }
    }

    /// Whether a caller may retry the same request. `UPSTREAM_ERROR` depends on the upstream
    /// status (5xx yes, otherwise no), so its default here is `false` and
    /// [`ToolError::upstream_status`] sets it.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::Unavailable | Self::UpstreamTimeout
        )
    }

    /// The code as it is spelled on the wire, e.g. `INVALID_INPUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "INVALID_INPUT",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Throttled => "THROTTLED",
            Self::UpstreamError => "UPSTREAM_ERROR",
            Self::Unavailable => "UNAVAILABLE",
            Self::UpstreamTimeout => "UPSTREAM_TIMEOUT",
            Self::ConfigError => "CONFIG_ERROR",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure a function reports to its caller: a code, a message fit for an operator and a
/// model to read, and whether retrying may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ToolError {
    /// Which row of the contract's error table this is.
    pub code: ErrorCode,
    /// What went wrong, naming the field or key and the limit; never a secret.
    pub message: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
}

/// Longest upstream error text we pass on; longer messages are cut (an AWS error message is
/// a sentence, anything longer is probably a page we should not forward).
const MAX_UPSTREAM_MESSAGE: usize = 300;

impl ToolError {
    /// An error with the code's default retryability.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: code.default_retryable(),
        }
    }

    /// `INVALID_INPUT`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// `INVALID_INPUT` for a field given to an action that does not take it, when `given`;
    /// the one wording every tool with actions uses ("max_results does not apply to
    /// cluster_health"), so a model learns it once.
    pub fn refuse_if_given(given: bool, field: &str, action: &str) -> Result<(), Self> {
        if given {
            Err(Self::invalid_input(format!(
                "{field} does not apply to {action}"
            )))
        } else {
            Ok(())
        }
    }

    /// `CONFIG_ERROR`.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConfigError, message)
    }

    /// `INTERNAL`: a bug. The message says so and carries no internals.
    pub fn internal(what: &str) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!("internal error (a bug): {what}"),
        )
    }

    /// Maps an upstream HTTP status that is not a success to the contract's code:
    /// 401/403 → ACCESS_DENIED, 404 → NOT_FOUND, 413 → PAYLOAD_TOO_LARGE, 429 → THROTTLED,
    /// 503 → UNAVAILABLE, 504 → UPSTREAM_TIMEOUT, other 5xx → UPSTREAM_ERROR (retryable),
    /// other 4xx → UPSTREAM_ERROR (not retryable). `upstream` names the service.
    pub fn upstream_status(upstream: &str, status: u16) -> Self {
        let (code, retryable) = match status {
            401 | 403 => (ErrorCode::AccessDenied, false),
            404 => (ErrorCode::NotFound, false),
            413 => (ErrorCode::PayloadTooLarge, false),
            429 => (ErrorCode::Throttled, true),
            503 => (ErrorCode::Unavailable, true),
            504 => (ErrorCode::UpstreamTimeout, true),
            500..=599 => (ErrorCode::UpstreamError, true),
            _ => (ErrorCode::UpstreamError, false),
        };
        Self {
            code,
            message: format!("{upstream} answered HTTP {status}"),
            retryable,
        }
    }

    /// Maps a reqwest failure by kind only: the error's text can contain the request URL
    /// (and so a query-string key), so it is never copied into the message.
    pub fn from_reqwest(upstream: &str, err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::new(
                ErrorCode::UpstreamTimeout,
                format!("{upstream} did not answer in time"),
            )
        } else if err.is_connect() {
            Self::new(
                ErrorCode::Unavailable,
                format!("could not connect to {upstream}"),
            )
        } else if let Some(status) = err.status() {
            Self::upstream_status(upstream, status.as_u16())
        } else if err.is_decode() || err.is_body() {
            Self::new(
                ErrorCode::UpstreamError,
                format!("{upstream} sent a response that could not be read"),
            )
        } else if err.is_builder() {
            Self::internal(&format!("could not build the request to {upstream}"))
        } else {
            Self {
                code: ErrorCode::UpstreamError,
                message: format!("request to {upstream} failed"),
                retryable: true,
            }
        }
    }

    /// Maps an AWS SDK failure. Service errors keep the AWS error code and its message
    /// (AWS messages name resources and actions, never credentials), cut to a sentence; an
    /// error without a known code (a proxy's bare 503, say) is mapped by its HTTP status.
    pub fn from_sdk<E>(service: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        match err {
            SdkError::TimeoutError(_) => Self::new(
                ErrorCode::UpstreamTimeout,
                format!("{service} did not answer in time"),
            ),
            SdkError::DispatchFailure(failure) => {
                if failure.is_timeout() {
                    Self::new(
                        ErrorCode::UpstreamTimeout,
                        format!("{service} did not answer in time"),
                    )
                } else if failure.is_io() {
                    Self::new(
                        ErrorCode::Unavailable,
                        format!("could not connect to {service}"),
                    )
                } else if failure.is_user() {
                    // A missing region, an unusable endpoint: our configuration.
                    Self::config(format!(
                        "the request to {service} could not be sent: check the function's AWS credentials, region and endpoint"
                    ))
                } else if failure
                    .as_connector_error()
                    .is_some_and(caused_by_missing_credentials)
                {
                    // The SDK reports an empty credentials chain as a connector failure of
                    // kind "other"; retrying cannot help, the role or environment must change.
                    Self::config(format!(
                        "no AWS credentials were found to sign the request to {service}: check the function's execution role or credential environment"
                    ))
                } else {
                    // The upstream answered with something that is not HTTP (a protocol error):
                    // like any unreadable answer from a server that may recover, retryable.
                    Self {
                        code: ErrorCode::UpstreamError,
                        message: format!("request to {service} failed"),
                        retryable: true,
                    }
                }
            }
            SdkError::ResponseError(response) => {
                let status = response.raw().status().as_u16();
                if status >= 400 {
                    Self::upstream_status(service, status)
                } else {
                    // A success status whose body does not parse: not retryable (§1).
                    Self::new(
                        ErrorCode::UpstreamError,
                        format!("{service} sent a response that could not be read"),
                    )
                }
            }
            SdkError::ServiceError(service_err) => Self::from_aws_code(
                service,
                service_err.err(),
                service_err.raw().status().as_u16(),
            ),
            SdkError::ConstructionFailure(_) => {
                Self::internal(&format!("could not build the request to {service}"))
            }
            _ => Self {
                code: ErrorCode::UpstreamError,
                message: format!("request to {service} failed"),
                retryable: true,
            },
        }
    }

    fn from_aws_code(
        service: &str,
        err: &(impl ProvideErrorMetadata + std::error::Error),
        status: u16,
    ) -> Self {
        // A bare error body (`{}` from a proxy or load balancer) parses to an empty code.
        let Some(code) = err.code().filter(|c| !c.is_empty()) else {
            return Self::upstream_status(service, status);
        };
        let detail = err.message().map(cut).unwrap_or_default();
        let message = if detail.is_empty() {
            format!("{service} returned {code}")
        } else {
            format!("{service} returned {code}: {detail}")
        };
        let (kind, retryable) = match code {
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException" => (ErrorCode::Throttled, true),
            "AccessDeniedException"
            | "AccessDenied"
            | "UnauthorizedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "InvalidClientTokenId"
            | "KMSAccessDeniedException" => (ErrorCode::AccessDenied, false),
            "ResourceNotFoundException" | "ParameterNotFound" | "NotFoundException" => {
                (ErrorCode::NotFound, false)
            }
            "ValidationException"
            | "InvalidParameterException"
            | "InvalidRequestException"
            | "InvalidParameterValueException" => (ErrorCode::InvalidInput, false),
            "ServiceUnavailableException" | "ServiceUnavailable" => (ErrorCode::Unavailable, true),
            "InternalServerException"
            | "InternalFailure"
            | "InternalServerError"
            | "ServerException" => (ErrorCode::UpstreamError, true),
            _ => (ErrorCode::UpstreamError, false),
        };
        Self {
            code: kind,
            message,
            retryable,
        }
    }
}

/// Whether anything in `err`'s source chain is a credentials-provider failure.
fn caused_by_missing_credentials(
    err: &aws_smithy_runtime_api::client::result::ConnectorError,
) -> bool {
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Cuts an upstream message at a character boundary.
pub(crate) fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_UPSTREAM_MESSAGE) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The wire form: `{"error": {"code", "message", "retryable", "request_id"}}`.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    /// The error body.
    pub error: EnvelopeBody<'a>,
}

/// The inside of an [`Envelope`].
#[derive(Debug, Serialize)]
pub struct EnvelopeBody<'a> {
    /// See [`ErrorCode`].
    pub code: ErrorCode,
    /// See [`ToolError::message`].
    pub message: &'a str,
    /// See [`ToolError::retryable`].
    pub retryable: bool,
    /// The Lambda request id, so a caller can find the function's log lines.
    pub request_id: &'a str,
}

impl ToolError {
    /// The envelope for this error in the invocation `request_id`.
    pub fn envelope<'a>(&'a self, request_id: &'a str) -> Envelope<'a> {
        Envelope {
            error: EnvelopeBody {
                code: self.code,
                message: &self.message,
                retryable: self.retryable,
                request_id,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_contract_status_and_retryability() {
        let table = [
            (ErrorCode::InvalidInput, 400, false),
            (ErrorCode::AccessDenied, 403, false),
            (ErrorCode::NotFound, 404, false),
            (ErrorCode::PayloadTooLarge, 413, false),
            (ErrorCode::Throttled, 429, true),
            (ErrorCode::UpstreamError, 502, false),
            (ErrorCode::Unavailable, 503, true),
            (ErrorCode::UpstreamTimeout, 504, true),
            (ErrorCode::ConfigError, 500, false),
            (ErrorCode::Internal, 500, false),
        ];
        for (code, status, retryable) in table {
            assert_eq!(code.http_status(), status, "{code}");
            assert_eq!(code.default_retryable(), retryable, "{code}");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
        }
    }

    #[test]
    fn upstream_statuses_map_to_codes() {
        let cases = [
            (401, ErrorCode::AccessDenied, false),
            (403, ErrorCode::AccessDenied, false),
            (404, ErrorCode::NotFound, false),
            (422, ErrorCode::UpstreamError, false),
            (429, ErrorCode::Throttled, true),
            (500, ErrorCode::UpstreamError, true),
            (502, ErrorCode::UpstreamError, true),
            (503, ErrorCode::Unavailable, true),
            (504, ErrorCode::UpstreamTimeout, true),
        ];
        for (status, code, retryable) in cases {
            let e = ToolError::upstream_status("prometheus", status);
            assert_eq!((e.code, e.retryable), (code, retryable), "HTTP {status}");
            assert!(e.message.contains(&status.to_string()));
        }
    }

    #[test]
    fn envelope_has_the_contract_shape() {
        let e = ToolError::invalid_input("max_results must be between 1 and 10, got 50");
        let v = serde_json::to_value(e.envelope("req-1")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "INVALID_INPUT",
                "message": "max_results must be between 1 and 10, got 50",
                "retryable": false, "request_id": "req-1"}})
        );
    }

    #[test]
    fn long_upstream_messages_are_cut_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let c = cut(&long);
        assert_eq!(c.chars().count(), MAX_UPSTREAM_MESSAGE + 1);
        assert!(c.ends_with('…'));
    }
}
