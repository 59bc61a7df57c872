//! Which protocol version governs an MCP request (`_meta` for 2026-07-28, the
//! `MCP-Protocol-Version` header for 2025 revisions), and how header values are encoded.
//! Pure: the HTTP transport (`web::mcp`) reads the headers and calls these.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::jsonrpc::{RpcError, HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, UNSUPPORTED_PROTOCOL_VERSION};
use super::server::{Failed, META_PROTOCOL_VERSION};
use super::version::{supported_strings, Version};

pub fn protocol_version_of(params: &Map<String, Value>) -> Option<&Value> {
    params.get("_meta").and_then(|m| m.get(META_PROTOCOL_VERSION))
}

pub fn unsupported(requested: &str, code: i64) -> Failed {
    Failed::http(
        400,
        RpcError::new(code, "Unsupported protocol version")
            .with_data(json!({ "supported": supported_strings(), "requested": requested })),
    )
}

pub fn bad_request(code: i64, message: String) -> Failed {
    Failed::http(400, RpcError::new(code, message))
}

/// Which version governs this request: `_meta` for 2026-07-28 requests (which must agree with
/// the header), the header for 2025-x ones (missing: 2025-03-26), and `initialize` always
/// selects the 2025 handshake.
pub fn resolve_version(header: Option<&str>, method: &str, params: &Map<String, Value>) -> Result<Version, Failed> {
    if let Some(meta) = protocol_version_of(params) {
        let Some(meta) = meta.as_str() else {
            return Err(bad_request(INVALID_PARAMS, format!("_meta[\"{META_PROTOCOL_VERSION}\"] must be a string")));
        };
        if header != Some(meta) {
            return Err(bad_request(
                HEADER_MISMATCH,
                format!(
                    "Header mismatch: MCP-Protocol-Version header {} does not match _meta protocol version '{meta}'",
                    header.map_or("is missing".to_string(), |h| format!("'{h}'"))
                ),
            ));
        }
        return Version::parse(meta).ok_or_else(|| unsupported(meta, UNSUPPORTED_PROTOCOL_VERSION));
    }
    if method == "initialize" {
        return Ok(Version::V2025_03_26); // negotiated from the params by `initialize` itself
    }
    match header {
        None => Ok(Version::V2025_03_26),
        Some(h) => match Version::parse(h) {
            None => Err(unsupported(h, INVALID_REQUEST)),
            Some(v) if v.is_stateless() => Err(bad_request(
                INVALID_PARAMS,
                format!("Requests of protocol version {h} must carry _meta[\"{META_PROTOCOL_VERSION}\"]"),
            )),
            Some(v) => Ok(v),
        },
    }
}

/// Decodes an `Mcp-Name`-style header value: plain ASCII, or `=?base64?…?=` for anything else.
pub fn decode_header_value(raw: &str) -> Option<String> {
    // RFC 9110 §5.5: optional whitespace around a field value is not part of it.
    let raw = raw.trim_matches([' ', '\t']);
    match raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(raw.to_string()),
    }
}
