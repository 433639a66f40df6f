//! Brave Search API (`GET /res/v1/web/search`), key in `X-Subscription-Token`.
//!
//! Region maps to `country` (ISO 3166 alpha-2, upper case; DuckDuckGo's `uk` is `GB`) and
//! `search_lang`; `wt-wt` sends neither. Titles and descriptions carry `<strong>` highlights
//! and entities, decoded here into plain text.

use common::{Secret, ToolError};
use serde::Deserialize;

use crate::provider::{
    Hit, KeyUse, Query, SafeSearch, SearchProvider, TimeLimit, json, secret_header,
};

/// Brave Search.
#[derive(Debug, Clone, Copy)]
pub struct Brave;

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    web: Option<Web>,
}

#[derive(Deserialize)]
struct Web {
    #[serde(default)]
    results: Vec<Result>,
}

#[derive(Deserialize)]
struct Result {
    #[serde(default)]
    title: String,
    url: String,
    #[serde(default)]
    description: String,
}

impl SearchProvider for Brave {
    fn name(&self) -> &'static str {
        "brave"
    }

    fn default_base_url(&self) -> Option<&'static str> {
        Some("https://api.search.brave.com")
    }

    fn key_use(&self) -> KeyUse {
        KeyUse::Required
    }

    fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        key: Option<&Secret>,
        query: &Query,
    ) -> std::result::Result<reqwest::RequestBuilder, ToolError> {
        let count = query.max_results.to_string();
        let country = query.country().map(|c| {
            if c == "uk" {
                "GB".to_owned()
            } else {
                c.to_ascii_uppercase()
            }
        });
        let mut params = vec![
            ("q", query.text.as_str()),
            ("count", count.as_str()),
            (
                "safesearch",
                match query.safesearch {
                    SafeSearch::Strict => "strict",
                    SafeSearch::Moderate => "moderate",
                    SafeSearch::Off => "off",
                },
            ),
        ];
        if let Some(country) = &country {
            params.push(("country", country));
        }
        if let Some(language) = query.language() {
            params.push(("search_lang", language));
        }
        if let Some(limit) = query.timelimit {
            params.push((
                "freshness",
                match limit {
                    TimeLimit::Day => "pd",
                    TimeLimit::Week => "pw",
                    TimeLimit::Month => "pm",
                    TimeLimit::Year => "py",
                },
            ));
        }
        let key = secret_header(key.map(Secret::expose).unwrap_or_default())?;
        Ok(http
            .get(format!(
                "{base}/res/v1/web/search?{}",
                common::http::form_encode(params)
            ))
            .header(http::header::ACCEPT, "application/json")
            .header("x-subscription-token", key))
    }

    fn parse(&self, status: u16, body: &[u8]) -> std::result::Result<Vec<Hit>, ToolError> {
        let answer: Answer = json("Brave Search", status, body)?;
        Ok(answer
            .web
            .map(|w| w.results)
            .unwrap_or_default()
            .into_iter()
            .map(|r| Hit {
                title: crate::html::text(&r.title),
                url: r.url,
                snippet: crate::html::text(&r.description),
            })
            .collect())
    }
}
