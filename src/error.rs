//! The one error type of the core. Every message names the op (or layer), the argument and the
//! value received, so that a user can fix what they typed without reading the source.

use std::fmt;

/// What went wrong, broadly; the message says exactly what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is malformed or inconsistent with another (wrong rank, channel mismatch, ...).
    InvalidArgument,
    /// The request is well formed but exceeds a stated resource limit (memory cap, GPU limits).
    ResourceLimit,
    /// A backend is missing or failed (no WebGPU adapter, device lost, self-test failed).
    Backend,
}

/// The core's error: a kind and a message meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Result with the core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `op: argument 'arg': detail`, for a malformed or inconsistent argument.
    pub fn invalid(op: &str, arg: &str, detail: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind::InvalidArgument,
            message: format!("{op}: argument '{arg}': {detail}"),
        }
    }

    /// `op: argument 'arg': detail`, for a request beyond a stated resource limit.
    pub fn limit(op: &str, arg: &str, detail: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind::ResourceLimit,
            message: format!("{op}: argument '{arg}': {detail}"),
        }
    }

    /// A model specification (or a link, or an imported file) that is malformed; the message
    /// names the layer and the field, e.g. `layer 'conv3' (Conv2D): kernel_size ...`.
    pub fn spec(message: impl fmt::Display) -> Self {
        Self { kind: ErrorKind::InvalidArgument, message: message.to_string() }
    }

    /// A model beyond a stated resource limit (layers, parameters, activation memory).
    pub fn spec_limit(message: impl fmt::Display) -> Self {
        Self { kind: ErrorKind::ResourceLimit, message: message.to_string() }
    }

    /// A backend failure; `detail` says which backend and why.
    pub fn backend(detail: impl fmt::Display) -> Self {
        Self { kind: ErrorKind::Backend, message: detail.to_string() }
    }

    /// The broad kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message for the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
