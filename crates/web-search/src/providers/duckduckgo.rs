//! DuckDuckGo's HTML endpoint (`POST /html/`), which needs no key: the default provider.
//!
//! The page is parsed with a real HTML parser (html5ever, through `scraper`) and CSS
//! selectors, not patterns over the text. What a page can be, and what each becomes:
//!
//! * results: `div.result` blocks, each with an `a.result__a` title link and usually an
//!   `.result__snippet`; ads are the same blocks with the `result--ad` class (or an ad badge)
//!   and are left out. Links are DuckDuckGo redirects (`//duckduckgo.com/l/?uddg=<target>`),
//!   unwrapped to the target;
//! * "No results." (`.no-results`): a success with no results;
//! * the bot check ("anomaly" page with `#challenge-form`, usually HTTP 202, sometimes 403):
//!   `THROTTLED`, retryable: DuckDuckGo rate-limits by address and asks again later;
//! * anything else (a redesign, an error page): `UPSTREAM_ERROR` saying the layout changed,
//!   never an empty success that would tell the model "nothing exists".

use std::sync::LazyLock;

use common::{ErrorCode, Secret, ToolError};
use scraper::{ElementRef, Html, Selector};

use crate::provider::{Hit, KeyUse, Query, SafeSearch, SearchProvider, status_error};

/// A browser's User-Agent: the HTML endpoint serves browsers and turns away clients that do
/// not look like one more quickly.
pub const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// DuckDuckGo's HTML search.
#[derive(Debug, Clone, Copy)]
pub struct DuckDuckGo;

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|_| unreachable!("the selector {css} is valid"))
}

static RESULT: LazyLock<Selector> = LazyLock::new(|| selector("div.result"));
static TITLE_LINK: LazyLock<Selector> = LazyLock::new(|| selector("a.result__a"));
static SNIPPET: LazyLock<Selector> = LazyLock::new(|| selector(".result__snippet"));
static AD_BADGE: LazyLock<Selector> = LazyLock::new(|| selector(".badge--ad, .result__ad"));
static NO_RESULTS: LazyLock<Selector> =
    LazyLock::new(|| selector(".no-results, .result--no-result"));
static ANOMALY: LazyLock<Selector> =
    LazyLock::new(|| selector("#challenge-form, .anomaly-modal__modal, .anomaly-modal__title"));

impl SearchProvider for DuckDuckGo {
    fn name(&self) -> &'static str {
        "duckduckgo"
    }

    fn default_base_url(&self) -> Option<&'static str> {
        Some("https://html.duckduckgo.com")
    }

    fn key_use(&self) -> KeyUse {
        KeyUse::None
    }

    fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        _key: Option<&Secret>,
        query: &Query,
    ) -> Result<reqwest::RequestBuilder, ToolError> {
        let kp = match query.safesearch {
            SafeSearch::Strict => "1",
            SafeSearch::Moderate => "-1",
            SafeSearch::Off => "-2",
        };
        let mut form = vec![
            ("q", query.text.as_str()),
            ("b", ""),
            ("kl", query.region.as_str()),
            ("kp", kp),
        ];
        if let Some(limit) = query.timelimit {
            form.push(("df", limit.letter()));
        }
        Ok(http
            .post(format!("{base}/html/"))
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::REFERER, format!("{base}/"))
            .header(http::header::ACCEPT, "text/html")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(common::http::form_encode(form)))
    }

    fn parse(&self, status: u16, body: &[u8]) -> Result<Vec<Hit>, ToolError> {
        let page = Html::parse_document(&String::from_utf8_lossy(body));
        if page.select(&ANOMALY).next().is_some() || status == 403 {
            return Err(ToolError::new(
                ErrorCode::Throttled,
                "DuckDuckGo asked for a bot check (rate limited); try again later or configure a keyed provider",
            ));
        }
        if !(200..300).contains(&status) {
            return Err(status_error("DuckDuckGo", status));
        }
        let blocks: Vec<ElementRef<'_>> = page.select(&RESULT).collect();
        let hits: Vec<Hit> = blocks
            .iter()
            .filter(|block| !is_ad(block))
            .filter_map(|block| hit(block))
            .collect();
        if !hits.is_empty() {
            return Ok(hits);
        }
        if page.select(&NO_RESULTS).next().is_some() {
            return Ok(Vec::new());
        }
        if status == 202 {
            // 202 without results is how the rate limit answers when the page has no form.
            return Err(ToolError::new(
                ErrorCode::Throttled,
                "DuckDuckGo answered 202 without results (rate limited); try again later",
            ));
        }
        let what = if blocks.is_empty() {
            "no result blocks and no 'no results' notice"
        } else if blocks.iter().all(|b| is_ad(b)) {
            "only ads and no 'no results' notice"
        } else {
            "result blocks without title links"
        };
        Err(ToolError::new(
            ErrorCode::UpstreamError,
            format!(
                "DuckDuckGo's page no longer has the expected layout ({what}); the parser needs an update"
            ),
        ))
    }
}

fn is_ad(block: &ElementRef<'_>) -> bool {
    block
        .value()
        .classes()
        .any(|c| c == "result--ad" || c.starts_with("result--ad--"))
        || block.select(&AD_BADGE).next().is_some()
}

fn hit(block: &ElementRef<'_>) -> Option<Hit> {
    let link = block.select(&TITLE_LINK).next()?;
    let url = unwrap_redirect(link.value().attr("href")?)?;
    Some(Hit {
        title: link.text().collect(),
        url,
        snippet: block
            .select(&SNIPPET)
            .next()
            .map(|s| s.text().collect())
            .unwrap_or_default(),
    })
}

/// The target of a DuckDuckGo link: the `uddg` parameter of `/l/?uddg=…` redirects
/// (percent-decoded), a direct link as is, and nothing for ad clicks (`/y.js`).
fn unwrap_redirect(href: &str) -> Option<String> {
    let path_and_query = href
        .strip_prefix("https://duckduckgo.com")
        .or_else(|| href.strip_prefix("//duckduckgo.com"))
        .or_else(|| href.strip_prefix("http://duckduckgo.com"))
        .or_else(|| href.starts_with('/').then_some(href));
    let Some(path_and_query) = path_and_query else {
        return Some(href.to_owned());
    };
    let (path, query) = path_and_query.split_once('?')?;
    if path != "/l/" && path != "/l" {
        return None;
    }
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("uddg="))
        .map(|target| {
            percent_encoding::percent_decode_str(target)
                .decode_utf8_lossy()
                .into_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_unwrap_to_their_target() {
        assert_eq!(
            unwrap_redirect(
                "//duckduckgo.com/l/?uddg=https%3A%2F%2Fkubernetes.io%2Fdocs%2F%3Fa%3D1%26b%3D2&rut=abc"
            ),
            Some("https://kubernetes.io/docs/?a=1&b=2".to_owned())
        );
        assert_eq!(
            unwrap_redirect("/l/?kh=-1&uddg=https%3A%2F%2Fexample.com%2F"),
            Some("https://example.com/".to_owned())
        );
        assert_eq!(
            unwrap_redirect("https://example.org/direct"),
            Some("https://example.org/direct".to_owned())
        );
        assert_eq!(
            unwrap_redirect("https://duckduckgo.com/y.js?ad_domain=x&u3=y"),
            None
        );
        assert_eq!(unwrap_redirect("//duckduckgo.com/l/?rut=only"), None);
    }
}
