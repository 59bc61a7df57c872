//! What a login grants, and the token endpoint's rules: the authorization code (sealed, so
//! any edge location can redeem it without storage), client authentication as registered,
//! and the grant record kept in KV (its key: `store::keys::grant`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::authorize::{client_hash, Pending};
use super::client::{configured_secret_valid, metadata_url, open_client_id, secret_valid, AuthMethod, Client, Kind};
use super::error::OAuthError;
use super::form::Form;
use super::pkce;
use crate::rules::discord::DiscordUser;
use crate::rules::keys::Key;

/// An authorization code is good for this long: long enough for a client's backend at
/// another edge location, short enough to make a stolen one useless.
/// A grant id as this server makes them (base64url of random bytes): checked before an id
/// from outside goes into a KV key.
pub fn is_grant_id(s: &str) -> bool {
    (16..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A grant (a login) ends this long after it began, however often it is refreshed; then the
/// person logs in again, and their Discord profile is read afresh.
pub const MAX_GRANT_SECONDS: i64 = 90 * 24 * 3600;
pub const CODE_TTL_SECONDS: i64 = 120;

/// The person behind a grant, as recorded at login (what `whoami` reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// Only when the `email` scope was granted and Discord says the address is verified: an
    /// unverified address proves nothing about who holds the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Profile {
    /// What the grant may reveal: the id always (it is the token's subject); names and avatar
    /// with `profile`; the email with `email`, and only a verified one. Tokens are signed, not
    /// encrypted.
    pub fn from_discord(u: &DiscordUser, scopes: &[&str]) -> Profile {
        let profile = scopes.contains(&"profile");
        Profile {
            id: u.id.clone(),
            username: if profile { u.username.clone() } else { String::new() },
            global_name: u.global_name.clone().filter(|_| profile),
            avatar_url: u.avatar_url().filter(|_| profile),
            email: u.email.clone().filter(|_| scopes.contains(&"email") && u.verified == Some(true)),
        }
    }
}

/// The authorization code's content. Sealed with encryption: it travels in a URL and names
/// a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub client: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub scope: String,
    pub resource: String,
    pub user: Profile,
    pub expires: i64,
    /// Unique id: the id of the grant it starts, whose record is also its single-use marker.
    pub jti: String,
    /// The client's display name, for the grant record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Discord's tokens, already sealed as they will be stored ([`crate::rules::discord::StoredTokens`]):
    /// the grant is written in one put when the code is redeemed, and nobody outside the
    /// Worker can open them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<String>,
    /// The client's metadata document declared `private_key_jwt` (and the server honours it):
    /// the code and refresh tokens are redeemed only with a verified client assertion.
    #[serde(rename = "pkj", default, skip_serializing_if = "std::ops::Not::not")]
    pub private_key_jwt: bool,
}

impl Code {
    pub fn new(p: &Pending, user: Profile, now: i64, jti: String) -> Code {
        Code {
            client: p.client.clone(),
            redirect_uri: p.redirect_uri.clone(),
            challenge: p.challenge.clone(),
            scope: p.scope.clone(),
            resource: p.resource.clone(),
            user,
            expires: now + CODE_TTL_SECONDS,
            jti,
            client_name: None,
            discord: None,
            private_key_jwt: p.private_key_jwt,
        }
    }

    pub fn seal(&self, key: &Key) -> Option<String> {
        key.seal_private(&serde_json::to_vec(self).ok()?)
    }

    /// Opens a presented code; expiry is checked by [`redeem`], which reports it.
    pub fn open(key: &Key, sealed: &str) -> Option<Code> {
        serde_json::from_slice(&key.open_private(sealed)?).ok()
    }
}

/// What authenticating a client needs: the keys of registered clients, the configured ones,
/// and whether loopback http metadata URLs are allowed (local development).
pub struct ClientKeys<'a> {
    pub id: &'a Key,
    pub secret: &'a Key,
    pub configured: &'a [(String, Client)],
    pub allow_loopback_http: bool,
    /// Clients identified by a metadata document URL are known (`DISABLE_METADATA_DOCUMENTS`
    /// turns them off).
    pub metadata_documents: bool,
}

impl ClientKeys<'_> {
    /// The client behind an id, without I/O: configured, a metadata document URL (a public
    /// client whose document was checked when the code was issued), or a signed registration.
    pub fn lookup(&self, id: &str) -> Option<Client> {
        if let Some((_, c)) = self.configured.iter().find(|(cid, _)| cid == id) {
            return Some(c.clone());
        }
        if self.metadata_documents && metadata_url(id, self.allow_loopback_http).is_some() {
            return Some(Client {
                redirect_uris: Vec::new(),
                auth_method: AuthMethod::None,
                refresh: true,
                name: None,
                client_uri: None,
                issued_at: 0,
                nonce: String::new(),
                kind: Kind::MetadataDocument,
                jwt: None,
            });
        }
        open_client_id(self.id, id)
    }
}

/// Authenticates the client of a token request as it registered: `none` (id only),
/// `client_secret_basic` or `client_secret_post`. Returns its id and metadata.
pub fn authenticate(
    form: &Form,
    authorization: Option<&str>,
    keys: &ClientKeys,
) -> Result<(String, Client), OAuthError> {
    let invalid = |why: &str| OAuthError::new("invalid_client", why);
    let credentials =
        authorization.and_then(|h| h.get(..6).filter(|s| s.eq_ignore_ascii_case("basic ")).and(h.get(6..)));
    let basic = match credentials {
        Some(b64) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| invalid("malformed Basic credentials"))?;
            let text = String::from_utf8(raw).map_err(|_| invalid("malformed Basic credentials"))?;
            let (id, secret) = text.split_once(':').ok_or_else(|| invalid("malformed Basic credentials"))?;
            // Form-decoding, with a literal `&` kept (it cannot split one value).
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={}", s.replace('&', "%26")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((dec(id).unwrap_or_default(), dec(secret).unwrap_or_default()))
        }
        _ => None,
    };
    let id = match (&basic, form.get("client_id")) {
        (Some((b, _)), Some(f)) if b != f => return Err(invalid("client_id differs between header and body")),
        (Some((b, _)), _) => b.clone(),
        (None, Some(f)) => f.to_string(),
        (None, None) => return Err(invalid("client authentication is required (client_id)")),
    };
    let client = keys.lookup(&id).ok_or_else(|| invalid("unknown client; register again"))?;
    if let Kind::Configured { secret_sha256: Some(expected), .. } = &client.kind {
        // Configured clients may send their secret either way.
        let sent = basic.as_ref().map(|(_, s)| s.as_str()).or(form.get("client_secret"));
        let sent = sent.ok_or_else(|| invalid("this client must authenticate with its client secret"))?;
        if !configured_secret_valid(expected, sent) {
            return Err(invalid("wrong client secret"));
        }
        return Ok((id, client));
    }
    let presented = match client.auth_method {
        AuthMethod::None => None,
        AuthMethod::SecretBasic => Some(basic.as_ref().map(|(_, s)| s.as_str()).ok_or_else(|| {
            invalid("this client registered client_secret_basic: send the secret in an Authorization: Basic header")
        })?),
        AuthMethod::SecretPost => Some(
            form.get("client_secret")
                .ok_or_else(|| invalid("this client registered client_secret_post: send client_secret in the body"))?,
        ),
        // Checked by the caller, which has the key set (`web::token::client_request`).
        AuthMethod::PrivateKeyJwt => return Err(invalid("this client must authenticate with a client_assertion")),
    };
    if let Some(secret) = presented {
        if !secret_valid(keys.secret, &id, secret) {
            return Err(invalid("wrong client secret"));
        }
    }
    Ok((id, client))
}

/// Checks a presented authorization code against the request. Single use is enforced by the
/// caller with a KV marker under `code.jti`.
pub fn redeem(code_key: &Key, form: &Form, client_id: &str, now: i64) -> Result<Code, OAuthError> {
    let grant = |why: &str| OAuthError::new("invalid_grant", why);
    let raw = form.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let code = Code::open(code_key, raw).ok_or_else(|| grant("the authorization code is not valid"))?;
    if code.expires < now {
        return Err(grant("the authorization code has expired; start the login again"));
    }
    if code.client != client_hash(client_id) {
        return Err(grant("the authorization code was issued to another client"));
    }
    if form.get("redirect_uri").is_some_and(|r| r != code.redirect_uri) {
        return Err(grant("redirect_uri differs from the one in the authorization request"));
    }
    let origin = code.resource.strip_suffix("/mcp").unwrap_or(&code.resource);
    if form.get("resource").is_some_and(|r| {
        super::authorize::canonical_resource(origin, Some(r)).as_deref() != Some(code.resource.as_str())
    }) {
        return Err(OAuthError::new("invalid_target", "resource differs from the one in the authorization request"));
    }
    let verifier =
        form.get("code_verifier").ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    pkce::verify(&code.challenge, verifier).map_err(|e| grant(e.describe()))?;
    Ok(code)
}

/// A grant: one login of one person for one client, under `grant:<user>:<grant>`. Written once
/// when the code is redeemed; rewritten only to revoke it (a tombstone, so a replayed code or
/// a reused refresh token still finds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    pub scope: String,
    pub resource: String,
    pub user: Profile,
    pub created: i64,
    /// When the grant ends, however often it is refreshed.
    pub expires: i64,
    /// When the first refresh token (generation 0) expires.
    pub refresh_expires: i64,
    /// Sealed [`crate::rules::discord::StoredTokens`] as of login (refreshed ones live under
    /// `discord:<grant>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revoked>,
    /// The client's metadata document declared `private_key_jwt` (and the server honours it):
    /// the code and refresh tokens are redeemed only with a verified client assertion.
    #[serde(rename = "pkj", default, skip_serializing_if = "std::ops::Not::not")]
    pub private_key_jwt: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub at: i64,
    pub reason: String,
}

impl GrantRecord {
    pub fn active(&self, now: i64) -> bool {
        self.revoked.is_none() && self.expires > now
    }

    /// The tombstone that replaces it: no Discord tokens, the reason, the rest for the record.
    pub fn revoke(&self, now: i64, reason: &str) -> GrantRecord {
        GrantRecord { discord: None, revoked: Some(Revoked { at: now, reason: reason.to_string() }), ..self.clone() }
    }
}

/// Tokens are stored only as hashes.
pub fn token_hash(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::oauth::client::{client_id, client_secret, register};
    use serde_json::json;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn k(p: &str) -> Key {
        Key::derive(&"k".repeat(32), p)
    }

    fn profile() -> Profile {
        Profile {
            id: "1".into(),
            username: "n".into(),
            global_name: None,
            avatar_url: None,
            email: Some("n@example.com".into()),
        }
    }

    #[test]
    fn only_a_verified_email_reaches_the_profile() {
        let user = |verified| DiscordUser {
            id: "1".into(),
            username: "n".into(),
            global_name: None,
            avatar: None,
            email: Some("n@example.com".into()),
            verified,
        };
        let with = ["mcp", "email"];
        assert_eq!(Profile::from_discord(&user(Some(true)), &with).email.as_deref(), Some("n@example.com"));
        assert_eq!(Profile::from_discord(&user(Some(false)), &with).email, None, "unverified");
        assert_eq!(Profile::from_discord(&user(None), &with).email, None, "Discord did not say");
        assert_eq!(Profile::from_discord(&user(Some(true)), &["mcp"]).email, None, "no email scope");
    }

    fn code_for(cid: &str, now: i64) -> (String, Code) {
        let p = Pending {
            client: client_hash(cid),
            redirect_uri: "https://a.example/cb".into(),
            challenge: CHALLENGE.into(),
            state: None,
            scope: "mcp".into(),
            resource: "https://mcp.example/mcp".into(),
            expires: now + 600,
            nonce: "n".into(),
            client_name: None,
            private_key_jwt: false,
            vetted: false,
        };
        let c = Code::new(&p, profile(), now, "j1".into());
        (c.seal(&k(crate::rules::keys::AUTH_CODE)).unwrap(), c)
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form::parse(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish().as_bytes())
            .unwrap()
    }

    fn client(method: &str) -> String {
        let body = json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": method});
        client_id(&k(crate::rules::keys::CLIENT_ID), &register(&body, 1).unwrap()).unwrap()
    }

    #[test]
    fn client_authentication_as_registered() {
        let (ik, sk) = (k(crate::rules::keys::CLIENT_ID), k(crate::rules::keys::CLIENT_SECRET));
        let keys =
            ClientKeys { id: &ik, secret: &sk, configured: &[], allow_loopback_http: false, metadata_documents: true };
        let public = client("none");
        assert!(authenticate(&form(&[("client_id", &public)]), None, &keys).is_ok());
        assert_eq!(authenticate(&form(&[]), None, &keys).unwrap_err().code, "invalid_client");
        assert_eq!(authenticate(&form(&[("client_id", "mcpc1.x.y")]), None, &keys).unwrap_err().status, 401);

        let basic_id = client("client_secret_basic");
        let secret = client_secret(&sk, &basic_id);
        let header =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{basic_id}:{secret}")));
        assert!(authenticate(&form(&[]), Some(&header), &keys).is_ok());
        assert!(
            authenticate(&form(&[("client_id", &basic_id), ("client_secret", &secret)]), None, &keys).is_err(),
            "must use Basic"
        );
        let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{basic_id}:nope")));
        assert_eq!(authenticate(&form(&[]), Some(&wrong), &keys).unwrap_err().description, "wrong client secret");
        assert!(authenticate(&form(&[]), Some("Basic !!!"), &keys).is_err());
        assert!(
            authenticate(&form(&[("client_id", &public)]), Some("Basi€ x"), &keys).is_ok(),
            "not Basic: ignored, no panic"
        );
        assert!(authenticate(&form(&[]), Some("€€€€"), &keys).is_err());

        let post_id = client("client_secret_post");
        let post_secret = client_secret(&sk, &post_id);
        assert!(authenticate(&form(&[("client_id", &post_id), ("client_secret", &post_secret)]), None, &keys).is_ok());
        assert!(authenticate(&form(&[("client_id", &post_id)]), None, &keys).is_err());
        let other = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{public}:x")));
        assert!(authenticate(&form(&[("client_id", &post_id)]), Some(&other), &keys).is_err(), "ids must agree");
    }

    #[test]
    fn redeem_checks_everything() {
        let ck = k(crate::rules::keys::AUTH_CODE);
        let cid = client("none");
        let (code, _) = code_for(&cid, 1000);
        let ok = [("code", code.as_str()), ("code_verifier", VERIFIER), ("redirect_uri", "https://a.example/cb")];
        assert_eq!(redeem(&ck, &form(&ok), &cid, 1000).unwrap().user, profile());
        assert_eq!(redeem(&ck, &form(&ok), &cid, 1000 + CODE_TTL_SECONDS + 1).unwrap_err().code, "invalid_grant");
        assert_eq!(
            redeem(&ck, &form(&ok), &client("none"), 1000).unwrap_err().description,
            "the authorization code was issued to another client"
        );
        let wrong_verifier = [("code", code.as_str()), ("code_verifier", &VERIFIER.replace('d', "e"))];
        assert_eq!(redeem(&ck, &form(&wrong_verifier), &cid, 1000).unwrap_err().code, "invalid_grant");
        assert_eq!(redeem(&ck, &form(&[("code", code.as_str())]), &cid, 1000).unwrap_err().code, "invalid_request");
        let other_uri =
            [("code", code.as_str()), ("code_verifier", VERIFIER), ("redirect_uri", "https://a.example/cb2")];
        assert_eq!(redeem(&ck, &form(&other_uri), &cid, 1000).unwrap_err().code, "invalid_grant");
        let other_resource =
            [("code", code.as_str()), ("code_verifier", VERIFIER), ("resource", "https://x.example/mcp")];
        assert_eq!(redeem(&ck, &form(&other_resource), &cid, 1000).unwrap_err().code, "invalid_target");
        let slash = [("code", code.as_str()), ("code_verifier", VERIFIER), ("resource", "https://mcp.example/mcp/")];
        assert!(redeem(&ck, &form(&slash), &cid, 1000).is_ok());
        let forged = [("code", "AAAA"), ("code_verifier", VERIFIER)];
        assert_eq!(redeem(&ck, &form(&forged), &cid, 1000).unwrap_err().code, "invalid_grant");
        assert_eq!(redeem(&k("other"), &form(&ok), &cid, 1000).unwrap_err().code, "invalid_grant");
    }

    #[test]
    fn hashes_hide_tokens() {
        assert_eq!(token_hash("abc").len(), 43);
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }

    #[test]
    fn configured_and_document_clients_authenticate() {
        use crate::rules::oauth::client::parse_configured;
        let hash: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(b"pw").iter().map(|b| format!("{b:02x}")).collect()
        };
        let configured = parse_configured(
            &json!([{ "client_id": "ops", "client_secret_hash": format!("sha256:{hash}"), "redirect_uris": ["https://a.example/cb"] }])
                .to_string(),
        )
        .unwrap();
        let (ik, sk) = (k("id"), k("secret"));
        let keys = ClientKeys {
            id: &ik,
            secret: &sk,
            configured: &configured,
            allow_loopback_http: false,
            metadata_documents: true,
        };
        let form = |s: &str| Form::parse(s.as_bytes()).unwrap();
        assert!(authenticate(&form("client_id=ops&client_secret=pw"), None, &keys).is_ok());
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ops:pw"));
        assert!(authenticate(&form(""), Some(&basic), &keys).is_ok());
        assert_eq!(
            authenticate(&form("client_id=ops&client_secret=no"), None, &keys).unwrap_err().code,
            "invalid_client"
        );
        assert_eq!(authenticate(&form("client_id=ops"), None, &keys).unwrap_err().code, "invalid_client");
        let doc = "client_id=https%3A%2F%2Fapp.example%2Fc.json";
        let (_, c) = authenticate(&form(doc), None, &keys).unwrap();
        assert_eq!(c.kind, Kind::MetadataDocument, "a document client is public");
        assert!(authenticate(&form("client_id=http%3A%2F%2Fapp.example%2Fc.json"), None, &keys).is_err());
        let off = ClientKeys { metadata_documents: false, ..keys };
        assert_eq!(authenticate(&form(doc), None, &off).unwrap_err().code, "invalid_client", "documents switched off");
    }

    #[test]
    fn grants_end_by_revocation_or_time() {
        let g = GrantRecord {
            client_id: "c".into(),
            client_name: None,
            scope: "mcp".into(),
            resource: "https://mcp.example/mcp".into(),
            user: profile(),
            created: 100,
            expires: 200,
            refresh_expires: 150,
            discord: Some("sealed".into()),
            revoked: None,
            private_key_jwt: false,
        };
        assert!(g.active(199));
        assert!(!g.active(200));
        let t = g.revoke(120, "refresh token reused");
        assert!(!t.active(121));
        assert_eq!(t.discord, None, "a tombstone keeps no Discord token");
        assert_eq!(t.revoked, Some(Revoked { at: 120, reason: "refresh token reused".into() }));
    }
}
