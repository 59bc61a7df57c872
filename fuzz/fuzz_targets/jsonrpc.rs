//! JSON-RPC messages through the MCP transport, as an authenticated caller would send them,
//! with every protocol version header.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::rules::mcp::tool::Caller;
use mcp_oauth_worker::web::http::{Body, RequestInfo};
use mcp_oauth_worker::web::mcp::{self, Endpoint};

const VERSIONS: [&str; 5] = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "x"];

fuzz_target!(|data: &[u8]| {
    let Some((&v, body)) = data.split_first() else { return };
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = mcp_oauth_worker::rules::mcp::jsonrpc::parse_message(&value);
    }
    let caller = Caller {
        user_id: "1".into(),
        username: "u".into(),
        global_name: None,
        avatar_url: None,
        email: None,
        client_id: "c".into(),
        scopes: vec!["mcp".into(), "profile".into(), "email".into(), "guilds".into()],
        grant: "g".into(),
    };
    let state = common::key(mcp_oauth_worker::rules::keys::REQUEST_STATE);
    let session = common::key(mcp_oauth_worker::rules::keys::SESSION);
    let ep = Endpoint {
        allowed_origins: &[],
        caller: Some(&caller),
        state_key: Some(&state),
        session_key: Some(&session),
        local_only: false,
        io: None,
        tools: mcp_oauth_worker::tools::registry(),
    };
    let url = url::Url::parse("http://127.0.0.1:8787/mcp").expect("constant URL");
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("accept".to_string(), "application/json, text/event-stream".to_string()),
        ("mcp-protocol-version".to_string(), VERSIONS[v as usize % VERSIONS.len()].to_string()),
    ];
    let req = RequestInfo::new("POST", url, headers).with_body(Body::Bytes(body.to_vec())).with_now(1_785_240_000_000);
    let reply = common::block_on(mcp::post(&req, &ep));
    assert_ne!(reply.status, 500);
});
