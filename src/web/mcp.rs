//! Streamable HTTP for every supported version, statelessly: each POST is judged on its own
//! headers and body, so any isolate can serve any request. 2025 clients get a signed
//! `Mcp-Session-Id` that any isolate verifies without storage.

use base64::Engine;
use serde_json::{Map, Value};

use crate::rules::keys::Key;
use crate::rules::mcp::headers::{bad_request, decode_header_value, resolve_version, unsupported};
use crate::rules::mcp::jsonrpc::{
    parse_message, result_response, Message, RpcError, HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR,
};
use crate::rules::mcp::server::{self, Context, Failed, Handled, META_CLIENT_CAPABILITIES};
use crate::rules::mcp::tool::Caller;
use crate::rules::mcp::version::Version;
use crate::web::http::{Body, Reply, RequestInfo, MAX_BODY_BYTES};

/// Headers a browser client may send; answered in CORS preflights.
const CORS_ALLOW_HEADERS: &str =
    "authorization, content-type, accept, mcp-protocol-version, mcp-method, mcp-name, mcp-session-id, last-event-id";

/// What the endpoint needs from configuration and authentication.
pub struct Endpoint<'a> {
    pub allowed_origins: &'a [String],
    pub caller: Option<&'a Caller>,
    pub state_key: Option<&'a Key>,
    /// Signs `Mcp-Session-Id` for 2025-x clients; `None`: no session ids are issued.
    pub session_key: Option<&'a Key>,
    /// Answer only to loopback host names (`LOCAL_ONLY`, set by `npm start`).
    pub local_only: bool,
    /// Storage and the network, for the tools that need them (see `web::io`).
    pub io: Option<&'a dyn crate::rules::mcp::tool::Io>,
    /// The tools offered (`tools::registry()` in the Worker).
    pub tools: &'a crate::rules::mcp::tool::Registry,
}

/// A session id any isolate can verify without storage: 16 random bytes and their MAC.
/// It identifies nothing and authorizes nothing; it exists because 2025-x clients expect one.
pub fn new_session_id(key: &Key, random: &[u8; 16]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}", b64.encode(random), b64.encode(&key.sign(random)[..16]))
}

pub fn session_id_valid(key: &Key, id: &str) -> bool {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some((r, t)) = id.split_once('.') else { return false };
    match (b64.decode(r), b64.decode(t)) {
        (Ok(r), Ok(t)) if r.len() == 16 => crate::rules::keys::ct_eq(&key.sign(&r)[..16], &t),
        _ => false,
    }
}

/// A JSON-RPC error outside any request: `id` null, an HTTP status.
fn transport_error(status: u16, code: i64, message: &str) -> Reply {
    Reply::json(status, &RpcError::new(code, message).to_response(None))
}

/// How the client lets us answer.
#[derive(Clone, Copy)]
struct Stream {
    sse_ok: bool,
    json_ok: bool,
}

impl Stream {
    /// SSE when there are notifications to carry, or when JSON is not acceptable.
    fn use_sse(self, notifications: bool) -> bool {
        self.sse_ok && (notifications || !self.json_ok)
    }
}

/// Whether `accept` names `media` itself with q > 0.
fn lists(accept: Option<&str>, media: &str) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|r| {
            accepts(Some(r), media) && r.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
    })
}

/// Whether `accept` admits a media type (`type/subtype`), through wildcards and q > 0.
fn accepts(accept: Option<&str>, media: &str) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    let major = media.split('/').next().unwrap_or("");
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let m = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")).and_then(crate::web::http::qvalue) == Some(0)
        });
        !zero && (m == media || m == "*/*" || m == format!("{major}/*"))
    })
}

/// The origin check of every MCP version: a present `Origin` must be this server's own or
/// one the operator allowed. Returns the origin to name in CORS headers, if any.
pub fn check_origin<'r>(req: &'r RequestInfo, allowed: &[String], local_only: bool) -> Result<Option<&'r str>, Reply> {
    if req.is_rebound(local_only) {
        return Err(transport_error(
            403,
            INVALID_REQUEST,
            "Host not allowed: locally this server answers only to localhost",
        ));
    }
    let Some(origin) = req.header("origin") else {
        return Ok(None);
    };
    if origin == req.origin() || allowed.iter().any(|a| a == origin) {
        Ok(Some(origin))
    } else {
        Err(transport_error(
            403,
            INVALID_REQUEST,
            "Origin not allowed. Add it to ALLOWED_ORIGINS to let that site connect.",
        ))
    }
}

/// CORS headers for an allowed cross-origin caller.
pub fn with_cors(reply: Reply, origin: Option<&str>, req: &RequestInfo) -> Reply {
    match origin {
        Some(o) if o != req.origin() => reply
            .with_header("access-control-allow-origin", o)
            .with_header("access-control-expose-headers", "www-authenticate, mcp-session-id, mcp-protocol-version")
            .with_header("vary", "Origin"),
        _ => reply,
    }
}

/// `OPTIONS` on the MCP endpoint: a CORS preflight for allowed origins.
pub fn preflight(req: &RequestInfo, ep: &Endpoint, allow: &str) -> Reply {
    match check_origin(req, ep.allowed_origins, ep.local_only) {
        Err(reply) => reply,
        Ok(origin) => {
            let reply = Reply::empty(204).with_header("allow", allow);
            match origin {
                Some(o) if o != req.origin() => with_cors(reply, Some(o), req)
                    .with_header("access-control-allow-methods", "POST, OPTIONS")
                    .with_header("access-control-allow-headers", CORS_ALLOW_HEADERS)
                    .with_header("access-control-max-age", "86400"),
                _ => reply,
            }
        }
    }
}

/// `POST /mcp`.
pub async fn post(req: &RequestInfo, ep: &Endpoint<'_>) -> Reply {
    let origin = match check_origin(req, ep.allowed_origins, ep.local_only) {
        Ok(o) => o,
        Err(reply) => return reply,
    };
    with_cors(post_checked(req, ep).await, origin, req)
}

async fn post_checked(req: &RequestInfo, ep: &Endpoint<'_>) -> Reply {
    let content_type = req.header("content-type").unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return transport_error(415, INVALID_REQUEST, "Content-Type must be application/json");
    }
    let accept = req.header("accept");
    let json_ok = accepts(accept, "application/json");
    // SSE only for clients that name it: `*/*` or no Accept at all means JSON.
    let sse_ok = lists(accept, "text/event-stream");
    if !json_ok && !sse_ok {
        return transport_error(406, INVALID_REQUEST, "Accept must admit application/json or text/event-stream");
    }
    let stream = Stream { sse_ok, json_ok };
    let bytes = match &req.body {
        Body::TooLarge => {
            return transport_error(
                413,
                INVALID_REQUEST,
                &format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        }
        Body::Bytes(b) if b.len() > MAX_BODY_BYTES => {
            return transport_error(
                413,
                INVALID_REQUEST,
                &format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        }
        Body::Bytes(b) => b.as_slice(),
        Body::Empty => &[],
    };
    let parsed: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => return transport_error(400, PARSE_ERROR, "Parse error: the body is not valid JSON"),
    };
    let header_version = req.header("mcp-protocol-version").map(str::trim);
    let origin = req.origin();
    let cx = |version| Context {
        version,
        origin: &origin,
        now_ms: req.now_ms,
        caller: ep.caller,
        state_key: ep.state_key,
        io: ep.io,
        tools: ep.tools,
    };

    match parsed {
        Value::Array(items) => match check_session(req, Version::V2025_03_26, ep) {
            Err(f) => Reply::json(f.status, &f.error.to_response(None)),
            Ok(()) => batch(items, header_version, stream, &cx).await,
        },
        single => {
            let msg = match parse_message(&single) {
                Ok(m) => m,
                Err(inv) => return Reply::json(400, &inv.error.to_response(inv.id.as_ref())),
            };
            match msg {
                Message::Request { id, method, params } => {
                    req.note(|n| {
                        n.detail = Some(match params.get("name").and_then(Value::as_str) {
                            Some(tool) if method == "tools/call" => format!("{method} {tool}"),
                            _ => method.clone(),
                        })
                    });
                    let checked = resolve_version(header_version, &method, &params)
                        .and_then(|v| check_headers(req, v, &method, &params).map(|()| v))
                        .and_then(|v| check_session(req, v, ep).map(|()| v));
                    let outcome = match checked {
                        Ok(v) => server::handle(&method, &params, &cx(v)).await,
                        Err(f) => Err(f),
                    };
                    let issue_session = method == "initialize" && outcome.is_ok();
                    let missing_scope = outcome.as_ref().err().and_then(|f| f.missing_scope);
                    let mut reply = respond(&id, outcome, stream);
                    if let Some(scope) = missing_scope {
                        reply = reply
                            .with_header("www-authenticate", crate::web::bearer::insufficient_scope(&origin, scope));
                    }
                    // Randomness crosses into JS in the Worker: drawn only for a new session.
                    match (issue_session, ep.session_key) {
                        (true, Some(key)) => match crate::rules::keys::random::<16>() {
                            Some(random) => reply.with_header("mcp-session-id", new_session_id(key, &random)),
                            None => reply,
                        },
                        _ => reply,
                    }
                }
                Message::Response { .. } if header_version == Some(Version::V2026_07_28.as_str()) => {
                    transport_error(400, INVALID_REQUEST, "This server sends no requests, so it takes no responses")
                }
                // Nothing to answer, but the version and session rules still hold.
                Message::Notification { method, params } => accept_silently(req, header_version, &method, &params, ep),
                Message::Response { .. } => accept_silently(req, header_version, "", &Map::new(), ep),
            }
        }
    }
}

/// 2026-07-28: `Mcp-Method` and `Mcp-Name` must repeat the body, and `_meta` must carry the
/// client's capabilities.
fn check_headers(req: &RequestInfo, v: Version, method: &str, params: &Map<String, Value>) -> Result<(), Failed> {
    if !v.is_stateless() {
        return Ok(());
    }
    match req.header("mcp-method").and_then(decode_header_value) {
        Some(h) if h == method => {}
        Some(h) => {
            return Err(bad_request(
                HEADER_MISMATCH,
                format!("Header mismatch: Mcp-Method header value '{h}' does not match body value '{method}'"),
            ))
        }
        None => return Err(bad_request(HEADER_MISMATCH, "Header mismatch: the Mcp-Method header is required".into())),
    }
    let name_key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    if let Some(body_name) = name_key.and_then(|k| params.get(k)).and_then(Value::as_str) {
        match req.header("mcp-name").map(decode_header_value) {
            Some(Some(h)) if h == body_name => {}
            Some(Some(h)) => {
                return Err(bad_request(
                    HEADER_MISMATCH,
                    format!("Header mismatch: Mcp-Name header value '{h}' does not match body value '{body_name}'"),
                ))
            }
            Some(None) => {
                return Err(bad_request(
                    HEADER_MISMATCH,
                    "Header mismatch: the Mcp-Name header is not valid base64".into(),
                ))
            }
            None => {
                return Err(bad_request(HEADER_MISMATCH, "Header mismatch: the Mcp-Name header is required".into()))
            }
        }
    }
    match params.get("_meta").and_then(|m| m.get(META_CLIENT_CAPABILITIES)) {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(bad_request(
            INVALID_PARAMS,
            format!("_meta[\"{META_CLIENT_CAPABILITIES}\"] is required (an object; {{}} declares none)"),
        )),
    }
}

fn accept_silently(
    req: &RequestInfo,
    header: Option<&str>,
    method: &str,
    params: &Map<String, Value>,
    ep: &Endpoint,
) -> Reply {
    match resolve_version(header, method, params).and_then(|v| check_session(req, v, ep)) {
        Ok(()) => Reply::empty(202),
        Err(f) => Reply::json(f.status, &f.error.to_response(None)),
    }
}

/// 2025-x: a session id we did not sign is unknown to every isolate: 404, so the client starts
/// a new session. 2026-07-28 has no sessions and ignores the header.
fn check_session(req: &RequestInfo, v: Version, ep: &Endpoint) -> Result<(), Failed> {
    match (req.header("mcp-session-id"), ep.session_key) {
        (Some(id), Some(key)) if !v.is_stateless() && !session_id_valid(key, id.trim()) => Err(Failed::http(
            404,
            RpcError::new(INVALID_REQUEST, "Session not found; send initialize to start a new one"),
        )),
        _ => Ok(()),
    }
}

/// The HTTP answer to one request: JSON, or SSE carrying its notifications first.
fn respond(id: &Value, outcome: Result<Handled, Failed>, stream: Stream) -> Reply {
    match outcome {
        Err(f) => Reply::json(f.status, &f.error.to_response(Some(id))),
        Ok(h) if stream.use_sse(!h.notifications.is_empty()) => {
            event_stream(h.notifications.iter().chain([&result_response(id, h.result)]))
        }
        Ok(h) => Reply::json(200, &result_response(id, h.result)),
    }
}

fn event_stream<'a>(messages: impl Iterator<Item = &'a Value>) -> Reply {
    let body: String = messages.map(|m| format!("event: message\ndata: {m}\n\n")).collect();
    Reply::new(200, "text/event-stream", body)
        .with_header("cache-control", "no-cache")
        .with_header("x-accel-buffering", "no")
}

/// Most messages one batch may carry: each can produce a sizeable result, all held at once.
pub const MAX_BATCH: usize = 32;

/// A 2025-03-26 JSON-RPC batch.
async fn batch<'a>(
    items: Vec<Value>,
    header: Option<&str>,
    stream: Stream,
    cx: &dyn Fn(Version) -> Context<'a>,
) -> Reply {
    let version = match header.map(|h| (h, Version::parse(h))) {
        None => Version::V2025_03_26,
        Some((_, Some(v))) => v,
        Some((h, None)) => return Reply::json(400, &unsupported(h, INVALID_REQUEST).error.to_response(None)),
    };
    if !version.allows_batches() {
        return transport_error(
            400,
            INVALID_REQUEST,
            &format!(
                "JSON-RPC batches are not supported in protocol version {}; send one message per request",
                version.as_str()
            ),
        );
    }
    if items.is_empty() {
        return transport_error(400, INVALID_REQUEST, "An empty batch is not a valid request");
    }
    if items.len() > MAX_BATCH {
        return transport_error(400, INVALID_REQUEST, &format!("A batch may carry at most {MAX_BATCH} messages"));
    }
    let mut notifications = Vec::new();
    let mut responses = Vec::new();
    for item in &items {
        match parse_message(item) {
            Err(inv) => responses.push(inv.error.to_response(inv.id.as_ref())),
            Ok(Message::Request { id, method, .. }) if method == "initialize" => responses
                .push(RpcError::new(INVALID_REQUEST, "initialize must not be part of a batch").to_response(Some(&id))),
            Ok(Message::Request { id, method, params }) => match server::handle(&method, &params, &cx(version)).await {
                Ok(h) => {
                    notifications.extend(h.notifications);
                    responses.push(result_response(&id, h.result));
                }
                Err(f) => responses.push(f.error.to_response(Some(&id))),
            },
            Ok(_) => {}
        }
    }
    if responses.is_empty() {
        Reply::empty(202)
    } else if stream.use_sse(!notifications.is_empty()) {
        let all = Value::Array(responses);
        event_stream(notifications.iter().chain([&all]))
    } else {
        Reply::json(200, &Value::Array(responses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::mcp::jsonrpc::UNSUPPORTED_PROTOCOL_VERSION;
    use crate::rules::mcp::server::META_PROTOCOL_VERSION;
    use serde_json::json;
    use url::Url;

    /// The transport, driven to completion (no tool here waits on I/O).
    fn post(req: &RequestInfo, ep: &Endpoint) -> Reply {
        crate::rules::platform::block_on(super::post(req, ep))
    }

    const JSON_SSE: &str = "application/json, text/event-stream";

    fn req(path: &str, headers: &[(&str, &str)], body: &str) -> RequestInfo {
        let mut h: Vec<(String, String)> = vec![("content-type".into(), "application/json".into())];
        for (k, v) in headers {
            h.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
            h.push((k.to_string(), v.to_string()));
        }
        RequestInfo::new("POST", Url::parse("http://127.0.0.1:8787").unwrap().join(path).unwrap(), h)
            .with_body(Body::Bytes(body.as_bytes().to_vec()))
            .with_now(1_785_240_000_000)
    }

    /// An endpoint admitting browser `allowed` origins, with nothing else configured.
    fn plain(allowed: &[String]) -> Endpoint<'_> {
        Endpoint {
            allowed_origins: allowed,
            caller: None,
            state_key: None,
            session_key: None,
            local_only: false,
            io: None,
            tools: crate::tools::registry(),
        }
    }

    fn with_sessions(key: &Key) -> Endpoint<'_> {
        Endpoint { session_key: Some(key), ..plain(&[]) }
    }

    fn post_with(headers: &[(&str, &str)], body: &str) -> Reply {
        let allowed = vec!["https://allowed.example".to_string()];
        post(&req("/mcp", headers, body), &plain(&allowed))
    }

    fn json_of(r: &Reply) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    /// Headers and body of a well-formed 2026-07-28 request.
    fn modern(method: &str, name: Option<&str>, params: Value) -> (Vec<(&'static str, String)>, String) {
        let mut p = params;
        p["_meta"] = json!({ META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {} });
        let mut h = vec![("mcp-protocol-version", "2026-07-28".to_string()), ("mcp-method", method.to_string())];
        if let Some(n) = name {
            h.push(("mcp-name", n.to_string()));
        }
        (h, json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": p }).to_string())
    }

    fn send(h: &[(&'static str, String)], body: &str) -> Reply {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post_with(&h, body)
    }

    #[test]
    fn http_hygiene() {
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(post_with(&[("origin", "https://evil.example")], ping).status, 403);
        assert_eq!(post_with(&[("origin", "http://127.0.0.1:8787")], ping).status, 200);
        let allowed = post_with(&[("origin", "https://allowed.example")], ping);
        assert_eq!(allowed.header("access-control-allow-origin"), Some("https://allowed.example"));
        assert_eq!(post_with(&[("content-type", "text/plain")], ping).status, 415);
        assert_eq!(post_with(&[("content-type", "application/json; charset=utf-8")], ping).status, 200);
        assert_eq!(post_with(&[("accept", "text/html")], ping).status, 406);
        assert_eq!(post_with(&[("accept", "application/json;q=0, text/event-stream;q=0")], ping).status, 406);
        assert_eq!(post_with(&[("accept", "*/*")], ping).status, 200);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(post_with(&[], &big).status, 413);
        let mut r = req("/mcp", &[], "");
        r.body = Body::TooLarge;
        assert_eq!(post(&r, &plain(&[])).status, 413);
    }

    #[test]
    fn json_rpc_errors_have_the_right_codes_and_statuses() {
        let parse = post_with(&[], "{not json");
        assert_eq!((parse.status, json_of(&parse)["error"]["code"].as_i64()), (400, Some(PARSE_ERROR)));
        let truncated = post_with(&[], r#"{"jsonrpc":"2.0","id":1,"method":"pi"#);
        assert_eq!(json_of(&truncated)["error"]["code"], PARSE_ERROR);
        let invalid = post_with(&[], r#"{"jsonrpc":"2.0","id":9,"method":5}"#);
        assert_eq!((invalid.status, json_of(&invalid)["id"].as_i64()), (400, Some(9)));
        let unknown = post_with(&[], r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#);
        assert_eq!((unknown.status, json_of(&unknown)["error"]["code"].as_i64()), (200, Some(-32601)));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(post_with(&[], &deep).status, 400, "recursion limit, not a crash");
    }

    #[test]
    fn notifications_and_responses_are_accepted_without_body() {
        let n = post_with(&[], r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert_eq!((n.status, n.body.as_str()), (202, ""));
        let r = post_with(&[], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(r.status, 202);
        let modern = post_with(&[("mcp-protocol-version", "2026-07-28")], r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(modern.status, 400);
    }

    #[test]
    fn legacy_version_header() {
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(post_with(&[("mcp-protocol-version", "2025-06-18")], ping).status, 200);
        let bad = post_with(&[("mcp-protocol-version", "1999-01-01")], ping);
        assert_eq!(bad.status, 400);
        assert_eq!(json_of(&bad)["error"]["data"]["requested"], "1999-01-01");
        let init = post_with(
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        );
        assert_eq!(json_of(&init)["result"]["protocolVersion"], "2025-06-18");
    }

    #[test]
    fn batches_only_in_2025_03_26() {
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"bad":1}]"#;
        let r = post_with(&[], batch);
        assert_eq!(r.status, 200);
        let v = json_of(&r);
        assert_eq!(v.as_array().unwrap().len(), 3);
        assert_eq!(v[0]["result"], json!({}));
        assert_eq!(v[1]["error"]["code"], -32601);
        assert_eq!(v[2]["error"]["code"], INVALID_REQUEST);
        let refused = post_with(&[("mcp-protocol-version", "2025-11-25")], batch);
        assert_eq!(refused.status, 400);
        assert!(json_of(&refused)["error"]["message"].as_str().unwrap().contains("batches are not supported"));
        assert_eq!(post_with(&[], "[]").status, 400);
        assert_eq!(post_with(&[], r#"[{"jsonrpc":"2.0","method":"notifications/x"}]"#).status, 202);
        let init = json_of(&post_with(
            &[],
            r#"[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}]"#,
        ));
        assert_eq!(init[0]["error"]["code"], INVALID_REQUEST);
    }

    #[test]
    fn stateless_2026_requests() {
        let (h, b) = modern("tools/call", Some("echo"), json!({"name": "echo", "arguments": {"message": "hi"}}));
        let ok = send(&h, &b);
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(json_of(&ok)["result"]["structuredContent"]["message"], "hi");

        let (h, b) = modern("server/discover", None, json!({}));
        assert_eq!(json_of(&send(&h, &b))["result"]["supportedVersions"][0], "2026-07-28");

        let (h, b) = modern("nope", None, json!({}));
        let nf = send(&h, &b);
        assert_eq!(
            (nf.status, json_of(&nf)["error"]["code"].as_i64(), json_of(&nf)["id"].as_i64()),
            (404, Some(-32601), Some(7))
        );
    }

    #[test]
    fn stateless_2026_header_rules() {
        let code = |r: &Reply| (r.status, json_of(r)["error"]["code"].as_i64().unwrap());
        let (mut h, b) = modern("tools/call", Some("echo"), json!({"name": "echo", "arguments": {"message": "hi"}}));
        h[1].1 = "tools/list".into();
        assert_eq!(code(&send(&h, &b)), (400, HEADER_MISMATCH));
        h.remove(1);
        assert_eq!(code(&send(&h, &b)), (400, HEADER_MISMATCH));

        let (mut h, b) = modern("tools/call", Some("add"), json!({"name": "echo", "arguments": {"message": "hi"}}));
        assert_eq!(code(&send(&h, &b)), (400, HEADER_MISMATCH));
        h[2].1 = "=?base64?ZWNobw==?=".into(); // "echo"
        assert_eq!(send(&h, &b).status, 200);
        h.remove(2);
        assert_eq!(code(&send(&h, &b)), (400, HEADER_MISMATCH));

        // Header and _meta disagree: mismatch. Both name an unknown version: unsupported.
        let (mut h, b) = modern("tools/list", None, json!({}));
        h[0].1 = "2025-11-25".into();
        assert_eq!(code(&send(&h, &b)), (400, HEADER_MISMATCH));
        let b2 = b.replace("2026-07-28", "v999.0.0");
        h[0].1 = "v999.0.0".into();
        let unsup = send(&h, &b2);
        assert_eq!(code(&unsup), (400, UNSUPPORTED_PROTOCOL_VERSION));
        assert_eq!(json_of(&unsup)["error"]["data"]["requested"], "v999.0.0");
        assert_eq!(json_of(&unsup)["error"]["data"]["supported"][0], "2026-07-28");

        // The 2026 header without _meta, or _meta without capabilities: invalid params.
        let bare = post_with(
            &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "server/discover")],
            r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#,
        );
        assert_eq!(code(&bare), (400, INVALID_PARAMS));
        let no_caps = post_with(
            &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "server/discover")],
            r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert_eq!(code(&no_caps), (400, INVALID_PARAMS));
    }

    #[test]
    fn session_ids_verify_anywhere_and_forgeries_are_404() {
        let key = Key::derive(&"s".repeat(32), crate::rules::keys::SESSION);
        let id = new_session_id(&key, &[7; 16]);
        assert!(session_id_valid(&key, &id));
        assert!(!session_id_valid(&Key::derive(&"t".repeat(32), crate::rules::keys::SESSION), &id));
        for bad in ["", ".", "abc", "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", &format!("{id}x")] {
            assert!(!session_id_valid(&key, bad), "{bad}");
        }
        let ep = with_sessions(&key);
        let init = req(
            "/mcp",
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#,
        );
        let sid = post(&init, &ep).header("mcp-session-id").map(String::from).unwrap();
        let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        assert_eq!(post(&req("/mcp", &[("mcp-session-id", &sid)], ping), &ep).status, 200);
        assert_eq!(post(&req("/mcp", &[("mcp-session-id", "forged")], ping), &ep).status, 404);
        assert_eq!(post(&req("/mcp", &[], ping), &ep).status, 200, "sessions are optional");
    }

    #[test]
    fn header_values_decode() {
        assert_eq!(decode_header_value("echo").as_deref(), Some("echo"));
        assert_eq!(decode_header_value(" \techo ").as_deref(), Some("echo"));
        assert_eq!(decode_header_value("=?base64?w6k=?=").as_deref(), Some("é"));
        assert_eq!(decode_header_value("=?base64?!!!?="), None);
        assert_eq!(decode_header_value("=?base64?/w==?="), None, "not UTF-8");
    }

    #[test]
    fn sse_only_when_there_are_notifications_and_the_client_names_it() {
        let handled = || Handled {
            result: json!({}),
            notifications: vec![json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}})],
        };
        let quiet = || Handled { result: json!({}), notifications: vec![] };
        let both = Stream { sse_ok: true, json_ok: true };
        let sse = respond(&json!(1), Ok(handled()), both);
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        assert_eq!(sse.header("x-accel-buffering"), Some("no"));
        let events: Vec<&str> = sse.body.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 2);
        assert!(events[0].starts_with("event: message\ndata: {") && events[0].contains("notifications/progress"));
        assert!(events[1].contains("\"id\":1"));
        assert_eq!(respond(&json!(1), Ok(quiet()), both).header("content-type"), Some("application/json"));
        let json_only = Stream { sse_ok: false, json_ok: true };
        assert_eq!(respond(&json!(1), Ok(handled()), json_only).header("content-type"), Some("application/json"));
        let sse_only = Stream { sse_ok: true, json_ok: false };
        assert_eq!(respond(&json!(1), Ok(quiet()), sse_only).header("content-type"), Some("text/event-stream"));

        assert!(lists(Some(JSON_SSE), "text/event-stream"));
        assert!(!lists(Some("*/*"), "text/event-stream"));
        assert!(!lists(None, "text/event-stream"));
        assert!(!lists(Some("text/event-stream;q=0"), "text/event-stream"));
        assert!(accepts(Some("text/*"), "text/event-stream"));
        assert!(accepts(None, "application/json"));
        let only_sse = post_with(&[("accept", "text/event-stream")], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        assert_eq!(only_sse.header("content-type"), Some("text/event-stream"));
    }

    #[test]
    fn batches_are_capped_and_checked_for_sessions() {
        let one = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let many = format!("[{}]", vec![one; MAX_BATCH + 1].join(","));
        let r = post_with(&[], &many);
        assert_eq!(r.status, 400);
        assert!(json_of(&r)["error"]["message"].as_str().unwrap().contains("at most 32"));
        assert_eq!(post_with(&[], &format!("[{}]", vec![one; MAX_BATCH].join(","))).status, 200);
        let key = Key::derive(&"s".repeat(32), crate::rules::keys::SESSION);
        let ep = with_sessions(&key);
        assert_eq!(post(&req("/mcp", &[("mcp-session-id", "forged")], &format!("[{one}]")), &ep).status, 404);
    }

    #[test]
    fn notifications_obey_version_and_session_rules() {
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert_eq!(post_with(&[("mcp-protocol-version", "1999-01-01")], note).status, 400);
        let key = Key::derive(&"s".repeat(32), crate::rules::keys::SESSION);
        let ep = with_sessions(&key);
        assert_eq!(post(&req("/mcp", &[("mcp-session-id", "forged")], note), &ep).status, 404);
        assert_eq!(post(&req("/mcp", &[], note), &ep).status, 202);
    }

    #[test]
    fn local_only_refuses_other_host_names() {
        let ep = Endpoint { local_only: true, ..plain(&[]) };
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(post(&req("/mcp", &[], ping), &ep).status, 200);
        let mut rebound = req("/mcp", &[], ping);
        rebound.url = Url::parse("http://evil.example.com:8787/mcp").unwrap();
        assert_eq!(post(&rebound, &ep).status, 403, "even without CF-Connecting-IP");
    }

    #[test]
    fn preflight_for_allowed_origins_only() {
        let allowed = vec!["https://allowed.example".to_string()];
        let ep = plain(&allowed);
        let mut r = req("/mcp", &[("origin", "https://allowed.example")], "");
        r.method = "OPTIONS".into();
        let ok = preflight(&r, &ep, "POST, OPTIONS");
        assert_eq!(ok.status, 204);
        assert!(ok.header("access-control-allow-headers").unwrap().contains("mcp-protocol-version"));
        let mut evil = req("/mcp", &[("origin", "https://evil.example")], "");
        evil.method = "OPTIONS".into();
        assert_eq!(preflight(&evil, &ep, "POST, OPTIONS").status, 403);
    }
}
