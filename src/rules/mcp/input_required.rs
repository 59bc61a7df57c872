//! Multi Round-Trip Requests (2026-07-28): a tool that needs input from the person or the
//! client answers `input_required`; the client retries with `inputResponses` and the opaque
//! `requestState`. The state is sealed with an HMAC bound to the method, tool, arguments and
//! an expiry, so a stateless server can trust what comes back and nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::rules::keys::Key;

/// How long a client has to come back with the input.
pub const STATE_TTL_MS: u64 = 10 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    Malformed,
    BadSignature,
    /// Sealed for another method, tool or arguments.
    WrongRequest,
    Expired,
}

/// What a sealed state is bound to: `tools/call:echo`, a digest of the arguments, and the
/// caller (user and client) when there is one, so no one else can replay it. The state is
/// signed, not encrypted: tools must not put secrets in it.
pub fn binding(method: &str, name: &str, args: &Value, caller: Option<(&str, &str)>) -> String {
    let digest = Sha256::digest(args.to_string().as_bytes());
    let (user, client) = caller.unwrap_or(("", ""));
    format!("{method}:{name}:{}:{user}:{client}", B64.encode(&digest[..16]))
}

pub fn seal(key: &Key, binding: &str, now_ms: u64, state: &Value) -> String {
    let payload = json!({ "b": binding, "e": now_ms + STATE_TTL_MS, "s": state }).to_string();
    let body = B64.encode(payload.as_bytes());
    let tag = key.sign(body.as_bytes());
    format!("{body}.{}", B64.encode(tag))
}

pub fn open(key: &Key, token: &str, binding: &str, now_ms: u64) -> Result<Value, StateError> {
    let (body, tag) = token.split_once('.').ok_or(StateError::Malformed)?;
    let tag = B64.decode(tag).map_err(|_| StateError::Malformed)?;
    if !key.verify(body.as_bytes(), &tag) {
        return Err(StateError::BadSignature);
    }
    let payload: Value = serde_json::from_slice(&B64.decode(body).map_err(|_| StateError::Malformed)?)
        .map_err(|_| StateError::Malformed)?;
    if payload.get("b").and_then(Value::as_str) != Some(binding) {
        return Err(StateError::WrongRequest);
    }
    if payload.get("e").and_then(Value::as_u64).is_none_or(|exp| exp < now_ms) {
        return Err(StateError::Expired);
    }
    Ok(payload.get("s").cloned().unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_every_way_to_fail() {
        let key = Key::derive("k".repeat(32).as_str(), crate::rules::keys::REQUEST_STATE);
        let b = binding("tools/call", "t", &json!({"a": 1}), Some(("u1", "c1")));
        let someone_else = binding("tools/call", "t", &json!({"a": 1}), Some(("u2", "c1")));
        let token = seal(&key, &b, 1000, &json!({"step": 2}));
        assert_eq!(open(&key, &token, &b, 1000), Ok(json!({"step": 2})));
        assert!(open(&key, &format!("{token}-TAMPERED"), &b, 1000).is_err());
        let (body, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", B64.encode(br#"{"b":"x","e":99999999,"s":1}"#));
        assert_eq!(open(&key, &forged, &b, 1000), Err(StateError::BadSignature));
        assert_eq!(open(&key, &format!("{body}x.{tag}"), &b, 1000), Err(StateError::BadSignature));
        assert_eq!(open(&key, &seal(&key, &b, 1000, &json!(1)), &someone_else, 1000), Err(StateError::WrongRequest));
        let other = binding("tools/call", "t", &json!({"a": 2}), Some(("u1", "c1")));
        assert_eq!(open(&key, &token, &other, 1000), Err(StateError::WrongRequest));
        assert_eq!(open(&key, &token, &b, 1000 + STATE_TTL_MS + 1), Err(StateError::Expired));
        let other_key = Key::derive("z".repeat(32).as_str(), crate::rules::keys::REQUEST_STATE);
        assert_eq!(open(&other_key, &token, &b, 1000), Err(StateError::BadSignature));
        for junk in ["", ".", "a.b", "....", "€.€"] {
            assert!(open(&key, junk, &b, 0).is_err());
        }
    }
}
