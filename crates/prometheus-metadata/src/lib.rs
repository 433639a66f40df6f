//! `prometheus-metadata` Lambda: metric discovery (metric names, label values, server info) so the agent writes valid PromQL.
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #3; until then there is no `prometheus-metadata` binary, so nothing can mistake this
//! crate for a working function.
