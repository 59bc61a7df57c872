//! Client metadata from every source: RFC 7591 registration, Client ID Metadata Documents,
//! the operator's OAUTH_CLIENTS, and metadata-document URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::client::{
    from_metadata_document, metadata_url, parse_configured, register, AuthMethod, DocumentRules,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(c) = register(&value, 0) {
            assert!(!c.redirect_uris.is_empty());
        }
    }
    for private_key_jwt in [true, false] {
        let rules = DocumentRules { private_key_jwt, allow_loopback_http: false };
        if let Ok(c) = from_metadata_document("https://app.example/client.json", data, rules) {
            // Whatever a document lists, only what this server supports is granted.
            assert!(!c.redirect_uris.is_empty() && c.redirect_uris.len() <= 10);
            assert!(matches!(c.auth_method, AuthMethod::None | AuthMethod::PrivateKeyJwt));
            assert_eq!(c.auth_method == AuthMethod::PrivateKeyJwt, c.jwt.is_some());
            assert!(private_key_jwt || c.jwt.is_none());
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = parse_configured(&text);
    if let Some(url) = metadata_url(&text, false) {
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.as_str(), text);
    }
});
