//! Formats in and out of the core: the share-link codec ([`url`]), Keras JSON import
//! ([`keras_import`]) and Keras Python code export ([`keras_export`]).

pub mod keras_export;
pub mod keras_import;
pub mod url;
