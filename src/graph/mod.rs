//! Models as graphs: the versioned JSON specification ([`spec`]), block expansion
//! ([`expand`]), the validated, shape-inferred model ([`model`]) and its summary ([`summary`]).

pub mod expand;
pub mod model;
pub mod spec;
pub mod summary;

pub use model::{Model, Node};
pub use spec::{BlockSpec, EntrySpec, InputSpec, ModelSpec};
pub use summary::{summarize, summary_text, Summary, SummaryOptions};
