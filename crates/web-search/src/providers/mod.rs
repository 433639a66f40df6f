//! One file per search engine; each implements [`crate::provider::SearchProvider`].

pub mod brave;
pub mod duckduckgo;
pub mod searxng;
pub mod tavily;
