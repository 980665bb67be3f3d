//! The chapter's architectures, each a function returning a [`crate::graph::ModelSpec`].
