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
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
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
    let scheme_ok = match url.scheme() {
        "https" => !crate::rules::oauth::redirect::is_loopback(&url) || allow_loopback_http,
        "http" => allow_loopback_http && crate::rules::oauth::redirect::is_loopback(&url),
        _ => false,
    };
    let raw_path = id.split_once("://").map(|(_, rest)| rest).and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("");
    let dot_segment = raw_path.split(['/', '?']).any(|seg| seg == "." || seg == "..");
    let plain = url.fragment().is_none() && url.username().is_empty() && url.password().is_none();
    // The id must be the URL exactly as parsed, so that what is fetched is what is named.
    (scheme_ok && plain && !dot_segment && url.path() != "/" && url.as_str() == id && url.host_str().is_some())
        .then_some(url)
}

/// A Client ID Metadata Document, validated: its `client_id` equals the URL it came from, its
/// redirect URIs follow the same rules as a registration, and it uses no shared secret.
pub fn from_metadata_document(id: &str, body: &[u8]) -> Result<Client, String> {
    if body.len() > MAX_METADATA_DOCUMENT {
        return Err(format!("the document is larger than {MAX_METADATA_DOCUMENT} bytes"));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the document is not JSON".to_string())?;
    if doc.get("client_id").and_then(Value::as_str) != Some(id) {
        return Err("the document's client_id does not match its URL".into());
    }
    if doc.get("client_secret").is_some() || doc.get("client_secret_expires_at").is_some() {
        return Err("a metadata document must not contain a client secret".into());
    }
    match doc.get("token_endpoint_auth_method").and_then(Value::as_str) {
        None | Some("none") => {}
        Some(_) => {
            return Err("names a token_endpoint_auth_method other than none, which is all this server accepts".into())
        }
    }
    // The reasons are fixed sentences: a person reads them on a page, and the document's own
    // text (which anyone can write) must not appear there.
    let mut client = register(&doc, 0).map_err(|e| match e.code {
        "invalid_redirect_uri" => "lists redirect_uris this server does not accept (https, or http on a loopback host; no fragment; at most 10)".to_string(),
        _ => "has client metadata this server does not accept (client_name, client_uri, grant_types or response_types)".to_string(),
    })?;
    client.auth_method = AuthMethod::None;
    client.refresh = true;
    client.nonce = String::new();
    client.kind = Kind::MetadataDocument;
    Ok(client)
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

/// Validates an RFC 7591 registration request body.
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
        Some(v) => serde_json::from_value::<AuthMethod>(v.clone()).map_err(|_| {
            meta_error("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
        })?,
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
    if let Some(u) = client_uri {
        if !u.is_ascii() || !redirect::plain_authority(u) || !url::Url::parse(u).is_ok_and(|u| u.scheme() == "https") {
            return Err(meta_error("client_uri must be an https URL, with an ASCII host name (punycode)"));
        }
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
mod tests {
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
        assert!(metadata_url("http://127.0.0.1:9/c.json", true).is_some(), "local development only");
        assert!(metadata_url("http://app.example/c.json", true).is_none());
        assert!(metadata_url("https://bücher.example/c.json", false).is_none(), "no IDNA: punycode only");
        assert!(metadata_url("https://xn--bcher-kva.example/c.json", false).is_some());
        assert!(metadata_url("https://B%C3%9CCHER.example/c.json", false).is_none(), "escaped host");
    }

    #[test]
    fn metadata_documents_must_name_themselves_and_use_no_secret() {
        let id = "https://app.example/c.json";
        let doc = |v: Value| from_metadata_document(id, v.to_string().as_bytes());
        let c =
            doc(json!({ "client_id": id, "client_name": "App", "redirect_uris": ["https://app.example/cb"] })).unwrap();
        assert_eq!(c.kind, Kind::MetadataDocument);
        assert_eq!(c.auth_method, AuthMethod::None);
        assert_eq!(c.name.as_deref(), Some("App"));
        assert!(doc(
            json!({ "client_id": "https://other.example/c.json", "redirect_uris": ["https://app.example/cb"] })
        )
        .unwrap_err()
        .contains("does not match"));
        assert!(
            doc(json!({ "client_id": id, "redirect_uris": ["https://app.example/cb"], "client_secret": "x" })).is_err()
        );
        assert!(doc(json!({ "client_id": id, "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt" })).is_err());
        assert!(doc(json!({ "client_id": id })).is_err(), "redirect_uris are required");
        assert!(doc(json!({ "client_id": id, "redirect_uris": ["javascript:alert(1)"] })).is_err());
        // What a person reads on the error page never carries the document's own text.
        for hostile in [
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb#<b>Call 555-0100</b>"] }),
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb"], "grant_types": ["Call 555-0100"] }),
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "Call 555-0100" }),
            json!({ "client_id": id, "redirect_uris": ["https://a.example/cb"], "client_name": "Call\u{202E}555-0100" }),
        ] {
            let why = doc(hostile).unwrap_err();
            assert!(!why.contains("555-0100"), "{why}");
        }
        assert!(from_metadata_document(id, b"not json").is_err());
        let huge = format!(
            r#"{{"client_id":"{id}","redirect_uris":["https://app.example/cb"],"pad":"{}"}}"#,
            "x".repeat(6000)
        );
        assert!(from_metadata_document(id, huge.as_bytes()).unwrap_err().contains("larger than"));
    }
}
