//! Support code of the ONNX conformance runner.

pub mod layout;
pub mod proto;
