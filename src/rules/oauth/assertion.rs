//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2), the way
//! ChatGPT uses it: a metadata-document client signs a short-lived JWT with a key from the key
//! set its document names. Everything here is pure: parsing the assertion (with jwt-compact),
//! the claim rules, choosing the key. The signature itself is checked by the platform
//! ([`crate::rules::platform::Platform::verify_signature`]: WebCrypto in the Worker, so RSA and
//! ECDSA add nothing to the wasm), and the key set is fetched by `web::metadata_documents`.

use serde_json::Value;

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// An assertion may expire at most this far ahead (RFC 7523 §3 leaves the bound to the server).
pub const MAX_LIFETIME_SECONDS: i64 = 300;
/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 60;
/// Longest assertion read. An RS256 assertion with a 4096-bit key is under 1,500 bytes.
pub const MAX_ASSERTION: usize = 8192;
/// Largest key set read, inline or fetched.
pub const MAX_JWKS: usize = 16 * 1024;
/// Smallest RSA modulus accepted: 2048 bits, 342 base64url characters (RFC 7518 §3.3).
const MIN_RSA_N_CHARS: usize = 342;

/// The algorithms this server verifies; the only ones it advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es256,
    /// Discord's webhook signatures (`rules::discord_events`); never a client assertion's.
    Ed25519,
}

pub const ALGS: &[&str] = &["RS256", "ES256"];

impl Alg {
    pub fn from_name(name: &str) -> Option<Alg> {
        match name {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::Ed25519 => "Ed25519",
        }
    }
}

/// Why an assertion is refused: the `error_description` of a 401 `invalid_client`.
pub type Refusal = &'static str;

/// The claims of a token jwt-compact accepted as a JWT (so it has three segments), as a JSON
/// value: jwt-compact's `Claims<T>` (flattened, chrono-typed) or a derived struct would add 4 to
/// 6 KB of wasm for this second claims type. jwt-compact still parses the token, its header and
/// signature.
fn claims(raw: &str) -> Option<Value> {
    use base64::Engine;
    let payload = raw.split('.').nth(1)?;
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// An assertion whose claims passed, awaiting the signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The client it names (`sub`, equal to `iss`).
    pub client_id: String,
    pub alg: Alg,
    pub kid: Option<String>,
    /// What the signature covers: the header and payload as sent.
    pub signed: Vec<u8>,
    pub signature: Vec<u8>,
    /// When it expires: how long its `jti` must be remembered.
    pub exp: i64,
    pub jti: Option<String>,
}

/// The client an assertion names, read before anything is verified, for a request that sent
/// no `client_id` (RFC 7523 §3: the `sub` identifies the client).
pub fn named_client(raw: &str) -> Option<String> {
    jwt_compact::UntrustedToken::new(raw).ok()?;
    claims(raw)?.get("sub")?.as_str().map(String::from)
}

/// Parses an assertion and checks its claims for `client_id`: `iss` = `sub` = the client, an
/// audience among `audiences` (the issuer, the token endpoint, the endpoint called: clients
/// differ), an `exp` no later than five minutes ahead and not past, an `iat` and `nbf` not in
/// the future. `pinned` is the algorithm the client's document declares, if any.
pub fn check(
    raw: &str,
    client_id: &str,
    audiences: &[&str],
    pinned: Option<Alg>,
    now: i64,
) -> Result<Assertion, Refusal> {
    if raw.len() > MAX_ASSERTION {
        return Err("the client assertion is too long");
    }
    let token = jwt_compact::UntrustedToken::new(raw).map_err(|_| "the client assertion is not a JWT")?;
    let alg = Alg::from_name(token.algorithm()).ok_or("the client assertion is not signed with RS256 or ES256")?;
    if pinned.is_some_and(|p| p != alg) {
        return Err("the client assertion is signed with another algorithm than the client's metadata declares");
    }
    let c = claims(raw).ok_or("the client assertion's claims are not valid")?;
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    let time = |k: &str| c.get(k).and_then(Value::as_i64);
    if text("sub") != Some(client_id) || text("iss") != Some(client_id) {
        return Err("the client assertion's iss and sub must both be the client_id");
    }
    // A string or a list of strings.
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok {
        return Err("the client assertion's aud must be this server's issuer or token endpoint");
    }
    let exp = time("exp").ok_or("the client assertion has no exp")?;
    if exp + LEEWAY_SECONDS <= now {
        return Err("the client assertion has expired");
    }
    if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS {
        return Err("the client assertion's exp is more than five minutes ahead");
    }
    let future = |k: &str| time(k).is_some_and(|t| t > now + LEEWAY_SECONDS);
    if future("iat") || future("nbf") {
        return Err("the client assertion is dated in the future");
    }
    let signed = raw.rsplit_once('.').map(|(s, _)| s.as_bytes().to_vec()).unwrap_or_default();
    Ok(Assertion {
        client_id: client_id.to_string(),
        alg,
        kid: token.header().key_id.clone(),
        signed,
        signature: token.signature_bytes().to_vec(),
        exp,
        jti: text("jti").map(String::from),
    })
}

/// Whether a key set lacks the key an assertion names (a rotation the cache has not seen),
/// as opposed to being unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    NotFound,
    Invalid,
}

/// The public key, as a JWK with only its public members (what WebCrypto imports), that
/// verifies `a`: named by its `kid` when it has one, else the only key of its type. A key
/// marked for another use or algorithm is not a candidate; an RSA key under 2048 bits or an
/// EC key off P-256 is never used.
pub fn select_key(jwks: &[u8], a: &Assertion) -> Result<String, KeyError> {
    if jwks.len() > MAX_JWKS {
        return Err(KeyError::Invalid);
    }
    let set: Value = serde_json::from_slice(jwks).map_err(|_| KeyError::Invalid)?;
    let keys = set.get("keys").and_then(Value::as_array).ok_or(KeyError::Invalid)?;
    let s = |k: &Value, f: &str| k.get(f).and_then(Value::as_str).map(String::from);
    let candidates: Vec<&Value> = keys
        .iter()
        .filter(|k| {
            let kid_ok = match (&a.kid, s(k, "kid")) {
                (Some(want), Some(have)) => *want == have,
                (Some(_), None) => false,
                (None, _) => true,
            };
            let kind_ok = match a.alg {
                Alg::Rs256 => s(k, "kty").as_deref() == Some("RSA"),
                Alg::Es256 => s(k, "kty").as_deref() == Some("EC") && s(k, "crv").as_deref() == Some("P-256"),
                Alg::Ed25519 => false,
            };
            kid_ok
                && kind_ok
                && s(k, "use").is_none_or(|u| u == "sig")
                && s(k, "alg").is_none_or(|x| x == a.alg.as_str())
        })
        .collect();
    let [key] = candidates.as_slice() else {
        return Err(if candidates.is_empty() { KeyError::NotFound } else { KeyError::Invalid });
    };
    // Members that are base64url need no JSON escaping.
    let b64 = |f: &str| s(key, f).filter(|x| !x.is_empty() && x.bytes().all(is_b64url)).ok_or(KeyError::Invalid);
    Ok(match a.alg {
        Alg::Rs256 => {
            let (n, e) = (b64("n")?, b64("e")?);
            if n.len() < MIN_RSA_N_CHARS {
                return Err(KeyError::Invalid);
            }
            format!(r#"{{"kty":"RSA","n":"{n}","e":"{e}"}}"#)
        }
        Alg::Es256 => format!(r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#, b64("x")?, b64("y")?),
        Alg::Ed25519 => return Err(KeyError::Invalid),
    })
}

/// A signature checked with jwt-compact's RSA and ECDSA, in Rust: what native tests use in place
/// of WebCrypto, and what the `wasm-signatures` benchmark build runs in the Worker to measure the
/// other choice (docs/performance.md).
#[cfg(any(test, feature = "wasm-signatures"))]
pub fn verify_in_wasm(alg: Alg, jwk: &str, message: &[u8], signature: &[u8]) -> bool {
    use jwt_compact::alg::{Es256, Rsa, RsaPublicKey};
    use jwt_compact::jwk::JsonWebKey;
    use jwt_compact::{Algorithm, AlgorithmSignature};
    let Ok(jwk) = serde_json::from_str::<JsonWebKey<'_>>(jwk) else { return false };
    match alg {
        Alg::Rs256 => match (RsaPublicKey::try_from(&jwk), AlgorithmSignature::try_from_slice(signature)) {
            (Ok(key), Ok(sig)) => Rsa::rs256().verify_signature(&sig, &key, message),
            _ => false,
        },
        Alg::Es256 => {
            match (p256::ecdsa::VerifyingKey::try_from(&jwk), AlgorithmSignature::try_from_slice(signature)) {
                (Ok(key), Ok(sig)) => Es256.verify_signature(&sig, &key, message),
                _ => false,
            }
        }
        Alg::Ed25519 => false,
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `jti`s of assertions this isolate accepted, until they expire. RFC 7523 §3 lets a server
/// refuse a replayed assertion; this does so within an isolate, without KV (a write per token
/// request would spend the free plan's budget). What it adds beyond the five-minute `exp`:
/// an assertion captured from a request log cannot be sent again to the same isolate. An
/// assertion alone grants nothing anyway: it rides with a single-use code or a rotating
/// refresh token.
#[derive(Debug, Default)]
pub struct SeenJtis {
    seen: Vec<(String, i64)>,
}

/// `jti`s remembered per isolate; the oldest go first beyond this.
pub const JTIS_KEPT: usize = 512;

impl SeenJtis {
    /// Records `a`'s `jti`; `false` when it was already seen (a replay). An assertion without
    /// a `jti` cannot be tracked and passes.
    pub fn first_use(&mut self, a: &Assertion, now: i64) -> bool {
        let Some(jti) = &a.jti else { return true };
        let key = format!("{}\n{jti}", a.client_id);
        self.seen.retain(|(_, exp)| *exp + LEEWAY_SECONDS > now);
        if self.seen.iter().any(|(k, _)| *k == key) {
            return false;
        }
        if self.seen.len() >= JTIS_KEPT {
            self.seen.remove(0);
        }
        self.seen.push((key, a.exp));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::signer::{Signer, CHATGPT};

    const AUD: &[&str] = &["https://mcp.example", "https://mcp.example/token"];
    const NOW: i64 = 1_785_240_000;

    fn claims(over: Value) -> Value {
        let mut c = serde_json::json!({
            "iss": CHATGPT, "sub": CHATGPT, "aud": "https://mcp.example",
            "exp": NOW + 60, "iat": NOW, "jti": "j1"
        });
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn ok(signer: &Signer, over: Value) -> Result<Assertion, Refusal> {
        check(&signer.sign(&claims(over)), CHATGPT, AUD, None, NOW)
    }

    #[test]
    fn a_chatgpt_assertion_passes_and_names_its_key() {
        let rsa = Signer::rsa("k1");
        let a = ok(&rsa, serde_json::json!({})).unwrap();
        assert_eq!((a.alg, a.kid.as_deref(), a.jti.as_deref()), (Alg::Rs256, Some("k1"), Some("j1")));
        assert_eq!(named_client(&rsa.sign(&claims(serde_json::json!({})))).as_deref(), Some(CHATGPT));
        let jwk = select_key(rsa.jwks().as_bytes(), &a).unwrap();
        assert!(jwk.contains("\"kty\":\"RSA\"") && !jwk.contains("\"d\""), "public members only: {jwk}");
        assert!(rsa.verify_with(&jwk, &a), "the chosen key verifies the signature");
        // The token endpoint as audience, and an audience list, are accepted too.
        assert!(ok(&rsa, serde_json::json!({"aud": "https://mcp.example/token"})).is_ok());
        assert!(ok(&rsa, serde_json::json!({"aud": ["x", "https://mcp.example"]})).is_ok());
        let ec = Signer::ec("e1");
        assert_eq!(ok(&ec, serde_json::json!({})).unwrap().alg, Alg::Es256);
    }

    #[test]
    fn claims_that_do_not_hold_are_refused() {
        let rsa = Signer::rsa("k1");
        for (over, why) in [
            (serde_json::json!({"iss": "https://evil.example/c.json"}), "iss and sub"),
            (serde_json::json!({"sub": null}), "iss and sub"),
            (serde_json::json!({"aud": "https://other.example"}), "aud"),
            (serde_json::json!({"aud": null}), "aud"),
            (serde_json::json!({"exp": null}), "no exp"),
            (serde_json::json!({"exp": NOW - LEEWAY_SECONDS}), "expired"),
            (serde_json::json!({"exp": NOW + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS + 1}), "five minutes"),
            (serde_json::json!({"iat": NOW + LEEWAY_SECONDS + 1}), "future"),
            (serde_json::json!({"nbf": NOW + LEEWAY_SECONDS + 1}), "future"),
        ] {
            let e = ok(&rsa, over.clone()).unwrap_err();
            assert!(e.contains(why), "{over}: {e}");
        }
        assert!(ok(&rsa, serde_json::json!({"exp": NOW - LEEWAY_SECONDS + 1, "iat": NOW + 30})).is_ok(), "skew");
        let pinned = check(&rsa.sign(&claims(serde_json::json!({}))), CHATGPT, AUD, Some(Alg::Es256), NOW);
        assert!(pinned.unwrap_err().contains("another algorithm"));
        for junk in ["", "a.b", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", &"x".repeat(MAX_ASSERTION + 1)] {
            assert!(check(junk, CHATGPT, AUD, None, NOW).is_err(), "{junk}");
        }
        // alg none and HS256 (a key set's public key used as an HMAC secret) are never accepted.
        let hs = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        assert!(check(hs, CHATGPT, AUD, None, NOW).unwrap_err().contains("RS256 or ES256"));
    }

    #[test]
    fn keys_are_chosen_by_kid_type_and_use() {
        let rsa = Signer::rsa("k1");
        let a = ok(&rsa, serde_json::json!({})).unwrap();
        let set = |keys: Value| serde_json::json!({ "keys": keys }).to_string();
        let mut key = rsa.public_jwk();
        assert!(select_key(set(serde_json::json!([key.clone()])).as_bytes(), &a).is_ok());
        key["kid"] = "k2".into();
        assert_eq!(select_key(set(serde_json::json!([key.clone()])).as_bytes(), &a), Err(KeyError::NotFound));
        key["kid"] = "k1".into();
        key["use"] = "enc".into();
        assert_eq!(select_key(set(serde_json::json!([key.clone()])).as_bytes(), &a), Err(KeyError::NotFound));
        key["use"] = "sig".into();
        key["n"] = "AQAB".into();
        assert_eq!(
            select_key(set(serde_json::json!([key.clone()])).as_bytes(), &a),
            Err(KeyError::Invalid),
            "tiny RSA"
        );
        let both = set(serde_json::json!([rsa.public_jwk(), rsa.public_jwk()]));
        assert_eq!(select_key(both.as_bytes(), &a), Err(KeyError::Invalid), "ambiguous");
        for junk in ["", "{}", "[]", r#"{"keys":"x"}"#] {
            assert!(select_key(junk.as_bytes(), &a).is_err(), "{junk}");
        }
        // An EC key never verifies an RS256 assertion, whatever its kid.
        let mut ec = Signer::ec("k1").public_jwk();
        ec["kid"] = "k1".into();
        assert_eq!(select_key(set(serde_json::json!([ec])).as_bytes(), &a), Err(KeyError::NotFound));
    }

    #[test]
    fn a_jti_is_accepted_once_until_it_expires() {
        let rsa = Signer::rsa("k1");
        let a = ok(&rsa, serde_json::json!({})).unwrap();
        let mut seen = SeenJtis::default();
        assert!(seen.first_use(&a, NOW));
        assert!(!seen.first_use(&a, NOW + 1), "replayed");
        assert!(seen.first_use(&a, a.exp + LEEWAY_SECONDS), "forgotten once it could no longer pass");
        let no_jti = Assertion { jti: None, ..a.clone() };
        assert!(seen.first_use(&no_jti, NOW) && seen.first_use(&no_jti, NOW));
        for i in 0..JTIS_KEPT + 3 {
            assert!(seen.first_use(&Assertion { jti: Some(format!("n{i}")), ..a.clone() }, NOW));
        }
        assert!(seen.seen.len() <= JTIS_KEPT);
    }
}
