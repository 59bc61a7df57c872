//! Access tokens: JWTs (RFC 7519, RFC 9068 `at+jwt`) signed with HS256 by `jwt-compact`, under a
//! key derived from `SECRET_KEY`, verified on every MCP request with no KV read and no Discord
//! call. The verifier fixes the algorithm, so `alg: none` or any other algorithm never
//! verifies, and the signature is checked before the claims are trusted.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, Token, UntrustedToken, ValidationError};
use serde::{Deserialize, Serialize};

use super::grant::Profile;
use crate::rules::keys::Key;

/// Clock skew tolerated when checking `exp`, `nbf` and `iat`. Issuer and verifier are the
/// same fleet of synchronised clocks, so this stays small: it adds to how long a revoked
/// grant's access token may still be used.
pub const LEEWAY_SECONDS: i64 = 5;

/// The claims this server puts in an access token besides `exp`, `iat` and `nbf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The MCP resource the token is for (RFC 8707).
    pub aud: String,
    /// Discord user id.
    pub sub: String,
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    pub jti: String,
    /// The grant (login) the token belongs to.
    pub gid: String,
    /// The Discord identity recorded at login, so tools can know the caller without a lookup.
    pub discord: Profile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    /// Signed with another algorithm, or a wrong key, or altered.
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
}

impl TokenError {
    /// For `error_description` in `WWW-Authenticate` (RFC 6750).
    pub fn describe(&self) -> &'static str {
        match self {
            TokenError::Malformed => "The access token is malformed",
            TokenError::BadSignature => "The access token signature is invalid",
            TokenError::Expired => "The access token has expired",
            TokenError::NotYetValid => "The access token is not valid yet",
            TokenError::WrongIssuer => "The access token was issued by another server",
            TokenError::WrongAudience => "The access token is for another resource",
        }
    }
}

/// Seconds since the epoch as the `DateTime` jwt-compact's claims use. Out of range (which no
/// request clock reaches) falls back to the epoch, which every check then treats as expired.
fn at(unix_seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_seconds, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Signs an access token valid from `now` for `ttl_seconds`.
pub fn issue(key: &Key, claims: AccessClaims, now: i64, ttl_seconds: i64) -> Option<String> {
    let mut c = Claims::new(claims);
    c.issued_at = Some(at(now));
    c.not_before = Some(at(now));
    c.expiration = Some(at(now.saturating_add(ttl_seconds)));
    Hs256.token(&Header::empty().with_token_type("at+jwt"), &c, &Hs256Key::new(key.bytes())).ok()
}

/// The token, if its header names HS256 and its signature verifies under an accepted key (the
/// current one, or during a rotation the previous one).
fn open(key: &Key, token: &str) -> Result<Token<AccessClaims>, TokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
    let check = |k: &[u8; 32]| Hs256.validator::<AccessClaims>(&Hs256Key::new(k)).validate(&untrusted);
    let mut first = None;
    for k in key.accepted() {
        match check(k) {
            Ok(t) => return Ok(t),
            Err(e) => first = first.or(Some(e)),
        }
    }
    Err(match first {
        Some(ValidationError::MalformedClaims(_) | ValidationError::NoClaim(_)) => TokenError::Malformed,
        _ => TokenError::BadSignature,
    })
}

/// `iat` and `exp` of a token whose signature verifies (for introspection).
pub fn times(key: &Key, token: &str) -> Option<(i64, i64)> {
    let token = open(key, token).ok()?;
    let c = token.claims();
    Some((c.issued_at?.timestamp(), c.expiration?.timestamp()))
}

/// Verifies signature, time window (`exp` and `nbf` required), issuer and audience; returns
/// the claims.
pub fn verify(key: &Key, token: &str, issuer: &str, audience: &str, now: i64) -> Result<AccessClaims, TokenError> {
    let token = open(key, token)?;
    let options = TimeOptions::new(Duration::seconds(LEEWAY_SECONDS), move || at(now));
    let claims = token.claims();
    claims.validate_expiration(&options).map_err(|e| match e {
        ValidationError::NoClaim(_) => TokenError::Malformed,
        _ => TokenError::Expired,
    })?;
    claims.validate_maturity(&options).map_err(|_| TokenError::NotYetValid)?;
    if claims.issued_at.is_some_and(|iat| iat.timestamp() > now.saturating_add(LEEWAY_SECONDS)) {
        return Err(TokenError::NotYetValid);
    }
    if claims.custom.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.custom.aud != audience {
        return Err(TokenError::WrongAudience);
    }
    Ok(claims.custom.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;

    const NOW: i64 = 1_785_240_000;
    const ISS: &str = "https://mcp.example";
    const AUD: &str = "https://mcp.example/mcp";

    fn key() -> Key {
        Key::derive(&"k".repeat(32), "oauth/access-token")
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "80351110224678912".into(),
            client_id: "c1".into(),
            scope: "mcp:tools".into(),
            jti: "j1".into(),
            gid: "g1".into(),
            discord: Profile {
                id: "80351110224678912".into(),
                username: "nelly".into(),
                global_name: None,
                avatar_url: None,
                email: None,
            },
        }
    }

    fn token() -> String {
        issue(&key(), claims(), NOW, 3600).unwrap()
    }

    #[test]
    fn round_trip_with_leeway() {
        assert_eq!(verify(&key(), &token(), ISS, AUD, NOW), Ok(claims()));
        assert!(verify(&key(), &token(), ISS, AUD, NOW + 3600 + LEEWAY_SECONDS - 1).is_ok());
        assert_eq!(verify(&key(), &token(), ISS, AUD, NOW + 3600 + LEEWAY_SECONDS + 1), Err(TokenError::Expired));
        assert!(verify(&key(), &token(), ISS, AUD, NOW - LEEWAY_SECONDS + 1).is_ok());
        assert_eq!(verify(&key(), &token(), ISS, AUD, NOW - LEEWAY_SECONDS - 1), Err(TokenError::NotYetValid));
    }

    #[test]
    fn wrong_key_issuer_audience() {
        let other = Key::derive(&"z".repeat(32), "oauth/access-token");
        assert_eq!(verify(&other, &token(), ISS, AUD, NOW), Err(TokenError::BadSignature));
        assert_eq!(verify(&key(), &token(), "https://other.example", AUD, NOW), Err(TokenError::WrongIssuer));
        assert_eq!(verify(&key(), &token(), ISS, "https://mcp.example/", NOW), Err(TokenError::WrongAudience));
    }

    #[test]
    fn alg_none_other_algorithms_and_tampering_fail() {
        let t = token();
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
        assert_eq!(verify(&key(), &none, ISS, AUD, NOW), Err(TokenError::BadSignature));
        let hs512 = format!("{}.{}.{}", B64.encode(br#"{"alg":"HS512"}"#), parts[1], parts[2]);
        assert_eq!(verify(&key(), &hs512, ISS, AUD, NOW), Err(TokenError::BadSignature));
        let mut c = claims();
        c.sub = "someone-else".into();
        let body = serde_json::to_string(&serde_json::json!({
            "iss": c.iss, "aud": c.aud, "sub": c.sub, "client_id": c.client_id, "scope": c.scope, "jti": c.jti, "gid": c.gid, "discord": c.discord,
            "exp": NOW + 3600, "iat": NOW, "nbf": NOW,
        }))
        .unwrap();
        let tampered = format!("{}.{}.{}", parts[0], B64.encode(body), parts[2]);
        assert_eq!(verify(&key(), &tampered, ISS, AUD, NOW), Err(TokenError::BadSignature));
        for junk in ["", "a", "a.b", "a.b.c", "....", "eyJ.eyJ.x", &"A".repeat(5000)] {
            assert!(verify(&key(), junk, ISS, AUD, NOW).is_err(), "{junk}");
        }
    }

    #[test]
    fn a_rotation_accepts_tokens_of_the_previous_key() {
        let old = key();
        let rotating = Key::derive_rotating(&"n".repeat(32), Some(&"k".repeat(32)), "oauth/access-token");
        let before = token();
        assert_eq!(verify(&rotating, &before, ISS, AUD, NOW), Ok(claims()));
        let after = issue(&rotating, claims(), NOW, 60).unwrap();
        assert_eq!(verify(&old, &after, ISS, AUD, NOW), Err(TokenError::BadSignature), "new tokens use the new key");
        let ended = Key::derive(&"n".repeat(32), "oauth/access-token");
        assert_eq!(verify(&ended, &before, ISS, AUD, NOW), Err(TokenError::BadSignature));
    }

    fn signed(header: &str, payload: serde_json::Value) -> String {
        let input = format!("{}.{}", B64.encode(header), B64.encode(payload.to_string()));
        let sig = B64.encode(key().sign(input.as_bytes()));
        format!("{input}.{sig}")
    }

    #[test]
    fn the_header_is_the_one_rfc_9068_names() {
        let header = token().split('.').next().map(|h| B64.decode(h).unwrap()).unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"at+jwt"}"#);
    }

    #[test]
    fn signed_tokens_with_missing_or_wrongly_typed_times_fail() {
        let mut full = serde_json::to_value(claims()).unwrap();
        full["exp"] = (NOW + 60).into();
        full["iat"] = NOW.into();
        full["nbf"] = NOW.into();
        let hs = r#"{"alg":"HS256"}"#;
        assert_eq!(verify(&key(), &signed(hs, full.clone()), ISS, AUD, NOW), Ok(claims()), "typ is optional");
        let mut no_exp = full.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(verify(&key(), &signed(hs, no_exp), ISS, AUD, NOW), Err(TokenError::Malformed));
        let mut no_nbf = full.clone();
        no_nbf.as_object_mut().unwrap().remove("nbf");
        assert_eq!(verify(&key(), &signed(hs, no_nbf), ISS, AUD, NOW), Err(TokenError::NotYetValid));
        let mut late_iat = full.clone();
        late_iat["iat"] = (NOW + 60).into();
        assert_eq!(verify(&key(), &signed(hs, late_iat), ISS, AUD, NOW), Err(TokenError::NotYetValid));
        let mut text_exp = full.clone();
        text_exp["exp"] = "never".into();
        assert_eq!(verify(&key(), &signed(hs, text_exp), ISS, AUD, NOW), Err(TokenError::Malformed));
        let mut no_sub = full.clone();
        no_sub.as_object_mut().unwrap().remove("sub");
        assert_eq!(verify(&key(), &signed(hs, no_sub), ISS, AUD, NOW), Err(TokenError::Malformed));
        assert_eq!(
            verify(&key(), &signed(r#"{"alg":"none"}"#, full.clone()), ISS, AUD, NOW),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&key(), &signed("{}", full), ISS, AUD, NOW), Err(TokenError::Malformed));
        assert_eq!(times(&key(), &token()), Some((NOW, NOW + 3600)));
        assert_eq!(times(&key(), "a.b.c"), None);
    }
}
