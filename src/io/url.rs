//! The share link: a spec compressed and base64url-encoded into a URL fragment.
