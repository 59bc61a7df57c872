//! Every value the server signs or seals, presented forged: refresh tokens, authorization
//! codes, client ids, session ids, input-required state, Discord tokens at rest. None opens.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::discord::StoredTokens;
use mcp_oauth_worker::rules::keys;
use mcp_oauth_worker::rules::oauth::client::open_client_id;
use mcp_oauth_worker::rules::oauth::grant::Code;
use mcp_oauth_worker::rules::oauth::refresh::RefreshToken;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    assert!(RefreshToken::decode(&common::key(keys::REFRESH_TOKEN), &s).is_none());
    assert!(Code::open(&common::key(keys::AUTH_CODE), &s).is_none());
    assert!(open_client_id(&common::key(keys::CLIENT_ID), &s).is_none());
    assert!(!mcp_oauth_worker::web::mcp::session_id_valid(&common::key(keys::SESSION), &s));
    assert!(mcp_oauth_worker::rules::mcp::input_required::open(&common::key(keys::REQUEST_STATE), &s, "b", 0).is_err());
    assert!(StoredTokens::open(&common::key(keys::DISCORD_TOKENS), &s, "g").is_none());
});
