//! The service: one request in, one reply out. Routes are resolved by [`crate::routes`]; every
//! error goes through [`AppError::into_reply`]. No runtime types here, so all of it runs natively.

use serde_json::json;

use crate::config::Config;
use crate::error::AppError;
use crate::http::{Reply, RequestInfo};
use crate::keys::{self, Key};
use crate::mcp::transport::{self, Endpoint};
use crate::pages;
use crate::routes::{is_mcp_path, resolve, Route};

pub fn handle(req: &RequestInfo, cfg: &Config) -> Reply {
    let mcp_message = is_mcp_path(req.url.path()) && matches!(req.method.as_str(), "POST" | "OPTIONS");
    let routed = if req.is_rebound(cfg.local_only) && !mcp_message {
        // The MCP endpoint answers this itself, in JSON-RPC form.
        Err(AppError::Forbidden { reason: "Host not allowed: locally this server answers only to localhost." })
    } else {
        resolve(&req.method, req.url.path())
    };
    match routed.and_then(|route| dispatch(route, req, cfg)) {
        Ok(reply) => reply,
        Err(e) => e.into_reply(req.wants_html()),
    }
}

fn dispatch(route: Route, req: &RequestInfo, cfg: &Config) -> Result<Reply, AppError> {
    let state_key = cfg.secret_key().map(|k| Key::derive(k.expose(), keys::REQUEST_STATE));
    let session_key = cfg.secret_key().map(|k| Key::derive(k.expose(), keys::SESSION));
    let endpoint = Endpoint {
        allowed_origins: &cfg.allowed_origins,
        caller: None,
        state_key: state_key.as_ref(),
        session_key: session_key.as_ref(),
        local_only: cfg.local_only,
    };
    Ok(match route {
        Route::Landing => Reply::html(200, pages::landing(&req.origin(), cfg)),
        Route::Health => health(cfg),
        Route::Mcp => transport::post(req, &endpoint),
        Route::Options { allow } if is_mcp_path(req.url.path()) => transport::preflight(req, &endpoint, allow),
        Route::Options { allow } => Reply::empty(204).with_header("allow", allow),
    })
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
    use url::Url;

    fn cfg() -> Config {
        Config::load(
            |n| match n {
                "DISCORD_CLIENT_ID" => Some("1".into()),
                "DISCORD_CLIENT_SECRET" => Some("2".into()),
                "SECRET_KEY" => Some("k".repeat(40)),
                _ => None,
            },
            true,
        )
    }

    fn get(path: &str, accept: &str) -> Reply {
        let url = Url::parse("http://127.0.0.1:8787").unwrap().join(path).unwrap();
        handle(&RequestInfo::new("GET", url, vec![("accept".into(), accept.into())]), &cfg())
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
    fn options_lists_methods() {
        let url = Url::parse("http://127.0.0.1:8787/health").unwrap();
        let r = handle(&RequestInfo::new("OPTIONS", url, vec![]), &cfg());
        assert_eq!(r.status, 204);
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
}
