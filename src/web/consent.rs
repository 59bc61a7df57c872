//! Remembered approvals: the `__Host-consent` cookie lists the clients this browser approved
//! (with the scopes and a digest of what the consent page showed), so a returning client goes
//! straight to Discord. Shared by the authorization endpoint and the connected apps page,
//! which forgets a client's approval when it is disconnected.

use crate::rules::keys::AuthKeys;
use crate::rules::oauth::authorize::{self, Pending};
use crate::rules::oauth::{client, cookie, grant};
use crate::web::http::RequestInfo;

/// A remembered approval lasts this long.
pub const CONSENT_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// Clients remembered in the consent cookie.
const MAX_REMEMBERED: usize = 20;

pub fn remembered(req: &RequestInfo, keys: &AuthKeys, now: i64) -> Vec<String> {
    cookie::get(req.header("cookie"), "__Host-consent")
        .and_then(|c| cookie::open(&keys.consent, "remember", now, c))
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// The `__Host-consent` cookie holding `list` (newest first, at most [`MAX_REMEMBERED`]).
pub fn remember_cookie(keys: &AuthKeys, mut list: Vec<String>, now: i64) -> String {
    list.truncate(MAX_REMEMBERED);
    let remember = cookie::seal(&keys.consent, "remember", now + CONSENT_TTL_SECONDS, &list.join(","));
    cookie::set_cookie("consent", &remember, CONSENT_TTL_SECONDS)
}

/// A digest of what the consent page shows about a client (its name and redirect URIs): an
/// approval holds only while these stay the same, so a changed metadata document asks again.
pub fn shown_digest(c: &client::Client) -> String {
    let mut shown = c.name.clone().unwrap_or_default();
    for uri in &c.redirect_uris {
        shown.push('\n');
        shown.push_str(uri);
    }
    grant::token_hash(&shown).chars().take(16).collect()
}

/// Whether a remembered approval covers this request: same client, same name and redirect
/// URIs as the page showed, and every scope asked for was approved before (a client that
/// wants more shows the consent page again).
pub fn covered(remembered: &[String], p: &Pending, shown: &str) -> bool {
    remembered.iter().any(|entry| {
        let mut parts = entry.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(client), Some(scopes), Some(digest), None) if client == p.client && digest == shown => {
                let approved: Vec<&str> = scopes.split('+').collect();
                p.scopes().all(|s| approved.contains(&s))
            }
            _ => false,
        }
    })
}

/// The `Set-Cookie` that drops the remembered approval of `client_id` in this browser, when
/// it has one: a disconnected client must see the consent page again.
pub fn forget_consent(req: &RequestInfo, keys: &AuthKeys, client_id: &str) -> Option<String> {
    let now = req.now_s();
    let client = authorize::client_hash(client_id);
    let mut list = remembered(req, keys, now);
    let before = list.len();
    list.retain(|entry| entry.split('/').next() != Some(client.as_str()));
    (list.len() != before).then(|| remember_cookie(keys, list, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(client_id: &str, scope: &str) -> Pending {
        Pending {
            client: authorize::client_hash(client_id),
            redirect_uri: "https://a.example/cb".into(),
            challenge: "c".into(),
            state: None,
            scope: scope.into(),
            resource: "https://mcp.example/mcp".into(),
            expires: 0,
            nonce: "n".into(),
            client_name: None,
            private_key_jwt: false,
            vetted: false,
        }
    }

    fn doc_client(name: &str, uris: &[&str]) -> client::Client {
        let doc = serde_json::json!({ "client_id": "https://app.example/c.json", "client_name": name, "redirect_uris": uris });
        client::from_metadata_document(
            "https://app.example/c.json",
            doc.to_string().as_bytes(),
            client::DocumentRules { private_key_jwt: true, allow_loopback_http: false },
        )
        .unwrap()
    }

    #[test]
    fn a_remembered_approval_covers_only_what_was_shown() {
        let shown = shown_digest(&doc_client("App", &["https://a.example/cb"]));
        let p = pending("https://app.example/c.json", "mcp");
        let entry = |scopes: &str, digest: &str| vec![format!("{}/{scopes}/{digest}", p.client)];
        assert!(covered(&entry("mcp+profile", &shown), &p, &shown));
        assert!(!covered(&entry("profile", &shown), &p, &shown), "a scope not approved");
        // The document changed: another redirect URI, or another name, asks again.
        for changed in [
            doc_client("App", &["https://a.example/cb", "https://b.example/cb"]),
            doc_client("Other", &["https://a.example/cb"]),
        ] {
            assert!(!covered(&entry("mcp", &shown), &p, &shown_digest(&changed)));
        }
        // Entries from before the binding existed (no digest) no longer count.
        assert!(!covered(&[format!("{}/mcp", p.client)], &p, &shown));
        assert!(!covered(&entry("mcp", &shown), &pending("https://other.example/c.json", "mcp"), &shown));
    }
}
