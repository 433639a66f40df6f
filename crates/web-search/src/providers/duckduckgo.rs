//! DuckDuckGo's HTML endpoint (`POST /html/`), which needs no key: the default provider.
//!
//! The page is read with a WHATWG HTML tokenizer ([`crate::html::walk`]), element by element,
//! not with patterns over its text. What a page can be, and what each becomes:
//!
//! * results: `div.result` blocks, each with an `a.result__a` title link and usually an
//!   `.result__snippet`; ads are the same blocks with a `result--ad` class (or an ad badge)
//!   and are left out. Links are DuckDuckGo redirects (`//duckduckgo.com/l/?uddg=<target>`),
//!   unwrapped to the target;
//! * "No results." (`.no-results`): a success with no results;
//! * the bot check ("anomaly" page with `#challenge-form`, usually HTTP 202, sometimes 403):
//!   `THROTTLED`, retryable: DuckDuckGo rate-limits by address and asks again later;
//! * anything else (a redesign, an error page): `UPSTREAM_ERROR` saying the layout changed,
//!   never an empty success that would tell the model "nothing exists".

use common::{ErrorCode, Secret, ToolError};

use crate::{
    html::{Event, walk},
    provider::{Hit, KeyUse, Query, SafeSearch, SearchProvider, status_error},
};

/// A browser's User-Agent: the HTML endpoint serves browsers and turns away clients that do
/// not look like one more quickly.
pub const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// DuckDuckGo's HTML search.
#[derive(Debug, Clone, Copy)]
pub struct DuckDuckGo;

/// One `div.result` block as read so far.
#[derive(Debug, Default)]
struct Block {
    ad: bool,
    href: Option<String>,
    title: Option<String>,
    snippet: Option<String>,
}

/// What an element is to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Other,
    Result,
    Title,
    Snippet,
}

/// What a page holds.
#[derive(Debug, Default)]
struct Page {
    blocks: Vec<Block>,
    no_results: bool,
    anomaly: bool,
}

fn read(html: &str) -> Page {
    let mut page = Page::default();
    let mut roles: Vec<Role> = Vec::new();
    let mut block: Option<Block> = None;
    walk(html, |event| match event {
        Event::Start(el) => {
            if el.id.as_deref() == Some("challenge-form")
                || el.classes.iter().any(|c| c.starts_with("anomaly-modal__"))
            {
                page.anomaly = true;
            }
            if el.has_class("no-results") || el.has_class("result--no-result") {
                page.no_results = true;
            }
            let role = match &mut block {
                None if el.name == b"div" && el.has_class("result") => {
                    block = Some(Block {
                        ad: el.classes.iter().any(|c| c.starts_with("result--ad")),
                        ..Block::default()
                    });
                    Role::Result
                }
                None => Role::Other,
                Some(b) => {
                    if el.has_class("badge--ad") || el.has_class("result__ad") {
                        b.ad = true;
                    }
                    if el.name == b"a" && el.has_class("result__a") && b.title.is_none() {
                        b.href = el.href.clone();
                        b.title = Some(String::new());
                        Role::Title
                    } else if el.has_class("result__snippet") && b.snippet.is_none() {
                        b.snippet = Some(String::new());
                        Role::Snippet
                    } else {
                        Role::Other
                    }
                }
            };
            roles.push(role);
        }
        Event::End => {
            if roles.pop() == Some(Role::Result)
                && let Some(done) = block.take()
            {
                page.blocks.push(done);
            }
        }
        Event::Text(text) => {
            if let Some(b) = &mut block {
                let target = if roles.contains(&Role::Title) {
                    b.title.as_mut()
                } else if roles.contains(&Role::Snippet) {
                    b.snippet.as_mut()
                } else {
                    None
                };
                if let Some(target) = target {
                    target.push_str(text);
                }
            }
        }
    });
    page
}

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
        let page = read(&String::from_utf8_lossy(body));
        if page.anomaly || status == 403 {
            return Err(ToolError::new(
                ErrorCode::Throttled,
                "DuckDuckGo asked for a bot check (rate limited); try again later or configure a keyed provider",
            ));
        }
        if !(200..300).contains(&status) {
            return Err(status_error("DuckDuckGo", status));
        }
        let organic = page.blocks.iter().filter(|b| !b.ad);
        let hits: Vec<Hit> = organic
            .clone()
            .filter_map(|b| {
                Some(Hit {
                    url: unwrap_redirect(b.href.as_deref()?)?,
                    title: b.title.clone()?,
                    snippet: b.snippet.clone().unwrap_or_default(),
                })
            })
            .collect();
        if !hits.is_empty() {
            return Ok(hits);
        }
        if page.no_results {
            return Ok(Vec::new());
        }
        if status == 202 {
            // 202 without results is how the rate limit answers when the page has no form.
            return Err(ToolError::new(
                ErrorCode::Throttled,
                "DuckDuckGo answered 202 without results (rate limited); try again later",
            ));
        }
        let what = if page.blocks.is_empty() {
            "no result blocks and no 'no results' notice"
        } else if organic.count() == 0 {
            "only ads and no 'no results' notice"
        } else {
            "result blocks without usable title links"
        };
        Err(ToolError::new(
            ErrorCode::UpstreamError,
            format!(
                "DuckDuckGo's page no longer has the expected layout ({what}); the parser needs an update"
            ),
        ))
    }
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

    const PAGE: &str = include_str!("../../../../tests/fixtures/web-search/ddg-results.html");

    /// A real-looking page cut off (a dropped connection) inside every tag, attribute and
    /// character reference, and pages with bytes flipped all over: the parser never panics
    /// and answers with hits or a layout error, never anything else.
    #[test]
    fn cut_and_corrupted_pages_never_panic() {
        let bytes = PAGE.as_bytes();
        let cuts = (0..bytes.len())
            .filter(|&i| b"<>&\"=;".contains(&bytes[i]))
            .flat_map(|i| [i, i + 1, i + 2]);
        for end in cuts.chain([0, bytes.len()]) {
            let end = end.min(bytes.len());
            match DuckDuckGo.parse(200, &bytes[..end]) {
                Ok(_) => {}
                Err(e) => assert_eq!(e.code, ErrorCode::UpstreamError, "cut at {end}: {e}"),
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..300 {
            let mut corrupted = bytes.to_vec();
            for _ in 0..20 {
                // xorshift: deterministic, no extra crate.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % corrupted.len() as u64) as usize;
                corrupted[at] = (state >> 32) as u8;
            }
            match DuckDuckGo.parse(200, &corrupted) {
                Ok(hits) => assert!(hits.len() <= 10),
                Err(e) => assert!(
                    matches!(e.code, ErrorCode::UpstreamError | ErrorCode::Throttled),
                    "{e}"
                ),
            }
        }
    }

    #[test]
    fn the_full_page_gives_the_organic_results_in_order() {
        let hits = DuckDuckGo.parse(200, PAGE.as_bytes()).unwrap();
        let urls: Vec<&str> = hits.iter().map(|h| h.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/",
                "https://stackoverflow.com/questions/41604499/my-kubernetes-pods-keep-crashing-with-crashloopbackoff-but-cant-find-any-log",
                "https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/#my-pod-is-crashing",
                "https://aws.amazon.com/premiumsupport/knowledge-center/eks-pod-status-troubleshooting/",
                "javascript:alert(document.cookie)",
                "https://sysdig.com/blog/debug-kubernetes-crashloopbackoff/",
                "https://komodor.com/learn/how-to-fix-crashloopbackoff-kubernetes-error/",
                "https://github.com/kubernetes/kubernetes/issues/57980",
            ],
            "ads out, redirects unwrapped; cleaning and de-duplication come later"
        );
    }

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
