//! The only module that touches the Workers runtime: converts its request, environment and
//! response types to and from the pure ones in [`crate::http`] and [`crate::config`].

use worker::{event, Context, Env, Headers, Request, Response, Result};

use crate::config::{Config, KV_BINDING};
use crate::http::{Reply, RequestInfo};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let head = req.method() == worker::Method::Head;
    let reply = match request_info(&req) {
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

fn request_info(req: &Request) -> Option<RequestInfo> {
    let url = req.url().ok()?;
    let headers = req.headers().entries().collect();
    Some(RequestInfo::new(req.method().as_ref(), url, headers))
}

fn to_response(reply: Reply, head: bool) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    let builder = Response::builder()
        .with_status(reply.status)
        .with_headers(headers);
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
