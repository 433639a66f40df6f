//! `prometheus-query` Lambda: instant PromQL queries against Amazon Managed Service for Prometheus or any Prometheus.
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #3; until then there is no `prometheus-query` binary, so nothing can mistake this
//! crate for a working function.
