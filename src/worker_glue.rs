//! The only module that touches the Workers runtime: converts its request, environment and
//! response types to and from the pure ones in [`crate::http`] and [`crate::config`].

use futures_util::StreamExt;
use worker::{event, Context, Date, Env, Headers, Method, Request, Response, Result};

use crate::config::{Config, KV_BINDING};
use crate::http::{Body, Reply, RequestInfo, MAX_BODY_BYTES};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let head = req.method() == Method::Head;
    let reply = match request_info(&mut req).await {
        Some(info) => {
            let kv_bound = env.kv(KV_BINDING).is_ok();
            let cfg = Config::load(|name| env.var(name).ok().map(|v| v.to_string()), kv_bound);
            crate::app::handle(&info, &cfg)
        }
        // The runtime always hands us an absolute URL; this only guards against the impossible.
        None => Reply::empty(400),
    };
    Ok(to_response(reply, head).unwrap_or_else(|_| internal_error()))
}

async fn request_info(req: &mut Request) -> Option<RequestInfo> {
    let url = req.url().ok()?;
    let headers = req.headers().entries().collect();
    let method = req.method();
    let info = RequestInfo::new(method.as_ref(), url, headers).with_now(Date::now().as_millis());
    if matches!(method, Method::Get | Method::Head | Method::Options) {
        return Some(info);
    }
    Some(info.with_body(read_body(req).await))
}

/// Reads the body up to [`MAX_BODY_BYTES`]; stops as soon as it is exceeded.
async fn read_body(req: &mut Request) -> Body {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<u64>().ok());
    if declared.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
        return Body::TooLarge;
    }
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
        headers.set(name, value)?;
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
