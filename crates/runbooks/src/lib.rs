//! `runbooks`: the team's own procedures, Markdown files in S3, for the model to follow once
//! it knows what kind of incident it is looking at (docs/contract.md §2.14).
//!
//! **Where.** Configuration (§3): `runbooks/bucket` (required: without it, `CONFIG_ERROR`
//! naming the key) and `runbooks/prefix` (default [`DEFAULT_PREFIX`]; a `/` is added if it has
//! none). Only objects under the prefix whose key ends in `.md` are runbooks.
//!
//! **Input.** `action` is required:
//! * `list`: every runbook's key, title, tags and "use when" (its front matter, see
//!   [`markdown`]), at most `max_results` (1–[`MAX_RESULTS`], default [`MAX_RESULTS`]);
//! * `search`: `query` (1–[`MAX_QUERY_CHARS`] characters) matched against titles, tags,
//!   "use when" and text, ranked (title and tag matches first) with each runbook's matching
//!   lines ([`search`]); at most `max_results` (default [`DEFAULT_SEARCH_RESULTS`]);
//! * `get`: `key`, the object's whole key as `list` and `search` give it, **with** the prefix
//!   (`runbooks/pod-crashloop.md`): its text, cut at [`MAX_TEXT_BYTES`] (32 KB) with a
//!   visible marker. One form only, so the key the model sends is the key S3 has.
//!
//! Each field is checked before any request, in a fixed order, each message naming the field
//! and its limit; a field the action does not take is refused rather than ignored. A `key`
//! with `..`, a leading `/`, control or invisible characters, or not ending in `.md` is
//! refused before configuration is read; one outside the configured prefix, after it (it
//! needs the prefix) and before any S3 request.
//!
//! **The catalogue.** `list` and `search` read every runbook: one ListObjectsV2 sweep (pages
//! of [`PAGE_SIZE`], at most [`MAX_PAGES`]), then the first [`MAX_INDEXED_BYTES`] of each of
//! at most [`MAX_RUNBOOKS`] runbooks, [`CONCURRENT_READS`] at a time. The result is kept in
//! the handler for the configuration's cache lifetime (`CONFIG_TTL_SECONDS`, default 300 s:
//! [`common::AppConfig::ttl`]), so a warm instance answers the next `list` or `search`
//! without S3, and an edited runbook shows within that time. `get` always reads S3.
//!
//! **Text from the bucket** is cleaned before it leaves ([`markdown::clean`]: invisible and
//! control characters out, secrets scrubbed and counted in `redactions`); titles, tags,
//! "use when" and matching lines are one line each, cut to their limits.
//!
//! **Errors.** S3 is read with two signed REST calls ([`s3`]; why not the SDK is said there),
//! each within the smaller of [`CALL_TIMEOUT`] and the deadline, retried when retryable. A
//! missing bucket is `NOT_FOUND` naming the bucket and `runbooks/bucket`; a missing key
//! `NOT_FOUND`; an access denial names the IAM action the role needs (`s3:ListBucket`,
//! `s3:GetObject`); a bucket in another region is `CONFIG_ERROR` saying which; the rest map
//! as for every tool (docs/contract.md §1.7).

pub mod markdown;
pub mod s3;
pub mod search;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    AppConfig, Deadline, ErrorCode, Handler, Invocation, Settings, ToolError,
    retry::{Backoff, with_retries},
    text::is_invisible,
};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::{
    s3::{Failure, S3, S3Error, SERVICE},
    search::{Document, Word},
};

/// The configuration key naming the bucket.
pub const BUCKET_KEY: &str = "runbooks/bucket";
/// The configuration key naming the prefix under which runbooks are.
pub const PREFIX_KEY: &str = "runbooks/prefix";
/// The prefix when `runbooks/prefix` is not set.
pub const DEFAULT_PREFIX: &str = "runbooks/";
/// Largest `max_results`, and `list`'s default.
pub const MAX_RESULTS: u32 = 50;
/// `search`'s `max_results` when the caller gives none.
pub const DEFAULT_SEARCH_RESULTS: u32 = 5;
/// Longest `query`, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Longest `key`, in bytes: S3's own limit.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest text `get` returns, in bytes, before its cut marker.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Bytes of each runbook read for `list` and `search`: its front matter and the text searched.
pub const MAX_INDEXED_BYTES: usize = 64 * 1024;
/// Most runbooks read for `list` and `search`.
pub const MAX_RUNBOOKS: usize = 200;
/// Keys asked of ListObjectsV2 per page: its own maximum.
pub const PAGE_SIZE: u32 = 1000;
/// Most list pages read.
pub const MAX_PAGES: usize = 20;
/// Runbooks read at once.
pub const CONCURRENT_READS: usize = 8;
/// Timeout of one S3 request (reading its answer included), before the deadline cuts it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest matching line shown, in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Retries of a retryable S3 failure: waits of up to 100 ms then 200 ms, inside the deadline.
const RETRY: Backoff = Backoff::UPSTREAM;
/// The IAM action ListObjectsV2 needs.
const LIST_ACTION: &str = "s3:ListBucket";
/// The IAM action GetObject needs.
const GET_ACTION: &str = "s3:GetObject";

/// What to do.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Every runbook's key, title, tags and "use when".
    List,
    /// The runbooks a query matches, ranked, with their matching lines.
    Search,
    /// One runbook's text.
    Get,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Search => "search",
            Self::Get => "get",
        }
    }
}

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbooksInput {
    /// `list`, `search` or `get`.
    pub action: Action,
    /// `search`: what to look for.
    #[serde(default)]
    pub query: Option<String>,
    /// `get`: the runbook's key, with the prefix.
    #[serde(default)]
    pub key: Option<String>,
    /// `list` and `search`: most runbooks returned.
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    List {
        max_results: usize,
    },
    Search {
        query: String,
        words: Vec<Word>,
        max_results: usize,
    },
    Get {
        key: String,
    },
}

impl RunbooksInput {
    /// Checks every field for the action: those it does not take first, then its own.
    fn check(self) -> Result<Request, ToolError> {
        let Self {
            action,
            query,
            key,
            max_results,
        } = self;
        let refuse =
            |field: &str, given: bool| ToolError::refuse_if_given(given, field, action.as_str());
        let count = |default: u32| match max_results {
            Some(n) if !(1..=MAX_RESULTS).contains(&n) => Err(ToolError::invalid_input(format!(
                "max_results must be between 1 and {MAX_RESULTS}, got {n}"
            ))),
            Some(n) => Ok(n as usize),
            None => Ok(default as usize),
        };
        match action {
            Action::List => {
                refuse("query", query.is_some())?;
                refuse("key", key.is_some())?;
                Ok(Request::List {
                    max_results: count(MAX_RESULTS)?,
                })
            }
            Action::Search => {
                refuse("key", key.is_some())?;
                let query = check_query(query)?;
                let words = search::words(&query);
                if words.is_empty() {
                    return Err(ToolError::invalid_input(
                        "query must contain a word (letters or digits)",
                    ));
                }
                Ok(Request::Search {
                    query,
                    words,
                    max_results: count(DEFAULT_SEARCH_RESULTS)?,
                })
            }
            Action::Get => {
                refuse("query", query.is_some())?;
                refuse("max_results", max_results.is_some())?;
                Ok(Request::Get {
                    key: check_key(key)?,
                })
            }
        }
    }
}

fn check_query(query: Option<String>) -> Result<String, ToolError> {
    let query = query.ok_or_else(|| ToolError::invalid_input("query is required for search"))?;
    let query = query.trim();
    let chars = query.chars().count();
    if query.is_empty() || chars > MAX_QUERY_CHARS {
        return Err(ToolError::invalid_input(format!(
            "query must be 1 to {MAX_QUERY_CHARS} characters (not only spaces), got {chars}"
        )));
    }
    if query.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(ToolError::invalid_input(
            "query must be plain text, without control or invisible characters",
        ));
    }
    Ok(query.to_owned())
}

/// A `get` key's own rules (the prefix is checked once configuration is read).
fn check_key(key: Option<String>) -> Result<String, ToolError> {
    let key = key.ok_or_else(|| ToolError::invalid_input("key is required for get"))?;
    key_problem(&key).map_or(Ok(key), |problem| {
        Err(ToolError::invalid_input(format!("key {problem}")))
    })
}

/// Why `key` cannot be a runbook's key, if it cannot: the same rules for a key the caller
/// gives and one S3 lists, so every runbook `list` shows can be read with `get`.
fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Some(format!(
            "must be 1 to {MAX_KEY_BYTES} bytes, got {}",
            key.len()
        ));
    }
    if key.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Some("must not contain control or invisible characters".into());
    }
    if key.contains("..") || key.starts_with('/') || key.contains("//") {
        return Some("must not contain .. or //, nor start with /".into());
    }
    if !is_markdown(key) {
        return Some("must name a Markdown runbook, ending in .md".into());
    }
    None
}

fn is_markdown(key: &str) -> bool {
    key.len() > 3
        && key
            .get(key.len() - 3..)
            .is_some_and(|end| end.eq_ignore_ascii_case(".md"))
}

/// Where the runbooks are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// The prefix, empty or ending in `/`.
    pub prefix: String,
}

impl Location {
    /// From `runbooks/bucket` and `runbooks/prefix`; a value that cannot be one is a
    /// `CONFIG_ERROR` naming the key.
    pub fn from_settings(settings: &Settings) -> Result<Self, ToolError> {
        let bucket = settings.require(BUCKET_KEY)?.trim().to_owned();
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_bucket {
            return Err(ToolError::config(format!(
                "configuration key `{BUCKET_KEY}` must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)"
            )));
        }
        let raw = settings.get(PREFIX_KEY);
        let mut prefix = raw
            .as_deref()
            .unwrap_or(DEFAULT_PREFIX)
            .trim()
            .trim_start_matches('/')
            .to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        if prefix.len() > 512
            || prefix.contains("..")
            || prefix.contains("//")
            || prefix.chars().any(|c| c.is_control() || is_invisible(c))
        {
            return Err(ToolError::config(format!(
                "configuration key `{PREFIX_KEY}` must be a key prefix such as {DEFAULT_PREFIX} (at most 512 bytes, without .., // or control characters)"
            )));
        }
        Ok(Self { bucket, prefix })
    }

    /// `s3://bucket/prefix`, as answers name where they looked.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// One runbook as read for `list` and `search`.
#[derive(Debug, Clone)]
pub struct Runbook {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (RFC 3339, as S3 lists it).
    pub last_modified: Option<String>,
    /// Its title (front matter, else first heading, else file name), tags, "use when" and
    /// cleaned text.
    pub document: Document,
    /// Secrets replaced in its text.
    pub redactions: usize,
    /// Whether only its first [`MAX_INDEXED_BYTES`] were read (and searched).
    pub partly_read: bool,
}

impl Runbook {
    /// A runbook from its first bytes.
    fn read(key: String, size: u64, last_modified: Option<String>, bytes: &[u8]) -> Self {
        let (text, redactions) = markdown::clean(&markdown::decode(bytes));
        let parsed = markdown::parse(&text);
        let title = parsed
            .front
            .title
            .or(parsed.heading)
            .unwrap_or_else(|| file_title(&key));
        Self {
            document: Document {
                title,
                tags: parsed.front.tags,
                use_when: parsed.front.use_when,
                text,
                body_start: parsed.body_start,
            },
            partly_read: size > bytes.len() as u64,
            key,
            size,
            last_modified,
            redactions,
        }
    }
}

/// A key's file name without `.md`: the title of a runbook that gives none.
fn file_title(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    common::text::clean(
        &name[..name.len().saturating_sub(3)],
        markdown::MAX_TITLE_CHARS,
    )
}

/// Every runbook under a location, as read at one time.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// The runbooks, in key order.
    pub runbooks: Vec<Runbook>,
    /// Whether there are more runbooks than were read ([`MAX_RUNBOOKS`], [`MAX_PAGES`]).
    pub truncated: bool,
    /// What the reading skipped, for the answer's notes.
    pub notes: Vec<String>,
    /// List pages read.
    pub pages: usize,
}

struct Cached {
    location: Location,
    at: Instant,
    catalogue: Arc<Catalogue>,
}

/// The handler: configuration, the S3 client (built on first use) and the catalogue cache.
pub struct Runbooks {
    /// Configuration (SSM-cached): the `runbooks/*` keys, and the cache lifetime.
    pub config: AppConfig,
    /// What the S3 client sends with, until it is built (none: it was given built).
    http: Option<reqwest::Client>,
    s3: OnceCell<S3>,
    cache: Mutex<Option<Cached>>,
    /// Keys asked of ListObjectsV2 per page ([`PAGE_SIZE`]; tests lower it to page).
    pub page_size: u32,
}

impl std::fmt::Debug for Runbooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runbooks")
            .field("config", &self.config)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl Runbooks {
    /// A handler whose S3 client is built on the first request, from
    /// [`common::aws::sdk_config`], sending with `http`.
    pub fn new(http: reqwest::Client, config: AppConfig) -> Self {
        Self {
            config,
            http: Some(http),
            s3: OnceCell::new(),
            cache: Mutex::new(None),
            page_size: PAGE_SIZE,
        }
    }

    /// A handler using this S3 client.
    pub fn with_s3(s3: S3, config: AppConfig) -> Self {
        Self {
            config,
            http: None,
            s3: OnceCell::new_with(Some(s3)),
            cache: Mutex::new(None),
            page_size: PAGE_SIZE,
        }
    }

    async fn s3(&self) -> Result<&S3, ToolError> {
        self.s3
            .get_or_try_init(|| async {
                let http = self
                    .http
                    .clone()
                    .ok_or_else(|| ToolError::internal("the S3 client has no HTTP client"))?;
                S3::from_sdk_config(http, common::aws::sdk_config().await)
            })
            .await
    }

    /// The catalogue of `location`: the cached one if it is younger than the configuration's
    /// cache lifetime, else read now (and kept). Whether it came from the cache, too.
    async fn catalogue(
        &self,
        location: &Location,
        deadline: &Deadline,
    ) -> Result<(Arc<Catalogue>, bool), ToolError> {
        let ttl = self.config.ttl();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cached) = cache.as_ref()
                && cached.location == *location
                && cached.at.elapsed() < ttl
            {
                return Ok((cached.catalogue.clone(), true));
            }
        }
        let catalogue = Arc::new(self.read_catalogue(location, deadline).await?);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            location: location.clone(),
            at: Instant::now(),
            catalogue: catalogue.clone(),
        });
        Ok((catalogue, false))
    }

    async fn read_catalogue(
        &self,
        location: &Location,
        deadline: &Deadline,
    ) -> Result<Catalogue, ToolError> {
        let s3 = self.s3().await?;
        let mut catalogue = Catalogue::default();
        let mut wanted: Vec<s3::Object> = Vec::new();
        let (mut other, mut unreadable) = (0usize, 0usize);
        let mut token: Option<String> = None;
        loop {
            let page = call(deadline, location, None, LIST_ACTION, || {
                s3.list_page(
                    &location.bucket,
                    &location.prefix,
                    self.page_size,
                    token.as_deref(),
                )
            })
            .await?;
            catalogue.pages += 1;
            for object in page.objects {
                if !is_markdown(&object.key) || !object.key.starts_with(&location.prefix) {
                    other += 1;
                } else if key_problem(&object.key).is_some() {
                    unreadable += 1;
                } else if wanted.len() < MAX_RUNBOOKS {
                    wanted.push(object);
                } else {
                    catalogue.truncated = true;
                }
            }
            token = page.next;
            if token.is_none() || catalogue.truncated {
                break;
            }
            if catalogue.pages >= MAX_PAGES {
                catalogue.truncated = true;
                break;
            }
        }
        if catalogue.truncated {
            catalogue.notes.push(format!(
                "more runbooks than the first {} read (at most {MAX_RUNBOOKS} runbooks, {MAX_PAGES} list pages): some are not listed or searched",
                wanted.len()
            ));
        }
        if other > 0 {
            catalogue.notes.push(format!(
                "{other} object(s) under the prefix are not Markdown (.md) and are not runbooks"
            ));
        }
        if unreadable > 0 {
            catalogue.notes.push(format!(
                "{unreadable} .md object(s) skipped: their keys have .., //, a leading / or control characters, which get refuses"
            ));
        }
        let read: Vec<Option<Runbook>> = stream::iter(wanted)
            .map(|object| async move {
                let fetched = call(deadline, location, Some(&object.key), GET_ACTION, || {
                    s3.get_first(&location.bucket, &object.key, MAX_INDEXED_BYTES)
                })
                .await;
                match fetched {
                    Ok(fetched) => Ok(Some(Runbook::read(
                        object.key,
                        object.size,
                        object.last_modified,
                        &fetched.bytes,
                    ))),
                    // Deleted since it was listed: not a runbook any more.
                    Err(e) if e.code == ErrorCode::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(CONCURRENT_READS)
            .try_collect()
            .await?;
        let listed = read.len();
        catalogue.runbooks = read.into_iter().flatten().collect();
        catalogue.runbooks.sort_by(|a, b| a.key.cmp(&b.key));
        if catalogue.runbooks.len() < listed {
            catalogue.notes.push(format!(
                "{} runbook(s) were deleted while being read",
                listed - catalogue.runbooks.len()
            ));
        }
        let partly: Vec<&str> = catalogue
            .runbooks
            .iter()
            .filter(|r| r.partly_read)
            .map(|r| r.key.as_str())
            .collect();
        if !partly.is_empty() {
            catalogue.notes.push(format!(
                "only the first {} KB of {} runbook(s) are searched: {}",
                MAX_INDEXED_BYTES / 1024,
                partly.len(),
                common::text::clean(&partly.join(", "), 300)
            ));
        }
        tracing::debug!(
            pages = catalogue.pages,
            runbooks = catalogue.runbooks.len(),
            "read the runbooks"
        );
        Ok(catalogue)
    }
}

/// One S3 call inside the deadline, retried while retryable, its failure in the envelope:
/// `key` is the object concerned (none for a list), `action` the IAM action it needs.
async fn call<T, F, Fut>(
    deadline: &Deadline,
    location: &Location,
    key: Option<&str>,
    action: &str,
    request: F,
) -> Result<T, ToolError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    with_retries(&RETRY, deadline, |_| async {
        common::aws::bounded(deadline, SERVICE, CALL_TIMEOUT, request())
            .await?
            .map_err(|failure| match failure {
                Failure::Transport(e) => e,
                Failure::S3(e) => s3_error(&e, location, key, action),
            })
    })
    .await
}

/// S3's refusal in the envelope, naming what only this function knows: the configuration
/// key of a missing bucket, the key of a missing runbook, the IAM action of a denial.
fn s3_error(e: &S3Error, location: &Location, key: Option<&str>, action: &str) -> ToolError {
    let bucket = &location.bucket;
    let said = match (&e.code, &e.message) {
        (Some(code), Some(message)) => format!("{SERVICE} returned {code}: {message}"),
        (Some(code), None) => format!("{SERVICE} returned {code}"),
        _ => format!("{SERVICE} answered HTTP {}", e.status),
    };
    let (code, retryable, message) = match (e.code.as_deref(), e.status) {
        (Some("NoSuchBucket"), _) => (
            ErrorCode::NotFound,
            false,
            format!(
                "the bucket {bucket} does not exist (configuration key `{BUCKET_KEY}`): set it to the bucket that holds the runbooks"
            ),
        ),
        (Some("NoSuchKey"), _) | (None, 404) => (
            ErrorCode::NotFound,
            false,
            match key {
                Some(key) => format!(
                    "no runbook {key} in {}: list shows the keys there",
                    location.url()
                ),
                None => format!("{said} for {}", location.url()),
            },
        ),
        (Some("AccessDenied" | "AllAccessDisabled"), _) | (None, 403) => (
            ErrorCode::AccessDenied,
            false,
            format!(
                "{said}; the function's role needs {action} on {}{}",
                match action {
                    LIST_ACTION => format!("arn:aws:s3:::{bucket} (prefix {})", location.prefix),
                    _ => format!("arn:aws:s3:::{bucket}/{}*", location.prefix),
                },
                if key.is_some() {
                    " (and S3 says AccessDenied for a key that does not exist when the role may not list the bucket)"
                } else {
                    ""
                }
            ),
        ),
        (
            Some(
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "TokenRefreshRequired"
                | "InvalidToken",
            ),
            _,
        ) => (
            ErrorCode::AccessDenied,
            false,
            format!("{said}: the function's credentials were refused"),
        ),
        (
            Some(
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ),
            _,
        )
        | (None, 301) => (
            ErrorCode::ConfigError,
            false,
            format!(
                "the bucket {bucket} (configuration key `{BUCKET_KEY}`) is in {}, not in the function's region: deploy the function there or use a bucket in its region",
                e.bucket_region
                    .as_deref()
                    .map_or("another region".to_owned(), |r| format!(
                        "region {}",
                        common::text::clean(r, 30)
                    ))
            ),
        ),
        (Some("SlowDown" | "RequestLimitExceeded" | "Throttling"), _) | (None, 429) => {
            (ErrorCode::Throttled, true, said)
        }
        (Some("ServiceUnavailable"), _) | (None, 503) => (ErrorCode::Unavailable, true, said),
        (Some("InternalError"), _) => (ErrorCode::UpstreamError, true, said),
        (_, status) => {
            let base = ToolError::upstream_status(SERVICE, status);
            (base.code, base.retryable, said)
        }
    };
    ToolError {
        code,
        message,
        retryable,
    }
}

/// A runbook as `list` shows it.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// Its key, for `get`.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// When to use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_when: Option<String>,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// When it was last written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Entry {
    fn of(runbook: &Runbook) -> Self {
        Self {
            key: runbook.key.clone(),
            title: runbook.document.title.clone(),
            tags: runbook.document.tags.clone(),
            use_when: runbook.document.use_when.clone(),
            size_bytes: runbook.size,
            last_modified: runbook.last_modified.clone(),
        }
    }
}

/// `list`'s answer.
#[derive(Debug, Serialize)]
pub struct ListAnswer {
    /// `list`.
    pub action: &'static str,
    /// Where the runbooks are: `s3://bucket/prefix`.
    pub source: String,
    /// Runbooks returned.
    pub count: usize,
    /// Runbooks there are (of those read).
    pub total: usize,
    /// The runbooks, by key.
    pub runbooks: Vec<Entry>,
    /// Whether there are runbooks not returned (`max_results`, or more than are read).
    pub truncated: bool,
    /// Whether the answer came from the catalogue a previous call read.
    pub cached: bool,
    /// What was skipped or cut.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One runbook of `search`'s answer.
#[derive(Debug, Serialize)]
pub struct Found {
    /// Its key, for `get`.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// When to use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_when: Option<String>,
    /// Where the words were found: `title`, `tags`, `use_when`, `text`.
    pub matched_in: Vec<&'static str>,
    /// Up to five matching lines of its text.
    pub lines: Vec<Line>,
}

/// A matching line.
#[derive(Debug, Serialize)]
pub struct Line {
    /// Its 1-based number in the text `get` returns.
    pub line: usize,
    /// The line, one line of at most [`MAX_LINE_CHARS`] characters.
    pub text: String,
}

/// `search`'s answer.
#[derive(Debug, Serialize)]
pub struct SearchAnswer {
    /// `search`.
    pub action: &'static str,
    /// Where the runbooks are.
    pub source: String,
    /// The query, trimmed.
    pub query: String,
    /// The words looked for (stems: `crashing` is looked for as `crash`).
    pub words: Vec<String>,
    /// Runbooks returned.
    pub count: usize,
    /// Runbooks that match.
    pub matches: usize,
    /// Runbooks searched.
    pub searched: usize,
    /// The matches, best first.
    pub runbooks: Vec<Found>,
    /// Whether more runbooks match than are returned.
    pub truncated: bool,
    /// Whether the runbooks searched came from the catalogue a previous call read.
    pub cached: bool,
    /// Secrets replaced in the runbooks returned.
    pub redactions: usize,
    /// What was skipped or cut; what to do when nothing matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// `get`'s answer.
#[derive(Debug, Serialize)]
pub struct GetAnswer {
    /// `get`.
    pub action: &'static str,
    /// Where it is.
    pub source: String,
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// When to use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_when: Option<String>,
    /// Its whole size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// When it was last written (HTTP date, as S3 sends it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Whether `text` is cut (it then ends with the marker).
    pub truncated: bool,
    /// Secrets replaced in `text`.
    pub redactions: usize,
    /// The Markdown, cleaned; cut at [`MAX_TEXT_BYTES`] with [`cut_marker`]'s line.
    pub text: String,
}

/// The line that ends a cut text: where it was cut and how long the whole is.
pub fn cut_marker(total: Option<u64>) -> String {
    let whole = total.map_or_else(String::new, |t| format!(" of {t} bytes"));
    format!(
        "\n\n[… runbook cut here: only its first {} KB{whole} are shown]",
        MAX_TEXT_BYTES / 1024
    )
}

/// Any of the three answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// `list`.
    List(ListAnswer),
    /// `search`.
    Search(SearchAnswer),
    /// `get`.
    Get(GetAnswer),
}

impl Handler for Runbooks {
    const NAME: &'static str = "runbooks";
    type Input = RunbooksInput;
    type Output = Answer;

    async fn handle(
        &self,
        input: RunbooksInput,
        invocation: &Invocation,
    ) -> Result<Answer, ToolError> {
        let request = input.check()?;
        let settings = self.config.settings().await?;
        let location = Location::from_settings(&settings)?;
        let deadline = &invocation.deadline;
        match request {
            Request::List { max_results } => {
                let (catalogue, cached) = self.catalogue(&location, deadline).await?;
                let mut notes = catalogue.notes.clone();
                if catalogue.runbooks.is_empty() {
                    notes.push(format!(
                        "no runbooks under {}: upload Markdown (.md) files there",
                        location.url()
                    ));
                }
                let runbooks: Vec<Entry> = catalogue
                    .runbooks
                    .iter()
                    .take(max_results)
                    .map(Entry::of)
                    .collect();
                Ok(Answer::List(ListAnswer {
                    action: "list",
                    source: location.url(),
                    count: runbooks.len(),
                    total: catalogue.runbooks.len(),
                    truncated: catalogue.truncated || catalogue.runbooks.len() > max_results,
                    runbooks,
                    cached,
                    notes,
                }))
            }
            Request::Search {
                query,
                words,
                max_results,
            } => {
                let (catalogue, cached) = self.catalogue(&location, deadline).await?;
                let documents: Vec<&Document> =
                    catalogue.runbooks.iter().map(|r| &r.document).collect();
                let matches = search::search(&documents, &words);
                let mut notes = catalogue.notes.clone();
                if matches.is_empty() {
                    notes.push(format!(
                        "no runbook matches; list shows all {} of them",
                        catalogue.runbooks.len()
                    ));
                }
                let mut redactions = 0;
                let runbooks: Vec<Found> = matches
                    .iter()
                    .take(max_results)
                    .map(|m| {
                        let runbook = &catalogue.runbooks[m.index];
                        redactions += runbook.redactions;
                        Found {
                            key: runbook.key.clone(),
                            title: runbook.document.title.clone(),
                            tags: runbook.document.tags.clone(),
                            use_when: runbook.document.use_when.clone(),
                            matched_in: m.matched_in.clone(),
                            lines: m
                                .lines
                                .iter()
                                .map(|(line, text)| Line {
                                    line: *line,
                                    text: common::text::clean(text, MAX_LINE_CHARS),
                                })
                                .collect(),
                        }
                    })
                    .collect();
                Ok(Answer::Search(SearchAnswer {
                    action: "search",
                    source: location.url(),
                    query,
                    words: words.into_iter().map(|w| w.stem).collect(),
                    count: runbooks.len(),
                    matches: matches.len(),
                    searched: catalogue.runbooks.len(),
                    truncated: matches.len() > runbooks.len(),
                    runbooks,
                    cached,
                    redactions,
                    notes,
                }))
            }
            Request::Get { key } => {
                if !key.starts_with(&location.prefix) {
                    return Err(ToolError::invalid_input(format!(
                        "key must be a runbook's whole key under the prefix {}, as list and search give it (e.g. {}pod-crashloop.md); got {}",
                        location.prefix,
                        location.prefix,
                        common::text::clean(&key, 100)
                    )));
                }
                let s3 = self.s3().await?;
                let fetched = call(deadline, &location, Some(&key), GET_ACTION, || {
                    s3.get_first(&location.bucket, &key, MAX_TEXT_BYTES)
                })
                .await?;
                let size = fetched.total;
                let runbook = Runbook::read(
                    key,
                    size.unwrap_or(fetched.bytes.len() as u64),
                    None,
                    &fetched.bytes,
                );
                let Runbook {
                    key,
                    document,
                    redactions,
                    partly_read,
                    ..
                } = runbook;
                // Cleaning can lengthen a text a little (`[redacted]` for a short secret),
                // so the cut is made on what is returned.
                let (text, truncated) = match markdown::cut(&document.text, MAX_TEXT_BYTES) {
                    Some(head) => (format!("{head}{}", cut_marker(size)), true),
                    // Only the first bytes were read: the last line may be half of one.
                    None if partly_read => (
                        format!(
                            "{}{}",
                            markdown::whole_lines(&document.text),
                            cut_marker(size)
                        ),
                        true,
                    ),
                    None => (document.text, false),
                };
                Ok(Answer::Get(GetAnswer {
                    action: "get",
                    source: location.url(),
                    key,
                    title: document.title,
                    tags: document.tags,
                    use_when: document.use_when,
                    size_bytes: size,
                    last_modified: fetched.last_modified.map(|d| common::text::clean(&d, 40)),
                    truncated,
                    redactions,
                    text,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<RunbooksInput>(&common::tools::RUNBOOKS).unwrap();
        assert_eq!(common::tools::RUNBOOKS.parsed()["name"], Runbooks::NAME);
    }

    #[test]
    fn the_schema_stays_small() {
        let size = common::tools::RUNBOOKS.minified().len();
        assert!(size <= 1200, "runbooks.json is {size} bytes minified");
    }

    fn input(v: serde_json::Value) -> Result<Request, ToolError> {
        serde_json::from_value::<RunbooksInput>(v)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    fn message(v: serde_json::Value) -> String {
        let e = input(v.clone()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{v}");
        e.message
    }

    #[test]
    fn each_action_takes_its_fields_with_defaults() {
        assert_eq!(
            input(json!({"action": "list"})).unwrap(),
            Request::List { max_results: 50 }
        );
        assert_eq!(
            input(json!({"action": "list", "max_results": 3})).unwrap(),
            Request::List { max_results: 3 }
        );
        let Request::Search {
            query,
            words,
            max_results,
        } = input(json!({"action": "search", "query": "  pods crashing  "})).unwrap()
        else {
            panic!("not a search")
        };
        assert_eq!((query.as_str(), max_results), ("pods crashing", 5));
        assert_eq!(
            words.iter().map(|w| w.stem.as_str()).collect::<Vec<_>>(),
            ["pod", "crash"]
        );
        assert_eq!(
            input(json!({"action": "get", "key": "runbooks/a.MD"})).unwrap(),
            Request::Get {
                key: "runbooks/a.MD".into()
            }
        );
    }

    #[test]
    fn fields_an_action_does_not_take_are_refused() {
        for (case, want) in [
            (
                json!({"action": "list", "query": "x"}),
                "query does not apply to list",
            ),
            (
                json!({"action": "list", "key": "a.md"}),
                "key does not apply to list",
            ),
            (
                json!({"action": "search", "query": "x", "key": "a.md"}),
                "key does not apply to search",
            ),
            (
                json!({"action": "get", "key": "a.md", "query": "x"}),
                "query does not apply to get",
            ),
            (
                json!({"action": "get", "key": "a.md", "max_results": 2}),
                "max_results does not apply to get",
            ),
        ] {
            assert_eq!(message(case), want);
        }
    }

    #[test]
    fn limits_are_named() {
        for (case, want) in [
            (
                json!({"action": "list", "max_results": 0}),
                "max_results must be between 1 and 50, got 0",
            ),
            (
                json!({"action": "search", "query": "x", "max_results": 51}),
                "max_results must be between 1 and 50, got 51",
            ),
            (json!({"action": "search"}), "query is required for search"),
            (
                json!({"action": "search", "query": "   "}),
                "query must be 1 to 200 characters (not only spaces), got 0",
            ),
            (
                json!({"action": "search", "query": "x".repeat(201)}),
                "query must be 1 to 200 characters (not only spaces), got 201",
            ),
            (
                json!({"action": "search", "query": "a\u{200B}b"}),
                "query must be plain text, without control or invisible characters",
            ),
            (
                json!({"action": "search", "query": "?! --"}),
                "query must contain a word (letters or digits)",
            ),
            (json!({"action": "get"}), "key is required for get"),
            (
                json!({"action": "get", "key": ""}),
                "key must be 1 to 1024 bytes, got 0",
            ),
            (
                json!({"action": "get", "key": format!("{}.md", "k".repeat(1022))}),
                "key must be 1 to 1024 bytes, got 1025",
            ),
            (
                json!({"action": "get", "key": "runbooks/../secrets.md"}),
                "key must not contain .. or //, nor start with /",
            ),
            (
                json!({"action": "get", "key": "/runbooks/a.md"}),
                "key must not contain .. or //, nor start with /",
            ),
            (
                json!({"action": "get", "key": "runbooks//a.md"}),
                "key must not contain .. or //, nor start with /",
            ),
            (
                json!({"action": "get", "key": "runbooks/a\u{0000}.md"}),
                "key must not contain control or invisible characters",
            ),
            (
                json!({"action": "get", "key": "runbooks/notes.txt"}),
                "key must name a Markdown runbook, ending in .md",
            ),
            (
                json!({"action": "get", "key": ".md"}),
                "key must name a Markdown runbook, ending in .md",
            ),
        ] {
            assert_eq!(message(case.clone()), want, "{case}");
        }
        assert!(input(json!({"action": "search", "query": "x".repeat(200)})).is_ok());
        assert!(message(json!({"action": "delete"})).contains("unknown variant `delete`"));
        assert!(message(json!({"query": "x"})).contains("missing field `action`"));
        assert!(
            message(json!({"action": "list", "bucket": "b"})).contains("unknown field `bucket`")
        );
    }

    fn location(values: &[(&str, &str)]) -> Result<Location, ToolError> {
        Location::from_settings(&Settings::from_values(
            values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ))
    }

    #[test]
    fn the_location_comes_from_two_keys() {
        assert_eq!(
            location(&[("runbooks/bucket", "team-runbooks")]).unwrap(),
            Location {
                bucket: "team-runbooks".into(),
                prefix: "runbooks/".into()
            }
        );
        for (prefix, want) in [
            ("ops/rb", "ops/rb/"),
            ("/ops/", "ops/"),
            ("", ""),
            (" docs/ ", "docs/"),
        ] {
            let l = location(&[
                ("runbooks/bucket", "b.example"),
                ("runbooks/prefix", prefix),
            ])
            .unwrap();
            assert_eq!(l.prefix, want, "{prefix:?}");
        }
        let missing = location(&[]).unwrap_err();
        assert_eq!(missing.code, ErrorCode::ConfigError);
        assert!(
            missing.message.contains("`runbooks/bucket`"),
            "{}",
            missing.message
        );
        assert!(
            missing.message.contains("RUNBOOKS_BUCKET"),
            "{}",
            missing.message
        );
        for bucket in ["Team", "ab", "-bucket", "a_b", "s3://team"] {
            let e = location(&[("runbooks/bucket", bucket)]).unwrap_err();
            assert!(
                e.message.contains("must be an S3 bucket name"),
                "{bucket}: {}",
                e.message
            );
        }
        let e =
            location(&[("runbooks/bucket", "team"), ("runbooks/prefix", "a/../b")]).unwrap_err();
        assert!(e.message.contains("`runbooks/prefix`"), "{}", e.message);
    }

    #[test]
    fn a_runbook_without_front_matter_is_titled_by_its_heading_or_file() {
        let r = Runbook::read("runbooks/disk-full.md".into(), 12, None, b"no heading\n");
        assert_eq!(r.document.title, "disk-full");
        let r = Runbook::read("runbooks/x.md".into(), 18, None, b"intro\n# Disk full\n");
        assert_eq!(
            (r.document.title.as_str(), r.partly_read),
            ("Disk full", false)
        );
        let r = Runbook::read("runbooks/x.md".into(), 1_000, None, b"---\ntitle: T\n---\n");
        assert_eq!(
            (
                r.document.title.as_str(),
                r.document.body_start,
                r.partly_read
            ),
            ("T", 3, true)
        );
    }

    fn error(code: Option<&str>, status: u16) -> S3Error {
        S3Error {
            status,
            code: code.map(str::to_owned),
            message: Some("said by S3".into()),
            bucket_region: Some("eu-central-1".into()),
        }
    }

    #[test]
    fn s3_refusals_name_what_to_fix() {
        let l = Location {
            bucket: "team".into(),
            prefix: "runbooks/".into(),
        };
        let e = s3_error(&error(Some("NoSuchBucket"), 404), &l, None, LIST_ACTION);
        assert_eq!((e.code, e.retryable), (ErrorCode::NotFound, false));
        assert!(
            e.message.contains("team") && e.message.contains("`runbooks/bucket`"),
            "{}",
            e.message
        );
        let e = s3_error(
            &error(Some("NoSuchKey"), 404),
            &l,
            Some("runbooks/x.md"),
            GET_ACTION,
        );
        assert_eq!(
            e.message,
            "no runbook runbooks/x.md in s3://team/runbooks/: list shows the keys there"
        );
        let e = s3_error(&error(Some("AccessDenied"), 403), &l, None, LIST_ACTION);
        assert_eq!(e.code, ErrorCode::AccessDenied);
        assert_eq!(
            e.message,
            "Amazon S3 returned AccessDenied: said by S3; the function's role needs s3:ListBucket on arn:aws:s3:::team (prefix runbooks/)"
        );
        let e = s3_error(&error(None, 403), &l, Some("runbooks/x.md"), GET_ACTION);
        assert!(
            e.message
                .contains("needs s3:GetObject on arn:aws:s3:::team/runbooks/*"),
            "{}",
            e.message
        );
        let e = s3_error(
            &error(Some("PermanentRedirect"), 301),
            &l,
            None,
            LIST_ACTION,
        );
        assert_eq!(e.code, ErrorCode::ConfigError);
        assert!(e.message.contains("region eu-central-1"), "{}", e.message);
        for (code, status, want, retryable) in [
            (Some("SlowDown"), 503, ErrorCode::Throttled, true),
            (None, 429, ErrorCode::Throttled, true),
            (None, 503, ErrorCode::Unavailable, true),
            (Some("InternalError"), 500, ErrorCode::UpstreamError, true),
            (None, 500, ErrorCode::UpstreamError, true),
            (
                Some("InvalidArgument"),
                400,
                ErrorCode::UpstreamError,
                false,
            ),
            (
                Some("SignatureDoesNotMatch"),
                403,
                ErrorCode::AccessDenied,
                false,
            ),
        ] {
            let e = s3_error(&error(code, status), &l, None, LIST_ACTION);
            assert_eq!(
                (e.code, e.retryable),
                (want, retryable),
                "{code:?} {status}"
            );
        }
    }

    #[test]
    fn the_cut_marker_says_where_and_how_long() {
        assert_eq!(
            cut_marker(Some(40_000)),
            "\n\n[… runbook cut here: only its first 32 KB of 40000 bytes are shown]"
        );
        assert!(cut_marker(None).ends_with("first 32 KB are shown]"));
    }
}
