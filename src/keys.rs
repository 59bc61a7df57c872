//! Keys derived from `SECRET_KEY`, one per purpose, so that a value signed for one use never
//! verifies for another; and the MAC that signs with them. Constant-time verification only.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit key for one purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

/// Purposes, each a distinct derivation label.
pub const REQUEST_STATE: &str = "mcp/request-state";
pub const SESSION: &str = "mcp/session";

impl Key {
    /// HMAC-SHA256(secret, "mcp-oauth-worker/v1/" + purpose).
    pub fn derive(secret: &str, purpose: &str) -> Key {
        Key(mac(secret.as_bytes(), format!("mcp-oauth-worker/v1/{purpose}").as_bytes()))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        mac(&self.0, data)
    }

    /// Compares the MAC of `data` with `tag` in constant time.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mut m) => {
                m.update(data);
                m.verify_slice(tag).is_ok()
            }
            Err(_) => false,
        }
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; the fallback keeps
    // the signature total without a panic path.
    match HmacSha256::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_give_different_keys_and_signatures_verify() {
        let a = Key::derive("0123456789abcdef0123456789abcdef", REQUEST_STATE);
        let b = Key::derive("0123456789abcdef0123456789abcdef", "other");
        assert_ne!(a, b);
        let tag = a.sign(b"data");
        assert!(a.verify(b"data", &tag));
        assert!(!a.verify(b"datA", &tag));
        assert!(!b.verify(b"data", &tag));
        assert!(!a.verify(b"data", &tag[..31]));
        assert_eq!(format!("{a:?}"), "Key(***)");
    }

    #[test]
    fn rfc4231_test_case_2() {
        let tag = mac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
