//! The service: one request in, one reply out. Routes are resolved by [`crate::service::routes`]; every
//! error goes through [`AppError::into_reply`]. No runtime types here: storage and outbound
//! HTTP come through [`Platform`], so all of it runs natively too.

pub mod routes;

use serde_json::json;

use crate::rules::config::Config;
use crate::rules::mcp::tool::Caller;
use crate::rules::platform::Platform;
use crate::service::routes::{is_mcp_path, is_open_to_browsers, resolve, Route};
use crate::web::apps;
use crate::web::error::AppError;
use crate::web::http::{Reply, RequestInfo};
use crate::web::io::PlatformIo;
use crate::web::mcp::{self, Endpoint};
use crate::web::pages;
use crate::web::{authorize, bearer, callback, discovery};
use crate::web::{events, revoke, token};

pub async fn handle<P: Platform>(req: &RequestInfo, cfg: &Config, platform: &P) -> Reply {
    let mcp_message = is_mcp_path(req.url.path()) && matches!(req.method.as_str(), "POST" | "OPTIONS");
    let routed = if req.is_rebound(cfg.local_only) && !mcp_message {
        // The MCP endpoint answers this itself, in JSON-RPC form.
        Err(AppError::Forbidden { reason: "Host not allowed: locally this server answers only to localhost." })
    } else {
        resolve(&req.method, req.url.path())
    };
    if let Ok(route) = &routed {
        req.note(|n| n.route = route.name());
    }
    let result = match routed {
        Ok(route) => match rate_bucket(route) {
            Some(bucket) if !platform.within_rate(&rate_key(bucket, req)).await => Ok(too_many(route, req)),
            _ => dispatch(route, req, cfg, platform).await,
        },
        Err(e) => Err(e),
    };
    let mut reply = match result {
        Ok(reply) => reply,
        Err(e) => e.into_reply(req.wants_html()),
    };
    if is_open_to_browsers(req.url.path()) && reply.header("access-control-allow-origin").is_none() {
        reply = reply.with_header("access-control-allow-origin", "*");
    }
    annotate(req, reply)
}

/// Gives a failed request's reply its request id (a person can quote it from the page) and
/// its error code to the log line.
fn annotate(req: &RequestInfo, mut reply: Reply) -> Reply {
    if reply.status < 400 {
        return reply;
    }
    let html = reply.header("content-type").is_some_and(|t| t.starts_with("text/html"));
    if html && !req.request_id.is_empty() {
        let id = pages::escape(&req.request_id);
        reply.body = reply.body.replacen("<footer>", &format!("<footer>Request id <code>{id}</code> · "), 1);
    } else if req.notes.borrow().error.is_none() && reply.body.len() <= 4096 {
        // OAuth errors name the code in `error`, JSON-RPC errors in `error.code`.
        let code =
            serde_json::from_slice::<serde_json::Value>(reply.body.as_bytes()).ok().and_then(|v| match &v["error"] {
                serde_json::Value::String(s) => Some(s.clone()),
                e => e.get("code").map(|c| c.to_string()),
            });
        req.note(|n| n.error = code);
    }
    reply
}

async fn dispatch<P: Platform>(route: Route, req: &RequestInfo, cfg: &Config, platform: &P) -> Result<Reply, AppError> {
    Ok(match route {
        Route::Landing => Reply::html(200, pages::landing(&req.origin(), cfg)),
        Route::Health => health(cfg),
        Route::Mcp => mcp(req, cfg, platform).await?,
        Route::Options { allow } if is_mcp_path(req.url.path()) => mcp::preflight(req, &endpoint(cfg, None), allow),
        Route::Options { allow } if is_open_to_browsers(req.url.path()) => Reply::empty(204)
            .with_header("allow", allow)
            .with_header("access-control-allow-methods", allow)
            .with_header("access-control-allow-headers", "authorization, content-type, mcp-protocol-version")
            .with_header("access-control-max-age", "86400"),
        Route::Options { allow } => Reply::empty(204).with_header("allow", allow),
        Route::ProtectedResource { resource_path } => discovery::protected_resource(req, resource_path),
        Route::AuthorizationServer => discovery::authorization_server(req, cfg),
        Route::Register => discovery::register(req, cfg, cfg.auth_keys()?),
        Route::Authorize => {
            let secrets = cfg.secrets()?;
            authorize::authorize(req, cfg, &secrets, cfg.auth_keys()?, platform).await
        }
        Route::Decide => {
            let secrets = cfg.secrets()?;
            authorize::decide(req, cfg, &secrets, cfg.auth_keys()?)
        }
        // One redirect URI at Discord for both logins; the sealed cookie of a connected-apps
        // login says which one an answer belongs to.
        Route::DiscordCallback => {
            let secrets = cfg.secrets()?;
            let keys = cfg.auth_keys()?;
            if apps::owns_callback(req, keys) {
                apps::callback(req, cfg, &secrets, platform, keys).await
            } else {
                callback::callback(req, cfg, &secrets, keys, platform).await
            }
        }
        Route::Token => {
            let secrets = cfg.secrets()?;
            token::token(req, cfg, &secrets, cfg.auth_keys()?, platform).await
        }
        Route::Revoke => {
            let secrets = cfg.secrets()?;
            revoke::revoke(req, cfg, &secrets, cfg.auth_keys()?, platform).await
        }
        Route::Introspect => revoke::introspect(req, cfg, cfg.auth_keys()?, platform).await,
        Route::Apps => {
            cfg.secrets()?;
            apps::show(req, cfg.auth_keys()?, platform).await
        }
        Route::AppsAction => {
            let secrets = cfg.secrets()?;
            apps::act(req, cfg, &secrets, cfg.auth_keys()?, platform).await
        }
        Route::AppsLogin => {
            let secrets = cfg.secrets()?;
            apps::login(req, cfg, &secrets, cfg.auth_keys()?)
        }
        Route::DiscordEvents => {
            let secrets = cfg.secrets()?;
            events::events(req, cfg, &secrets, cfg.auth_keys()?, platform).await
        }
    })
}

/// Endpoints whose cost is bounded per client address: registration, the authorization
/// request (which may fetch a metadata document), the token endpoint, the Discord callback
/// (each one a Discord token exchange, and a pending-login cookie can be replayed with bogus
/// codes) and the connected apps page (a KV list per load). MCP tool calls that spend KV or
/// Discord are bounded per grant instead (`tools::discord`).
fn rate_bucket(route: Route) -> Option<&'static str> {
    match route {
        Route::Register => Some("register"),
        Route::Authorize | Route::Decide | Route::AppsLogin | Route::AppsAction => Some("authorize"),
        Route::Token | Route::Revoke | Route::Introspect => Some("token"),
        Route::DiscordCallback => Some("redirect"),
        Route::Apps => Some("apps"),
        _ => None,
    }
}

fn rate_key(bucket: &str, req: &RequestInfo) -> String {
    format!("{bucket}:{}", caller(req))
}

/// The address every Cloudflare Worker's request to another zone comes from (Cloudflare's
/// documentation of `CF-Connecting-IP` for Worker subrequests).
const WORKERS_EGRESS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2a06, 0x98c0, 0x3600, 0, 0, 0, 0, 0x103);

/// Who a request is counted as. Cloudflare sets `CF-Connecting-IP` at the edge; a client cannot
/// choose it there. Two cases would put many callers in one bucket:
/// - every Worker-hosted client shares the Workers egress address: such requests are counted
///   by their `CF-Worker` header (the calling zone, which Cloudflare sets), trusted only with
///   that address, so that no other caller can pick a bucket by sending the header;
/// - with Pseudo IPv4 on, `CF-Connecting-IP` holds a substitute in 240.0.0.0/4 and the real
///   address is in `CF-Connecting-IPv6`, which is used then and only then.
fn caller(req: &RequestInfo) -> String {
    let ip = req.header("cf-connecting-ip").unwrap_or("local");
    let parsed = ip.trim().parse::<std::net::IpAddr>().ok();
    match parsed {
        Some(std::net::IpAddr::V6(v6)) if v6 == WORKERS_EGRESS => match req.header("cf-worker") {
            Some(zone) => format!("worker:{}", zone.trim().chars().take(100).collect::<String>()),
            None => caller_network(ip),
        },
        Some(std::net::IpAddr::V4(v4)) if v4.octets()[0] >= 240 => {
            caller_network(req.header("cf-connecting-ipv6").unwrap_or(ip))
        }
        _ => caller_network(ip),
    }
}

/// The unit a caller is counted by: an IPv4 address, or an IPv6 /64 (one subscriber gets a
/// whole /64, so counting full addresses would give one caller 2^64 buckets).
fn caller_network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.chars().take(64).collect(),
    }
}

/// `429` in the form the caller reads: a page for a person, OAuth JSON for a client.
fn too_many(route: Route, req: &RequestInfo) -> Reply {
    let reply = if matches!(
        route,
        Route::Authorize | Route::Decide | Route::AppsLogin | Route::AppsAction | Route::Apps | Route::DiscordCallback
    ) || req.wants_html()
    {
        Reply::html(
            429,
            pages::error_page(
                "Too many requests",
                "Too many login attempts came from your network. Wait a minute, then try again.",
                "",
            ),
        )
    } else {
        crate::rules::oauth::error::OAuthError {
            code: "temporarily_unavailable",
            description: "too many requests from this address; retry after a minute".into(),
            status: 429,
        }
        .into_reply()
    };
    reply.with_header("retry-after", "60")
}

fn endpoint<'a>(cfg: &'a Config, caller: Option<&'a Caller>) -> Endpoint<'a> {
    let (state_key, session_key) = cfg.mcp_keys();
    Endpoint {
        allowed_origins: &cfg.allowed_origins,
        caller,
        state_key,
        session_key,
        local_only: cfg.local_only,
        io: None,
        tools: crate::tools::registry(),
    }
}

/// `POST /mcp`: bearer authentication, then the MCP transport. The conformance build, whose
/// suite cannot log in, serves without it.
async fn mcp<P: Platform>(req: &RequestInfo, cfg: &Config, platform: &P) -> Result<Reply, AppError> {
    if cfg!(feature = "conformance") {
        return Ok(mcp::post(req, &endpoint(cfg, None)).await);
    }
    let auth_keys = cfg.auth_keys()?;
    // Origin and rebinding checks come first, so a refused page learns nothing more.
    if let Err(reply) = mcp::check_origin(req, &cfg.allowed_origins, cfg.local_only) {
        return Ok(reply);
    }
    let caller = match bearer::authenticate(req, auth_keys) {
        Ok(c) => {
            req.note(|n| {
                n.client_id = Some(c.client_id.clone());
                n.user = Some(c.user_id.clone());
            });
            c
        }
        Err(reply) => return Ok(mcp::with_cors(reply, req.header("origin"), req)),
    };
    let io = PlatformIo { cfg, platform, now_ms: req.now_ms as i64 };
    let ep = Endpoint { io: Some(&io), ..endpoint(cfg, Some(&caller)) };
    Ok(mcp::post(req, &ep).await)
}

/// Liveness plus configuration state. Always `200` while the Worker runs, so a platform health
/// check does not flap on a missing secret; `configured` and `missing` tell the operator.
fn health(cfg: &Config) -> Reply {
    let missing: Vec<&str> = cfg.problems().iter().map(|p| p.name).collect();
    Reply::json(
        200,
        &json!({
            "status": "ok",
            "name": crate::NAME,
            "version": crate::VERSION,
            "configured": cfg.is_complete(),
            "missing": missing,
            "discord": if cfg.discord_is_local { "local stand-in" } else { "discord" },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::platform::block_on;
    use crate::testing::{config as cfg, Fake};
    use url::Url;

    fn send(req: RequestInfo) -> Reply {
        block_on(handle(&req, &cfg(), &Fake::default()))
    }

    fn get(path: &str, accept: &str) -> Reply {
        let url = Url::parse("http://127.0.0.1:8787").unwrap().join(path).unwrap();
        send(RequestInfo::new("GET", url, vec![("accept".into(), accept.into())]))
    }

    #[test]
    fn worker_hosted_clients_and_pseudo_ipv4_callers_get_their_own_buckets() {
        let req = |headers: &[(&str, &str)]| {
            let h = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            RequestInfo::new("POST", Url::parse("https://mcp.example/token").unwrap(), h)
        };
        let egress = ("cf-connecting-ip", "2a06:98c0:3600::103");
        let a = rate_key("token", &req(&[egress, ("cf-worker", "client-a.example")]));
        let b = rate_key("token", &req(&[egress, ("cf-worker", "client-b.example")]));
        assert_eq!(a, "token:worker:client-a.example");
        assert_ne!(a, b, "two Worker-hosted clients, two buckets");
        // The header counts only from the Workers egress address: anyone else sending it keeps
        // their address's bucket and cannot pick a fresh one.
        let spoof = |zone| rate_key("token", &req(&[("cf-connecting-ip", "203.0.113.7"), ("cf-worker", zone)]));
        assert_eq!(spoof("x"), spoof("y"));
        assert_eq!(spoof("x"), "token:203.0.113.7");
        // Pseudo IPv4: the real address is in CF-Connecting-IPv6, counted per /64.
        let pseudo = |v6| rate_key("t", &req(&[("cf-connecting-ip", "240.16.0.1"), ("cf-connecting-ipv6", v6)]));
        assert_eq!(pseudo("2001:db8:1:2::9"), "t:2001:db8:1:2::/64");
        assert_ne!(pseudo("2001:db8:1:2::9"), pseudo("2001:db8:7:7::9"));
        // Otherwise CF-Connecting-IPv6 is not read: a client could choose it.
        let plain = |v6| rate_key("t", &req(&[("cf-connecting-ip", "203.0.113.7"), ("cf-connecting-ipv6", v6)]));
        assert_eq!(plain("2001:db8:1:2::9"), plain("2001:db8:7:7::9"));
    }

    #[test]
    fn callers_are_counted_by_address_or_ipv6_slash_64() {
        assert_eq!(caller_network("203.0.113.7"), "203.0.113.7");
        let a = caller_network("2001:db8:aa:bb:1:2:3:4");
        assert_eq!(a, "2001:db8:aa:bb::/64");
        assert_eq!(caller_network("2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff"), a, "same /64, same bucket");
        assert_ne!(caller_network("2001:db8:aa:bc::1"), a, "another /64");
        assert_eq!(caller_network("::ffff:203.0.113.7"), "203.0.113.7", "v4-mapped counts as its v4 address");
        assert_eq!(caller_network("local"), "local");
        assert_eq!(caller_network(&"x".repeat(500)).len(), 64);
    }

    #[test]
    fn the_callback_and_the_apps_page_are_rate_limited() {
        for route in [Route::DiscordCallback, Route::Apps, Route::Register, Route::Token, Route::Authorize] {
            assert!(rate_bucket(route).is_some(), "{route:?}");
        }
        assert_eq!(rate_bucket(Route::Mcp), None, "bounded per grant by the tools that spend");
    }

    #[test]
    fn health_reports_version_and_configuration() {
        let r = get("/health", "*/*");
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["version"], crate::VERSION);
        assert_eq!(v["configured"], true);
        assert_eq!(v["missing"], json!([]));
    }

    #[test]
    fn landing_is_html_with_the_mcp_url() {
        let r = get("/", "*/*");
        assert_eq!(r.status, 200);
        assert!(r.body.contains("http://127.0.0.1:8787/mcp"));
        assert!(r.header("content-security-policy").is_some());
    }

    #[test]
    fn unknown_path_follows_accept() {
        let json = get("/missing", "application/json");
        assert_eq!(json.status, 404);
        assert_eq!(json.header("content-type"), Some("application/json"));
        let html = get("/missing", "text/html");
        assert_eq!(html.status, 404);
        assert!(html.header("content-type").unwrap().starts_with("text/html"));
    }

    #[test]
    fn browser_clients_may_call_the_oauth_endpoints_from_their_own_origin() {
        let url = Url::parse("http://127.0.0.1:8787/register").unwrap();
        let headers = vec![("origin".into(), "https://app.example".into())];
        let pre = send(RequestInfo::new("OPTIONS", url.clone(), headers.clone()));
        assert_eq!(pre.status, 204);
        assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
        assert!(pre.header("access-control-allow-headers").is_some_and(|h| h.contains("content-type")));
        // An error is readable too, so the client can show why it failed.
        let refused = send(RequestInfo::new("POST", url, headers));
        assert_eq!(refused.status, 400);
        assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
        let apps = send(RequestInfo::new("OPTIONS", Url::parse("http://127.0.0.1:8787/apps").unwrap(), vec![]));
        assert_eq!(apps.header("access-control-allow-origin"), None, "pages with cookies stay closed");
    }

    #[test]
    fn options_lists_methods() {
        let url = Url::parse("http://127.0.0.1:8787/health").unwrap();
        let r = send(RequestInfo::new("OPTIONS", url, vec![]));
        assert_eq!(r.status, 204);
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }

    #[test]
    fn mcp_without_a_token_is_401_with_discovery() {
        let url = Url::parse("http://127.0.0.1:8787/mcp").unwrap();
        let req = RequestInfo::new("POST", url, vec![("content-type".into(), "application/json".into())]);
        let r = send(req);
        if cfg!(feature = "conformance") {
            return;
        }
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer resource_metadata=\"http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp\", scope=\"mcp profile\"")
        );
    }

    #[test]
    fn routes_that_need_secrets_say_which_are_missing() {
        let url = Url::parse("http://127.0.0.1:8787/authorize").unwrap();
        let req = RequestInfo::new("GET", url, vec![("accept".into(), "text/html".into())]);
        let r = block_on(handle(&req, &Config::load(|_| None, true), &Fake::default()));
        assert_eq!(r.status, 500);
        assert!(r.body.contains("npx wrangler secret put SECRET_KEY"));
    }
}
