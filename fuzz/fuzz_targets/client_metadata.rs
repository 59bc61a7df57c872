//! Client metadata from every source: RFC 7591 registration, Client ID Metadata Documents,
//! the operator's OAUTH_CLIENTS, and metadata-document URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::client::{from_metadata_document, metadata_url, parse_configured, register};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(c) = register(&value, 0) {
            assert!(!c.redirect_uris.is_empty());
        }
    }
    let _ = from_metadata_document("https://app.example/client.json", data);
    let text = String::from_utf8_lossy(data);
    let _ = parse_configured(&text);
    if let Some(url) = metadata_url(&text, false) {
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.as_str(), text);
    }
});
