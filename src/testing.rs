//! What native tests share: a complete configuration and a platform whose KV is in memory and
//! whose outbound calls are answered from a script (or fail as offline when none is left).

use std::cell::RefCell;

use crate::rules::config::Config;
use crate::rules::oauth::assertion::Alg;
use crate::rules::platform::{FetchError, Inbound, Outbound, Platform};
use crate::store::MemoryStore;

/// A complete configuration: Discord credentials and a 40-character `SECRET_KEY`.
pub fn config() -> Config {
    config_with(&[])
}

/// The complete configuration with `extra` variables set.
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    Config::load(
        |n| match n {
            "DISCORD_CLIENT_ID" => Some("1".into()),
            "DISCORD_CLIENT_SECRET" => Some("2".into()),
            "SECRET_KEY" => Some("k".repeat(40)),
            _ => extra.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()),
        },
        true,
    )
}

#[derive(Default)]
pub struct Fake {
    pub kv: MemoryStore,
    /// Answers to outbound calls, in order: status and body.
    pub answers: RefCell<Vec<(u16, &'static str)>>,
    /// URLs of the outbound calls made.
    pub sent: RefCell<Vec<String>>,
}

impl Platform for Fake {
    type Kv = MemoryStore;
    fn kv(&self) -> Option<&MemoryStore> {
        Some(&self.kv)
    }
    async fn fetch(&self, out: Outbound) -> Result<Inbound, FetchError> {
        self.sent.borrow_mut().push(out.url);
        let mut queue = self.answers.borrow_mut();
        if queue.is_empty() {
            return Err(FetchError::Network);
        }
        let (status, body) = queue.remove(0);
        let headers = vec![("content-type".into(), "application/json".into())];
        Ok(Inbound { status, headers, body: body.as_bytes().to_vec() })
    }
    async fn verify_signature(&self, alg: Alg, jwk: &str, message: &[u8], signature: &[u8]) -> bool {
        signer::verify(alg, jwk, message, signature)
    }
}

/// Signing keys for tests of `private_key_jwt`, and the verifier the native platform uses in
/// place of WebCrypto: jwt-compact's RSA and ECDSA, compiled into tests only (dev-dependency
/// features never reach the wasm).
pub mod signer {
    use jwt_compact::alg::{Es256, Rsa, RsaPrivateKey};
    use jwt_compact::jwk::JsonWebKey;
    use jwt_compact::{AlgorithmExt, Claims, Header};
    use serde_json::Value;

    use crate::rules::oauth::assertion::{Alg, Assertion};

    /// ChatGPT's stable metadata document URL, the client most tests sign for.
    pub const CHATGPT: &str = "https://chatgpt.com/oauth/client.json";

    // Fixed keys (made once with Node's crypto.generateKeyPairSync): generating RSA in a debug
    // build takes seconds.
    const RSA: &str = r#"{"kty":"RSA","n":"vf6K1H3LlX-yWn8OEZouryVuPMo5aSQG-SbtSJO8vJ80c30NQWmy2sAH5K4R3y4cHrWgG8BsmguTG-S8RW3PED9FrJZ5OfhZlC3HprJmKHJun4oVYvbxUju5gEq0gQxNTw1LZ9hEcYd6KZgVjkUmc8O1jnt4zneoBfRh_CzmrXnIh2OZsRnCwFYg67YaZBGKgz-tycudXny35N17LgVr_ekGAnYg_fSGFNmtoumibckqSO-mCXV6tY7p5o0iINZ2DX1vqreak0qMO4m6WiZRVAT8GAPKqj8ohOUVbSjPHEBVxqLyziLEkyijv6unKKlfl4wE3blkWIp-0fbwOd1gHQ","e":"AQAB","d":"BEVwrDjtFr35gydQEv07B3JOpCHiYIa60WcaoS27vyclGrjjpLt86zCzUg9yahNd9ngcKAOPbXcie4IM6X1VJlxbHfd-tNrsc0mu2gSGChVof0BaHWYdJBLLp3gGeXrj_LROeassVBEOTK5qmE7dqm8_6aVvoH9Ne7TJbyM4nGBn7MH7MrAsPG5AWXyORpvqeWbjotEim0u0voEUeOHUNLlk_5wUPMulJsMhtHqlup4i6LOgunp8ohUrovkQaS7Qd5o2Id33CEy4gXV44hgu9MNQvdFnPn3ZC0h3rdcjLH1oJ2uLVreD2n9BKawSPH8VOHL5iB-B9a7s-sfrSk0h0Q","p":"4wUsNRQwr7A44AGM3syuho9WW9psGYNv779nVZ7b6tPRBb1YueO89FRAIua0Cq6QJzmmeRbBetLq19e_qFLwkgRedVYBxbpdMnGjPctY3y-e2ql8mbWqLbqMqg-2bJiFyeMFuPNXT5DBdRVK-X4glJ03o5NLiMkAQHFJSLIIjPc","q":"1j9lCmAW5rVUQae-tDUB_MYI4QuA3EfEQsgC82iJOoYFoZKJ2lL_ZceANVCmur3bJnng58Zbp4S7K7-uEz7bpF5gAjG16CVsKxM6pASKE-sDLQzaLX-g4C7cbB9VBIUEkgApmsPTlRgajqY5ipWvpcJ2UtoeQ2Af5-X3bicmWos","dp":"R6xzZ5KnSGCXpEl5A0KV-0-30SolpOx1Y7kHU-XiwsH7JRfBsnavSmhrE1nJD_JK-sddwq8niLKciGbKUMdWwpL0i5EK4DVVhT6RbkoMFfK_8YM_HnxXbTaPgIWTb7e7zaCKRvk04J7wJRoC4MAsYx872L4BQ_9JwA7EN1pWDsM","dq":"CKnDkinUgzutzoHT6kGCdRAk58SpTz7vpqujwuflNKKas6_TNyrH_PuWKZG7TC3FIMco2vZgWmO5lclIZqrSAtF2HGCaNGre9tbuNheg5bFJDZdJczGH9civTQfvTiF6z9SF2iY09gBlgoMiLIJk-dTlJ_B97MeEQsI_wQqAOIU","qi":"dgvON4yTY8oaZk4AKFSj3OTunCc9cmci3blOY_HRuy5iqbLNmjzN-YVEzy_v0RGok925Cj0c4QUhgHtyhQUEFS1lBmhrsWJ8qepG3a_wcMVPbVVpbFN4i-C9PEyTo8DsfpNZKAnbMkti8n_tzyrOmokhmxourFHzn6Pu-0gpzkU"}"#;
    const EC: &str = r#"{"kty":"EC","x":"0kvKswl8PY2SNNz2K-b22HujJzFZ6F7_ULrK7puYbaI","y":"FVh4JELAZZ0FxIc92Mgn4qmEiM9wLSCrO4xKt_9hthU","crv":"P-256","d":"nKDqkJGlSHnVrvE4nSq-4_Yqd5Dpg3eHCmFd1VCV_wI"}"#;

    pub struct Signer {
        alg: Alg,
        kid: String,
        private: Value,
    }

    impl Signer {
        pub fn rsa(kid: &str) -> Signer {
            Signer { alg: Alg::Rs256, kid: kid.into(), private: serde_json::from_str(RSA).unwrap() }
        }

        pub fn ec(kid: &str) -> Signer {
            Signer { alg: Alg::Es256, kid: kid.into(), private: serde_json::from_str(EC).unwrap() }
        }

        /// The public key as a key set publishes it, with `kid`, `use` and `alg`.
        pub fn public_jwk(&self) -> Value {
            let mut k = self.private.clone();
            for secret in ["d", "p", "q", "dp", "dq", "qi"] {
                k.as_object_mut().unwrap().remove(secret);
            }
            k["kid"] = self.kid.clone().into();
            k["use"] = "sig".into();
            k["alg"] = self.alg.as_str().into();
            k
        }

        pub fn jwks(&self) -> String {
            serde_json::json!({ "keys": [self.public_jwk()] }).to_string()
        }

        /// A JWT with these claims (exactly as given), signed, with this signer's `kid`.
        pub fn sign(&self, claims: &Value) -> String {
            let header = Header::empty().with_key_id(&self.kid);
            let claims = Claims::new(claims.as_object().unwrap().clone());
            let jwk: JsonWebKey<'_> = serde_json::from_value(self.private.clone()).unwrap();
            match self.alg {
                Alg::Rs256 => {
                    let key = RsaPrivateKey::try_from(&jwk).unwrap();
                    Rsa::rs256().token(&header, &claims, &key).unwrap()
                }
                Alg::Es256 => {
                    let key = p256::ecdsa::SigningKey::try_from(&jwk).unwrap();
                    Es256.token(&header, &claims, &key).unwrap()
                }
                Alg::Ed25519 => unreachable!("client assertions are RS256 or ES256"),
            }
        }

        pub fn verify_with(&self, jwk: &str, a: &Assertion) -> bool {
            verify(self.alg, jwk, &a.signed, &a.signature)
        }
    }

    /// What WebCrypto's `verify` answers, natively.
    pub fn verify(alg: Alg, jwk: &str, message: &[u8], signature: &[u8]) -> bool {
        if alg == Alg::Ed25519 {
            return ed25519(jwk, message, signature);
        }
        crate::rules::oauth::assertion::verify_in_wasm(alg, jwk, message, signature)
    }

    fn ed25519(jwk: &str, message: &[u8], signature: &[u8]) -> bool {
        use base64::Engine;
        let x = serde_json::from_str::<Value>(jwk).ok().and_then(|k| k["x"].as_str().map(String::from));
        let key = x.and_then(|x| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x).ok());
        let (Some(Ok(key)), Ok(sig)) = (
            key.map(|k| ed25519_compact::PublicKey::from_slice(&k)),
            ed25519_compact::Signature::from_slice(signature),
        ) else {
            return false;
        };
        key.verify(message, &sig).is_ok()
    }

    /// Discord's side of webhook events: an Ed25519 key pair (fixed), signing as Discord does.
    pub struct EventSigner(pub ed25519_compact::KeyPair);

    impl Default for EventSigner {
        fn default() -> Self {
            EventSigner(ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7; 32])))
        }
    }

    impl EventSigner {
        pub fn public_hex(&self) -> String {
            self.0.pk.iter().map(|b| format!("{b:02x}")).collect()
        }

        /// `X-Signature-Ed25519` for `timestamp` and `body`.
        pub fn sign(&self, timestamp: &str, body: &str) -> String {
            let message = [timestamp.as_bytes(), body.as_bytes()].concat();
            self.0.sk.sign(message, None).iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}
