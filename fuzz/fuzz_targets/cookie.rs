//! Cookie headers and the signed values in them (consent, CSRF, login in progress).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::authorize::Pending;
use mcp_oauth_worker::rules::oauth::cookie;

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    let consent = common::key(mcp_oauth_worker::rules::keys::CONSENT);
    for name in ["__Host-consent", "__Host-csrf", "__Host-pending"] {
        if let Some(v) = cookie::get(Some(&header), name) {
            assert!(cookie::open(&consent, "remember", 1_785_240_000, v).is_none());
            assert!(Pending::open(&common::key(mcp_oauth_worker::rules::keys::PENDING), v, 1_785_240_000).is_none());
        }
    }
});
