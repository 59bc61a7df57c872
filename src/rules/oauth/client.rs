//! Dynamic client registration (RFC 7591) without storage: the `client_id` is the validated
//! client metadata itself, signed. Any edge location verifies it with no KV read, a flood of
//! registrations costs no storage at all, and the client secret of a confidential client is
//! an HMAC of its id, so it is never stored either.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::redirect;
use crate::rules::keys::Key;

pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_CLIENT_NAME: usize = 100;
pub const MAX_URI_FIELD: usize = 500;
/// Longest `client_id` produced or accepted.
pub const MAX_CLIENT_ID: usize = 8192;
const ID_PREFIX: &str = "mcpc1.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "client_secret_basic")]
    SecretBasic,
    #[serde(rename = "client_secret_post")]
    SecretPost,
    /// RFC 7523 §2.2, for metadata-document clients only (a registration cannot name it: its
    /// keys would have to be fetched from a URL nobody vetted at every token request).
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// What a registered client is, as carried inside its `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    #[serde(rename = "r")]
    pub redirect_uris: Vec<String>,
    #[serde(rename = "m")]
    pub auth_method: AuthMethod,
    /// Whether the client may use refresh tokens.
    #[serde(rename = "f")]
    pub refresh: bool,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Registration time, seconds since the epoch.
    #[serde(rename = "t")]
    pub issued_at: i64,
    /// Random: two registrations with the same metadata are still two clients.
    #[serde(rename = "x", default)]
    pub nonce: String,
    /// Where the client's identity comes from; never part of a signed id.
    #[serde(skip)]
    pub kind: Kind,
    /// The keys a metadata-document client signs its `private_key_jwt` assertions with, when
    /// its document declares that method and the server accepts it.
    #[serde(skip)]
    pub jwt: Option<JwtAuth>,
}

/// How a `private_key_jwt` client's assertions are checked: the algorithm its document pins
/// (`token_endpoint_auth_signing_alg`, else whatever the key itself names) and where its keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuth {
    pub alg: Option<super::assertion::Alg>,
    pub keys: KeySource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `jwks_uri`: an https URL under the same rules as a metadata document URL.
    Uri(String),
    /// `jwks`: the key set inline, as JSON text.
    Inline(String),
}

/// The three ways a client is known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Kind {
    /// RFC 7591: the signed id carries the metadata.
    #[default]
    Registered,
    /// Configured by the operator (`OAUTH_CLIENTS`).
    Configured {
        /// SHA-256 of the secret; `None` for a public client.
        secret_sha256: Option<[u8; 32]>,
        /// May introspect any token, not only its own (a resource server).
        introspect_any: bool,
    },
    /// A Client ID Metadata Document: the id is the https URL of the metadata.
    MetadataDocument,
}

/// Longest configured client id.
pub const MAX_CONFIGURED_ID: usize = 200;

/// Parses `OAUTH_CLIENTS`: a JSON array of
/// `{client_id, client_secret_hash: "sha256:<hex>" | "none", redirect_uris, client_name?, introspection?}`.
/// Every entry is validated as strictly as a registration; the error names the entry.
pub fn parse_configured(raw: &str) -> Result<Vec<(String, Client)>, String> {
    let list: Vec<Value> =
        serde_json::from_slice(raw.as_bytes()).map_err(|_| "must be a JSON array of client objects".to_string())?;
    let mut out: Vec<(String, Client)> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = |why: &str| format!("entry {i}: {why}");
        let id = entry.get("client_id").and_then(Value::as_str).ok_or_else(|| at("client_id is required"))?;
        if id.is_empty()
            || id.len() > MAX_CONFIGURED_ID
            || !id.bytes().all(|b| b.is_ascii_graphic())
            || id.starts_with(ID_PREFIX)
            || id.contains("://")
        {
            return Err(at("client_id must be 1 to 200 visible ASCII characters, not a URL and not start with mcpc1."));
        }
        if out.iter().any(|(o, _)| o == id) {
            return Err(at("client_id appears twice"));
        }
        let secret_sha256 = match entry.get("client_secret_hash").and_then(Value::as_str) {
            Some("none") => None,
            Some(h) => Some(
                h.strip_prefix("sha256:")
                    .and_then(parse_hex32)
                    .ok_or_else(|| at("client_secret_hash must be \"none\" or \"sha256:\" and 64 hex digits"))?,
            ),
            None => return Err(at("client_secret_hash is required (\"sha256:<hex>\" or \"none\")")),
        };
        let mut client = register(entry, 0).map_err(|e| at(&e.description))?;
        client.auth_method = if secret_sha256.is_some() { AuthMethod::SecretBasic } else { AuthMethod::None };
        client.refresh = true;
        client.kind = Kind::Configured {
            secret_sha256,
            introspect_any: entry.get("introspection").and_then(Value::as_bool).unwrap_or(false),
        };
        out.push((id.to_string(), client));
    }
    Ok(out)
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        *out.get_mut(i)? = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Checks a configured client's secret against its hash, in constant time.
pub fn configured_secret_valid(expected: &[u8; 32], presented: &str) -> bool {
    use sha2::{Digest, Sha256};
    crate::rules::keys::ct_eq(&Sha256::digest(presented.as_bytes()), expected)
}

/// Largest Client ID Metadata Document accepted (the draft suggests 5 KB).
pub const MAX_METADATA_DOCUMENT: usize = 5 * 1024;

/// Whether `id` is a Client ID Metadata Document URL this server will fetch: https, a path,
/// no fragment, credentials or dot segments. `allow_loopback_http` (local development only)
/// also admits `http://127.0.0.1`-style URLs.
pub fn metadata_url(id: &str, allow_loopback_http: bool) -> Option<url::Url> {
    // ASCII only: this build has no IDNA tables (an international host is written in punycode).
    if id.len() > redirect::MAX_LEN || !redirect::plain_authority(id) || !id.is_ascii() {
        return None;
    }
    if !(id.starts_with("https://") || id.starts_with("http://")) {
        return None;
    }
    let url = url::Url::parse(id).ok()?;
    let loopback = redirect::is_loopback(&url);
    let scheme_ok = match url.scheme() {
        "https" => (!loopback && public_host(&url)) || allow_loopback_http,
        "http" => allow_loopback_http && loopback,
        _ => false,
    };
    let raw_path = id.split_once("://").map(|(_, rest)| rest).and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("");
    let dot_segment = raw_path.split(['/', '?']).any(|seg| seg == "." || seg == "..");
    let plain = url.fragment().is_none() && url.username().is_empty() && url.password().is_none();
    // The id must be the URL exactly as parsed, so that what is fetched is what is named.
    (scheme_ok && plain && !dot_segment && url.path() != "/" && url.as_str() == id && url.host_str().is_some())
        .then_some(url)
}

/// Whether a URL's host may be on the public internet: not an address literal that is private,
/// link-local, unique-local, shared (CGNAT), unspecified, broadcast or documentation, and not a
/// name with a trailing dot or under `localhost` (RFC 6761). On Cloudflare a fetch reaches
/// nothing private anyway; on a self-hosted workerd it could. A DNS name that resolves to such
/// an address (`127.0.0.1.nip.io`) cannot be told apart here: SECURITY.md says so.
fn public_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_loopback()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        Some(url::Host::Ipv6(ip)) => {
            let first = ip.segments()[0];
            let mapped = ip.to_ipv4_mapped().is_some();
            !(ip.is_unspecified()
                || ip.is_loopback()
                || mapped
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && ip.segments()[1] == 0x0db8)
        }
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            !(d.ends_with('.') || d == "localhost" || d.ends_with(".localhost"))
        }
        None => false,
    }
}

/// What the server accepts from metadata documents, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentRules {
    /// `private_key_jwt` is advertised and honoured (`PRIVATE_KEY_JWT`, on by default).
    pub private_key_jwt: bool,
    /// Local development: `http://127.0.0.1` key set URLs, like document URLs.
    pub allow_loopback_http: bool,
}

/// A Client ID Metadata Document, read the way clients publish them. A document describes a
/// client; it does not ask for everything in it. Grant types, auth methods and fields this
/// server does not use are ignored (Claude's lists the jwt-bearer grant, VS Code's the device
/// grant), redirect URIs the rules refuse are dropped, and a name that could disguise itself
/// is not shown. What is granted is only what this server supports: the code and refresh
/// grants, and `none` or (when the document asks for it and the server accepts it)
/// `private_key_jwt`. Refused only when a login would be unsafe or impossible: the wrong
/// `client_id`, no usable redirect URI, `private_key_jwt` without usable keys, too large or
/// not JSON. The reasons are fixed sentences, because a person reads them on a page and the
/// document's own text (which anyone can write) must not appear there.
pub fn from_metadata_document(id: &str, body: &[u8], rules: DocumentRules) -> Result<Client, &'static str> {
    if body.len() > MAX_METADATA_DOCUMENT {
        return Err("is larger than 5120 bytes");
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| "is not JSON")?;
    if !doc.is_object() {
        return Err("is not a JSON object");
    }
    if doc.get("client_id").and_then(Value::as_str) != Some(id) {
        return Err("names a client_id other than its own URL");
    }
    let redirect_uris: Vec<String> = match doc.get("redirect_uris") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|u| redirect::validate(u).is_ok())
            .take(MAX_REDIRECT_URIS)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    if redirect_uris.is_empty() {
        return Err("lists no redirect URI this server accepts (https, http on a loopback host, or an app's own scheme; no fragment)");
    }
    let declared = doc.get("token_endpoint_auth_method").and_then(Value::as_str);
    let jwt = match declared {
        Some("private_key_jwt") if rules.private_key_jwt => Some(jwt_auth(&doc, rules.allow_loopback_http)?),
        // `none`, nothing, or a method a metadata document cannot use here (a shared secret
        // it could not have been issued, mTLS): a public client, protected by PKCE.
        _ => None,
    };
    Ok(Client {
        redirect_uris,
        auth_method: if jwt.is_some() { AuthMethod::PrivateKeyJwt } else { AuthMethod::None },
        refresh: true,
        name: optional_string(&doc, "client_name", MAX_CLIENT_NAME).ok().flatten().map(String::from),
        client_uri: optional_string(&doc, "client_uri", MAX_URI_FIELD)
            .ok()
            .flatten()
            .filter(|u| https_url(u))
            .map(String::from),
        issued_at: 0,
        nonce: String::new(),
        kind: Kind::MetadataDocument,
        jwt,
    })
}

/// The key set and algorithm of a document that declares `private_key_jwt`.
fn jwt_auth(doc: &Value, allow_loopback_http: bool) -> Result<JwtAuth, &'static str> {
    let alg = match doc.get("token_endpoint_auth_signing_alg") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(super::assertion::Alg::from_name)
                .ok_or("declares a token_endpoint_auth_signing_alg this server does not verify (RS256 or ES256)")?,
        ),
    };
    let keys = match (doc.get("jwks_uri").and_then(Value::as_str), doc.get("jwks")) {
        (Some(uri), _) => {
            metadata_url(uri, allow_loopback_http)
                .ok_or("has a jwks_uri this server does not fetch (https with a path)")?;
            KeySource::Uri(uri.to_string())
        }
        (None, Some(jwks @ Value::Object(_))) => KeySource::Inline(jwks.to_string()),
        _ => return Err("declares private_key_jwt but publishes no keys (jwks_uri or jwks)"),
    };
    Ok(JwtAuth { alg, keys })
}

fn https_url(u: &str) -> bool {
    u.is_ascii() && redirect::plain_authority(u) && url::Url::parse(u).is_ok_and(|u| u.scheme() == "https")
}

/// RFC 7591 §3.2.2 error codes, with a description for the developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationError {
    pub code: &'static str,
    pub description: String,
}

fn invalid(code: &'static str, description: impl Into<String>) -> RegistrationError {
    RegistrationError { code, description: description.into() }
}

fn meta_error(description: impl Into<String>) -> RegistrationError {
    invalid("invalid_client_metadata", description)
}

fn optional_string<'a>(body: &'a Value, field: &str, max: usize) -> Result<Option<&'a str>, RegistrationError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(meta_error(format!("{field} may be at most {max} characters")))
        }
        Some(Value::String(s)) if s.chars().any(|c| c.is_control() || is_format_char(c)) => Err(meta_error(format!(
            "{field} must not contain control or invisible formatting characters (such as bidi overrides or zero-width spaces)"
        ))),
        Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.trim().is_empty())),
        Some(_) => Err(meta_error(format!("{field} must be a string"))),
    }
}

/// Unicode general category Cf (format characters: bidi controls, zero-width characters, tags,
/// and the like), as of Unicode 16. They render as nothing or reorder text, so a name with
/// them can show a person something other than what it is.
pub fn is_format_char(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn string_list<'a>(body: &'a Value, field: &str) -> Result<Option<Vec<&'a str>>, RegistrationError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| meta_error(format!("{field} must be an array of strings"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(meta_error(format!("{field} must be an array of strings"))),
    }
}

/// Validates an RFC 7591 registration request body. Stricter than a metadata document, as
/// RFC 7591 §2 lets a server be: what a client registers is what it asks to be granted, and the
/// answer (`invalid_client_metadata`) reaches the client, which can register again with less.
/// Unknown fields are ignored (§2); grant types, auth methods and response types this server
/// cannot honour are refused, so that the registration response never claims them.
pub fn register(body: &Value, now: i64) -> Result<Client, RegistrationError> {
    if !body.is_object() {
        return Err(meta_error("the registration request must be a JSON object"));
    }
    let uris = string_list(body, "redirect_uris")?.unwrap_or_default();
    if uris.is_empty() {
        return Err(invalid("invalid_redirect_uri", "redirect_uris is required (at least one URI)"));
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid("invalid_redirect_uri", format!("at most {MAX_REDIRECT_URIS} redirect_uris")));
    }
    for uri in &uris {
        redirect::validate(uri).map_err(|e| invalid("invalid_redirect_uri", format!("{uri}: {}", e.describe())))?;
    }
    let auth_method = match body.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => AuthMethod::SecretBasic, // RFC 7591 §2 default
        Some(v) => match v.as_str() {
            Some("none") => AuthMethod::None,
            Some("client_secret_basic") => AuthMethod::SecretBasic,
            Some("client_secret_post") => AuthMethod::SecretPost,
            // private_key_jwt is for metadata documents: a signed registration would carry
            // its keys, and every token request would fetch a jwks_uri nobody vetted.
            _ => {
                return Err(meta_error(
                    "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post (private_key_jwt: use a client ID metadata document)",
                ))
            }
        },
    };
    let grants = string_list(body, "grant_types")?.unwrap_or_else(|| vec!["authorization_code"]);
    if let Some(g) = grants.iter().find(|g| !matches!(**g, "authorization_code" | "refresh_token")) {
        return Err(meta_error(format!("grant type {g} is not supported (authorization_code, refresh_token)")));
    }
    if !grants.contains(&"authorization_code") {
        return Err(meta_error("grant_types must include authorization_code"));
    }
    let responses = string_list(body, "response_types")?.unwrap_or_else(|| vec!["code"]);
    if responses.iter().any(|r| *r != "code") {
        return Err(meta_error("response_types may only contain code"));
    }
    let name = optional_string(body, "client_name", MAX_CLIENT_NAME)?;
    let client_uri = optional_string(body, "client_uri", MAX_URI_FIELD)?;
    if client_uri.is_some_and(|u| !https_url(u)) {
        return Err(meta_error("client_uri must be an https URL, with an ASCII host name (punycode)"));
    }
    Ok(Client {
        redirect_uris: uris.into_iter().map(String::from).collect(),
        auth_method,
        refresh: grants.contains(&"refresh_token"),
        name: name.map(String::from),
        client_uri: client_uri.map(String::from),
        issued_at: now,
        nonce: crate::rules::keys::random_token::<9>()
            .ok_or_else(|| invalid("server_error", "no randomness available"))?,
        kind: Kind::Registered,
        jwt: None,
    })
}

/// The signed, self-contained `client_id`.
pub fn client_id(key: &Key, client: &Client) -> Option<String> {
    let body = B64.encode(serde_json::to_vec(client).ok()?);
    let tag = key.sign(body.as_bytes());
    let id = format!("{ID_PREFIX}{body}.{}", B64.encode(&tag[..16]));
    (id.len() <= MAX_CLIENT_ID).then_some(id)
}

/// Reads back a `client_id` this server issued; `None` for anything else.
pub fn open_client_id(key: &Key, id: &str) -> Option<Client> {
    if id.len() > MAX_CLIENT_ID {
        return None;
    }
    let (body, tag) = id.strip_prefix(ID_PREFIX)?.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    if tag.len() != 16 || !key.verify_truncated(body.as_bytes(), &tag) {
        return None;
    }
    serde_json::from_slice(&B64.decode(body).ok()?).ok()
}

/// A confidential client's secret: derived from its id, never stored.
pub fn client_secret(key: &Key, client_id: &str) -> String {
    B64.encode(key.sign(client_id.as_bytes()))
}

/// Checks a presented secret in constant time.
pub fn secret_valid(key: &Key, client_id: &str, presented: &str) -> bool {
    B64.decode(presented).is_ok_and(|tag| key.verify(client_id.as_bytes(), &tag))
}

/// The RFC 7591 registration response.
pub fn registration_response(client: &Client, id: &str, secret: Option<&str>) -> Value {
    let mut grants = vec!["authorization_code"];
    if client.refresh {
        grants.push("refresh_token");
    }
    let mut r = json!({
        "client_id": id,
        "client_id_issued_at": client.issued_at,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "grant_types": grants,
        "response_types": ["code"],
    });
    if let Some(name) = &client.name {
        r["client_name"] = json!(name);
    }
    if let Some(uri) = &client.client_uri {
        r["client_uri"] = json!(uri);
    }
    if let Some(secret) = secret {
        r["client_secret"] = json!(secret);
        r["client_secret_expires_at"] = json!(0);
    }
    r
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn key() -> Key {
        Key::derive(&"k".repeat(32), "oauth/client-id")
    }

    fn claude() -> Value {
        json!({
            "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Claude",
        })
    }

    #[test]
    fn register_and_read_back_anywhere() {
        let c = register(&claude(), 1000).unwrap();
        assert_eq!(c.auth_method, AuthMethod::None);
        assert!(c.refresh);
        let id = client_id(&key(), &c).unwrap();
        assert!(id.starts_with(ID_PREFIX));
        assert_eq!(open_client_id(&key(), &id), Some(c.clone()));
        let r = registration_response(&c, &id, None);
        assert_eq!(r["grant_types"], json!(["authorization_code", "refresh_token"]));
        assert!(r.get("client_secret").is_none());
    }

    #[test]
    fn identical_registrations_are_distinct_clients() {
        let a = client_id(&key(), &register(&claude(), 1).unwrap()).unwrap();
        let b = client_id(&key(), &register(&claude(), 1).unwrap()).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn forged_or_foreign_client_ids_are_unknown() {
        let id = client_id(&key(), &register(&claude(), 1000).unwrap()).unwrap();
        assert_eq!(open_client_id(&Key::derive(&"z".repeat(32), "oauth/client-id"), &id), None);
        let (body, tag) = id.strip_prefix(ID_PREFIX).unwrap().split_once('.').unwrap();
        let evil = json!({"r": ["https://evil.example/cb"], "m": "none", "f": true, "t": 1}).to_string();
        assert_eq!(open_client_id(&key(), &format!("{ID_PREFIX}{}.{tag}", B64.encode(evil))), None);
        assert_eq!(open_client_id(&key(), &format!("{ID_PREFIX}{body}x.{tag}")), None);
        for junk in ["", "mcpc1.", "mcpc1..", "abc", "mcpc1.a.b", &"x".repeat(MAX_CLIENT_ID + 1)] {
            assert_eq!(open_client_id(&key(), junk), None, "{junk}");
        }
    }

    #[test]
    fn confidential_clients_get_a_derived_secret() {
        let mut body = claude();
        body["token_endpoint_auth_method"] = json!("client_secret_basic");
        let c = register(&body, 1).unwrap();
        let id = client_id(&key(), &c).unwrap();
        let secret = client_secret(&key(), &id);
        assert!(secret_valid(&key(), &id, &secret));
        assert!(!secret_valid(&key(), &id, &secret[1..]));
        assert!(!secret_valid(&key(), &format!("{id}x"), &secret));
        assert!(!secret_valid(&key(), &id, "not base64 !"));
        let r = registration_response(&c, &id, Some(&secret));
        assert_eq!(r["client_secret_expires_at"], 0);
        assert_eq!(
            register(&json!({"redirect_uris": ["https://a.example/cb"]}), 1).unwrap().auth_method,
            AuthMethod::SecretBasic
        );
    }

    #[test]
    fn invalid_registrations() {
        let code = |b: Value| register(&b, 1).unwrap_err().code;
        assert_eq!(code(json!([])), "invalid_client_metadata");
        assert_eq!(code(json!({})), "invalid_redirect_uri");
        assert_eq!(code(json!({"redirect_uris": []})), "invalid_redirect_uri");
        assert_eq!(code(json!({"redirect_uris": "https://a.example/cb"})), "invalid_client_metadata");
        assert_eq!(code(json!({"redirect_uris": ["javascript:alert(1)"]})), "invalid_redirect_uri");
        assert_eq!(code(json!({"redirect_uris": ["http://example.com/cb"]})), "invalid_redirect_uri");
        assert_eq!(code(json!({"redirect_uris": vec!["https://a.example/cb"; 11]})), "invalid_redirect_uri");
        let base = |k: &str, v: Value| {
            let mut b = json!({"redirect_uris": ["https://a.example/cb"]});
            b[k] = v;
            register(&b, 1).map(|_| ()).map_err(|e| e.code)
        };
        assert_eq!(base("token_endpoint_auth_method", json!("private_key_jwt")), Err("invalid_client_metadata"));
        assert_eq!(base("token_endpoint_auth_method", json!(["none"])), Err("invalid_client_metadata"));
        assert_eq!(base("grant_types", json!(["implicit"])), Err("invalid_client_metadata"));
        assert_eq!(base("grant_types", json!(["refresh_token"])), Err("invalid_client_metadata"));
        assert_eq!(base("response_types", json!(["token"])), Err("invalid_client_metadata"));
        assert_eq!(base("client_name", json!("x".repeat(101))), Err("invalid_client_metadata"));
        assert_eq!(base("client_name", json!("bad\u{7}name")), Err("invalid_client_metadata"));
        // Bidi overrides, isolates and zero-width characters (category Cf) could disguise a name.
        for sneaky in ["Claude\u{202E}edualc", "a\u{2066}b\u{2069}", "Cl\u{200B}aude", "x\u{FEFF}", "t\u{E0041}"] {
            assert_eq!(base("client_name", json!(sneaky)), Err("invalid_client_metadata"), "{sneaky:?}");
        }
        assert!(base("client_name", json!("Zoë's app — 日本語 🚀")).is_ok(), "ordinary text stays allowed");
        assert_eq!(base("client_name", json!(5)), Err("invalid_client_metadata"));
        assert_eq!(base("client_uri", json!("http://a.example")), Err("invalid_client_metadata"));
        assert_eq!(
            base("client_name", json!("<script>alert(1)</script>")),
            Ok(()),
            "stored as text; escaped when shown"
        );
        assert_eq!(base("grant_types", json!(["authorization_code"])), Ok(()));
    }

    #[test]
    fn ten_long_redirect_uris_still_fit() {
        let uris: Vec<String> = (0..10).map(|i| format!("https://app.example/{}/{i}", "p".repeat(300))).collect();
        let c = register(&json!({"redirect_uris": uris, "client_name": "n".repeat(100)}), 1).unwrap();
        let id = client_id(&key(), &c).unwrap();
        assert!(id.len() < MAX_CLIENT_ID);
        assert_eq!(open_client_id(&key(), &id).unwrap().redirect_uris.len(), 10);
    }

    #[test]
    fn configured_clients_are_validated_and_hash_their_secret() {
        let hash: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(b"s3cret").iter().map(|b| format!("{b:02x}")).collect()
        };
        let raw = json!([
            { "client_id": "ops", "client_secret_hash": format!("sha256:{hash}"), "redirect_uris": ["https://ops.example/cb"], "client_name": "Ops", "introspection": true },
            { "client_id": "cli", "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] }
        ])
        .to_string();
        let list = parse_configured(&raw).unwrap();
        assert_eq!(list[0].0, "ops");
        let Kind::Configured { secret_sha256: Some(h), introspect_any: true } = &list[0].1.kind else {
            panic!("ops is confidential and may introspect")
        };
        assert!(configured_secret_valid(h, "s3cret"));
        assert!(!configured_secret_valid(h, "s3creT"));
        assert_eq!(list[1].1.kind, Kind::Configured { secret_sha256: None, introspect_any: false });
        assert_eq!(list[1].1.auth_method, AuthMethod::None);
        assert!(list.iter().all(|(_, c)| c.refresh));

        let bad = |v: Value| parse_configured(&v.to_string()).unwrap_err();
        assert!(parse_configured("{").is_err());
        assert!(bad(json!({})).contains("JSON array"));
        assert!(bad(json!([{ "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] }]))
            .contains("client_id is required"));
        assert!(bad(json!([{ "client_id": "https://x.example/c", "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] }])).contains("not a URL"));
        assert!(bad(
            json!([{ "client_id": "mcpc1.x", "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] }])
        )
        .contains("mcpc1."));
        assert!(bad(json!([{ "client_id": "a", "redirect_uris": ["http://127.0.0.1/cb"] }]))
            .contains("client_secret_hash is required"));
        assert!(bad(
            json!([{ "client_id": "a", "client_secret_hash": "sha256:abc", "redirect_uris": ["http://127.0.0.1/cb"] }])
        )
        .contains("64 hex"));
        assert!(bad(json!([{ "client_id": "a", "client_secret_hash": "none", "redirect_uris": ["javascript:x"] }]))
            .starts_with("entry 0:"));
        let twice = json!([
            { "client_id": "a", "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] },
            { "client_id": "a", "client_secret_hash": "none", "redirect_uris": ["http://127.0.0.1/cb"] }
        ]);
        assert_eq!(bad(twice), "entry 1: client_id appears twice");
    }

    #[test]
    fn metadata_urls_are_https_with_a_path_and_nothing_tricky() {
        for good in ["https://app.example/oauth/client.json", "https://app.example/c?v=1"] {
            assert!(metadata_url(good, false).is_some(), "{good}");
        }
        for bad in [
            "http://app.example/c.json",
            "https://app.example",
            "https://app.example/",
            "https://app.example/a/../c.json",
            "https://app.example/./c.json",
            "https://app.example/c.json#x",
            "https://user:pw@app.example/c.json",
            "https://APP.example/c.json",
            "https://127.0.0.1/c.json",
            "http://127.0.0.1:9/c.json",
            "ftp://app.example/c.json",
            "mcpc1.abc",
        ] {
            assert!(metadata_url(bad, false).is_none(), "{bad}");
        }
        // Private, link-local, unspecified and similar literals, trailing dots and .localhost
        // names are not fetched (the second security review).
        for private in [
            "https://10.0.0.1/c.json",
            "https://172.16.5.4/c.json",
            "https://192.168.1.1/c.json",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/c.json",
            "https://100.64.0.1/c.json",
            "https://[fd00::1]/c.json",
            "https://[fe80::1]/c.json",
            "https://[::]/c.json",
            "https://[::ffff:10.0.0.1]/c.json",
            "https://localhost./c.json",
            "https://app.localhost/c.json",
            "https://app.example./c.json",
        ] {
            assert!(metadata_url(private, false).is_none(), "{private}");
        }
        assert!(metadata_url("https://8.8.8.8/c.json", false).is_some(), "a public literal");
        assert!(metadata_url("https://[2606:4700::1111]/c.json", false).is_some(), "a public literal");
        assert!(metadata_url("http://127.0.0.1:9/c.json", true).is_some(), "local development only");
        assert!(metadata_url("http://app.example/c.json", true).is_none());
        assert!(metadata_url("https://bücher.example/c.json", false).is_none(), "no IDNA: punycode only");
        assert!(metadata_url("https://xn--bcher-kva.example/c.json", false).is_some());
        assert!(metadata_url("https://B%C3%9CCHER.example/c.json", false).is_none(), "escaped host");
    }

    const RULES: DocumentRules = DocumentRules { private_key_jwt: true, allow_loopback_http: false };

    /// The documents §10 of the reference quotes, exactly as their clients publish them.
    pub(crate) fn published() -> Vec<(&'static str, Value)> {
        vec![
            (
                "https://claude.ai/oauth/mcp-oauth-client-metadata",
                json!({"client_id":"https://claude.ai/oauth/mcp-oauth-client-metadata","client_name":"Claude","client_uri":"https://claude.ai","redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:jwt-bearer"],"response_types":["code"],"token_endpoint_auth_method":"none"}),
            ),
            (
                "https://chatgpt.com/oauth/client.json",
                json!({"client_id":"https://chatgpt.com/oauth/client.json","client_uri":"https://chatgpt.com/","redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"],"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_methods_supported":["none","private_key_jwt"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"ChatGPT","logo_uri":"https://persistent.oaistatic.com/sonic/misc/openai-logo.png","token_endpoint_auth_signing_alg":"RS256","jwks_uri":"https://chatgpt.com/oauth/jwks.json"}),
            ),
            (
                "https://vscode.dev/oauth/client-metadata.json",
                json!({"client_name":"Visual Studio Code","grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],"response_types":["code"],"token_endpoint_auth_method":"none","application_type":"native","client_id":"https://vscode.dev/oauth/client-metadata.json","client_uri":"https://vscode.dev/product","redirect_uris":["http://127.0.0.1:33418/","https://vscode.dev/redirect"]}),
            ),
        ]
    }

    #[test]
    fn the_published_documents_are_accepted_for_what_this_server_grants() {
        for (id, doc) in published() {
            let c = from_metadata_document(id, doc.to_string().as_bytes(), RULES).unwrap();
            assert_eq!(c.kind, Kind::MetadataDocument, "{id}");
            assert!(c.refresh, "{id}");
            assert_eq!(
                c.redirect_uris,
                doc["redirect_uris"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect::<Vec<_>>()
            );
        }
        let chatgpt = published()[1].clone();
        let c = from_metadata_document(chatgpt.0, chatgpt.1.to_string().as_bytes(), RULES).unwrap();
        assert_eq!(c.auth_method, AuthMethod::PrivateKeyJwt);
        assert_eq!(
            c.jwt,
            Some(JwtAuth {
                alg: Some(super::super::assertion::Alg::Rs256),
                keys: KeySource::Uri("https://chatgpt.com/oauth/jwks.json".into())
            })
        );
        // With private_key_jwt switched off, ChatGPT is a public client (and uses none).
        let off = DocumentRules { private_key_jwt: false, ..RULES };
        let c = from_metadata_document(chatgpt.0, chatgpt.1.to_string().as_bytes(), off).unwrap();
        assert_eq!((c.auth_method, c.jwt), (AuthMethod::None, None));
    }

    #[test]
    fn documents_may_list_what_this_server_does_not_use() {
        let id = "https://app.example/c.json";
        let base = || json!({ "client_id": id, "redirect_uris": ["https://app.example/cb"] });
        let variants: Vec<(&str, Value)> = vec![
            ("grant_types", json!(["authorization_code", "implicit", "urn:example:unknown", "client_credentials"])),
            ("grant_types", json!(["refresh_token"])),
            ("response_types", json!(["code", "token", "id_token"])),
            ("token_endpoint_auth_method", json!("client_secret_basic")),
            ("token_endpoint_auth_method", json!("tls_client_auth")),
            ("token_endpoint_auth_method", json!(5)),
            ("token_endpoint_auth_methods_supported", json!(["none", "private_key_jwt", "client_secret_jwt"])),
            ("scope", json!("mcp openid offline_access")),
            ("application_type", json!("web")),
            ("application_type", json!("native")),
            ("software_statement", json!("eyJ...")),
            ("client_secret", json!("published by mistake")),
            ("jwks", json!({"keys": []})),
            ("jwks_uri", json!("https://app.example/jwks.json")),
            ("logo_uri", json!("https://app.example/logo.png")),
            ("contacts", json!(["ops@app.example"])),
            ("client_name", json!("Sneaky\u{202E}name")),
            ("client_name", json!(42)),
            ("client_uri", json!("http://not-https.example")),
            ("x-vendor-extension", json!({"nested": [1, 2, 3]})),
        ];
        for (field, value) in variants {
            let mut d = base();
            d[field] = value.clone();
            let c = from_metadata_document(id, d.to_string().as_bytes(), RULES)
                .unwrap_or_else(|e| panic!("{field}={value}: {e}"));
            assert_eq!(c.auth_method, AuthMethod::None, "{field}={value}: a public client");
            assert!(c.name.as_deref().is_none_or(|n| !n.contains('\u{202E}')), "a disguised name is not shown");
            assert!(c.client_uri.is_none() || field != "client_uri");
        }
        // Redirect URIs the rules refuse are dropped; the document stands on the rest.
        let mut d = base();
        d["redirect_uris"] =
            json!(["javascript:alert(1)", "http://evil.example/cb", 7, "https://app.example/cb", "cursor://app/cb"]);
        let c = from_metadata_document(id, d.to_string().as_bytes(), RULES).unwrap();
        assert_eq!(c.redirect_uris, ["https://app.example/cb", "cursor://app/cb"]);
    }

    #[test]
    fn private_key_jwt_documents_need_keys_this_server_can_use() {
        let id = "https://app.example/c.json";
        let doc = |extra: Value| {
            let mut d = json!({ "client_id": id, "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt" });
            for (k, v) in extra.as_object().unwrap() {
                d[k] = v.clone();
            }
            from_metadata_document(id, d.to_string().as_bytes(), RULES)
        };
        let inline = doc(json!({ "jwks": { "keys": [] }, "token_endpoint_auth_signing_alg": "ES256" })).unwrap();
        assert!(matches!(
            inline.jwt,
            Some(JwtAuth { alg: Some(super::super::assertion::Alg::Es256), keys: KeySource::Inline(_) })
        ));
        assert_eq!(doc(json!({ "jwks_uri": "https://app.example/jwks.json" })).unwrap().jwt.unwrap().alg, None);
        for (bad, why) in [
            (json!({}), "publishes no keys"),
            (json!({ "jwks": "not an object" }), "publishes no keys"),
            (json!({ "jwks_uri": "http://app.example/jwks.json" }), "jwks_uri"),
            (json!({ "jwks_uri": "https://127.0.0.1/jwks.json" }), "jwks_uri"),
            (
                json!({ "jwks_uri": "https://app.example/jwks.json", "token_endpoint_auth_signing_alg": "HS256" }),
                "RS256 or ES256",
            ),
        ] {
            assert!(doc(bad.clone()).unwrap_err().contains(why), "{bad}");
        }
    }

    #[test]
    fn documents_are_refused_only_when_a_login_would_be_unsafe_or_impossible() {
        let id = "https://app.example/c.json";
        let doc = |v: Value| from_metadata_document(id, v.to_string().as_bytes(), RULES);
        assert!(doc(
            json!({ "client_id": "https://other.example/c.json", "redirect_uris": ["https://app.example/cb"] })
        )
        .unwrap_err()
        .contains("client_id"));
        assert!(doc(json!({ "client_id": id })).is_err(), "redirect_uris are required");
        assert!(doc(json!({ "client_id": id, "redirect_uris": ["javascript:alert(1)", "data:x"] })).is_err());
        assert!(doc(json!({ "client_id": id, "redirect_uris": "https://app.example/cb" })).is_err());
        assert!(doc(json!([id])).is_err());
        assert!(from_metadata_document(id, b"not json", RULES).is_err());
        let huge = format!(
            r#"{{"client_id":"{id}","redirect_uris":["https://app.example/cb"],"pad":"{}"}}"#,
            "x".repeat(6000)
        );
        assert!(from_metadata_document(id, huge.as_bytes(), RULES).unwrap_err().contains("larger than"));
        // The reasons are this server's fixed sentences, whatever the document says.
        for hostile in [
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb#<b>Call 555-0100</b>"] }),
            json!({ "client_id": "Call 555-0100", "redirect_uris": ["https://a.example/cb"] }),
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "Call 555-0100" }),
        ] {
            let why = doc(hostile).unwrap_err();
            assert!(!why.contains("555-0100"), "{why}");
        }
    }
}
