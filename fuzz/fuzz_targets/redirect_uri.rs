//! Redirect URI validation and matching: whatever is accepted must re-parse to itself, and a
//! match must be the same scheme and host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::redirect::{matches, validate};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(url) = validate(a) {
        assert!(url.as_str() == a || url.as_str() == format!("{a}/"), "accepted a non-canonical URI: {a}");
        assert!(!matches!(url.scheme(), "javascript" | "data" | "file" | "vbscript"));
    }
    if matches(a, b) && a != b {
        let (ua, ub) = (url::Url::parse(a).expect("matched"), url::Url::parse(b).expect("matched"));
        assert_eq!((ua.scheme(), ua.host_str(), ua.path()), (ub.scheme(), ub.host_str(), ub.path()));
    }
});
