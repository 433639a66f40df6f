//! `web-search`: a web search whose results are safe to hand to a model.
//!
//! Input (docs/contract.md §2.6): `query` (1–500 characters; `keywords` is accepted as an alias, as the
//! seed's callers send it), `max_results` (1–10, default 5), `region` (`<country>-<language>`
//! such as `us-en`, default `wt-wt`, no region), `safesearch` (`strict` | `moderate` | `off`,
//! default `moderate`), `timelimit` (`d` | `w` | `m` | `y`). Enum-like values are read in any
//! case, and `timelimit` also as a word or one unit's duration (`week`, `24h`).
//!
//! Output: `{"query", "provider", "results": [{"rank", "title", "url", "snippet"}],
//! "result_count"}`, and a `hint` when there is no result.
//!
//! The engine is chosen by `websearch/provider` ([`providers::PROVIDERS`]: DuckDuckGo's HTML
//! page by default, needing no key; Brave, Tavily or a self-hosted SearXNG), with
//! `websearch/api_key` (a SecureString) and `websearch/url` (the engine's base URL, for
//! private deployments and tests). Whatever the engine, every result goes through the same
//! steps ([`text`]): markup and entities become text, invisible and control characters go,
//! whitespace collapses, titles and snippets are capped, URLs must be absolute `http(s)`,
//! duplicates (by URL) are dropped, and ranks run 1..n.
//!
//! Each attempt gets the smaller of [`TIMEOUT`] and the Lambda's time left; a retryable
//! failure (rate limit, 5xx, timeout, refused connection) is tried once more after a jittered
//! wait if the deadline allows. At most [`MAX_ANSWER_BYTES`] of an answer is read.

pub mod html;
pub mod provider;
pub mod providers;
pub mod text;

use std::{collections::HashSet, time::Duration};

use common::{
    AppConfig, ErrorCode, Handler, Invocation, ToolError,
    retry::{Backoff, with_retries},
};
use serde::{Deserialize, Serialize};

use crate::provider::{Hit, KeyUse, Query, SafeSearch, SearchProvider, TimeLimit};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most results.
pub const MAX_RESULTS: u32 = 10;
/// Results when `max_results` is not given.
pub const DEFAULT_RESULTS: u32 = 5;
/// Timeout of one attempt, before the deadline cuts it shorter.
pub const TIMEOUT: Duration = Duration::from_secs(8);
/// Most bytes read of an engine's answer (a DuckDuckGo page is about 30 KB).
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;
/// One retry, after a wait of up to 300 ms.
pub const RETRY: Backoff = Backoff {
    retries: 1,
    base: Duration::from_millis(300),
    cap: Duration::from_secs(1),
};

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// The search terms.
    #[serde(alias = "keywords")]
    pub query: String,
    /// Results wanted.
    #[serde(default)]
    pub max_results: Option<u32>,
    /// `<country>-<language>`, or `wt-wt`.
    #[serde(default)]
    pub region: Option<String>,
    /// Safe-search level.
    #[serde(default)]
    pub safesearch: Option<SafeSearch>,
    /// Recency.
    #[serde(default)]
    pub timelimit: Option<TimeLimit>,
}

impl SearchInput {
    /// Checks every field and returns the query the providers get.
    pub fn check(self) -> Result<Query, ToolError> {
        let chars = self.query.chars().count();
        if self.query.trim().is_empty() || chars > MAX_QUERY_CHARS {
            return Err(ToolError::invalid_input(format!(
                "query must be 1 to {MAX_QUERY_CHARS} characters (not only spaces), got {chars}"
            )));
        }
        if self.query.chars().any(char::is_control) {
            return Err(ToolError::invalid_input(
                "query must not contain control characters (line breaks, tabs, …)",
            ));
        }
        let max_results = self.max_results.unwrap_or(DEFAULT_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max_results) {
            return Err(ToolError::invalid_input(format!(
                "max_results must be between 1 and {MAX_RESULTS}, got {max_results}"
            )));
        }
        // `US-EN` means `us-en`: the case does not change the meaning.
        let region = self
            .region
            .map_or_else(|| "wt-wt".to_owned(), |r| r.trim().to_ascii_lowercase());
        let b = region.as_bytes();
        if !(b.len() == 5
            && b[2] == b'-'
            && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_lowercase()))
        {
            return Err(ToolError::invalid_input(
                "region must be <country>-<language> in lower case, e.g. us-en, de-de, or wt-wt for no region",
            ));
        }
        Ok(Query {
            text: self.query.trim().to_owned(),
            max_results: max_results as usize,
            region,
            safesearch: self.safesearch.unwrap_or_default(),
            timelimit: self.timelimit,
        })
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchResult {
    /// 1 for the first.
    pub rank: usize,
    /// Plain-text title.
    pub title: String,
    /// The target URL.
    pub url: String,
    /// Plain-text snippet (may be empty).
    pub snippet: String,
}

/// The function's output.
#[derive(Debug, Serialize)]
pub struct SearchOutput {
    /// The query as searched.
    pub query: String,
    /// The engine that answered.
    pub provider: &'static str,
    /// The results, best first.
    pub results: Vec<SearchResult>,
    /// How many results there are.
    pub result_count: usize,
    /// With no result: what to change, so "nothing found" is not read as "nothing exists".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// The hint of a search without results.
pub const NO_RESULTS_HINT: &str = "no result: use fewer or more general words (a quoted phrase or an exact error message narrows the search), or leave out timelimit and region";

/// Cleans, filters, de-duplicates and ranks what an engine found.
pub fn rank(hits: Vec<Hit>, max_results: usize) -> Vec<SearchResult> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(max_results);
    for hit in hits {
        if out.len() == max_results {
            break;
        }
        let Some(url) = text::web_url(&hit.url) else {
            continue;
        };
        let title = text::clean(&hit.title, text::MAX_TITLE_CHARS);
        if title.is_empty() || !seen.insert(dedup_key(&url)) {
            continue;
        }
        out.push(SearchResult {
            rank: out.len() + 1,
            title,
            url,
            snippet: text::clean(&hit.snippet, text::MAX_SNIPPET_CHARS),
        });
    }
    out
}

/// Two URLs are the same result when they differ only in scheme, fragment, a trailing `/`
/// or the host's case.
fn dedup_key(url: &str) -> String {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let rest = without_fragment
        .split_once("://")
        .map_or(without_fragment, |(_, r)| r);
    let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    format!(
        "{}{}",
        host.to_ascii_lowercase(),
        path.trim_end_matches('/')
    )
}

/// The handler, holding the HTTP client and configuration `main` built once.
#[derive(Debug)]
pub struct WebSearch {
    /// The HTTP client (rustls, compiled-in roots).
    pub http: reqwest::Client,
    /// Configuration (SSM-cached).
    pub config: AppConfig,
}

/// The engine, its base URL and key, from the settings.
struct Engine {
    provider: &'static dyn SearchProvider,
    base: String,
    key: Option<common::Secret>,
}

fn engine(settings: &common::Settings) -> Result<Engine, ToolError> {
    let name = settings
        .get("websearch/provider")
        .map(|n| n.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "duckduckgo".to_owned());
    let provider = providers::by_name(&name).ok_or_else(|| {
        let names: Vec<&str> = providers::PROVIDERS.iter().map(|p| p.name()).collect();
        ToolError::config(format!(
            "websearch/provider must be one of {}",
            names.join(", ")
        ))
    })?;
    let base = match settings.get("websearch/url") {
        Some(url) => url.trim().trim_end_matches('/').to_owned(),
        None => provider
            .default_base_url()
            .ok_or_else(|| {
                ToolError::config(format!("websearch/url is required for {}", provider.name()))
            })?
            .to_owned(),
    };
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(ToolError::config(
            "websearch/url must be an http(s) base URL",
        ));
    }
    let key = settings.secret("websearch/api_key");
    if provider.key_use() == KeyUse::Required && key.is_none() {
        return Err(ToolError::config(format!(
            "websearch/api_key is required for {}",
            provider.name()
        )));
    }
    Ok(Engine {
        provider,
        base,
        key: key.filter(|_| provider.key_use() != KeyUse::None),
    })
}

impl WebSearch {
    async fn attempt(
        &self,
        engine: &Engine,
        query: &Query,
        invocation: &Invocation,
    ) -> Result<Vec<Hit>, ToolError> {
        let provider = engine.provider;
        let budget = invocation.deadline.budget(TIMEOUT)?;
        let mut response = provider
            .request(&self.http, &engine.base, engine.key.as_ref(), query)?
            .timeout(budget)
            .send()
            .await
            .map_err(|e| ToolError::from_reqwest(provider.name(), &e))?;
        let status = response.status().as_u16();
        let body =
            common::http::read_capped(&mut response, provider.name(), MAX_ANSWER_BYTES).await?;
        provider.parse(status, &body)
    }
}

impl Handler for WebSearch {
    const NAME: &'static str = "web_search";
    type Input = SearchInput;
    type Output = SearchOutput;

    async fn handle(
        &self,
        input: SearchInput,
        invocation: &Invocation,
    ) -> Result<SearchOutput, ToolError> {
        let query = input.check()?;
        let settings = self.config.settings().await?;
        let engine = engine(&settings)?;
        let hits = with_retries(&RETRY, &invocation.deadline, |_| {
            self.attempt(&engine, &query, invocation)
        })
        .await
        .map_err(|mut e| {
            if e.code == ErrorCode::PayloadTooLarge {
                // Not the caller's request: the engine sent an oversized page.
                e.code = ErrorCode::UpstreamError;
            }
            e
        })?;
        let found = hits.len();
        let results = rank(hits, query.max_results);
        tracing::debug!(
            provider = engine.provider.name(),
            found,
            kept = results.len(),
            "search answered"
        );
        Ok(SearchOutput {
            query: query.text,
            provider: engine.provider.name(),
            hint: results.is_empty().then_some(NO_RESULTS_HINT),
            result_count: results.len(),
            results,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<SearchInput>(&common::tools::WEB_SEARCH).unwrap();
    }

    fn check(v: serde_json::Value) -> Result<Query, ToolError> {
        serde_json::from_value::<SearchInput>(v)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    #[test]
    fn input_limits_are_named() {
        let q = check(json!({"keywords": "  eks upgrade  "})).unwrap();
        assert_eq!(
            (q.text.as_str(), q.max_results, q.region.as_str()),
            ("eks upgrade", 5, "wt-wt")
        );
        let cases = [
            (
                json!({"query": ""}),
                "query must be 1 to 500 characters (not only spaces), got 0",
            ),
            (json!({"query": "   "}), "got 3"),
            (json!({"query": "x".repeat(501)}), "got 501"),
            (json!({"query": "a\nb"}), "control characters"),
            (
                json!({"query": "a", "max_results": 0}),
                "between 1 and 10, got 0",
            ),
            (
                json!({"query": "a", "max_results": 11}),
                "between 1 and 10, got 11",
            ),
            (json!({"query": "a", "region": "US"}), "region must be"),
            (json!({"query": "a", "region": "english"}), "region must be"),
            (
                json!({"query": "a", "safesearch": "none"}),
                "safesearch must be strict, moderate or off, got `none`",
            ),
            (
                json!({"query": "a", "timelimit": "h"}),
                "timelimit must be d, w, m or y",
            ),
            (json!({"query": "a", "page": 2}), "unknown field `page`"),
            (
                json!({"query": "a", "keywords": "b"}),
                "duplicate field `query`",
            ),
        ];
        for (input, phrase) in cases {
            let e = check(input.clone()).unwrap_err();
            assert!(e.message.contains(phrase), "{input}: {}", e.message);
        }
        assert!(check(json!({"query": "x".repeat(500)})).is_ok());
        // What a model plausibly writes for an enum-like value is read as it meant.
        let q = check(
            json!({"query": "a", "region": "US-EN", "safesearch": "Off", "timelimit": "week"}),
        )
        .unwrap();
        assert_eq!(
            (q.region.as_str(), q.safesearch, q.timelimit),
            ("us-en", SafeSearch::Off, Some(TimeLimit::Week))
        );
        for (given, want) in [
            ("d", TimeLimit::Day),
            ("24h", TimeLimit::Day),
            ("past month", TimeLimit::Month),
            ("Y", TimeLimit::Year),
        ] {
            let q = check(json!({"query": "a", "timelimit": given})).unwrap();
            assert_eq!(q.timelimit, Some(want), "{given}");
        }
        assert!(check(json!({"query": "é".repeat(500)})).is_ok());
    }

    fn hit(title: &str, url: &str) -> Hit {
        Hit {
            title: title.into(),
            url: url.into(),
            snippet: String::new(),
        }
    }

    #[test]
    fn ranking_cleans_filters_and_dedupes() {
        let hits = vec![
            hit("One", "https://a.example/x"),
            hit("dup", "http://A.example/x/#frag"),
            hit("bad url", "javascript:alert(1)"),
            hit("   ", "https://b.example"),
            hit("Two", "https://b.example/y"),
            hit("Three", "https://c.example"),
        ];
        let ranked = rank(hits.clone(), 10);
        assert_eq!(
            ranked
                .iter()
                .map(|r| (r.rank, r.title.as_str(), r.url.as_str()))
                .collect::<Vec<_>>(),
            [
                (1, "One", "https://a.example/x"),
                (2, "Two", "https://b.example/y"),
                (3, "Three", "https://c.example")
            ]
        );
        assert_eq!(rank(hits, 2).len(), 2);
    }
}
