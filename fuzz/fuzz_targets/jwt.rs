//! Access token parsing and verification: nothing but a token this key signed verifies.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::access_token::{times, verify};

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let key = common::key(mcp_oauth_worker::rules::keys::ACCESS_TOKEN);
    let verified = verify(&key, &token, "http://127.0.0.1:8787", "http://127.0.0.1:8787/mcp", 1_785_240_000);
    assert!(verified.is_err(), "a token the fuzzer made verified: {token}");
    let _ = times(&key, &token);
});
