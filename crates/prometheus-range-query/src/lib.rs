//! `prometheus-range-query` Lambda: PromQL range queries with per-series summaries and downsampling.
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #3; until then there is no `prometheus-range-query` binary, so nothing can mistake this
//! crate for a working function.
