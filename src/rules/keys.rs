//! Keys derived from `SECRET_KEY`, one per purpose, so that a value signed for one use never
//! verifies for another; the MAC that signs with them and the AEAD that seals with them.
//! Each key also carries the one derived from `SECRET_KEY_PREVIOUS`, when set: new values are
//! always made with the current key, and values made with either still verify and open, so an
//! operator can rotate the secret without logging anyone out. Constant-time verification only.

use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit key for one purpose, and its predecessor during a key rotation.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

/// Purposes, each a distinct derivation label.
pub const REQUEST_STATE: &str = "mcp/request-state";
pub const SESSION: &str = "mcp/session";
pub const ACCESS_TOKEN: &str = "oauth/access-token";
pub const CLIENT_ID: &str = "oauth/client-id";
pub const CLIENT_SECRET: &str = "oauth/client-secret";
pub const AUTH_CODE: &str = "oauth/code";
pub const CONSENT: &str = "oauth/consent";
pub const PENDING: &str = "oauth/pending";
pub const REFRESH_TOKEN: &str = "oauth/refresh-token";
pub const DISCORD_TOKENS: &str = "discord/tokens";

/// Equality in time that depends only on the lengths, for secrets and MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `N` bytes from the platform's CSPRNG (the Web Crypto API in a Worker, the OS natively).
pub fn random<const N: usize>() -> Option<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).ok().map(|()| b)
}

/// A random URL-safe token of `N` bytes (e.g. 32 bytes: 256 bits).
pub fn random_token<const N: usize>() -> Option<String> {
    use base64::Engine;
    random::<N>().map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

fn derive_one(secret: &str, purpose: &str) -> [u8; 32] {
    mac(secret.as_bytes(), format!("mcp-oauth-worker/v1/{purpose}").as_bytes())
}

impl Key {
    /// HMAC-SHA256(secret, "mcp-oauth-worker/v1/" + purpose).
    pub fn derive(secret: &str, purpose: &str) -> Key {
        Key { current: derive_one(secret, purpose), previous: None }
    }

    /// The key for `purpose` during a rotation: signs with `secret`, also accepts `previous`.
    pub fn derive_rotating(secret: &str, previous: Option<&str>, purpose: &str) -> Key {
        Key { current: derive_one(secret, purpose), previous: previous.map(|p| derive_one(p, purpose)) }
    }

    /// The current key's bytes, for signing.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.current
    }

    /// Every key that may have made a value still in circulation, newest first.
    pub fn accepted(&self) -> impl Iterator<Item = &[u8; 32]> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        mac(&self.current, data)
    }

    /// Compares the MAC of `data` with `tag` in constant time, under each accepted key.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        self.accepted().any(|k| verify_with(k, data, tag))
    }

    /// Like [`Key::verify`] for a tag cut to its first bytes (at least 16: 128 bits).
    pub fn verify_truncated(&self, data: &[u8], tag: &[u8]) -> bool {
        tag.len() >= 16 && tag.len() <= 32 && self.accepted().any(|k| ct_eq(&mac(k, data)[..tag.len()], tag))
    }

    /// Encrypts and authenticates `plain` with XChaCha20-Poly1305 under a subkey kept apart
    /// from anything [`Key::sign`] can produce, binding `context` (not stored) so a value
    /// sealed for one record never opens as another. Output: base64url(nonce ‖ ciphertext).
    pub fn seal_bound(&self, plain: &[u8], context: &[u8]) -> Option<String> {
        use base64::Engine;
        let nonce = random::<24>()?;
        let cipher = XChaCha20Poly1305::new((&subkey(&self.current)).into());
        let sealed = cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context }).ok()?;
        let mut out = Vec::with_capacity(24 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// Reverses [`Key::seal_bound`]; `None` if anything was altered or the context differs.
    pub fn open_bound(&self, sealed: &str, context: &[u8]) -> Option<Vec<u8>> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, body) = raw.split_at_checked(24)?;
        self.accepted().find_map(|k| {
            XChaCha20Poly1305::new((&subkey(k)).into())
                .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: context })
                .ok()
        })
    }

    /// [`Key::seal_bound`] with no context: for values that pass through a browser and carry
    /// personal data, such as authorization codes.
    pub fn seal_private(&self, plain: &[u8]) -> Option<String> {
        self.seal_bound(plain, b"")
    }

    pub fn open_private(&self, sealed: &str) -> Option<Vec<u8>> {
        self.open_bound(sealed, b"")
    }
}

/// The AEAD subkey of a purpose key.
fn subkey(key: &[u8; 32]) -> [u8; 32] {
    mac(key, b"\0seal/aead")
}

fn verify_with(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.verify_slice(tag).is_ok()
        }
        Err(_) => false,
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here; the fallback keeps
    // the signature total without a panic path.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Every key the authorization server uses, derived from `SECRET_KEY` once per isolate (the
/// configuration caches it: see [`Config::auth_keys`]).
#[derive(Debug, Clone)]
pub struct AuthKeys {
    pub client_id: Key,
    pub client_secret: Key,
    pub pending: Key,
    pub consent: Key,
    pub code: Key,
    pub access: Key,
    pub refresh: Key,
    pub discord: Key,
}

impl AuthKeys {
    /// Derived from `SECRET_KEY`, accepting `SECRET_KEY_PREVIOUS` for verifying.
    pub fn derive(secret: &str, previous: Option<&str>) -> AuthKeys {
        let k = |p| Key::derive_rotating(secret, previous, p);
        AuthKeys {
            client_id: k(CLIENT_ID),
            client_secret: k(CLIENT_SECRET),
            pending: k(PENDING),
            consent: k(CONSENT),
            code: k(AUTH_CODE),
            access: k(ACCESS_TOKEN),
            refresh: k(REFRESH_TOKEN),
            discord: k(DISCORD_TOKENS),
        }
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
    fn private_seal_round_trips_hides_and_detects_tampering() {
        let k = Key::derive(&"k".repeat(32), AUTH_CODE);
        let plain = b"{\"email\":\"nelly@example.com\",\"pad\":\"0123456789012345678901234567890123456789\"}";
        let sealed = k.seal_private(plain).unwrap();
        assert!(!sealed.contains("nelly"));
        assert_eq!(k.open_private(&sealed).as_deref(), Some(&plain[..]));
        assert_ne!(k.seal_private(plain).unwrap(), sealed, "fresh nonce each time");
        use base64::Engine;
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        raw[30] ^= 1;
        let flipped = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(k.open_private(&flipped), None);
        assert_eq!(Key::derive(&"z".repeat(32), AUTH_CODE).open_private(&sealed), None);
        assert_eq!(Key::derive(&"k".repeat(32), CONSENT).open_private(&sealed), None);
        for junk in ["", "AAAA", "!!!", &"A".repeat(64)] {
            assert_eq!(k.open_private(junk), None);
        }
        assert_eq!(k.open_private(&k.seal_private(b"").unwrap()).as_deref(), Some(&b""[..]));
    }

    #[test]
    fn bound_seals_open_only_in_their_context() {
        let k = Key::derive(&"k".repeat(32), DISCORD_TOKENS);
        let sealed = k.seal_bound(b"discord-token", b"grant-1").unwrap();
        assert_eq!(k.open_bound(&sealed, b"grant-1").as_deref(), Some(&b"discord-token"[..]));
        assert_eq!(k.open_bound(&sealed, b"grant-2"), None);
        assert_eq!(k.open_private(&sealed), None);
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_accepts_the_old() {
        let old = Key::derive(&"o".repeat(32), AUTH_CODE);
        let rotating = Key::derive_rotating(&"n".repeat(32), Some(&"o".repeat(32)), AUTH_CODE);
        let new_only = Key::derive(&"n".repeat(32), AUTH_CODE);
        let sealed_old = old.seal_private(b"x").unwrap();
        assert_eq!(rotating.open_private(&sealed_old).as_deref(), Some(&b"x"[..]));
        assert_eq!(new_only.open_private(&sealed_old), None, "after the rotation ends, old values stop");
        let sealed_new = rotating.seal_private(b"y").unwrap();
        assert_eq!(new_only.open_private(&sealed_new).as_deref(), Some(&b"y"[..]));
        assert_eq!(old.open_private(&sealed_new), None);
        let tag = old.sign(b"data");
        assert!(rotating.verify(b"data", &tag));
        assert!(!new_only.verify(b"data", &tag));
        assert_eq!(rotating.sign(b"data"), new_only.sign(b"data"));
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(&[0; 43], &[0; 299]), "lengths differing by 256 are still different");
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn random_tokens_are_distinct() {
        let a = random_token::<32>().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token::<32>().unwrap());
    }

    #[test]
    fn rfc4231_test_case_2() {
        let tag = mac(b"Jefe", b"what do ya want for nothing?");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
