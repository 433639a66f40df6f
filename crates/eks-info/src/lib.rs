//! `eks-info` Lambda: read-only Amazon EKS facts (clusters, node groups, add-ons, Fargate profiles) and a health verdict.
//!
//! Not built yet: this crate holds the workspace slot so that the layout, the shared
//! dependencies and CI are in place. Its handler, binary, events and tests arrive with
//! issue #5; until then there is no `eks-info` binary, so nothing can mistake this
//! crate for a working function.
