//! The authorization request (`GET /authorize`): validated into a [`Pending`] login, or an
//! error that is either shown to the person (unknown client, bad redirect URI: never
//! redirected) or sent back to the client's validated redirect URI.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::Client;
use super::form::Form;
use super::{pkce, redirect};
use crate::rules::keys::Key;

/// Scopes this server grants. `mcp`: the tools; `profile`: who you are on Discord
/// (`whoami`); `email`: your email address too (asks Discord for the `email` scope).
/// `guilds`: the list of your Discord servers (the `discord_guilds` tool; asks Discord for its
/// `guilds` scope).
pub const SCOPES: &[&str] = &["mcp", "profile", "email", "guilds"];
/// Granted when a client asks for none.
pub const DEFAULT_SCOPE: &str = "mcp profile";
/// Longest `state` carried through the login.
pub const MAX_STATE: usize = 512;
/// How long the person has between the consent page and Discord's answer.
pub const PENDING_TTL_SECONDS: i64 = 600;

/// A validated authorization request on its way through consent and Discord. Sealed into the
/// consent form and a cookie, so no storage holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// SHA-256 of the client_id (ids can be long; the token endpoint compares hashes).
    pub client: String,
    pub redirect_uri: String,
    pub challenge: String,
    #[serde(default)]
    pub state: Option<String>,
    pub scope: String,
    pub resource: String,
    /// Seconds since the epoch.
    pub expires: i64,
    /// Ties the Discord round trip to this browser (the `state` sent to Discord).
    pub nonce: String,
    /// The client's display name, carried to the grant record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's metadata document declared `private_key_jwt` (and the server honours it):
    /// the code and refresh tokens are redeemed only with a verified client assertion.
    #[serde(rename = "pkj", default, skip_serializing_if = "std::ops::Not::not")]
    pub private_key_jwt: bool,
    /// The operator vetted the client's redirect URIs (a configured client): its answers after
    /// the consent page (Deny, a cancelled Discord login) are redirects. Anyone else's are
    /// pages with a link the person may follow (RFC 9700 §4.11.2).
    #[serde(rename = "v", default, skip_serializing_if = "std::ops::Not::not")]
    pub vetted: bool,
}

impl Pending {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ')
    }

    pub fn seal(&self, key: &Key) -> Option<String> {
        key.seal_private(&serde_json::to_vec(self).ok()?)
    }

    pub fn open(key: &Key, sealed: &str, now: i64) -> Option<Pending> {
        let p: Pending = serde_json::from_slice(&key.open_private(sealed)?).ok()?;
        (p.expires >= now).then_some(p)
    }
}

/// Hash of a client id, as carried in pending requests and codes.
pub fn client_hash(client_id: &str) -> String {
    B64.encode(Sha256::digest(client_id.as_bytes()))
}

/// A failed authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the person; never a redirect.
    Page { title: &'static str, message: String },
    /// Sent back to the client's (validated) redirect URI.
    Redirect { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

/// The resources a token can be for: this server's MCP endpoint, tolerant of the forms
/// clients derive from the URL they were given.
pub fn canonical_resource(origin: &str, requested: Option<&str>) -> Option<String> {
    let mcp = format!("{origin}/mcp");
    match requested {
        None => Some(mcp),
        Some(r) if r == mcp || r == format!("{mcp}/") || r == origin || r == format!("{origin}/") => Some(mcp),
        Some(_) => None,
    }
}

/// The scope granted for a requested one (RFC 6749 §3.3: a server may grant less than asked).
/// Tolerant of what clients send: leading, trailing and repeated spaces; `offline_access`
/// (Claude appends it; refresh tokens are issued whether or not it is asked for); scopes this
/// server does not know, which are left out rather than refused, so that no real client's
/// request fails on them. The token response's `scope` says what was granted. Nothing asked
/// for that this server grants, or an empty `scope=`, means the default.
pub fn granted_scope(requested: Option<&str>) -> String {
    let mut wanted: Vec<&str> = requested.unwrap_or("").split(' ').filter(|w| SCOPES.contains(w)).collect();
    wanted.sort_by_key(|w| SCOPES.iter().position(|s| s == w));
    wanted.dedup();
    if wanted.is_empty() {
        DEFAULT_SCOPE.to_string()
    } else {
        wanted.join(" ")
    }
}

/// The `client_id` of an authorization request, or the page that says it is missing.
pub fn requested_client(query: &Form) -> Result<&str, AuthorizeError> {
    query.get("client_id").ok_or_else(|| AuthorizeError::Page {
        title: "Unknown application",
        message: "The request names no client_id.".into(),
    })
}

/// Validates the query of `GET /authorize` for `client`, already resolved from `client_id`
/// (registered, configured or fetched from its metadata document).
pub fn validate(
    query: &Form,
    client_id: &str,
    client: &Client,
    origin: &str,
    now: i64,
    nonce: String,
) -> Result<Pending, AuthorizeError> {
    let page = |title, message: &str| AuthorizeError::Page { title, message: message.to_string() };
    let redirect_uri = match query.get("redirect_uri") {
        Some(r) if client.redirect_uris.iter().any(|reg| redirect::matches(reg, r)) => r.to_string(),
        Some(_) => {
            return Err(page(
                "Invalid redirect URI",
                "The redirect_uri does not match any URI this application registered.",
            ))
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(page("Invalid redirect URI", "The request names no redirect_uri.")),
        },
    };
    let state = query.get("state").map(String::from);
    let fail = |error, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_string(),
        state: state.clone(),
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(page("Invalid request", "The state parameter is too long."));
    }
    if query.get("response_type") != Some("code") {
        return Err(fail("unsupported_response_type", "response_type must be code"));
    }
    pkce::check_challenge(query.get("code_challenge"), query.get("code_challenge_method"))
        .map_err(|e| fail("invalid_request", e.describe()))?;
    let scope = granted_scope(query.get("scope"));
    let resource = canonical_resource(origin, query.get("resource"))
        .ok_or_else(|| fail("invalid_target", &format!("resource must be this server's MCP endpoint, {origin}/mcp")))?;
    let challenge = query.get("code_challenge").unwrap_or_default().to_string();
    let pending = Pending {
        client: client_hash(client_id),
        redirect_uri,
        challenge,
        state,
        scope,
        resource,
        expires: now + PENDING_TTL_SECONDS,
        nonce,
        client_name: client.name.clone(),
        private_key_jwt: client.jwt.is_some(),
        vetted: matches!(client.kind, super::client::Kind::Configured { .. }),
    };
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::oauth::client::{client_id, register};
    use serde_json::json;

    const ORIGIN: &str = "https://mcp.example";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn key() -> Key {
        Key::derive(&"k".repeat(32), crate::rules::keys::CLIENT_ID)
    }

    fn id(uris: &[&str]) -> String {
        client_id(&key(), &register(&json!({"redirect_uris": uris, "token_endpoint_auth_method": "none"}), 1).unwrap())
            .unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> Form {
        let q: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Form::parse(q.as_bytes()).unwrap()
    }

    fn good(id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", id.to_string()),
            ("redirect_uri", "http://127.0.0.1:5555/cb".into()),
            ("response_type", "code".into()),
            ("code_challenge", CHALLENGE.into()),
            ("code_challenge_method", "S256".into()),
            ("state", "xyz".into()),
            ("resource", format!("{ORIGIN}/mcp")),
        ]
    }

    fn run(pairs: Vec<(&'static str, String)>) -> Result<Pending, AuthorizeError> {
        let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let q = query(&p);
        let cid = requested_client(&q)?;
        let unknown = AuthorizeError::Page { title: "Unknown application", message: String::new() };
        let client = crate::rules::oauth::client::open_client_id(&key(), cid).ok_or(unknown)?;
        validate(&q, cid, &client, ORIGIN, 1000, "n".into())
    }

    fn with(pairs: &[(&'static str, String)], k: &'static str, v: Option<&str>) -> Vec<(&'static str, String)> {
        let mut out: Vec<_> = pairs.iter().filter(|(pk, _)| *pk != k).cloned().collect();
        if let Some(v) = v {
            out.push((k, v.to_string()));
        }
        out
    }

    #[test]
    fn a_good_request_becomes_pending() {
        let cid = id(&["http://127.0.0.1/cb"]);
        let p = run(good(&cid)).unwrap();
        assert_eq!(p.redirect_uri, "http://127.0.0.1:5555/cb", "loopback port may differ");
        assert_eq!(p.scope, DEFAULT_SCOPE);
        assert_eq!(p.resource, "https://mcp.example/mcp");
        assert_eq!(p.client, client_hash(&cid));
        let k = Key::derive(&"k".repeat(32), crate::rules::keys::PENDING);
        let sealed = p.seal(&k).unwrap();
        assert_eq!(Pending::open(&k, &sealed, 1000), Some(p.clone()));
        assert_eq!(Pending::open(&k, &sealed, 1000 + PENDING_TTL_SECONDS + 1), None);
    }

    #[test]
    fn unknown_clients_and_bad_redirects_are_pages() {
        let cid = id(&["http://127.0.0.1/cb"]);
        let page = |r: Result<Pending, AuthorizeError>| matches!(r, Err(AuthorizeError::Page { .. }));
        assert!(page(run(with(&good(&cid), "client_id", None))));
        assert!(page(run(with(&good(&cid), "client_id", Some("mcpc1.forged.x")))));
        for bad in
            ["https://evil.example/cb", "http://127.0.0.1:5/cb/x", "http://localhost:5/cb", "javascript:alert(1)"]
        {
            assert!(page(run(with(&good(&cid), "redirect_uri", Some(bad)))), "{bad}");
        }
        let two = id(&["https://a.example/1", "https://a.example/2"]);
        assert!(page(run(with(&good(&two), "redirect_uri", None))));
        let one = id(&["https://a.example/only"]);
        assert_eq!(run(with(&good(&one), "redirect_uri", None)).unwrap().redirect_uri, "https://a.example/only");
    }

    #[test]
    fn other_errors_redirect_with_state() {
        let cid = id(&["http://127.0.0.1/cb"]);
        let err = |pairs| match run(pairs) {
            Err(AuthorizeError::Redirect { error, state, redirect_uri, .. }) => {
                assert_eq!(state.as_deref(), Some("xyz"));
                assert_eq!(redirect_uri, "http://127.0.0.1:5555/cb");
                error
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(err(with(&good(&cid), "response_type", Some("token"))), "unsupported_response_type");
        assert_eq!(err(with(&good(&cid), "code_challenge", None)), "invalid_request");
        assert_eq!(err(with(&good(&cid), "code_challenge_method", Some("plain"))), "invalid_request");
        assert_eq!(err(with(&good(&cid), "resource", Some("https://other.example/mcp"))), "invalid_target");
        assert_eq!(err(with(&good(&cid), "resource", Some("https://mcp.example/mcpx"))), "invalid_target");
    }

    #[test]
    fn scopes_and_resources_normalise() {
        let cid = id(&["http://127.0.0.1/cb"]);
        assert_eq!(run(with(&good(&cid), "scope", Some("email mcp email"))).unwrap().scope, "mcp email");
        // What real clients send: Claude's appended offline_access (once with a leading space),
        // Inspector's empty scope, Cursor's whole scopes_supported, unknown scopes.
        for (asked, granted) in [
            (" offline_access", DEFAULT_SCOPE),
            ("mcp profile offline_access", "mcp profile"),
            ("", DEFAULT_SCOPE),
            ("   ", DEFAULT_SCOPE),
            ("  mcp   guilds  ", "mcp guilds"),
            ("mcp admin", "mcp"),
            ("openid admin", DEFAULT_SCOPE),
            ("guilds email profile mcp", "mcp profile email guilds"),
        ] {
            assert_eq!(run(with(&good(&cid), "scope", Some(asked))).unwrap().scope, granted, "{asked:?}");
        }
        for r in ["https://mcp.example", "https://mcp.example/", "https://mcp.example/mcp/"] {
            assert_eq!(run(with(&good(&cid), "resource", Some(r))).unwrap().resource, "https://mcp.example/mcp", "{r}");
        }
        assert_eq!(run(with(&good(&cid), "resource", None)).unwrap().resource, "https://mcp.example/mcp");
        assert!(matches!(run(with(&good(&cid), "state", Some(&"s".repeat(513)))), Err(AuthorizeError::Page { .. })));
    }
}
