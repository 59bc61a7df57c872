//! Cookies for the consent flow: parsing the `Cookie` header, and signed values bound to a
//! purpose, a binding (e.g. the client id) and an expiry, set as `__Host-` cookies (Secure,
//! Path=/, no Domain) so no other site or subdomain can plant or read them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use crate::rules::keys::Key;

/// Longest `Cookie` header read; beyond it the header is ignored.
pub const MAX_HEADER: usize = 8192;

/// The value of cookie `name` in a `Cookie` header, if present exactly once.
pub fn get<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    let header = header.filter(|h| h.len() <= MAX_HEADER)?;
    let mut found = None;
    for pair in header.split(';') {
        let Some((k, v)) = pair.trim().split_once('=') else { continue };
        if k.trim() == name {
            if found.is_some() {
                return None; // a second copy may be planted: trust neither
            }
            found = Some(v.trim().trim_matches('"'));
        }
    }
    found
}

/// `value` signed for `binding` until `expires` (seconds since the epoch).
pub fn seal(key: &Key, binding: &str, expires: i64, value: &str) -> String {
    let body = B64.encode(format!("{expires}|{value}"));
    let tag = key.sign(format!("{binding}|{body}").as_bytes());
    format!("{body}.{}", B64.encode(tag))
}

/// The value, if the signature holds for `binding` and it has not expired.
pub fn open(key: &Key, binding: &str, now: i64, sealed: &str) -> Option<String> {
    let (body, tag) = sealed.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    if !key.verify(format!("{binding}|{body}").as_bytes(), &tag) {
        return None;
    }
    let plain = String::from_utf8(B64.decode(body).ok()?).ok()?;
    let (expires, value) = plain.split_once('|')?;
    (expires.parse::<i64>().ok()? >= now).then(|| value.to_string())
}

/// A `Set-Cookie` value for a `__Host-` cookie. `SameSite=Lax` lets it ride along on the
/// top-level navigation back from Discord; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("__Host-{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}", max_age.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::derive(&"k".repeat(32), "oauth/consent")
    }

    #[test]
    fn parse_cookie_header() {
        let h = Some("a=1; __Host-consent=xyz.abc ; b=\"q\"");
        assert_eq!(get(h, "__Host-consent"), Some("xyz.abc"));
        assert_eq!(get(h, "b"), Some("q"));
        assert_eq!(get(h, "c"), None);
        assert_eq!(get(Some("flag; a=1"), "a"), Some("1"), "a pair without = is skipped");
        assert_eq!(get(Some("a=1; a=2"), "a"), None, "duplicates are refused");
        assert_eq!(get(None, "a"), None);
        assert_eq!(get(Some(&"a=1;".repeat(3000)), "a"), None, "oversized header ignored");
        for junk in ["", ";", "=", ";;=;", "novalue", "é=é"] {
            let _ = get(Some(junk), "a");
        }
    }

    #[test]
    fn sealed_values_are_bound_and_expire() {
        let s = seal(&key(), "client-1", 100, "csrf-token");
        assert_eq!(open(&key(), "client-1", 100, &s).as_deref(), Some("csrf-token"));
        assert_eq!(open(&key(), "client-1", 101, &s), None, "expired");
        assert_eq!(open(&key(), "client-2", 50, &s), None, "bound to another client");
        assert_eq!(open(&Key::derive(&"z".repeat(32), "oauth/consent"), "client-1", 50, &s), None);
        let (body, tag) = s.split_once('.').unwrap();
        let forged = format!("{}.{tag}", B64.encode("999999999|csrf-token"));
        assert_eq!(open(&key(), "client-1", 50, &forged), None);
        assert_eq!(open(&key(), "client-1", 50, &format!("{body}.")), None);
        assert_eq!(open(&key(), "client-1", 50, "garbage"), None);
    }

    #[test]
    fn host_prefixed_cookie_attributes() {
        let c = set_cookie("consent", "v", 600);
        assert_eq!(c, "__Host-consent=v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600");
        assert!(!c.contains("Domain"));
        assert!(set_cookie("consent", "", -5).ends_with("Max-Age=0"));
    }
}
