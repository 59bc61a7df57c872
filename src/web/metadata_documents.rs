//! Client ID Metadata Documents: fetched under one deadline and a 5 KB cap, validated, and
//! cached in the isolate and the Cache API, never in KV (anyone can name any URL).

use crate::rules::oauth::client::{self};
use crate::rules::oauth::grant::{self};
use crate::rules::platform::Platform;

/// How long a fetched Client ID Metadata Document is cached when it does not say.
const METADATA_CACHE_SECONDS: u64 = 3600;
/// A metadata document host gets this long to answer.
const METADATA_TIMEOUT_MS: u32 = 3000;

thread_local! {
    /// Metadata documents this isolate fetched lately: (URL, document, expires). Works on every
    /// deployment, including workers.dev where the Cache API does nothing.
    static DOCUMENTS: std::cell::RefCell<Vec<(String, String, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Documents kept per isolate.
const DOCUMENTS_KEPT: usize = 32;

fn remembered_document(url: &str, now: i64) -> Option<String> {
    DOCUMENTS.with(|d| d.borrow().iter().find(|(u, _, exp)| u == url && *exp > now).map(|(_, doc, _)| doc.clone()))
}

fn remember_document(url: &str, doc: &str, expires: i64) {
    DOCUMENTS.with(|d| {
        let mut d = d.borrow_mut();
        d.retain(|(u, _, _)| u != url);
        d.insert(0, (url.to_string(), doc.to_string(), expires));
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

/// Fetches (or reads from cache) and validates a Client ID Metadata Document. The reason of a
/// failure completes the sentence "The application's metadata document at <url> …".
///
/// Anonymous: anyone can name any URL, so nothing here writes KV (the rule is that only a
/// signed-in person's action does). The cache is this isolate's memory, then the Workers
/// Cache API at this location; both are free and bounded.
pub(super) async fn metadata_document<P: Platform>(
    platform: &P,
    url: &url::Url,
    now: i64,
) -> Result<client::Client, String> {
    let cache_key = format!("https://metadata-documents.invalid/{}", grant::token_hash(url.as_str()));
    let cached = match remembered_document(url.as_str(), now) {
        Some(doc) => Some(doc),
        None => platform.cache_get(&cache_key).await,
    };
    if let Some(doc) = cached {
        if let Ok(c) = client::from_metadata_document(url.as_str(), doc.as_bytes()) {
            return Ok(c);
        }
    }
    let request = crate::rules::platform::Outbound {
        method: "GET",
        url: url.to_string(),
        headers: vec![("accept", "application/json".into())],
        body: None,
        timeout_ms: METADATA_TIMEOUT_MS,
        max_bytes: client::MAX_METADATA_DOCUMENT,
    };
    let response = match platform.fetch(request).await {
        Ok(r) => r,
        Err(crate::rules::platform::FetchError::Timeout) => {
            return Err(format!("did not answer within {} seconds", METADATA_TIMEOUT_MS / 1000))
        }
        Err(crate::rules::platform::FetchError::TooLarge) => {
            return Err(format!("is larger than {} bytes", client::MAX_METADATA_DOCUMENT))
        }
        Err(_) => return Err("could not be fetched".into()),
    };
    match response.status {
        200 => {}
        300..=399 => return Err("answered with a redirect, which is not followed".into()),
        s => return Err(format!("answered HTTP {s}")),
    }
    let media = response.header("content-type").and_then(|c| c.split(';').next()).map(str::trim).unwrap_or("");
    if !(media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json")) {
        return Err("is not served as application/json".into());
    }
    let client = client::from_metadata_document(url.as_str(), &response.body)?;
    if let (Some(ttl), Ok(text)) = (document_ttl(response.header("cache-control")), std::str::from_utf8(&response.body))
    {
        remember_document(url.as_str(), text, now.saturating_add(ttl as i64));
        platform.cache_put(&cache_key, text, ttl).await;
    }
    Ok(client)
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
        remember_document("https://a.example/1.json", "one", 100);
        assert_eq!(remembered_document("https://a.example/1.json", 99).as_deref(), Some("one"));
        assert_eq!(remembered_document("https://a.example/1.json", 100), None, "expired");
        for i in 0..DOCUMENTS_KEPT + 5 {
            remember_document(&format!("https://b.example/{i}.json"), "x", 1000);
        }
        DOCUMENTS.with(|d| assert_eq!(d.borrow().len(), DOCUMENTS_KEPT));
        assert_eq!(remembered_document("https://b.example/0.json", 1), None, "the oldest went first");
    }
}
