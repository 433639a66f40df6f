//! `web-search` Lambda: web search (DuckDuckGo HTML without a key; Brave, Tavily and SearXNG with one).
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #4; until then there is no `web-search` binary, so nothing can mistake this
//! crate for a working function.
