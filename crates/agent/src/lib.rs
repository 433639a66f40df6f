//! `agent` Lambda: the orchestrator: a bounded Amazon Bedrock Converse tool-use loop over the tool Lambdas.
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #6 (orchestrator) and #7 (streaming); until then there is no `agent` binary, so nothing can mistake this
//! crate for a working function.
