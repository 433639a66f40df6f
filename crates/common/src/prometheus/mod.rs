//! The Prometheus HTTP API, for Amazon Managed Service for Prometheus (AMP) and any
//! Prometheus, shared by the `prometheus-*` functions. A new Prometheus tool holds a
//! [`PrometheusTool`] (built in its `main` with [`PrometheusTool::from_env`]), starts its
//! handler with the shared checks (`check_*`) and [`PrometheusTool::target`], and sends its
//! request with [`PrometheusApi::post`] or [`PrometheusApi::get`]; everything else (auth,
//! retries, deadlines, size limits, error mapping) is here.
//!
//! **Where requests go** ([`PrometheusApi::target`]), from the configuration (docs/contract.md §3.4):
//!
//! * `prometheus/url`: the base URL of any Prometheus, or of an AMP workspace
//!   (`https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-…`);
//! * otherwise `prometheus/workspace_id` in `prometheus/region` (default `AWS_REGION`);
//! * a caller's `workspace_id` other than the configured one is looked up once with AMP's
//!   `DescribeWorkspace` and its endpoint cached for the life of the process.
//!
//! `prometheus/auth` is `sigv4` (service `aps`; the default for AMP), `bearer` (token from
//! the `prometheus/bearer_token` SecureString) or `none` (the default otherwise).
//!
//! **How** ([`PrometheusApi::post`], [`PrometheusApi::get`]): queries are POSTed as a form,
//! so long PromQL never meets a URL length limit, and the body that is signed is the body that
//! is sent. Each attempt gets the smaller of the caller's timeout and the Lambda's time left;
//! retryable failures are retried twice with jitter ([`crate::retry`]). Prometheus' own
//! `bad_data` answer becomes `INVALID_INPUT` carrying Prometheus' message, so the model can
//! fix its PromQL; nothing in the PromQL is refused by us beforehand.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    AppConfig, Settings,
    config::Secret,
    deadline::Deadline,
    error::{ErrorCode, ToolError},
    http::{form_encode, path_with_query},
    retry::{Backoff, with_retries},
    sigv4::RequestSigner,
};

/// Largest Prometheus answer read; a larger one is `PAYLOAD_TOO_LARGE` (the tools' results
/// must fit 5 MB, and this keeps a runaway query from exhausting a 128 MB function).
pub const MAX_UPSTREAM_BYTES: usize = 48 * 1024 * 1024;

/// What kind of server a target is, reported to callers as `endpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Amazon Managed Service for Prometheus.
    Amp,
    /// Any other Prometheus-compatible server.
    Prometheus,
}

impl Backend {
    /// `amp` or `prometheus`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Amp => "amp",
            Self::Prometheus => "prometheus",
        }
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// SigV4 for service `aps` in this region.
    SigV4 {
        /// The signing region.
        region: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// No authentication.
    None,
}

/// Where and how to send a request.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL without a trailing slash; API paths (`/api/v1/query`) are appended.
    pub base_url: String,
    /// AMP or plain Prometheus.
    pub backend: Backend,
    /// Authentication.
    pub auth: Auth,
}

/// A successful API answer: the `data` member, untouched, and Prometheus' warnings.
#[derive(Debug)]
pub struct ApiData {
    /// `data` as Prometheus sent it; parse it into the shape the endpoint returns.
    pub data: Box<RawValue>,
    /// Warnings Prometheus attached (e.g. results that may be incomplete).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// The client: one reqwest client, the SigV4 signers and the AMP endpoint cache, built once
/// per process in `main`.
pub struct PrometheusApi {
    http: reqwest::Client,
    signers: Mutex<HashMap<String, Arc<RequestSigner>>>,
    workspaces: Mutex<HashMap<String, String>>,
    amp: tokio::sync::OnceCell<aws_sdk_amp::Client>,
}

impl std::fmt::Debug for PrometheusApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusApi").finish_non_exhaustive()
    }
}

/// Longest accepted PromQL query, in characters (docs/contract.md §2.2).
pub const MAX_QUERY_CHARS: usize = 10_000;
/// Longest accepted query `timeout`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest accepted `max_series`.
pub const MAX_SERIES: u32 = 500;
/// Most bytes of series a tool returns (the contract's 5 MB response budget).
pub const RESULT_BUDGET_BYTES: usize = 5 * 1024 * 1024;

/// Checks a PromQL `query` field: not blank, at most [`MAX_QUERY_CHARS`].
pub fn check_query(query: &str) -> Result<(), ToolError> {
    let chars = query.chars().count();
    if query.trim().is_empty() {
        return Err(ToolError::invalid_input("query must not be empty"));
    }
    if chars > MAX_QUERY_CHARS {
        return Err(ToolError::invalid_input(format!(
            "query must be at most {MAX_QUERY_CHARS} characters, got {chars}"
        )));
    }
    Ok(())
}

/// Checks an optional `workspace_id` field (see [`valid_workspace_id`]).
pub fn check_workspace_id(workspace_id: Option<&str>) -> Result<(), ToolError> {
    if workspace_id.is_some_and(|ws| !valid_workspace_id(ws)) {
        return Err(ToolError::invalid_input(
            "workspace_id must be `ws-` followed by 1 to 64 letters, digits or dashes",
        ));
    }
    Ok(())
}

/// The `timeout` field or `default`: more than zero, at most [`MAX_TIMEOUT`].
pub fn check_timeout(timeout: Option<Duration>, default: Duration) -> Result<Duration, ToolError> {
    let timeout = timeout.unwrap_or(default);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(ToolError::invalid_input(format!(
            "timeout must be more than 0 and at most 30s, got {}ms",
            timeout.as_millis()
        )));
    }
    Ok(timeout)
}

/// The `max_series` field or `default`: 1 to [`MAX_SERIES`].
pub fn check_max_series(max_series: Option<u32>, default: u32) -> Result<usize, ToolError> {
    let max_series = max_series.unwrap_or(default);
    if !(1..=MAX_SERIES).contains(&max_series) {
        return Err(ToolError::invalid_input(format!(
            "max_series must be between 1 and {MAX_SERIES}, got {max_series}"
        )));
    }
    Ok(max_series as usize)
}

/// `ws-` followed by 1–64 of `[0-9a-zA-Z-]` (docs/contract.md §2.2).
pub fn valid_workspace_id(id: &str) -> bool {
    id.strip_prefix("ws-").is_some_and(|rest| {
        (1..=64).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// What every Prometheus tool holds, built once per cold start in its `main`: the API client
/// and the configuration that names the target.
#[derive(Debug)]
pub struct PrometheusTool {
    /// The Prometheus HTTP API client.
    pub api: PrometheusApi,
    /// Configuration (SSM-cached): the `prometheus/*` keys.
    pub config: AppConfig,
}

impl PrometheusTool {
    /// What a deployed function uses: configuration from the environment, an HTTP client
    /// sending `user_agent`. Nothing here waits on the network.
    pub fn from_env(user_agent: &str) -> Result<Self, ToolError> {
        Ok(Self {
            api: PrometheusApi::new(crate::http::client(user_agent)?),
            config: AppConfig::from_env()?,
        })
    }

    /// Where this request goes: the caller's `workspace_id` (already checked) or the
    /// configured target. The first step of every Prometheus tool's handler.
    pub async fn target(&self, workspace_id: Option<&str>) -> Result<Target, ToolError> {
        let settings = self.config.settings().await?;
        self.api.target(&settings, workspace_id).await
    }
}

impl PrometheusApi {
    /// A client around `http` (see [`crate::http::client`]).
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            signers: Mutex::new(HashMap::new()),
            workspaces: Mutex::new(HashMap::new()),
            amp: tokio::sync::OnceCell::new(),
        }
    }

    /// A client using `amp` for `DescribeWorkspace` instead of one built from the process's
    /// SDK configuration (tests point it at moto).
    pub fn with_amp_client(http: reqwest::Client, amp: aws_sdk_amp::Client) -> Self {
        let api = Self::new(http);
        let _ = api.amp.set(amp);
        api
    }

    /// Resolves where requests go, for the caller's `workspace_id` (already validated) or the
    /// configured default. See the module docs.
    pub async fn target(
        &self,
        settings: &Settings,
        workspace_id: Option<&str>,
    ) -> Result<Target, ToolError> {
        // An empty value (an unset template parameter, say) counts as not set.
        let configured_ws = settings
            .get("prometheus/workspace_id")
            .filter(|w| !w.is_empty());
        let url = settings
            .get("prometheus/url")
            .filter(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/').to_owned());
        if url.is_none() && configured_ws.is_none() && workspace_id.is_none() {
            return Err(ToolError::config(
                "no Prometheus is configured: set prometheus/url or prometheus/workspace_id",
            ));
        }
        if let (Some(id), Some(url)) = (workspace_id, &url)
            && !is_amp_url(url)
            && !url.ends_with(&format!("/workspaces/{id}"))
        {
            return Err(ToolError::invalid_input(
                "workspace_id applies to Amazon Managed Service for Prometheus; this function is configured for a plain Prometheus",
            ));
        }
        let auth_setting = settings.get("prometheus/auth");
        // The region is needed only for AMP URLs and SigV4; resolving it otherwise could send
        // the SDK's region chain looking for instance metadata.
        let needs_region = url.is_none()
            || workspace_id.is_some()
            || auth_setting.as_deref() == Some("sigv4")
            || url.as_deref().is_some_and(is_amp_url);
        let region = if needs_region {
            Some(region(settings).await?)
        } else {
            None
        };
        let amp_url = |ws: &str| {
            format!(
                "https://aps-workspaces.{}.amazonaws.com/workspaces/{ws}",
                region.as_deref().unwrap_or_default()
            )
        };

        let base_url = match (workspace_id, &url, configured_ws.as_deref()) {
            // The configured target.
            (None, Some(url), _) => url.clone(),
            // No URL: the configured workspace (its absence returned early above).
            (None, None, configured) => amp_url(configured.unwrap_or_default()),
            (Some(ws), Some(url), _) if url.ends_with(&format!("/workspaces/{ws}")) => url.clone(),
            (Some(ws), None, Some(configured)) if ws == configured => amp_url(ws),
            // Another AMP workspace (a plain Prometheus was refused above).
            (Some(ws), _, _) => self.workspace_endpoint(ws).await?,
        };
        let backend = if url.is_none() || workspace_id.is_some() || is_amp_url(&base_url) {
            Backend::Amp
        } else {
            Backend::Prometheus
        };
        let sigv4 = || {
            region
                .clone()
                .map(|region| Auth::SigV4 { region })
                .ok_or_else(|| ToolError::internal("no region for SigV4"))
        };
        let auth = match auth_setting.as_deref() {
            Some("sigv4") => sigv4()?,
            Some("bearer") => {
                Auth::Bearer(settings.secret("prometheus/bearer_token").ok_or_else(|| {
                    ToolError::config(
                        "prometheus/auth is bearer but prometheus/bearer_token is not set",
                    )
                })?)
            }
            Some("none") => Auth::None,
            Some(_) => {
                return Err(ToolError::config(
                    "prometheus/auth must be sigv4, bearer or none",
                ));
            }
            None if backend == Backend::Amp => sigv4()?,
            None => Auth::None,
        };
        Ok(Target {
            base_url,
            backend,
            auth,
        })
    }

    async fn describe(
        &self,
        workspace_id: &str,
    ) -> Result<aws_sdk_amp::operation::describe_workspace::DescribeWorkspaceOutput, ToolError>
    {
        let amp = self
            .amp
            .get_or_init(|| async { aws_sdk_amp::Client::new(crate::aws::sdk_config().await) })
            .await;
        amp.describe_workspace()
            .workspace_id(workspace_id)
            .send()
            .await
            .map_err(|e| {
                let mut error = ToolError::from_sdk("Amazon Managed Service for Prometheus", &e);
                if error.code == ErrorCode::NotFound {
                    error.message = format!(
                        "workspace {workspace_id} does not exist in this function's region"
                    );
                }
                error
            })
    }

    /// An AMP workspace's description (`DescribeWorkspace`): id, alias, status, ARN.
    pub async fn describe_workspace(
        &self,
        workspace_id: &str,
    ) -> Result<serde_json::Value, ToolError> {
        let described = self.describe(workspace_id).await?;
        let ws = described.workspace().ok_or_else(|| {
            ToolError::new(
                ErrorCode::UpstreamError,
                "DescribeWorkspace answered without a workspace",
            )
        })?;
        Ok(serde_json::json!({
            "workspace_id": ws.workspace_id(),
            "alias": ws.alias(),
            "status": ws.status().map(|s| s.status_code().as_str()),
            "arn": ws.arn(),
            "prometheus_endpoint": ws.prometheus_endpoint(),
        }))
    }

    /// AMP's endpoint for `workspace_id`, from `DescribeWorkspace`, cached per process.
    async fn workspace_endpoint(&self, workspace_id: &str) -> Result<String, ToolError> {
        if let Some(url) = self
            .workspaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(workspace_id)
        {
            return Ok(url.clone());
        }
        let described = self.describe(workspace_id).await?;
        let endpoint = described
            .workspace()
            .and_then(|w| w.prometheus_endpoint())
            .map(|e| e.trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::UpstreamError,
                    format!("workspace {workspace_id} has no endpoint"),
                )
            })?;
        self.workspaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(workspace_id.to_owned(), endpoint.clone());
        Ok(endpoint)
    }

    /// POSTs `form` to `path` (e.g. `/api/v1/query`), with retries, within `timeout` per
    /// attempt and the deadline overall.
    pub async fn post(
        &self,
        target: &Target,
        path: &str,
        form: &[(&str, &str)],
        timeout: Duration,
        deadline: &Deadline,
    ) -> Result<ApiData, ToolError> {
        let body = form_encode(form.iter().copied());
        with_retries(&Backoff::UPSTREAM, deadline, |_| {
            self.once(
                target,
                reqwest::Method::POST,
                path,
                &body,
                timeout,
                deadline,
            )
        })
        .await
    }

    /// GETs `path?query` (metadata endpoints), with retries like [`Self::post`].
    pub async fn get(
        &self,
        target: &Target,
        path: &str,
        query: &[(&str, &str)],
        timeout: Duration,
        deadline: &Deadline,
    ) -> Result<ApiData, ToolError> {
        let path = path_with_query(path, query);
        with_retries(&Backoff::UPSTREAM, deadline, |_| {
            self.once(target, reqwest::Method::GET, &path, "", timeout, deadline)
        })
        .await
    }

    /// GETs `path?query` from an API that answers plain JSON rather than Prometheus'
    /// `{"status", "data"}` (Alertmanager's API v2), with retries like [`Self::get`], and
    /// returns the body of a 2xx answer. `service` names the server in errors; a 400 is
    /// `INVALID_INPUT` carrying the server's message (Alertmanager's answer to a bad filter).
    pub async fn get_json(
        &self,
        target: &Target,
        path: &str,
        query: &[(&str, &str)],
        timeout: Duration,
        deadline: &Deadline,
        service: &'static str,
    ) -> Result<Vec<u8>, ToolError> {
        let path = path_with_query(path, query);
        with_retries(&Backoff::UPSTREAM, deadline, |_| async {
            let (status, body) = self
                .exchange(
                    target,
                    reqwest::Method::GET,
                    &path,
                    "",
                    timeout,
                    deadline,
                    service,
                )
                .await?;
            match status {
                200..=299 => Ok(body),
                400 => {
                    // Alertmanager's message is a JSON string; anything else is shown as text.
                    let message = serde_json::from_slice::<String>(&body)
                        .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
                    Err(ToolError::invalid_input(format!(
                        "{service} rejected the request: {}",
                        crate::error::cut(&message)
                    )))
                }
                _ => Err(ToolError::upstream_status(service, status)),
            }
        })
        .await
    }

    async fn once(
        &self,
        target: &Target,
        method: reqwest::Method,
        path: &str,
        body: &str,
        timeout: Duration,
        deadline: &Deadline,
    ) -> Result<ApiData, ToolError> {
        let (status, bytes) = self
            .exchange(target, method, path, body, timeout, deadline, "Prometheus")
            .await?;
        interpret(status, &bytes)
    }

    /// One signed request within the deadline's budget: the status and the body (capped).
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        target: &Target,
        method: reqwest::Method,
        path: &str,
        body: &str,
        timeout: Duration,
        deadline: &Deadline,
        service: &str,
    ) -> Result<(u16, Vec<u8>), ToolError> {
        let budget = deadline.budget(timeout)?;
        let mut builder = self
            .http
            .request(method.clone(), format!("{}{path}", target.base_url))
            .timeout(budget);
        if method == reqwest::Method::POST {
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned());
        }
        let mut request = builder
            .build()
            .map_err(|e| ToolError::from_reqwest(service, &e))?;
        match &target.auth {
            Auth::SigV4 { region } => self.signer(region).await?.sign(&mut request).await?,
            Auth::Bearer(token) => {
                let mut value = http::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        ToolError::config("prometheus/bearer_token is not a valid header value")
                    })?;
                value.set_sensitive(true);
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, value);
            }
            Auth::None => {}
        }
        let mut response = self
            .http
            .execute(request)
            .await
            .map_err(|e| ToolError::from_reqwest(service, &e))?;
        let status = response.status().as_u16();
        let bytes = crate::http::read_capped(&mut response, service, MAX_UPSTREAM_BYTES)
            .await
            .map_err(|mut e| {
                if e.code == ErrorCode::PayloadTooLarge {
                    e.message.push_str("; narrow the query");
                }
                e
            })?;
        Ok((status, bytes))
    }

    async fn signer(&self, region: &str) -> Result<Arc<RequestSigner>, ToolError> {
        if let Some(signer) = self
            .signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(region)
        {
            return Ok(signer.clone());
        }
        let signer = Arc::new(RequestSigner::from_sdk_config(
            crate::aws::sdk_config().await,
            "aps",
            Some(region),
        )?);
        self.signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(region.to_owned())
            .or_insert(signer.clone());
        Ok(signer)
    }
}

/// `prometheus/region`, else the SDK's region (`AWS_REGION`).
async fn region(settings: &Settings) -> Result<String, ToolError> {
    match settings.get("prometheus/region") {
        Some(region) => Ok(region.into_owned()),
        None => crate::aws::sdk_config()
            .await
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| {
                ToolError::config("no region for Prometheus: set prometheus/region or AWS_REGION")
            }),
    }
}

/// `text` as a PromQL (and Alertmanager matcher) double-quoted string: `\`, `"` and line
/// breaks escaped, so a caller's regex or value cannot end the string early.
pub fn promql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `url` is an AMP workspace's URL (`https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-…`).
pub fn is_amp_url(url: &str) -> bool {
    url.contains("://aps-workspaces.") && url.contains("/workspaces/ws-")
}

/// Turns an HTTP status and body into data or the contract's error.
pub fn interpret(status: u16, body: &[u8]) -> Result<ApiData, ToolError> {
    let parsed: Result<Envelope, _> = serde_json::from_slice(body);
    match parsed {
        Ok(envelope) if envelope.status == "success" && (200..300).contains(&status) => {
            match envelope.data {
                Some(data) => Ok(ApiData {
                    data,
                    warnings: envelope.warnings,
                }),
                None => Err(ToolError::new(
                    ErrorCode::UpstreamError,
                    "Prometheus answered success without data",
                )),
            }
        }
        Ok(envelope) if envelope.status == "error" => {
            let message = crate::error::cut(envelope.error.as_deref().unwrap_or("no message"));
            let (code, retryable) = match envelope.error_type.as_deref() {
                Some("bad_data") => (ErrorCode::InvalidInput, false),
                Some("timeout") => (ErrorCode::UpstreamTimeout, true),
                Some("unavailable") => (ErrorCode::Unavailable, true),
                // Query execution limits ("would load too many samples"): the query must change.
                Some("execution") => (ErrorCode::UpstreamError, false),
                _ => {
                    let by_status = ToolError::upstream_status("Prometheus", status);
                    (by_status.code, by_status.retryable)
                }
            };
            let what = match code {
                ErrorCode::InvalidInput => "Prometheus rejected the query",
                _ => "Prometheus answered with an error",
            };
            Err(ToolError {
                code,
                message: format!("{what}: {message}"),
                retryable,
            })
        }
        _ if !(200..300).contains(&status) => Err(ToolError::upstream_status("Prometheus", status)),
        _ => Err(ToolError::new(
            ErrorCode::UpstreamError,
            "Prometheus answered with something that is not its API's JSON",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: std::fmt::Debug>(result: Result<T, ToolError>, message: &str) {
        let e = result.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
        assert_eq!(e.message, message);
    }

    #[test]
    fn check_query_wants_1_to_10000_characters() {
        check_query("1").unwrap();
        check_query(&"a".repeat(10_000)).unwrap();
        // Characters, not bytes.
        check_query(&"é".repeat(10_000)).unwrap();
        refused(check_query(""), "query must not be empty");
        refused(check_query(" \n\t"), "query must not be empty");
        refused(
            check_query(&"a".repeat(10_001)),
            "query must be at most 10000 characters, got 10001",
        );
    }

    #[test]
    fn check_timeout_wants_more_than_0_and_at_most_30s() {
        let default = Duration::from_secs(15);
        assert_eq!(check_timeout(None, default).unwrap(), default);
        for ok in [Duration::from_millis(1), Duration::from_secs(30)] {
            assert_eq!(check_timeout(Some(ok), default).unwrap(), ok);
        }
        refused(
            check_timeout(Some(Duration::ZERO), default),
            "timeout must be more than 0 and at most 30s, got 0ms",
        );
        refused(
            check_timeout(Some(Duration::from_millis(30_001)), default),
            "timeout must be more than 0 and at most 30s, got 30001ms",
        );
    }

    #[test]
    fn check_max_series_wants_1_to_500() {
        assert_eq!(check_max_series(None, 100).unwrap(), 100);
        assert_eq!(check_max_series(Some(1), 100).unwrap(), 1);
        assert_eq!(check_max_series(Some(500), 100).unwrap(), 500);
        refused(
            check_max_series(Some(0), 100),
            "max_series must be between 1 and 500, got 0",
        );
        refused(
            check_max_series(Some(501), 100),
            "max_series must be between 1 and 500, got 501",
        );
    }

    #[test]
    fn check_workspace_id_names_the_rule() {
        check_workspace_id(None).unwrap();
        check_workspace_id(Some("ws-1")).unwrap();
        check_workspace_id(Some(&format!("ws-{}", "a".repeat(64)))).unwrap();
        for bad in ["", "ws-", &format!("ws-{}", "a".repeat(65))] {
            refused(
                check_workspace_id(Some(bad)),
                "workspace_id must be `ws-` followed by 1 to 64 letters, digits or dashes",
            );
        }
    }

    #[test]
    fn strings_are_quoted_so_nothing_ends_them_early() {
        assert_eq!(promql_string(r#"http_.*"#), r#""http_.*""#);
        assert_eq!(promql_string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    }

    #[test]
    fn workspace_ids_follow_the_contract() {
        assert!(valid_workspace_id("ws-1"));
        assert!(valid_workspace_id(&format!("ws-{}", "a".repeat(64))));
        for bad in [
            "ws-",
            "ws1",
            "ws-a_b",
            "ws-ü",
            &format!("ws-{}", "a".repeat(65)),
            "WS-1",
        ] {
            assert!(!valid_workspace_id(bad), "{bad}");
        }
    }

    #[test]
    fn prometheus_answers_map_to_the_envelope() {
        let ok = interpret(200, br#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]},"warnings":["w"]}"#).unwrap();
        assert_eq!(
            (ok.data.get(), ok.warnings.as_slice()),
            (
                r#"{"resultType":"scalar","result":[1,"2"]}"#,
                &["w".to_owned()][..]
            )
        );

        let cases: [(u16, &[u8], ErrorCode, bool, &str); 7] = [
            (400, br#"{"status":"error","errorType":"bad_data","error":"parse error: unexpected end of input"}"#, ErrorCode::InvalidInput, false, "Prometheus rejected the query: parse error"),
            (503, br#"{"status":"error","errorType":"timeout","error":"query timed out"}"#, ErrorCode::UpstreamTimeout, true, "query timed out"),
            (422, br#"{"status":"error","errorType":"execution","error":"too many samples"}"#, ErrorCode::UpstreamError, false, "too many samples"),
            (429, b"Too Many Requests", ErrorCode::Throttled, true, "429"),
            (503, b"<html>down</html>", ErrorCode::Unavailable, true, "503"),
            (200, b"<html>not the API</html>", ErrorCode::UpstreamError, false, "not its API's JSON"),
            (200, br#"{"status":"success"}"#, ErrorCode::UpstreamError, false, "without data"),
        ];
        for (status, body, code, retryable, part) in cases {
            let e = interpret(status, body).unwrap_err();
            assert_eq!((e.code, e.retryable), (code, retryable), "{status} {e}");
            assert!(e.message.contains(part), "{e}");
        }
    }
}
