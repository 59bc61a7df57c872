//! The only module that touches the Workers runtime: converts its request, environment and
//! response types to and from the pure ones in [`crate::web::http`] and [`crate::rules::config`], and
//! implements [`Platform`] over Workers KV and `fetch`.

// The benchmark's `floor` build answers before any of this runs.
#![cfg_attr(feature = "floor", allow(dead_code, unused_imports))]

use std::cell::OnceCell;
use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, web_sys, Context, Date, Env, Request, Result};

use crate::rules::config::{Config, KV_BINDING};
use crate::rules::platform::{check_key, storage_ttl, Store, StoreError};
use crate::rules::platform::{FetchError, Inbound, Outbound, Platform};
use crate::web::http::{Body, Reply, RequestInfo, MAX_BODY_BYTES};

thread_local! {
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

/// The benchmark's floor: what the runtime and the wasm glue cost with no work at all.
#[cfg(feature = "floor")]
#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<worker::Response> {
    Ok(worker::Response::builder().with_status(200).fixed(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec()))
}

// The request head in and the response out, each in one crossing of the JavaScript boundary:
// converting through `web_sys::Headers` (an iterator step, two strings and an array read per
// header, one call per header out) and `worker::Response` cost more than the protocol work of
// a `tools/call` (`npm run bench -- --profile`, docs/performance.md).
#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function request_head(r) {
  let head = r.method + "\n" + r.url;
  for (const [name, value] of r.headers) head += "\n" + name + "\n" + value;
  return head;
}
export function response(status, head, body) {
  const parts = head.split("\n");
  const headers = new Headers();
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return new Response(body, { status, headers });
}
export function binding(env, name) {
  const b = env[name];
  return b === undefined ? null : b;
}
export async function kv_get(kv, key) {
  try { return await kv.get(key); } catch (e) { throw String(e); }
}
export async function kv_put(kv, key, value, ttl) {
  try { await kv.put(key, value, ttl > 0 ? { expirationTtl: ttl } : undefined); } catch (e) { throw String(e); }
}
export async function kv_delete(kv, key) {
  try { await kv.delete(key); } catch (e) { throw String(e); }
}
export async function kv_list(kv, prefix, cursor) {
  try {
    const page = await kv.list(cursor ? { prefix, cursor } : { prefix });
    let out = page.list_complete ? "" : page.cursor;
    for (const k of page.keys) out += "\n" + k.name;
    return out;
  } catch (e) { throw String(e); }
}
export async function outbound(method, url, head, body, timeoutMs, maxBytes) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
  try {
    const headers = new Headers();
    const parts = head.split("\n");
    for (let i = 0; i + 1 < parts.length; i += 2) headers.set(parts[i], parts[i + 1]);
    const r = await fetch(url, { method, headers, body: body ?? undefined, redirect: "manual", signal: controller.signal });
    if (Number(r.headers.get("content-length")) > maxBytes) { controller.abort(); return "too_large"; }
    const chunks = [];
    let total = 0;
    if (r.body) {
      const reader = r.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBytes) { controller.abort(); return "too_large"; }
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { bytes.set(c, at); at += c.length; }
    let out = String(r.status);
    for (const [name, value] of r.headers) out += "\n" + name + "\n" + value;
    return [out, bytes];
  } catch (e) {
    return timedOut ? "timeout" : "network";
  } finally {
    clearTimeout(timer);
  }
}
export async function cache_get(key) {
  try {
    const hit = await caches.default.match(key);
    return hit ? await hit.text() : null;
  } catch (e) {
    return null;
  }
}
export async function cache_put(key, value, ttl) {
  try {
    await caches.default.put(key, new Response(value, { headers: { "cache-control": "public, max-age=" + ttl } }));
  } catch (e) {}
}
export async function rate_limit(limiter, key) {
  return (await limiter.limit({ key })).success !== false;
}
export async function verify_jws(alg, jwk, data, sig) {
  try {
    const ec = alg === "ES256";
    const params = alg === "Ed25519" ? { name: "Ed25519" } : ec ? { name: "ECDSA", namedCurve: "P-256" } : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const key = await crypto.subtle.importKey("jwk", JSON.parse(jwk), params, false, ["verify"]);
    return await crypto.subtle.verify(ec ? { name: "ECDSA", hash: "SHA-256" } : params, key, sig, data);
  } catch (e) {
    return false;
  }
}
"#)]
extern "C" {
    fn request_head(request: &web_sys::Request) -> String;
    #[wasm_bindgen(catch)]
    fn response(
        status: u16,
        head: &str,
        body: Option<Vec<u8>>,
    ) -> std::result::Result<web_sys::Response, wasm_bindgen::JsValue>;
    // Owned bytes: JavaScript gets copies, which stay valid across the awaits inside.
    fn verify_jws(alg: &str, jwk: &str, data: Vec<u8>, sig: Vec<u8>) -> worker::js_sys::Promise;
    fn binding(env: &Env, name: &str) -> Option<JsValue>;
    fn kv_get(kv: &JsValue, key: &str) -> worker::js_sys::Promise;
    fn kv_put(kv: &JsValue, key: &str, value: &str, ttl: f64) -> worker::js_sys::Promise;
    fn kv_delete(kv: &JsValue, key: &str) -> worker::js_sys::Promise;
    fn kv_list(kv: &JsValue, prefix: &str, cursor: Option<String>) -> worker::js_sys::Promise;
    fn rate_limit(limiter: &JsValue, key: &str) -> worker::js_sys::Promise;
    fn cache_get(key: &str) -> worker::js_sys::Promise;
    fn outbound(
        method: &str,
        url: &str,
        head: &str,
        body: Option<String>,
        timeout_ms: u32,
        max_bytes: u32,
    ) -> worker::js_sys::Promise;
    fn cache_put(key: &str, value: &str, ttl: f64) -> worker::js_sys::Promise;
}

#[cfg(not(feature = "floor"))]
#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let started = Date::now().as_millis();
    let Some(info) = RequestInfo::from_head(&request_head(&raw)) else {
        // The runtime always hands us an absolute URL; this only guards against the impossible.
        return Ok(to_response(Reply::empty(400), false)?);
    };
    let head = info.method == "HEAD";
    let mut info = info.with_now(started);
    // Read even when the answer cannot depend on it (an MCP message without a token): a body
    // left unread breaks the keep-alive connection it came on, in workerd.
    if !matches!(info.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        let declared = info.header("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        info = info.with_body(read_body(raw, declared).await);
    }
    info.request_id = crate::web::log::request_id(info.header("cf-ray"), fallback_request_id);
    let platform = WorkerPlatform { env, kv: OnceCell::new(), limiter: OnceCell::new() };
    // Variables and secrets are fixed for an isolate's life: read and validate them once,
    // with the keys derived from them (see `Config`), not on every request.
    let cfg = CONFIG.with(|c| {
        c.get_or_init(|| {
            let kv_bound = platform.kv().is_some();
            Rc::new(Config::load(|name| platform.env.var(name).ok().map(|v| v.to_string()), kv_bound))
        })
        .clone()
    });
    let reply = crate::service::handle(&info, &cfg, &platform).await;
    // Workers clocks advance only across I/O, so this is time spent waiting on KV, Discord and
    // the body, not CPU time.
    let elapsed = Date::now().as_millis().saturating_sub(started);
    worker::console_log!("{}", crate::web::log::line(&info, reply.status, elapsed));
    Ok(to_response(reply.with_header("x-request-id", info.request_id.clone()), head)?)
}

/// A request id when Cloudflare gave none (`wrangler dev`, tests).
fn fallback_request_id() -> String {
    crate::rules::keys::random::<8>().map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_default()
}

/// Reads the body up to [`MAX_BODY_BYTES`]; stops as soon as it is exceeded.
async fn read_body(raw: web_sys::Request, declared: Option<u64>) -> Body {
    if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
        return Body::TooLarge;
    }
    if declared.is_some() {
        // A declared length within the limit: one read of the whole body (the runtime enforces
        // the declared length), far cheaper than a stream read chunk by chunk.
        let Ok(promise) = raw.array_buffer() else { return Body::Empty };
        return match JsFuture::from(promise).await.map(|b| worker::js_sys::Uint8Array::new(&b).to_vec()) {
            Ok(b) if b.len() > MAX_BODY_BYTES => Body::TooLarge,
            Ok(b) if b.is_empty() => Body::Empty,
            Ok(b) => Body::Bytes(b),
            Err(_) => Body::Empty,
        };
    }
    // No declared length (chunked, rare): read as it comes, and stop at the limit.
    let mut req = Request::from(raw);
    let Ok(mut stream) = req.stream() else { return Body::Empty };
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { return Body::Empty };
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Body::TooLarge;
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        Body::Empty
    } else {
        Body::Bytes(buf)
    }
}

/// The runtime's response, built in one crossing. A header that would split in two (CR, LF,
/// NUL) or that `Headers` refuses makes it the plain JSON 500 instead.
fn to_response(reply: Reply, head: bool) -> std::result::Result<web_sys::Response, wasm_bindgen::JsValue> {
    let internal = || {
        let body = br#"{"error":"server_error","error_description":"internal error"}"#.to_vec();
        response(500, "content-type\napplication/json\ncache-control\nno-store\n", Some(body))
    };
    let Some(headers) = reply.head() else { return internal() };
    // A body on 204/304 or on a HEAD answer makes the runtime throw.
    let body = (!head && !reply.body.is_empty() && !matches!(reply.status, 204 | 304)).then(|| reply.body.into_bytes());
    response(reply.status, &headers, body).or_else(|_| internal())
}

/// Workers KV, with the limits KV enforces checked before any call. Called through the inline
/// JavaScript above rather than `worker::KvStore`, whose options and list pages go through
/// serde_wasm_bindgen (about 11 KB of wasm, with the rate limiter's, and a crossing per field).
struct Kv(JsValue);

/// A KV call's promise, awaited; a rejection (stringified in JavaScript) is the backend's error.
async fn kv_call(promise: worker::js_sys::Promise) -> std::result::Result<JsValue, StoreError> {
    JsFuture::from(promise).await.map_err(|e| StoreError::Backend(e.as_string().unwrap_or_default()))
}

impl Store for Kv {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        check_key(key)?;
        Ok(kv_call(kv_get(&self.0, key)).await?.as_string())
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> std::result::Result<(), StoreError> {
        check_key(key)?;
        // KV takes the TTL as a JavaScript number; 0 means none.
        let ttl = ttl.map_or(0.0, |t| storage_ttl(t) as f64);
        kv_call(kv_put(&self.0, key, value, ttl)).await.map(|_| ())
    }

    async fn delete(&self, key: &str) -> std::result::Result<(), StoreError> {
        check_key(key)?;
        kv_call(kv_delete(&self.0, key)).await.map(|_| ())
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
    ) -> std::result::Result<(Vec<String>, Option<String>), StoreError> {
        check_key(prefix)?;
        // One string: the next cursor (empty on the last page), then a key per line. The keys
        // are this Worker's own (store::keys), which never hold a line break.
        let page = kv_call(kv_list(&self.0, prefix, cursor.map(String::from))).await?.as_string().unwrap_or_default();
        let mut lines = page.split('\n');
        let next = lines.next().filter(|c| !c.is_empty()).map(String::from);
        Ok((lines.map(String::from).collect(), next))
    }
}

/// The Workers Rate Limiting binding (`[[ratelimits]]` in `wrangler.toml`), when bound.
const RATE_LIMITER: &str = "RATE_LIMITER";

/// The bindings, looked up on first use: `env.kv()` alone is a dozen crossings (the namespace
/// and five of its methods), and most requests (every MCP call) never touch KV or the limiter.
struct WorkerPlatform {
    env: Env,
    kv: OnceCell<Option<Kv>>,
    limiter: OnceCell<Option<JsValue>>,
}

impl Platform for WorkerPlatform {
    type Kv = Kv;

    fn kv(&self) -> Option<&Kv> {
        self.kv.get_or_init(|| binding(&self.env, KV_BINDING).map(Kv)).as_ref()
    }

    async fn within_rate(&self, key: &str) -> bool {
        match self.limiter.get_or_init(|| binding(&self.env, RATE_LIMITER)) {
            Some(l) => JsFuture::from(rate_limit(l, key)).await.map(|v| v.as_bool() != Some(false)).unwrap_or(true),
            None => true,
        }
    }

    // The Cache API through the inline JavaScript above: `worker::Cache` and the `Response`
    // it takes linked worker's response builder for this alone.
    async fn cache_get(&self, key: &str) -> Option<String> {
        JsFuture::from(cache_get(key)).await.ok()?.as_string()
    }

    async fn cache_put(&self, key: &str, value: &str, ttl_seconds: u64) {
        let _ = JsFuture::from(cache_put(key, value, ttl_seconds as f64)).await;
    }

    /// WebCrypto: RSA and ECDSA at native speed, and no wasm for them (docs/performance.md).
    async fn verify_signature(
        &self,
        alg: crate::rules::oauth::assertion::Alg,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        #[cfg(feature = "wasm-signatures")]
        return crate::rules::oauth::assertion::verify_in_wasm(alg, jwk, message, signature);
        #[cfg(not(feature = "wasm-signatures"))]
        {
            let promise = verify_jws(alg.as_str(), jwk, message.to_vec(), signature.to_vec());
            JsFuture::from(promise).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
        }
    }

    /// One crossing each way, through the inline JavaScript above: the request's head as one
    /// string, the answer's status and headers as one string and its body as bytes. One
    /// deadline covers the whole exchange, body included (a drip-fed or endless body fails
    /// like a host that never answers), and the body is read as a stream against `max_bytes`.
    async fn fetch(&self, out: Outbound) -> std::result::Result<Inbound, FetchError> {
        let mut head = String::new();
        for (k, v) in &out.headers {
            if !head.is_empty() {
                head.push('\n');
            }
            head.push_str(k);
            head.push('\n');
            head.push_str(v);
        }
        let max = u32::try_from(out.max_bytes).unwrap_or(u32::MAX);
        let answer = JsFuture::from(outbound(out.method, &out.url, &head, out.body, out.timeout_ms, max))
            .await
            .map_err(|_| FetchError::Network)?;
        if let Some(kind) = answer.as_string() {
            return Err(match kind.as_str() {
                "timeout" => FetchError::Timeout,
                "too_large" => FetchError::TooLarge,
                _ => FetchError::Network,
            });
        }
        let parts = worker::js_sys::Array::from(&answer);
        let head = parts.get(0).as_string().ok_or(FetchError::Network)?;
        let body = worker::js_sys::Uint8Array::new(&parts.get(1)).to_vec();
        let mut lines = head.split('\n');
        let status = lines.next().and_then(|s| s.parse::<u16>().ok()).ok_or(FetchError::Network)?;
        let mut headers = Vec::new();
        while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
            headers.push((k.to_ascii_lowercase(), v.to_string()));
        }
        Ok(Inbound { status, headers, body })
    }
}
