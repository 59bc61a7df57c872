//! The whole service: any method, path, query, headers and body. The oracle: no panic, and
//! no 500 (every failure must be the protocol's own error).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use mcp_oauth_worker::web::http::{Body, RequestInfo};

const METHODS: [&str; 6] = ["GET", "POST", "OPTIONS", "HEAD", "DELETE", "PUT"];

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    // The runtime hands the Worker an ASCII URL whose host is punycode, never escaped: inputs
    // it would not send are skipped. (The Worker's build has no IDNA tables, and their
    // stand-in asserts in debug builds on escaped non-ASCII hosts no runtime sends.)
    // (URL parsers drop tabs and newlines anywhere; so does this check.)
    let target: String = lines.next().unwrap_or("/").chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let escaped_high =
        target.as_bytes().windows(2).any(|w| w[0] == b'%' && matches!(w[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'));
    if !target.is_ascii() || escaped_high {
        return;
    }
    let Ok(url) = url::Url::parse("http://127.0.0.1:8787").and_then(|b| b.join(&target)) else { return };
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let body = if body.is_empty() { Body::Empty } else { Body::Bytes(body.as_bytes().to_vec()) };
    let req =
        RequestInfo::new(METHODS[m as usize % METHODS.len()], url, headers).with_body(body).with_now(1_785_240_000_000);
    let reply =
        common::block_on(mcp_oauth_worker::service::handle(&req, &common::config(), &common::Offline::default()));
    assert_ne!(reply.status, 500, "{} {} -> 500: {}", req.method, req.url, reply.body);
});
