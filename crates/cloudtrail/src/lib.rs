//! `cloudtrail`: what changed in the function's own AWS account and region, read from
//! CloudTrail's 90-day event history (LookupEvents), newest first. It answers "what changed
//! before this broke?" once alerts, metrics and the cluster's health have said what is
//! broken and since when.
//!
//! Input (docs/contract.md §2.13): `action` is `changes` (the only one, and the default);
//! * `start` / `end`: the time range, in the contract's time syntax (§2.1, [`common::time`]);
//!   by default the [`DEFAULT_WINDOW`] (24 h) up to now. A start older than CloudTrail's
//!   [`RETENTION`] (90 days) is refused, saying where older events are; an end in the
//!   future is taken as now;
//! * at most one lookup attribute: `resource_name`, `resource_type` (`AWS::EC2::SecurityGroup`),
//!   `event_name` (`UpdateNodegroupConfig`), `event_source` (`eks.amazonaws.com`) or
//!   `username`. LookupEvents takes one, so two are `INVALID_INPUT` naming both, rather than
//!   one of them silently ignored. It matches exactly and case-sensitively, so a value that
//!   can be read only one way is normalised first and a note says so (`EKS` →
//!   `eks.amazonaws.com`, `updateNodegroupConfig` → `UpdateNodegroupConfig`);
//! * `include_read_only` (default false: changes only);
//! * `max_results` (1–[`MAX_RESULTS`], default [`DEFAULT_MAX_RESULTS`]).
//!
//! Every field is checked before any request, each message naming the field and its limit.
//!
//! **Read-only events.** Without a lookup attribute, changes only are asked of CloudTrail
//! with the `ReadOnly=false` lookup attribute. With one, that single slot is taken, so the
//! function drops read-only events itself (the event's `ReadOnly`), keeps paging until it
//! has `max_results` changes, and the answer says so (`read_only_events`,
//! `read_only_skipped`, a note).
//!
//! **Rate.** LookupEvents allows 2 requests per second per account. Pages of at most
//! [`PAGE_SIZE`] (50, CloudTrail's own maximum) are requested through a [`pace::Pacer`] that
//! spaces every request [`pace::REQUEST_SPACING`] apart, retries included. The SDK's own
//! retries are switched off for that reason (they would resend without asking the pacer);
//! a `ThrottlingException` (or any retryable failure) is retried here with
//! [`THROTTLE_BACKOFF`] ([`common::retry`]: jittered, inside the deadline).
//!
//! **Stopping.** Paging ends at CloudTrail's last page, at `max_results`, after
//! [`MAX_PAGES`] pages, or when the deadline leaves no time for another page (or one times
//! out, or throttling outlasts the retries) once at least one page has arrived: the answer
//! then lists what arrived with `truncated: true` and `truncated_reason`. A failure of the
//! first page is the answer's error.
//!
//! **Output.** The function's region, the time range used, the lookup attribute, and the
//! events newest first, each with time, event name and source, who (identity type, ARN,
//! session name, session issuer, invoking service), source IP, user agent, resources, the
//! error code and message if the call failed, the event's region, and a bounded, scrubbed
//! summary of the request parameters ([`summary`]); see [`change`] for each field. An answer
//! without events carries a `hint`: how they were looked for (the exact lookup, read-only
//! calls left out, events arriving minutes late, global services in us-east-1).
//!
//! **Errors.** AWS errors map per docs/contract.md §1.7 ([`ToolError::from_sdk`]); access
//! denied says the role needs [`REQUIRED_ACTION`]; CloudTrail's own refusals of a lookup
//! (`InvalidLookupAttributesException`, `InvalidTimeRangeException`,
//! `InvalidMaxResultsException`) are `INVALID_INPUT`.
//!
//! The region is the function's own (its SDK configuration); the answer says which, and no
//! input can change it.

pub mod change;
pub mod pace;
pub mod summary;

use std::{future::Future, time::Duration};

use aws_sdk_cloudtrail::{
    config::{http::HttpResponse, retry::RetryConfig},
    error::{ProvideErrorMetadata, SdkError},
    operation::lookup_events::LookupEventsError,
    types::{Event, LookupAttribute, LookupAttributeKey},
};
use common::{
    Deadline, ErrorCode, Handler, Invocation, ToolError,
    retry::{Backoff, with_retries},
    text::is_invisible,
    time::{TimeSpec, format_rfc3339},
};
use serde::{Deserialize, Serialize};

use crate::{
    change::Change,
    pace::{Pacer, REQUEST_SPACING},
};

/// Largest `max_results`.
pub const MAX_RESULTS: u32 = 200;
/// `max_results` when the caller gives none.
pub const DEFAULT_MAX_RESULTS: u32 = 50;
/// Events asked of CloudTrail per page: LookupEvents' own maximum.
pub const PAGE_SIZE: u32 = 50;
/// The time range when the caller gives no `start`: this long before `end`.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// How far back CloudTrail's event history goes.
pub const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// Timeout of one LookupEvents request, before the deadline cuts it shorter.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Most pages read for one answer: with read-only events dropped here, 2,000 events read,
/// and at [`REQUEST_SPACING`] about 24 s, most of a 30 s function's time.
pub const MAX_PAGES: usize = 40;
/// Retries of a throttled (or otherwise retryable) page: waits of up to 0.5, 1 and 2 s, each
/// also at least [`REQUEST_SPACING`] after the last request, inside the deadline.
pub const THROTTLE_BACKOFF: Backoff = Backoff {
    retries: 3,
    base: Duration::from_millis(500),
    cap: Duration::from_secs(2),
};
/// Longest `resource_name` or `username`: CloudTrail's limit on a lookup value.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 2000;
/// Longest `event_name`.
pub const MAX_EVENT_NAME_CHARS: usize = 128;
/// Longest `event_source` (a DNS name).
pub const MAX_EVENT_SOURCE_CHARS: usize = 253;
/// Longest `resource_type`.
pub const MAX_RESOURCE_TYPE_CHARS: usize = 256;
/// The IAM action the function's role needs.
pub const REQUIRED_ACTION: &str = "cloudtrail:LookupEvents";

const SERVICE: &str = "AWS CloudTrail";

/// What to look up: `changes`, the only action, kept for the same shape as the other tools.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Events in a time range, newest first.
    #[default]
    Changes,
}

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailInput {
    /// `changes` (the default).
    #[serde(default)]
    pub action: Action,
    /// Range start (default `end` − [`DEFAULT_WINDOW`]).
    #[serde(default)]
    pub start: Option<TimeSpec>,
    /// Range end (default now).
    #[serde(default)]
    pub end: Option<TimeSpec>,
    /// Only events naming this resource.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// Only events naming a resource of this type.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Only this API action.
    #[serde(default)]
    pub event_name: Option<String>,
    /// Only this service's events.
    #[serde(default)]
    pub event_source: Option<String>,
    /// Only this caller's events (IAM user name or role session name).
    #[serde(default)]
    pub username: Option<String>,
    /// Whether read-only events are listed too (default false).
    #[serde(default)]
    pub include_read_only: Option<bool>,
    /// Most events returned.
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// A LookupEvents lookup attribute the caller can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// `resource_name`: `ResourceName`.
    ResourceName,
    /// `resource_type`: `ResourceType`.
    ResourceType,
    /// `event_name`: `EventName`.
    EventName,
    /// `event_source`: `EventSource`.
    EventSource,
    /// `username`: `Username`.
    Username,
}

impl Attribute {
    /// The input field's name.
    pub fn field(self) -> &'static str {
        match self {
            Self::ResourceName => "resource_name",
            Self::ResourceType => "resource_type",
            Self::EventName => "event_name",
            Self::EventSource => "event_source",
            Self::Username => "username",
        }
    }

    fn key(self) -> LookupAttributeKey {
        match self {
            Self::ResourceName => LookupAttributeKey::ResourceName,
            Self::ResourceType => LookupAttributeKey::ResourceType,
            Self::EventName => LookupAttributeKey::EventName,
            Self::EventSource => LookupAttributeKey::EventSource,
            Self::Username => LookupAttributeKey::Username,
        }
    }

    /// The value to send, trimmed, or why it cannot be sent. LookupEvents matches exactly and
    /// case-sensitively, so what can be read only one way is normalised before it is sent (an
    /// event source is a lower-case DNS name, and `eks` alone means `eks.amazonaws.com`; an
    /// API action starts with a capital), and a value that still cannot match anything is
    /// refused here with the form it should have, instead of answering "no events".
    fn check(self, value: &str) -> Result<String, ToolError> {
        let field = self.field();
        let value = value.trim();
        let normalised = match self {
            Self::EventSource if !value.is_empty() => {
                let lower = value.to_ascii_lowercase();
                if lower.contains('.') {
                    lower
                } else {
                    format!("{lower}.amazonaws.com")
                }
            }
            Self::EventName => {
                let mut chars = value.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            }
            _ => value.to_owned(),
        };
        let value = normalised.as_str();
        if value.is_empty() {
            return Err(ToolError::invalid_input(format!(
                "{field} must not be empty"
            )));
        }
        if value.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err(ToolError::invalid_input(format!(
                "{field} must be plain text, without control or invisible characters"
            )));
        }
        let chars = value.chars().count();
        let ok = match self {
            Self::ResourceName | Self::Username => chars <= MAX_ATTRIBUTE_VALUE_CHARS,
            Self::ResourceType => chars <= MAX_RESOURCE_TYPE_CHARS && is_resource_type(value),
            Self::EventName => {
                chars <= MAX_EVENT_NAME_CHARS
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            Self::EventSource => chars <= MAX_EVENT_SOURCE_CHARS && is_event_source(value),
        };
        if ok {
            return Ok(value.to_owned());
        }
        Err(ToolError::invalid_input(match self {
            Self::ResourceName | Self::Username => {
                format!("{field} must be 1 to {MAX_ATTRIBUTE_VALUE_CHARS} characters")
            }
            Self::ResourceType => format!(
                "resource_type must be a type such as AWS::EC2::SecurityGroup (three parts of letters and digits joined by ::, at most {MAX_RESOURCE_TYPE_CHARS} characters)"
            ),
            Self::EventName => format!(
                "event_name must be an API action such as UpdateNodegroupConfig (letters, digits and _, at most {MAX_EVENT_NAME_CHARS} characters)"
            ),
            Self::EventSource => format!(
                "event_source must be a service's event source such as eks.amazonaws.com (lower-case letters, digits, - and ., with its domain; at most {MAX_EVENT_SOURCE_CHARS} characters)"
            ),
        }))
    }
}

/// `AWS::EC2::SecurityGroup`: three runs of ASCII letters and digits joined by `::`.
fn is_resource_type(value: &str) -> bool {
    let parts: Vec<&str> = value.split("::").collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `eks.amazonaws.com`: dot-separated labels of lower-case letters, digits and `-`, at least
/// two of them (a bare `eks` matches no event).
fn is_event_source(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    start_ms: i64,
    end_ms: i64,
    lookup: Option<(Attribute, String)>,
    include_read_only: bool,
    max_results: usize,
    /// What the check changed about the range (an end in the future taken as now).
    notes: Vec<String>,
}

impl CloudTrailInput {
    /// Checks the fields in a fixed order (lookup attributes, time range, `max_results`), so
    /// the first problem named is always the same one; `now_ms` is the time of the request.
    fn check(self, now_ms: i64) -> Result<Request, ToolError> {
        let Self {
            action: Action::Changes,
            start,
            end,
            resource_name,
            resource_type,
            event_name,
            event_source,
            username,
            include_read_only,
            max_results,
        } = self;
        let given: Vec<(Attribute, String)> = [
            (Attribute::ResourceName, resource_name),
            (Attribute::ResourceType, resource_type),
            (Attribute::EventName, event_name),
            (Attribute::EventSource, event_source),
            (Attribute::Username, username),
        ]
        .into_iter()
        .filter_map(|(attribute, value)| value.map(|v| (attribute, v)))
        .collect();
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(a, _)| a.field()).collect();
            return Err(ToolError::invalid_input(format!(
                "only one of resource_name, resource_type, event_name, event_source and username may be given, because CloudTrail's LookupEvents takes one lookup attribute; got {}",
                join_and(&names)
            )));
        }
        let mut notes = Vec::new();
        let lookup = match given.into_iter().next() {
            Some((attribute, value)) => {
                let sent = attribute.check(&value)?;
                if sent != value.trim() {
                    notes.push(format!(
                        "{} {} was read as {sent}",
                        attribute.field(),
                        value.trim()
                    ));
                }
                Some((attribute, sent))
            }
            None => None,
        };
        let (start_ms, end_ms) = window(start, end, now_ms, &mut notes)?;
        let max_results = match max_results {
            Some(n) if !(1..=MAX_RESULTS).contains(&n) => {
                return Err(ToolError::invalid_input(format!(
                    "max_results must be between 1 and {MAX_RESULTS}, got {n}"
                )));
            }
            Some(n) => n as usize,
            None => DEFAULT_MAX_RESULTS as usize,
        };
        Ok(Request {
            start_ms,
            end_ms,
            lookup,
            include_read_only: include_read_only.unwrap_or(false),
            max_results,
            notes,
        })
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The time range in Unix milliseconds: `end` (default now, and at most now), `start`
/// (default `end` − [`DEFAULT_WINDOW`], no earlier than the history's first day). A given
/// `start` (or `end`) before CloudTrail's [`RETENTION`] is refused, since the history holds
/// nothing there and a silent clamp would answer a different question.
fn window(
    start: Option<TimeSpec>,
    end: Option<TimeSpec>,
    now_ms: i64,
    notes: &mut Vec<String>,
) -> Result<(i64, i64), ToolError> {
    let earliest = now_ms - RETENTION.as_millis() as i64;
    let too_old = |field: &str, ms: i64| {
        ToolError::invalid_input(format!(
            "{field} {} is older than CloudTrail's event history, which keeps 90 days (the earliest is {}): older events are only in a trail's S3 logs or CloudTrail Lake",
            format_rfc3339(ms),
            format_rfc3339(earliest)
        ))
    };
    let mut end_ms = end.map_or(now_ms, |e| e.resolve(now_ms));
    if end_ms > now_ms {
        notes.push(format!(
            "end {} is in the future: the range ends now",
            format_rfc3339(end_ms)
        ));
        end_ms = now_ms;
    }
    if end_ms < earliest {
        return Err(too_old("end", end_ms));
    }
    let start_ms = match start {
        Some(s) => {
            let ms = s.resolve(now_ms);
            if ms < earliest {
                return Err(too_old("start", ms));
            }
            ms
        }
        None => (end_ms - DEFAULT_WINDOW.as_millis() as i64).max(earliest),
    };
    if start_ms >= end_ms {
        return Err(ToolError::invalid_input(format!(
            "start must be before end (start {}, end {})",
            format_rfc3339(start_ms),
            format_rfc3339(end_ms)
        )));
    }
    Ok((start_ms, end_ms))
}

/// How read-only events were kept out of (or left in) the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadOnlyEvents {
    /// `include_read_only` was true.
    Included,
    /// CloudTrail left them out (the `ReadOnly=false` lookup attribute).
    ExcludedByCloudtrail,
    /// The lookup attribute was taken by another filter, so the function dropped them.
    ExcludedByFunction,
}

/// Why a listing stopped before CloudTrail's last page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// `max_results` events were listed and more match.
    MaxResults,
    /// The deadline left no time for another page, or a page did not arrive in time.
    Deadline,
    /// CloudTrail kept throttling past the retries.
    Throttled,
    /// [`MAX_PAGES`] pages were read.
    PageLimit,
}

/// The lookup attribute used, as the answer echoes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupEcho {
    /// The input field.
    pub name: Attribute,
    /// The value sent to CloudTrail.
    pub value: String,
}

/// The answer (docs/contract.md §2.13).
#[derive(Debug, Serialize)]
pub struct Changes {
    /// `changes`.
    pub action: &'static str,
    /// The region the calls went to (the function's own).
    pub region: String,
    /// The range start used, RFC 3339.
    pub start: String,
    /// The range end used, RFC 3339.
    pub end: String,
    /// The lookup attribute, or null.
    pub lookup_attribute: Option<LookupEcho>,
    /// How read-only events were handled.
    pub read_only_events: ReadOnlyEvents,
    /// With `excluded_by_function`: how many read-only events were dropped among those read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_skipped: Option<usize>,
    /// The events, newest first.
    pub events: Vec<Change>,
    /// How many are listed.
    pub count: usize,
    /// Whether more events in the range may exist than are listed.
    pub truncated: bool,
    /// Why the listing stopped early, when `truncated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_reason: Option<Stop>,
    /// How many secrets were replaced in request parameters and error messages.
    pub redactions: usize,
    /// How many LookupEvents pages were read.
    pub pages: usize,
    /// Sentences for the reader: filters applied here, why the listing stopped, a range
    /// adjusted, a lookup value normalised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// With no event: how they were looked for, so "no events" is not read as "nothing
    /// happened" when the lookup could not match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Why an answer may hold no event: the lookup is exact, read-only calls may have been left
/// out, events arrive late, and global services are recorded in another region.
fn empty_hint(
    lookup: Option<&(Attribute, String)>,
    read_only: ReadOnlyEvents,
    region: &str,
) -> String {
    let mut hint = match lookup {
        Some((a, value)) => format!(
            "no event has {} exactly {value} (case-sensitive; a resource may be recorded by id or ARN rather than name) in this range",
            a.field()
        ),
        None => "no event in this range".to_owned(),
    };
    if read_only != ReadOnlyEvents::Included {
        hint.push_str("; read-only calls were left out (include_read_only)");
    }
    hint.push_str(&format!(
        "; events appear minutes after the call, and IAM and other global services are recorded in us-east-1, not {region}"
    ));
    hint
}

/// The handler. The CloudTrail client is built on the first request (not before the
/// runtime's first poll) from the process-wide SDK configuration, or handed in by a test;
/// the pacer lives as long as the handler, so its spacing holds across invocations.
#[derive(Debug)]
pub struct CloudTrail {
    client: tokio::sync::OnceCell<aws_sdk_cloudtrail::Client>,
    pacer: Pacer,
    /// Events asked of CloudTrail per page (at most [`PAGE_SIZE`]). Tests lower it to make a
    /// handful of fixtures span several pages.
    pub page_size: u32,
}

impl Default for CloudTrail {
    fn default() -> Self {
        Self::new()
    }
}

/// `config` with the SDK's retries switched off: each retry would be a request the pacer
/// did not space. Throttling is retried by [`THROTTLE_BACKOFF`] instead.
fn without_sdk_retries(config: aws_sdk_cloudtrail::config::Builder) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::from_conf(config.retry_config(RetryConfig::disabled()).build())
}

impl CloudTrail {
    /// A handler whose client comes from [`common::aws::sdk_config`] on first use.
    pub fn new() -> Self {
        Self {
            client: tokio::sync::OnceCell::new(),
            pacer: Pacer::new(REQUEST_SPACING),
            page_size: PAGE_SIZE,
        }
    }

    /// A handler using `client`'s configuration (without its retries, as in production).
    pub fn with_client(client: &aws_sdk_cloudtrail::Client) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(without_sdk_retries(
                client.config().to_builder(),
            ))),
            pacer: Pacer::new(REQUEST_SPACING),
            page_size: PAGE_SIZE,
        }
    }

    async fn client(&self) -> &aws_sdk_cloudtrail::Client {
        self.client
            .get_or_init(|| async { without_sdk_retries(common::aws::sdk_config().await.into()) })
            .await
    }
}

/// Maps a LookupEvents failure to the envelope: §1.7, with access denied naming the
/// missing action and CloudTrail's refusals of the lookup itself as `INVALID_INPUT`.
fn map_error(err: &SdkError<LookupEventsError, HttpResponse>) -> ToolError {
    let mut error = ToolError::from_sdk(SERVICE, err);
    let code = err.as_service_error().and_then(|e| e.code());
    if error.code == ErrorCode::AccessDenied {
        error.message = format!(
            "{}; the function's role needs {REQUIRED_ACTION}",
            error.message
        );
    } else if matches!(
        code,
        Some(
            "InvalidLookupAttributesException"
                | "InvalidTimeRangeException"
                | "InvalidMaxResultsException"
        )
    ) {
        error.code = ErrorCode::InvalidInput;
        error.retryable = false;
    }
    error
}

/// What the paging gathered.
#[derive(Debug)]
struct Gathered<T> {
    events: Vec<T>,
    /// Read-only events dropped here.
    skipped: usize,
    pages: usize,
    stop: Option<Stop>,
    /// Why a failure ended the listing early (the failure's message).
    cut_by: Option<String>,
}

/// Reads pages (`page(token, size)` sends one request, retries included) until `want`
/// events are kept or CloudTrail has no more. With `drop_read_only`, read-only events
/// (`is_read_only`) are dropped and full pages are asked for, since some of each will go.
/// A page that fails after the first one arrived ends the listing if it failed for time or
/// throttling, keeping what arrived; any other failure, or the first page's, is the error.
async fn gather<T, F, Fut>(
    want: usize,
    page_size: u32,
    drop_read_only: bool,
    is_read_only: impl Fn(&T) -> bool,
    mut page: F,
) -> Result<Gathered<T>, ToolError>
where
    F: FnMut(Option<String>, i32) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ToolError>>,
{
    let page_size = page_size.clamp(1, PAGE_SIZE) as usize;
    let mut got = Gathered {
        events: Vec::new(),
        skipped: 0,
        pages: 0,
        stop: None,
        cut_by: None,
    };
    let mut token = None;
    loop {
        if got.pages == MAX_PAGES {
            got.stop = Some(Stop::PageLimit);
            return Ok(got);
        }
        let size = if drop_read_only {
            page_size
        } else {
            page_size.min(want - got.events.len())
        };
        let (events, next) = match page(token.take(), size as i32).await {
            Ok(answer) => answer,
            Err(e) if got.pages > 0 && e.code == ErrorCode::UpstreamTimeout => {
                got.stop = Some(Stop::Deadline);
                got.cut_by = Some(e.message);
                return Ok(got);
            }
            Err(e) if got.pages > 0 && e.code == ErrorCode::Throttled => {
                got.stop = Some(Stop::Throttled);
                got.cut_by = Some(e.message);
                return Ok(got);
            }
            Err(e) => return Err(e),
        };
        got.pages += 1;
        let mut overflow = false;
        for event in events {
            if drop_read_only && is_read_only(&event) {
                got.skipped += 1;
            } else if got.events.len() == want {
                // A change past `want`: more exist than are listed.
                overflow = true;
                break;
            } else {
                got.events.push(event);
            }
        }
        match next.filter(|t| !t.is_empty()) {
            Some(next) if got.events.len() < want => token = Some(next),
            Some(_) => {
                got.stop = Some(Stop::MaxResults);
                return Ok(got);
            }
            None => {
                got.stop = overflow.then_some(Stop::MaxResults);
                return Ok(got);
            }
        }
    }
}

/// One request's fixed parts: client, deadline, pacer, lookup attribute and time range.
struct Lookup<'a> {
    client: &'a aws_sdk_cloudtrail::Client,
    deadline: &'a Deadline,
    pacer: &'a Pacer,
    attribute: Option<LookupAttribute>,
    start: aws_smithy_types::DateTime,
    end: aws_smithy_types::DateTime,
}

impl Lookup<'_> {
    /// One page, retried with [`THROTTLE_BACKOFF`], every attempt through the pacer and
    /// inside the deadline.
    async fn page(
        &self,
        token: Option<String>,
        size: i32,
    ) -> Result<(Vec<Event>, Option<String>), ToolError> {
        with_retries(&THROTTLE_BACKOFF, self.deadline, |_| {
            let token = token.clone();
            async move {
                self.pacer.slot(self.deadline).await?;
                let request = self
                    .client
                    .lookup_events()
                    .set_lookup_attributes(self.attribute.clone().map(|a| vec![a]))
                    .start_time(self.start)
                    .end_time(self.end)
                    .max_results(size)
                    .set_next_token(token)
                    .send();
                let out = common::aws::bounded(self.deadline, SERVICE, CALL_TIMEOUT, request)
                    .await?
                    .map_err(|e| map_error(&e))?;
                Ok((out.events.unwrap_or_default(), out.next_token))
            }
        })
        .await
    }
}

fn attribute(key: LookupAttributeKey, value: &str) -> Result<LookupAttribute, ToolError> {
    LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .map_err(|_| ToolError::internal("a lookup attribute without its key or value"))
}

impl Handler for CloudTrail {
    const NAME: &'static str = "cloudtrail";
    type Input = CloudTrailInput;
    type Output = Changes;

    async fn handle(
        &self,
        input: CloudTrailInput,
        invocation: &Invocation,
    ) -> Result<Changes, ToolError> {
        let request = input.check(common::time::now_ms())?;
        let client = self.client().await;
        let region = client
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| ToolError::config("no AWS region is configured (set AWS_REGION)"))?;
        let (read_only_events, lookup_attribute) =
            match (&request.lookup, request.include_read_only) {
                (Some((a, value)), include) => (
                    if include {
                        ReadOnlyEvents::Included
                    } else {
                        ReadOnlyEvents::ExcludedByFunction
                    },
                    Some(attribute(a.key(), value)?),
                ),
                (None, false) => (
                    ReadOnlyEvents::ExcludedByCloudtrail,
                    Some(attribute(LookupAttributeKey::ReadOnly, "false")?),
                ),
                (None, true) => (ReadOnlyEvents::Included, None),
            };
        let lookup = Lookup {
            client,
            deadline: &invocation.deadline,
            pacer: &self.pacer,
            attribute: lookup_attribute,
            start: aws_smithy_types::DateTime::from_millis(request.start_ms),
            end: aws_smithy_types::DateTime::from_millis(request.end_ms),
        };
        let drop_read_only = read_only_events == ReadOnlyEvents::ExcludedByFunction;
        let lookup = &lookup;
        let gathered = gather(
            request.max_results,
            self.page_size,
            drop_read_only,
            change::is_read_only,
            |token, size| lookup.page(token, size),
        )
        .await?;

        let mut notes = request.notes;
        if let (true, Some((a, _))) = (drop_read_only, &request.lookup) {
            notes.push(format!(
                "CloudTrail takes one lookup attribute and {} used it, so this function dropped read-only events itself ({} among those read)",
                a.field(),
                gathered.skipped
            ));
        }
        match gathered.stop {
            Some(Stop::MaxResults) => notes.push(format!(
                "more events match: narrow the range or the lookup, or raise max_results (at most {MAX_RESULTS})"
            )),
            Some(Stop::PageLimit) => notes.push(format!(
                "stopped after {MAX_PAGES} pages: events older than the last one listed may be missing"
            )),
            Some(Stop::Deadline | Stop::Throttled) => notes.push(format!(
                "stopped after {} pages ({}): events older than the last one listed may be missing",
                gathered.pages,
                gathered.cut_by.as_deref().unwrap_or("no time left")
            )),
            None => {}
        }
        let mut redactions = 0;
        let events: Vec<Change> = gathered
            .events
            .iter()
            .map(|event| {
                let (change, found) = Change::from_event(event);
                redactions += found;
                change
            })
            .collect();
        tracing::debug!(
            pages = gathered.pages,
            events = events.len(),
            skipped = gathered.skipped,
            "looked up CloudTrail events"
        );
        let hint = events
            .is_empty()
            .then(|| empty_hint(request.lookup.as_ref(), read_only_events, &region));
        Ok(Changes {
            hint,
            action: "changes",
            region,
            start: format_rfc3339(request.start_ms),
            end: format_rfc3339(request.end_ms),
            lookup_attribute: request
                .lookup
                .map(|(name, value)| LookupEcho { name, value }),
            read_only_events,
            read_only_skipped: drop_read_only.then_some(gathered.skipped),
            count: events.len(),
            events,
            truncated: gathered.stop.is_some(),
            truncated_reason: gathered.stop,
            redactions,
            pages: gathered.pages,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<CloudTrailInput>(&common::tools::CLOUDTRAIL).unwrap();
        assert_eq!(common::tools::CLOUDTRAIL.parsed()["name"], CloudTrail::NAME);
    }

    fn input(v: serde_json::Value) -> Result<Request, ToolError> {
        serde_json::from_value::<CloudTrailInput>(v)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check(NOW)
    }

    fn message(v: serde_json::Value) -> String {
        let e = input(v.clone()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{v}");
        e.message
    }

    #[test]
    fn defaults_are_the_last_day_changes_only_fifty_events() {
        assert_eq!(
            input(json!({})).unwrap(),
            Request {
                start_ms: NOW - DAY,
                end_ms: NOW,
                lookup: None,
                include_read_only: false,
                max_results: 50,
                notes: vec![],
            }
        );
        assert_eq!(input(json!({"action": "changes"})).unwrap().max_results, 50);
    }

    #[test]
    fn each_lookup_attribute_is_taken_trimmed() {
        let cases = [
            (
                "resource_name",
                " prod-eu ",
                Attribute::ResourceName,
                "prod-eu",
            ),
            (
                "resource_type",
                "AWS::EC2::SecurityGroup",
                Attribute::ResourceType,
                "AWS::EC2::SecurityGroup",
            ),
            (
                "event_name",
                "UpdateNodegroupConfig",
                Attribute::EventName,
                "UpdateNodegroupConfig",
            ),
            (
                "event_source",
                "eks.amazonaws.com",
                Attribute::EventSource,
                "eks.amazonaws.com",
            ),
            (
                "username",
                "jane.doe@example.com",
                Attribute::Username,
                "jane.doe@example.com",
            ),
        ];
        for (field, value, attribute, sent) in cases {
            let r = input(json!({ field: value, "include_read_only": true })).unwrap();
            assert_eq!(r.lookup, Some((attribute, sent.to_owned())), "{field}");
            assert!(r.include_read_only);
            assert_eq!(attribute.field(), field);
        }
    }

    #[test]
    fn what_can_be_read_only_one_way_is_normalised_and_said() {
        for (field, given, sent) in [
            ("event_source", "eks", "eks.amazonaws.com"),
            ("event_source", "EKS.amazonaws.com", "eks.amazonaws.com"),
            ("event_source", " IAM ", "iam.amazonaws.com"),
            (
                "event_name",
                "updateNodegroupConfig",
                "UpdateNodegroupConfig",
            ),
        ] {
            let r = input(json!({ field: given })).unwrap();
            assert_eq!(r.lookup.unwrap().1, sent, "{given}");
            assert_eq!(
                r.notes,
                [format!("{field} {} was read as {sent}", given.trim())]
            );
        }
        // Already in form: sent as given, nothing said.
        let r = input(json!({"event_name": "UpdateNodegroupConfig"})).unwrap();
        assert!(r.notes.is_empty());
    }

    #[test]
    fn an_empty_answer_says_how_events_were_looked_for() {
        let lookup = (Attribute::EventName, "DeleteCluster".to_owned());
        let hint = empty_hint(
            Some(&lookup),
            ReadOnlyEvents::ExcludedByFunction,
            "eu-west-1",
        );
        assert!(
            hint.starts_with("no event has event_name exactly DeleteCluster (case-sensitive"),
            "{hint}"
        );
        assert!(hint.contains("include_read_only") && hint.contains("not eu-west-1"));
        let hint = empty_hint(None, ReadOnlyEvents::Included, "eu-west-1");
        assert!(!hint.contains("include_read_only"), "{hint}");
    }

    #[test]
    fn two_lookup_attributes_are_refused_naming_them() {
        assert!(
            message(json!({"event_source": "eks.amazonaws.com", "username": "jane"}))
                .ends_with("takes one lookup attribute; got event_source and username")
        );
        assert!(
            message(json!({"resource_name": "a", "event_name": "B", "username": "c"}))
                .ends_with("got resource_name, event_name and username")
        );
    }

    #[test]
    fn attribute_values_follow_their_forms() {
        let cases = [
            (
                json!({"event_source": "eks_service"}),
                "event_source must be a service's event source such as eks.amazonaws.com",
            ),
            (
                json!({"event_source": "eks..amazonaws.com"}),
                "event_source must be",
            ),
            (
                json!({"event_source": format!("{}.com", "a".repeat(250))}),
                "at most 253 characters",
            ),
            (
                json!({"event_name": "Update Nodegroup"}),
                "event_name must be an API action",
            ),
            (
                json!({"event_name": "A".repeat(129)}),
                "at most 128 characters",
            ),
            (
                json!({"resource_type": "SecurityGroup"}),
                "resource_type must be a type such as AWS::EC2::SecurityGroup",
            ),
            (
                json!({"resource_type": "AWS::EC2::"}),
                "resource_type must be",
            ),
            (
                json!({"resource_name": "  "}),
                "resource_name must not be empty",
            ),
            (
                json!({"resource_name": "a".repeat(2001)}),
                "resource_name must be 1 to 2000 characters",
            ),
            (
                json!({"username": "x\u{0007}y"}),
                "username must be plain text",
            ),
            (
                json!({"username": "x\u{200B}y"}),
                "username must be plain text",
            ),
        ];
        for (case, expected) in cases {
            let m = message(case.clone());
            assert!(m.contains(expected), "{case}: {m}");
        }
        assert!(input(json!({"resource_name": "a".repeat(2000)})).is_ok());
    }

    #[test]
    fn the_range_is_checked_against_the_history() {
        let r = input(json!({"start": "now-90d"})).unwrap();
        assert_eq!((r.start_ms, r.end_ms), (NOW - 90 * DAY, NOW));
        let m = message(json!({"start": "now-91d"}));
        assert_eq!(
            m,
            "start 2025-10-02T00:00:00Z is older than CloudTrail's event history, which keeps 90 days (the earliest is 2025-10-03T00:00:00Z): older events are only in a trail's S3 logs or CloudTrail Lake"
        );
        assert!(
            message(json!({"end": "now-100d"})).starts_with("end 2025-09-23T00:00:00Z is older")
        );
        assert_eq!(
            message(json!({"start": "now-1h", "end": "now-2h"})),
            "start must be before end (start 2025-12-31T23:00:00Z, end 2025-12-31T22:00:00Z)"
        );
        assert!(message(json!({"start": "now"})).starts_with("start must be before end"));
        assert!(message(json!({"start": "yesterday"})).contains("must be RFC 3339"));
        // An end alone: a day before it. An end in the future: now, said so.
        let r = input(json!({"end": "2025-12-31T12:00:00Z"})).unwrap();
        assert_eq!(
            (r.start_ms, r.end_ms),
            (NOW - 12 * HOUR - DAY, NOW - 12 * HOUR)
        );
        let r = input(json!({"start": "now-2h", "end": 1_767_232_800})).unwrap();
        assert_eq!((r.start_ms, r.end_ms), (NOW - 2 * HOUR, NOW));
        assert_eq!(
            r.notes,
            ["end 2026-01-01T02:00:00Z is in the future: the range ends now"]
        );
        // An end near the history's start: the default day is cut at the history's start.
        let r = input(json!({"end": "now-89d12h"})).unwrap();
        assert_eq!(r.start_ms, NOW - 90 * DAY);
    }

    #[test]
    fn max_results_and_unknown_fields() {
        assert_eq!(input(json!({"max_results": 200})).unwrap().max_results, 200);
        assert_eq!(input(json!({"max_results": 1})).unwrap().max_results, 1);
        assert_eq!(
            message(json!({"max_results": 0})),
            "max_results must be between 1 and 200, got 0"
        );
        assert_eq!(
            message(json!({"max_results": 201})),
            "max_results must be between 1 and 200, got 201"
        );
        assert!(message(json!({"region": "eu-west-1"})).contains("unknown field `region`"));
        assert!(
            message(json!({"action": "delete_trail"})).contains("unknown variant `delete_trail`")
        );
        assert!(message(json!({"include_read_only": "yes"})).contains("invalid type"));
    }

    /// One answer of the fake CloudTrail below.
    type FakePage = std::future::Ready<Result<(Vec<(u32, bool)>, Option<String>), ToolError>>;

    /// A fake CloudTrail: `(id, read_only)` events, as many as asked per page, the token being
    /// the index of the next one.
    fn source(all: Vec<(u32, bool)>) -> impl FnMut(Option<String>, i32) -> FakePage {
        move |token, size| {
            let start: usize = token.map_or(0, |t| t.parse().unwrap());
            let end = (start + size as usize).min(all.len());
            let next = (end < all.len()).then(|| end.to_string());
            std::future::ready(Ok((all[start..end].to_vec(), next)))
        }
    }

    fn ids(g: &Gathered<(u32, bool)>) -> Vec<u32> {
        g.events.iter().map(|e| e.0).collect()
    }

    #[tokio::test]
    async fn pages_are_followed_to_the_end_or_to_max_results() {
        let all: Vec<(u32, bool)> = (0..7).map(|i| (i, false)).collect();
        let g = gather(100, 3, false, |e| e.1, source(all.clone()))
            .await
            .unwrap();
        assert_eq!((ids(&g), g.pages, g.stop), ((0..7).collect(), 3, None));
        let g = gather(5, 2, false, |e| e.1, source(all.clone()))
            .await
            .unwrap();
        assert_eq!(
            (ids(&g), g.pages, g.stop),
            ((0..5).collect(), 3, Some(Stop::MaxResults))
        );
        // Exactly all of them: CloudTrail had no more, nothing truncated.
        let g = gather(7, 50, false, |e| e.1, source(all)).await.unwrap();
        assert_eq!((g.events.len(), g.pages, g.stop), (7, 1, None));
    }

    #[tokio::test]
    async fn read_only_events_are_dropped_here_when_asked() {
        let all: Vec<(u32, bool)> = (0..10).map(|i| (i, i % 2 == 1)).collect();
        let g = gather(3, 4, true, |e| e.1, source(all.clone()))
            .await
            .unwrap();
        assert_eq!(ids(&g), [0, 2, 4]);
        // 1, 3, 5 dropped; 6, a change past the third, shows more exist.
        assert_eq!((g.skipped, g.pages, g.stop), (3, 2, Some(Stop::MaxResults)));
        let g = gather(50, 4, true, |e| e.1, source(all)).await.unwrap();
        assert_eq!((ids(&g), g.skipped, g.stop), (vec![0, 2, 4, 6, 8], 5, None));
    }

    #[tokio::test]
    async fn a_failure_after_the_first_page_keeps_what_arrived() {
        for (code, stop) in [
            (ErrorCode::UpstreamTimeout, Stop::Deadline),
            (ErrorCode::Throttled, Stop::Throttled),
        ] {
            let mut calls = 0;
            let g = gather(
                10,
                2,
                false,
                |e: &(u32, bool)| e.1,
                |_t, _s| {
                    calls += 1;
                    std::future::ready(if calls == 1 {
                        Ok((vec![(0, false), (1, false)], Some("more".to_owned())))
                    } else {
                        Err(ToolError::new(code, "out of time"))
                    })
                },
            )
            .await
            .unwrap();
            assert_eq!((ids(&g), g.stop), (vec![0, 1], Some(stop)));
            assert_eq!(g.cut_by.as_deref(), Some("out of time"));
        }
        // The first page's failure, or a failure of another kind, is the answer.
        let e = gather(
            10,
            2,
            false,
            |e: &(u32, bool)| e.1,
            |_t, _s| {
                std::future::ready(Err::<(Vec<(u32, bool)>, _), _>(ToolError::new(
                    ErrorCode::Throttled,
                    "slow",
                )))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::Throttled);
        let mut calls = 0;
        let e = gather(
            10,
            2,
            false,
            |e: &(u32, bool)| e.1,
            |_t, _s| {
                calls += 1;
                std::future::ready(if calls == 1 {
                    Ok((vec![(0, false)], Some("more".to_owned())))
                } else {
                    Err(ToolError::new(ErrorCode::AccessDenied, "no"))
                })
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::AccessDenied);
    }

    #[tokio::test]
    async fn an_endless_token_stops_at_the_page_limit() {
        let g = gather(
            10,
            2,
            true,
            |e: &(u32, bool)| e.1,
            |_t, _s| std::future::ready(Ok((vec![(0, true)], Some("again".to_owned())))),
        )
        .await
        .unwrap();
        assert_eq!(
            (g.pages, g.skipped, g.stop),
            (MAX_PAGES, MAX_PAGES, Some(Stop::PageLimit))
        );
    }

    #[test]
    fn names_are_joined_for_people() {
        assert_eq!(join_and(&["a"]), "a");
        assert_eq!(join_and(&["a", "b"]), "a and b");
        assert_eq!(join_and(&["a", "b", "c"]), "a, b and c");
    }
}
