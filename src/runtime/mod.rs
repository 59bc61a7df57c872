//! The only module that touches the Workers runtime: converts its request, environment and
//! response types to and from the pure ones in [`crate::web::http`] and [`crate::rules::config`], and
//! implements [`Platform`] over Workers KV and `fetch`.

// The benchmark's `floor` build answers before any of this runs.
#![cfg_attr(feature = "floor", allow(dead_code, unused_imports))]

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, web_sys, Context, Date, Delay, Env, Fetch, Headers, KvStore, Request, Response, Result};

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
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Ok(Response::builder().with_status(200).fixed(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec()))
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
export async function verify_jws(alg, jwk, data, sig) {
  try {
    const ec = alg === "ES256";
    const params = ec ? { name: "ECDSA", namedCurve: "P-256" } : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
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

/// Workers KV, with the limits KV enforces checked before any call.
struct Kv(KvStore);

impl Store for Kv {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        check_key(key)?;
        self.0.get(key).text().await.map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> std::result::Result<(), StoreError> {
        check_key(key)?;
        let mut put = self.0.put_bytes(key, value.as_bytes()).map_err(|e| StoreError::Backend(e.to_string()))?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(storage_ttl(ttl));
        }
        put.execute().await.map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn delete(&self, key: &str) -> std::result::Result<(), StoreError> {
        check_key(key)?;
        self.0.delete(key).await.map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
    ) -> std::result::Result<(Vec<String>, Option<String>), StoreError> {
        check_key(prefix)?;
        let mut list = self.0.list().prefix(prefix.to_string());
        if let Some(c) = cursor {
            list = list.cursor(c.to_string());
        }
        let page = list.execute().await.map_err(|e| StoreError::Backend(e.to_string()))?;
        let next = if page.list_complete { None } else { page.cursor };
        Ok((page.keys.into_iter().map(|k| k.name).collect(), next))
    }
}

/// The Workers Rate Limiting binding (`[[ratelimits]]` in `wrangler.toml`), when bound.
const RATE_LIMITER: &str = "RATE_LIMITER";

/// The bindings, looked up on first use: `env.kv()` alone is a dozen crossings (the namespace
/// and five of its methods), and most requests (every MCP call) never touch KV or the limiter.
struct WorkerPlatform {
    env: Env,
    kv: OnceCell<Option<Kv>>,
    limiter: OnceCell<Option<worker::RateLimiter>>,
}

impl Platform for WorkerPlatform {
    type Kv = Kv;

    fn kv(&self) -> Option<&Kv> {
        self.kv.get_or_init(|| self.env.kv(KV_BINDING).ok().map(Kv)).as_ref()
    }

    async fn within_rate(&self, key: &str) -> bool {
        match self.limiter.get_or_init(|| self.env.rate_limiter(RATE_LIMITER).ok()) {
            Some(l) => l.limit(key.to_string()).await.map(|o| o.success).unwrap_or(true),
            None => true,
        }
    }

    async fn cache_get(&self, key: &str) -> Option<String> {
        let mut hit = worker::Cache::default().get(key, false).await.ok()??;
        hit.text().await.ok()
    }

    async fn cache_put(&self, key: &str, value: &str, ttl_seconds: u64) {
        let headers = Headers::new();
        let _ = headers.set("cache-control", &format!("public, max-age={ttl_seconds}"));
        let response = Response::builder().with_headers(headers).fixed(value.as_bytes().to_vec());
        let _ = worker::Cache::default().put(key, response).await;
    }

    /// WebCrypto: RSA and ECDSA at native speed, and no wasm for them (docs/performance.md).
    async fn verify_signature(
        &self,
        alg: crate::rules::oauth::assertion::Alg,
        jwk: &str,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let promise = verify_jws(alg.as_str(), jwk, message.to_vec(), signature.to_vec());
        JsFuture::from(promise).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
    }

    async fn fetch(&self, out: Outbound) -> std::result::Result<Inbound, FetchError> {
        let headers = Headers::new();
        for (k, v) in &out.headers {
            headers.set(k, v).map_err(|_| FetchError::Network)?;
        }
        let abort = worker::AbortController::default();
        // web_sys's init, not worker's: converting `worker::RequestInit` links the whole `cf`
        // options serialiser (image resizing, polish), about 8 KB of wasm this never sets.
        let init = web_sys::RequestInit::new();
        init.set_method(out.method);
        init.set_headers(headers.as_ref());
        init.set_redirect(web_sys::RequestRedirect::Manual);
        if let Some(body) = out.body {
            init.set_body(&worker::wasm_bindgen::JsValue::from(body));
        }
        let request = web_sys::Request::new_with_str_and_init(&out.url, &init).map_err(|_| FetchError::Network)?;
        let request = Request::from(request);
        let signal = abort.signal();
        // One deadline around the whole exchange, body included: a drip-fed or endless body
        // fails like a host that never answers.
        let exchange = std::pin::pin!(exchange(Fetch::Request(request), &signal, out.max_bytes));
        let timeout = std::pin::pin!(Delay::from(Duration::from_millis(u64::from(out.timeout_ms))));
        match select(exchange, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                abort.abort();
                Err(FetchError::Timeout)
            }
        }
    }
}

/// Sends the request and reads the body as a stream, failing as soon as it exceeds `max_bytes`.
async fn exchange(
    call: Fetch,
    signal: &worker::AbortSignal,
    max_bytes: usize,
) -> std::result::Result<Inbound, FetchError> {
    let mut response = call.send_with_signal(signal).await.map_err(|_| FetchError::Network)?;
    let declared = response.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > max_bytes) {
        return Err(FetchError::TooLarge);
    }
    let headers = response.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let status = response.status_code();
    let mut body = Vec::new();
    // A response without a body (204, 304) has no stream.
    if let Ok(mut stream) = response.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| FetchError::Network)?;
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(Inbound { status, headers, body })
}
