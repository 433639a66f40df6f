//! The seam between the function and a search engine.
//!
//! A provider only turns a [`Query`] into an HTTP request and an HTTP answer into [`Hit`]s (or
//! the error it means). Everything around that is shared and lives in `lib.rs`: timeouts
//! inside the deadline, the retry, the cap on how much of an answer is read, cleaning the
//! text, dropping bad URLs and duplicates, ranking. Adding a provider is one file in
//! `providers/` plus its line in [`crate::providers::PROVIDERS`].

use common::{ErrorCode, Secret, ToolError};
use serde::Deserialize;

/// Safe-search level, read in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(try_from = "String")]
pub enum SafeSearch {
    /// Filter explicit results.
    Strict,
    /// The engines' default.
    #[default]
    Moderate,
    /// No filtering.
    Off,
}

impl TryFrom<String> for SafeSearch {
    type Error = String;

    fn try_from(level: String) -> Result<Self, String> {
        match level.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "moderate" => Ok(Self::Moderate),
            "off" => Ok(Self::Off),
            _ => Err(format!(
                "safesearch must be strict, moderate or off, got `{}`",
                level.chars().take(50).collect::<String>()
            )),
        }
    }
}

/// How recent results must be: `d`, `w`, `m`, `y`, or as a model may write it, the word
/// (`week`, `past month`) or a duration of one unit (`24h`, `1d`, `7d`, `30d`, `1y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TimeLimit {
    /// The past day.
    Day,
    /// The past week.
    Week,
    /// The past month.
    Month,
    /// The past year.
    Year,
}

impl TryFrom<String> for TimeLimit {
    type Error = String;

    fn try_from(limit: String) -> Result<Self, String> {
        let lower = limit.trim().to_ascii_lowercase();
        let word = lower.strip_prefix("past ").unwrap_or(&lower);
        match word {
            "d" | "day" | "1d" | "24h" => Ok(Self::Day),
            "w" | "week" | "1w" | "7d" => Ok(Self::Week),
            "m" | "month" | "1m" | "30d" | "31d" => Ok(Self::Month),
            "y" | "year" | "1y" | "365d" => Ok(Self::Year),
            _ => Err(format!(
                "timelimit must be d, w, m or y (past day, week, month, year), got `{}`",
                limit.chars().take(50).collect::<String>()
            )),
        }
    }
}

impl TimeLimit {
    /// `day`, `week`, `month`, `year` (Tavily's and SearXNG's spelling).
    pub fn word(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// `d`, `w`, `m`, `y` (DuckDuckGo's spelling).
    pub fn letter(self) -> &'static str {
        match self {
            Self::Day => "d",
            Self::Week => "w",
            Self::Month => "m",
            Self::Year => "y",
        }
    }
}

/// A validated search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The search terms.
    pub text: String,
    /// Results wanted (1–10).
    pub max_results: usize,
    /// DuckDuckGo's region code, `<country>-<language>` (e.g. `us-en`; `wt-wt` for none).
    pub region: String,
    /// Safe-search level.
    pub safesearch: SafeSearch,
    /// Recency, if limited.
    pub timelimit: Option<TimeLimit>,
}

impl Query {
    /// The region's country (`us`), or `None` for `wt-wt` (no region).
    pub fn country(&self) -> Option<&str> {
        self.region
            .split_once('-')
            .map(|(c, _)| c)
            .filter(|c| *c != "wt")
    }

    /// The region's language (`en`), or `None` for `wt-wt`.
    pub fn language(&self) -> Option<&str> {
        self.region
            .split_once('-')
            .map(|(_, l)| l)
            .filter(|l| *l != "wt")
    }
}

/// One result as a provider found it: plain text (a provider whose answers carry markup or
/// entities decodes them, exactly once, with [`crate::html::text`]), not yet cleaned of
/// invisible characters, cut or checked: the shared code does that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The title.
    pub title: String,
    /// The target URL (redirect links already unwrapped).
    pub url: String,
    /// The snippet, possibly empty.
    pub snippet: String,
}

/// Whether a provider needs `websearch/api_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// No key is sent.
    None,
    /// The key is sent when configured (a SearXNG behind an authenticating proxy).
    Optional,
    /// A key must be configured.
    Required,
}

/// A search engine.
pub trait SearchProvider: Sync {
    /// The name `websearch/provider` selects and the output reports.
    fn name(&self) -> &'static str;
    /// The base URL when `websearch/url` is not set; `None` if it must be set.
    fn default_base_url(&self) -> Option<&'static str>;
    /// Whether it takes an API key.
    fn key_use(&self) -> KeyUse;
    /// The request for `query` against `base` (no trailing `/`), with the key if any.
    fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        key: Option<&Secret>,
        query: &Query,
    ) -> Result<reqwest::RequestBuilder, ToolError>;
    /// The hits in an answer, or the error the answer means.
    fn parse(&self, status: u16, body: &[u8]) -> Result<Vec<Hit>, ToolError>;
}

/// A header value holding a secret: marked sensitive so that no `Debug` output of the request
/// shows it. A key that is not a valid header value is a configuration error, named without
/// its value.
pub fn secret_header(value: &str) -> Result<http::HeaderValue, ToolError> {
    let mut header = http::HeaderValue::from_str(value)
        .map_err(|_| ToolError::config("websearch/api_key is not a valid HTTP header value"))?;
    header.set_sensitive(true);
    Ok(header)
}

/// The error for a status that is not a success, with a hint for the statuses that mean the
/// key is wrong.
pub fn status_error(provider: &str, status: u16) -> ToolError {
    let mut error = ToolError::upstream_status(provider, status);
    if error.code == ErrorCode::AccessDenied {
        error
            .message
            .push_str(": check websearch/api_key and the plan's limits");
    }
    error
}

/// A JSON answer: a status that is not a success becomes [`status_error`], a body that does
/// not parse as `T` becomes `UPSTREAM_ERROR`.
pub fn json<'a, T: Deserialize<'a>>(
    provider: &str,
    status: u16,
    body: &'a [u8],
) -> Result<T, ToolError> {
    if !(200..300).contains(&status) {
        return Err(status_error(provider, status));
    }
    serde_json::from_slice(body).map_err(|_| {
        ToolError::new(
            ErrorCode::UpstreamError,
            format!("{provider} answered with JSON of an unexpected shape"),
        )
    })
}

/// `{"results": [{"title", "url", "content"}]}`, the answer of Tavily and SearXNG (both send
/// plain text in `content`).
#[derive(Debug, Deserialize)]
pub struct ContentAnswer {
    #[serde(default)]
    results: Vec<ContentResult>,
}

#[derive(Debug, Deserialize)]
struct ContentResult {
    #[serde(default)]
    title: String,
    url: String,
    #[serde(default)]
    content: String,
}

impl ContentAnswer {
    /// The results as hits.
    pub fn hits(self) -> Vec<Hit> {
        self.results
            .into_iter()
            .map(|r| Hit {
                title: r.title,
                url: r.url,
                snippet: r.content,
            })
            .collect()
    }
}
