//! The share link: a whole model spec in a URL fragment, compact and exact.
//!
//! `#model=1.<payload>`: `1` is the link format version and the payload is the spec's compact
//! JSON, compressed with raw DEFLATE (RFC 1951, miniz_oxide at its best level) and encoded as
//! unpadded base64url (RFC 4648 section 5). Decoding the payload gives back the same JSON, so
//! the same spec. The decoder accepts a whole URL, a `#...` fragment or the bare `model=...`.
//!
//! Any input, however malformed, gets an error naming what is wrong: the text length, the
//! decompressed size (a "zip bomb" stops at [`MAX_JSON_BYTES`]) and the JSON nesting
//! (serde_json's recursion limit) are bounded before the spec's own limits apply.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};
use crate::graph::ModelSpec;

/// The link format this build writes.
pub const LINK_VERSION: u32 = 1;
/// The longest link text accepted.
pub const MAX_LINK_CHARS: usize = 256 * 1024;
/// The largest spec JSON a link may expand to.
pub const MAX_JSON_BYTES: usize = 1 << 20;
/// The fragment key.
pub const KEY: &str = "model";

/// The spec as a URL fragment, `model=1.<payload>` (without the `#`).
pub fn to_fragment(spec: &ModelSpec) -> String {
    let json = spec.to_json();
    let compressed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 10);
    format!("{KEY}={LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(compressed))
}

/// The spec a link carries. `link` is a URL, a fragment (`#model=...`), or `model=...`.
pub fn from_link(link: &str) -> Result<ModelSpec> {
    let json = decode_json(link)?;
    ModelSpec::from_json(&json).map_err(|e| Error::spec(format!("link: {}", e.message())))
}

/// The spec JSON a link carries (decoded and decompressed, not yet validated).
pub fn decode_json(link: &str) -> Result<String> {
    if link.len() > MAX_LINK_CHARS {
        return Err(Error::spec(format!(
            "link: {} characters, over the limit of {MAX_LINK_CHARS}",
            link.len()
        )));
    }
    let fragment = match link.find('#') {
        Some(i) => &link[i + 1..],
        None => link,
    };
    let value = fragment
        .split('&')
        .find_map(|part| part.strip_prefix(KEY).and_then(|r| r.strip_prefix('=')))
        .ok_or_else(|| Error::spec(format!("link: no '{KEY}=' part in the fragment")))?;
    let (version, payload) = value.split_once('.').ok_or_else(|| {
        Error::spec("link: the model part has no version (expected model=1.<data>)")
    })?;
    match version.parse::<u32>() {
        Ok(v) if v == LINK_VERSION => {}
        Ok(v) if v > LINK_VERSION => {
            return Err(Error::spec(format!(
                "link: format version {v} was made by a newer convlab; this one reads version \
                 {LINK_VERSION}"
            )))
        }
        _ => {
            let shown: String = version.chars().take(20).collect();
            return Err(Error::spec(format!(
                "link: format version {shown:?} is not one convlab has used (this one reads \
                 version {LINK_VERSION})"
            )));
        }
    }
    let compressed = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|e| {
        Error::spec(format!("link: the data is not valid base64url ({e}); was the link cut short?"))
    })?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_JSON_BYTES)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => Error::spec(format!(
                "link: the data expands past {MAX_JSON_BYTES} bytes; it is not a convlab model"
            )),
            _ => Error::spec(format!(
                "link: the data does not decompress ({:?}); the link is damaged or cut short",
                e.status
            )),
        })?;
    String::from_utf8(json)
        .map_err(|_| Error::spec("link: the decompressed data is not UTF-8 text"))
}
