//! Form bodies and query strings (token, revocation, introspection, consent, authorize), then
//! the token endpoint's client authentication and code redemption over what they parsed.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::oauth::form::Form;
use mcp_oauth_worker::rules::oauth::grant::{authenticate, redeem, ClientKeys};

fuzz_target!(|data: &[u8]| {
    let Ok(form) = Form::parse(data) else { return };
    let (id, secret) = (
        common::key(mcp_oauth_worker::rules::keys::CLIENT_ID),
        common::key(mcp_oauth_worker::rules::keys::CLIENT_SECRET),
    );
    let keys = ClientKeys { id: &id, secret: &secret, configured: &[], allow_loopback_http: false, metadata_documents: true };
    let _ = authenticate(&form, form.get("authorization"), &keys);
    if let Some(client) = form.get("client_id") {
        let _ = redeem(&common::key(mcp_oauth_worker::rules::keys::AUTH_CODE), &form, client, 1_785_240_000);
    }
    let _ = mcp_oauth_worker::rules::oauth::refresh::narrow("mcp profile email", form.get("scope"));
});
