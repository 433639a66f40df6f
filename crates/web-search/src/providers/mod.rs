//! One file per search engine; each implements [`crate::provider::SearchProvider`]. The table
//! below is the only place that names them all.

pub mod brave;
pub mod duckduckgo;
pub mod searxng;
pub mod tavily;

use crate::provider::SearchProvider;

/// Every provider, by the name `websearch/provider` selects it with.
pub static PROVIDERS: [&dyn SearchProvider; 4] = [
    &duckduckgo::DuckDuckGo,
    &brave::Brave,
    &tavily::Tavily,
    &searxng::SearXng,
];

/// The provider named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn SearchProvider> {
    PROVIDERS.iter().copied().find(|p| p.name() == name)
}
