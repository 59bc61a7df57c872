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
pub const ACCESS_TOKEN: &str = "oauth/access-token";
pub const CLIENT_ID: &str = "oauth/client-id";
pub const CLIENT_SECRET: &str = "oauth/client-secret";
pub const AUTH_CODE: &str = "oauth/code";
pub const CONSENT: &str = "oauth/consent";
pub const PENDING: &str = "oauth/pending";

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

    /// Encrypts and authenticates `plain` (encrypt-then-MAC: an HMAC-SHA256 keystream in
    /// counter mode under one derived key, HMAC-SHA256 over nonce and ciphertext under
    /// another). For values that pass through a browser and carry personal data, such as
    /// authorization codes. Output: base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal_private(&self, plain: &[u8]) -> Option<String> {
        use base64::Engine;
        let nonce = random::<16>()?;
        let mut out = Vec::with_capacity(16 + plain.len() + 32);
        out.extend_from_slice(&nonce);
        out.extend(plain.iter().zip(self.keystream(&nonce, plain.len())).map(|(p, k)| p ^ k));
        let tag = mac(&self.subkey(b"mac"), &out);
        out.extend_from_slice(&tag);
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// Reverses [`Key::seal_private`]; `None` if anything was altered.
    pub fn open_private(&self, sealed: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < 48 {
            return None;
        }
        let (body, tag) = raw.split_at(raw.len() - 32);
        if !Key(self.subkey(b"mac")).verify(body, tag) {
            return None;
        }
        let (nonce, cipher) = body.split_at(16);
        Some(cipher.iter().zip(self.keystream(nonce, cipher.len())).map(|(c, k)| c ^ k).collect())
    }

    /// Sealing subkeys, kept apart from anything [`Key::sign`] could produce for a caller.
    fn subkey(&self, label: &[u8]) -> [u8; 32] {
        mac(&self.0, &[b"\0seal/".as_slice(), label].concat())
    }

    fn keystream(&self, nonce: &[u8], len: usize) -> Vec<u8> {
        let enc = self.subkey(b"enc");
        let mut stream = Vec::with_capacity(len + 32);
        let mut counter: u64 = 0;
        while stream.len() < len {
            let mut block = nonce.to_vec();
            block.extend_from_slice(&counter.to_be_bytes());
            stream.extend_from_slice(&mac(&enc, &block));
            counter += 1;
        }
        stream.truncate(len);
        stream
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
    fn private_seal_round_trips_hides_and_detects_tampering() {
        let k = Key::derive(&"k".repeat(32), AUTH_CODE);
        let plain = b"{\"email\":\"nelly@example.com\",\"pad\":\"0123456789012345678901234567890123456789\"}";
        let sealed = k.seal_private(plain).unwrap();
        assert!(!sealed.contains("nelly"));
        assert_eq!(k.open_private(&sealed).as_deref(), Some(&plain[..]));
        assert_ne!(k.seal_private(plain).unwrap(), sealed, "fresh nonce each time");
        use base64::Engine;
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        raw[20] ^= 1;
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
