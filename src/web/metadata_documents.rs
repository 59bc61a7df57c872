//! What a metadata-document client publishes: its Client ID Metadata Document and, for a
//! `private_key_jwt` client, its key set. Fetched under one deadline and a size cap, never
//! following a redirect, cached in the isolate and the Cache API, never in KV (anyone can name
//! any URL, and anonymous traffic writes nothing).

use crate::rules::oauth::assertion::MAX_JWKS;
use crate::rules::oauth::client::{self, DocumentRules, JwtAuth, KeySource};
use crate::rules::oauth::grant::{self};
use crate::rules::platform::{FetchError, Outbound, Platform};

/// How long a fetched document is cached when it does not say.
const METADATA_CACHE_SECONDS: u64 = 3600;
/// A client's host gets this long to answer.
const METADATA_TIMEOUT_MS: u32 = 3000;
/// A key set is fetched again for an unknown `kid` (a key rotation), but not more often than
/// this per isolate: anyone can send an assertion naming a random `kid` (the signature is
/// checked only once a key is found), and that must not become a flood at the client's host.
const REFETCH_AFTER_SECONDS: i64 = 5;

thread_local! {
    /// Documents this isolate fetched lately: (URL, text, expires, fetched). Works on every
    /// deployment, including workers.dev where the Cache API does nothing.
    static DOCUMENTS: std::cell::RefCell<Vec<(String, String, i64, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Documents kept per isolate.
const DOCUMENTS_KEPT: usize = 32;

fn remembered_document(url: &str, now: i64) -> Option<(String, i64)> {
    DOCUMENTS.with(|d| {
        d.borrow().iter().find(|(u, _, exp, _)| u == url && *exp > now).map(|(_, doc, _, at)| (doc.clone(), *at))
    })
}

fn remember_document(url: &str, doc: &str, expires: i64, fetched: i64) {
    DOCUMENTS.with(|d| {
        let mut d = d.borrow_mut();
        d.retain(|(u, _, _, _)| u != url);
        d.insert(0, (url.to_string(), doc.to_string(), expires, fetched));
        d.truncate(DOCUMENTS_KEPT);
    });
}

/// How long a document may be cached, from its `Cache-Control`: `None` for `no-store` or
/// `no-cache`, else its `max-age` clamped to 5 minutes – 24 hours (1 hour when it says nothing).
fn document_ttl(cache_control: Option<&str>) -> Option<u64> {
    let directives: Vec<String> =
        cache_control.unwrap_or("").split(',').map(|d| d.trim().to_ascii_lowercase()).collect();
    if directives.iter().any(|d| d == "no-store" || d == "no-cache") {
        return None;
    }
    let max_age = directives.iter().find_map(|d| d.strip_prefix("max-age=").and_then(|v| v.parse::<u64>().ok()));
    Some(max_age.unwrap_or(METADATA_CACHE_SECONDS).clamp(300, 86_400))
}

/// Why a client's document cannot be used. Each reason completes the sentence "The
/// application's metadata at <host> …", a fixed sentence of this server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// The host did not answer, or failed (timeout, network, HTTP 5xx): its fault, not the
    /// request's (a 502 page).
    Unreachable(String),
    /// It answered with something that is not a usable document.
    Invalid(String),
}

impl DocumentError {
    pub fn reason(&self) -> &str {
        match self {
            DocumentError::Unreachable(r) | DocumentError::Invalid(r) => r,
        }
    }
}

/// A client's JSON document, from this isolate, the Cache API or its host; `fresh` skips the
/// caches unless the isolate fetched it within [`REFETCH_AFTER_SECONDS`]. `usable` says whether
/// a cached copy may be used as it is.
async fn client_json<P: Platform>(
    platform: &P,
    url: &str,
    now: i64,
    max_bytes: usize,
    fresh: bool,
    // `dyn`: one copy of this future in the wasm, not one per caller.
    usable: &dyn Fn(&str) -> bool,
) -> Result<String, DocumentError> {
    let cache_key = format!("https://metadata-documents.invalid/{max_bytes}/{}", grant::token_hash(url));
    let here = remembered_document(url, now);
    let cached = match (&here, fresh) {
        (Some((doc, at)), true) if now - at < REFETCH_AFTER_SECONDS => Some(doc.clone()),
        (_, true) => None,
        (Some((doc, _)), false) => Some(doc.clone()),
        (None, false) => platform.cache_get(&cache_key).await,
    };
    if let Some(doc) = cached.filter(|d| usable(d)) {
        return Ok(doc);
    }
    let request = Outbound {
        method: "GET",
        url: url.to_string(),
        headers: vec![("accept", "application/json".into())],
        body: None,
        timeout_ms: METADATA_TIMEOUT_MS,
        max_bytes,
    };
    let unreachable = |why: String| Err(DocumentError::Unreachable(why));
    let invalid = |why: String| Err(DocumentError::Invalid(why));
    let response = match platform.fetch(request).await {
        Ok(r) => r,
        Err(FetchError::Timeout) => {
            return unreachable(format!("did not answer within {} seconds", METADATA_TIMEOUT_MS / 1000))
        }
        Err(FetchError::TooLarge) => return invalid(format!("is larger than {max_bytes} bytes")),
        Err(FetchError::Network) => return unreachable("could not be reached".into()),
    };
    match response.status {
        200 => {}
        300..=399 => return invalid("answered with a redirect, which is not followed".into()),
        s @ 500..=599 => return unreachable(format!("answered HTTP {s}")),
        s => return invalid(format!("answered HTTP {s}")),
    }
    let media = response.header("content-type").and_then(|c| c.split(';').next()).map(str::trim).unwrap_or("");
    if !(media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json")) {
        return invalid("is not served as application/json".into());
    }
    let ttl = document_ttl(response.header("cache-control"));
    let Ok(text) = String::from_utf8(response.body) else { return invalid("is not UTF-8 text".into()) };
    if usable(&text) {
        if let Some(ttl) = ttl {
            remember_document(url, &text, now.saturating_add(ttl as i64), now);
            platform.cache_put(&cache_key, &text, ttl).await;
        }
    }
    Ok(text)
}

/// Fetches (or reads from cache) and validates a Client ID Metadata Document.
pub(super) async fn metadata_document<P: Platform>(
    platform: &P,
    url: &url::Url,
    now: i64,
    rules: DocumentRules,
) -> Result<client::Client, DocumentError> {
    let id = url.as_str();
    let parse = |doc: &str| client::from_metadata_document(id, doc.as_bytes(), rules);
    let text = client_json(platform, id, now, client::MAX_METADATA_DOCUMENT, false, &|d| parse(d).is_ok()).await?;
    parse(&text).map_err(|why| DocumentError::Invalid(why.to_string()))
}

/// The key set of a `private_key_jwt` client: inline in its document, or from its `jwks_uri`.
/// `fresh` asks the host again (an unknown `kid`), at most once a minute per isolate.
pub(super) async fn key_set<P: Platform>(
    platform: &P,
    jwt: &JwtAuth,
    now: i64,
    fresh: bool,
) -> Result<String, DocumentError> {
    match &jwt.keys {
        KeySource::Inline(jwks) => Ok(jwks.clone()),
        KeySource::Uri(uri) => client_json(platform, uri, now, MAX_JWKS, fresh, &|_| true).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_cached_as_their_host_says_within_bounds() {
        assert_eq!(document_ttl(None), Some(METADATA_CACHE_SECONDS));
        assert_eq!(document_ttl(Some("public, max-age=600")), Some(600));
        assert_eq!(document_ttl(Some("max-age=1")), Some(300));
        assert_eq!(document_ttl(Some("max-age=99999999")), Some(86_400));
        assert_eq!(document_ttl(Some("No-Store")), None);
        assert_eq!(document_ttl(Some("max-age=600, no-cache")), None);
    }

    #[test]
    fn the_isolate_cache_keeps_the_newest_documents_until_they_expire() {
        remember_document("https://a.example/1.json", "one", 100, 7);
        assert_eq!(remembered_document("https://a.example/1.json", 99), Some(("one".into(), 7)));
        assert_eq!(remembered_document("https://a.example/1.json", 100), None, "expired");
        for i in 0..DOCUMENTS_KEPT + 5 {
            remember_document(&format!("https://b.example/{i}.json"), "x", 1000, 0);
        }
        DOCUMENTS.with(|d| assert_eq!(d.borrow().len(), DOCUMENTS_KEPT));
        assert_eq!(remembered_document("https://b.example/0.json", 1), None, "the oldest went first");
    }
}
