//! Discord's webhook events (Discord's "Webhook Events"): what a signed request must carry, and
//! what an event says. Discord POSTs JSON to the application's Webhook Events URL, signed with
//! Ed25519 in `X-Signature-Ed25519` (hex) over `X-Signature-Timestamp` followed by the raw body,
//! verified with the application's public key (`DISCORD_PUBLIC_KEY`). Type 0 is a PING, sent
//! when the URL is set; type 1 carries an event, and `APPLICATION_DEAUTHORIZED` says a person
//! removed the application in Discord's settings. The signature itself is checked by the
//! platform (WebCrypto's Ed25519), like client assertions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::Value;

/// A timestamp further than this from the Worker's clock is refused: a captured request cannot
/// be sent again later. Discord answers within seconds; its retries are signed afresh.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Largest event body read. Discord's events are a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// What an event asks of this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Discord checks the URL: answer 204.
    Ping,
    /// A person removed the application: every grant of theirs ends.
    Deauthorized { user_id: String },
    /// Anything else (another event type, another application): acknowledged, nothing done.
    Other,
}

/// The application's public key, as the developer portal shows it: 64 hex digits.
pub fn parse_public_key(hex: &str) -> Option<[u8; 32]> {
    let bytes = from_hex(hex.trim())?;
    bytes.try_into().ok()
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

/// The public key as a JWK, for WebCrypto's `importKey`.
pub fn public_jwk(key: &[u8; 32]) -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, B64.encode(key))
}

/// Why a request is refused (401): no detail for the sender beyond this.
pub type Refusal = &'static str;

/// What the signature covers (timestamp, then body) and the signature, from the two headers;
/// refused when either is missing or malformed, or the timestamp is not within
/// [`MAX_SKEW_SECONDS`] of `now`.
pub fn signed(
    signature_hex: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let (Some(sig), Some(ts)) = (signature_hex, timestamp) else { return Err("the request is not signed") };
    let signature = from_hex(sig.trim()).filter(|s| s.len() == 64).ok_or("the signature is not 64 bytes of hex")?;
    let at: i64 = ts.trim().parse().map_err(|_| "the signature timestamp is not a number")?;
    if (now - at).abs() > MAX_SKEW_SECONDS {
        return Err("the signature timestamp is too old or in the future");
    }
    let mut message = ts.as_bytes().to_vec();
    message.extend_from_slice(body);
    Ok((message, signature))
}

/// The event in a verified body, for the application `application_id`.
pub fn parse(body: &[u8], application_id: &str) -> Option<Event> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("application_id").and_then(Value::as_str).is_some_and(|a| a != application_id) {
        return Some(Event::Other);
    }
    match v.get("type").and_then(Value::as_u64)? {
        0 => Some(Event::Ping),
        1 => {
            let event = v.get("event")?;
            if event.get("type").and_then(Value::as_str) != Some("APPLICATION_DEAUTHORIZED") {
                return Some(Event::Other);
            }
            let id = event.pointer("/data/user/id").and_then(Value::as_str)?;
            crate::rules::discord::is_snowflake(id).then(|| Event::Deauthorized { user_id: id.to_string() })
        }
        _ => Some(Event::Other),
    }
}

/// Signatures accepted lately in this isolate: the same signed request twice is a replay.
#[derive(Debug, Default)]
pub struct SeenSignatures {
    seen: Vec<(Vec<u8>, i64)>,
}

/// Signatures remembered per isolate; the oldest go first beyond this.
pub const SIGNATURES_KEPT: usize = 256;

impl SeenSignatures {
    /// Records `signature`; `false` when it was already seen within the skew window.
    pub fn first_use(&mut self, signature: &[u8], now: i64) -> bool {
        self.seen.retain(|(_, at)| now - at <= 2 * MAX_SKEW_SECONDS);
        if self.seen.iter().any(|(s, _)| s == signature) {
            return false;
        }
        if self.seen.len() >= SIGNATURES_KEPT {
            self.seen.remove(0);
        }
        self.seen.push((signature.to_vec(), now));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APP: &str = "123456789012345678";
    const NOW: i64 = 1_785_240_000;

    #[test]
    fn keys_signatures_and_timestamps() {
        let key = "a".repeat(64);
        assert_eq!(parse_public_key(&key), Some([0xaa; 32]));
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(62), &"a".repeat(66)] {
            assert_eq!(parse_public_key(bad), None, "{bad}");
        }
        assert!(public_jwk(&[0; 32]).contains(r#""crv":"Ed25519""#));
        let sig = "0f".repeat(64);
        let (message, signature) = signed(Some(&sig), Some("1785240000"), b"{}", NOW).unwrap();
        assert_eq!(message, b"1785240000{}");
        assert_eq!(signature, vec![0x0f; 64]);
        assert!(signed(None, Some("1"), b"", NOW).is_err());
        assert!(signed(Some(&sig), None, b"", NOW).is_err());
        assert!(signed(Some("zz"), Some("1785240000"), b"", NOW).is_err());
        assert!(signed(Some(&"0f".repeat(63)), Some("1785240000"), b"", NOW).is_err());
        assert!(signed(Some(&sig), Some("soon"), b"", NOW).is_err());
        assert!(signed(Some(&sig), Some(&(NOW - MAX_SKEW_SECONDS - 1).to_string()), b"", NOW).is_err(), "stale");
        assert!(signed(Some(&sig), Some(&(NOW + MAX_SKEW_SECONDS + 1).to_string()), b"", NOW).is_err(), "future");
        assert!(signed(Some(&sig), Some(&(NOW - MAX_SKEW_SECONDS).to_string()), b"", NOW).is_ok());
    }

    #[test]
    fn events_as_discord_sends_them() {
        let ping = json!({"version": 1, "application_id": APP, "type": 0});
        assert_eq!(parse(ping.to_string().as_bytes(), APP), Some(Event::Ping));
        let deauth = json!({"version": 1, "application_id": APP, "type": 1, "event": {"type": "APPLICATION_DEAUTHORIZED", "timestamp": "2026-12-02T18:00:00.000000+00:00", "data": {"user": {"id": "80351110224678912", "username": "nelly"}}}});
        assert_eq!(
            parse(deauth.to_string().as_bytes(), APP),
            Some(Event::Deauthorized { user_id: "80351110224678912".into() })
        );
        assert_eq!(parse(deauth.to_string().as_bytes(), "999"), Some(Event::Other), "another application's");
        let authorized = json!({"version": 1, "application_id": APP, "type": 1, "event": {"type": "APPLICATION_AUTHORIZED", "data": {}}});
        assert_eq!(parse(authorized.to_string().as_bytes(), APP), Some(Event::Other));
        let bad_user =
            json!({"type": 1, "event": {"type": "APPLICATION_DEAUTHORIZED", "data": {"user": {"id": "../x"}}}});
        assert_eq!(parse(bad_user.to_string().as_bytes(), APP), None);
        for junk in [&b"not json"[..], b"{}", b"[]", br#"{"type":"0"}"#] {
            assert_eq!(parse(junk, APP), None);
        }
    }

    #[test]
    fn a_signature_counts_once() {
        let mut seen = SeenSignatures::default();
        assert!(seen.first_use(b"s1", NOW));
        assert!(!seen.first_use(b"s1", NOW + 10));
        assert!(seen.first_use(b"s1", NOW + 3 * MAX_SKEW_SECONDS), "forgotten once its timestamp could not pass");
        for i in 0..SIGNATURES_KEPT + 3 {
            assert!(seen.first_use(format!("n{i}").as_bytes(), NOW));
        }
        assert!(seen.seen.len() <= SIGNATURES_KEPT);
    }
}
