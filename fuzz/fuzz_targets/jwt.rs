//! Access token parsing and verification: nothing but a token this key signed verifies. Client
//! assertions (private_key_jwt) and key sets parse without panicking.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::access_token::{times, verify};
use mcp_oauth_worker::rules::oauth::assertion;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let key = common::key(mcp_oauth_worker::rules::keys::ACCESS_TOKEN);
    let verified = verify(&key, &token, "http://127.0.0.1:8787", "http://127.0.0.1:8787/mcp", 1_785_240_000);
    assert!(verified.is_err(), "a token the fuzzer made verified: {token}");
    let _ = times(&key, &token);
    let client = "https://app.example/c.json";
    let _ = assertion::named_client(&token);
    if let Ok(a) = assertion::check(&token, client, &["http://127.0.0.1:8787"], None, 1_785_240_000) {
        assert_eq!(a.client_id, client);
        // The same bytes as a key set: choosing a key never panics either.
        let _ = assertion::select_key(data, &a);
    }
});
