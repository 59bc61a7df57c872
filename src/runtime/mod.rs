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

#[cfg(not(feature = "floor"))]
#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<Response> {
    let head = raw.method() == "HEAD";
    let started = Date::now().as_millis();
    let reply = match request_info(raw).await {
        Some(mut info) => {
            info.request_id = crate::web::log::request_id(info.header("cf-ray"), &fallback_request_id());
            let platform =
                WorkerPlatform { kv: env.kv(KV_BINDING).ok().map(Kv), limiter: env.rate_limiter(RATE_LIMITER).ok() };
            let kv_bound = platform.kv.is_some();
            // Variables and secrets are fixed for an isolate's life: read and validate them
            // once, with the keys derived from them (see `Config`), not on every request.
            let cfg = CONFIG.with(|c| {
                c.get_or_init(|| Rc::new(Config::load(|name| env.var(name).ok().map(|v| v.to_string()), kv_bound)))
                    .clone()
            });
            let reply = crate::service::handle(&info, &cfg, &platform).await;
            // Workers clocks advance only across I/O, so this is time spent waiting on KV,
            // Discord and the body, not CPU time.
            let elapsed = Date::now().as_millis().saturating_sub(started);
            worker::console_log!("{}", crate::web::log::line(&info, reply.status, elapsed));
            reply.with_header("x-request-id", info.request_id.clone())
        }
        // The runtime always hands us an absolute URL; this only guards against the impossible.
        None => Reply::empty(400),
    };
    Ok(to_response(reply, head).unwrap_or_else(|_| internal_error()))
}

/// A request id when Cloudflare gave none (`wrangler dev`, tests).
fn fallback_request_id() -> String {
    crate::rules::keys::random::<8>().map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_default()
}

/// The runtime's request, read directly: `worker::Request`'s conversion reads the `cf` object
/// on every request, which was 4–8 % of the CPU (`npm run bench -- --profile`) for a value
/// this Worker never uses.
async fn request_info(raw: web_sys::Request) -> Option<RequestInfo> {
    let url = worker::Url::parse(&raw.url()).ok()?;
    let method = raw.method();
    let headers = Headers(raw.headers());
    let info = RequestInfo::new(&method, url, headers.entries().collect()).with_now(Date::now().as_millis());
    if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        return Some(info);
    }
    Some(info.with_body(read_body(raw, &headers).await))
}

/// Reads the body up to [`MAX_BODY_BYTES`]; stops as soon as it is exceeded.
async fn read_body(raw: web_sys::Request, headers: &Headers) -> Body {
    let declared = headers.get("content-length").ok().flatten().and_then(|l| l.parse::<u64>().ok());
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

fn to_response(reply: Reply, head: bool) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.append(name, value)?;
    }
    let builder = Response::builder().with_status(reply.status).with_headers(headers);
    // A body on 204/304 or on a HEAD answer makes the runtime throw.
    if head || reply.body.is_empty() || matches!(reply.status, 204 | 304) {
        Ok(builder.empty())
    } else {
        Ok(builder.fixed(reply.body.into_bytes()))
    }
}

fn internal_error() -> Response {
    let fallback = Response::builder()
        .with_status(500)
        .fixed(br#"{"error":"server_error","error_description":"internal error"}"#.to_vec());
    let _ = fallback.headers().set("content-type", "application/json");
    fallback
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

struct WorkerPlatform {
    kv: Option<Kv>,
    limiter: Option<worker::RateLimiter>,
}

impl Platform for WorkerPlatform {
    type Kv = Kv;

    fn kv(&self) -> Option<&Kv> {
        self.kv.as_ref()
    }

    async fn within_rate(&self, key: &str) -> bool {
        match &self.limiter {
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
