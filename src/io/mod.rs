//! Formats in and out of the core: the share-link codec ([`url`]), Keras JSON import
//! ([`keras_import`]), Keras Python code export ([`keras_export`]) and weights files in the
//! safetensors format ([`safetensors`]).

pub mod keras_code;
pub mod keras_export;
pub mod keras_import;
pub mod safetensors;
pub mod url;
