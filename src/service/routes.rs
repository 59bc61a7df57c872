//! The route table: every path the Worker answers, and which methods, in one place.
//! `GET` routes answer `HEAD` too, and every known path answers `OPTIONS` with its `Allow`.

use crate::web::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Landing,
    Health,
    /// `POST /mcp` and its alias `POST /`.
    Mcp,
    /// RFC 9728 metadata; the resource path it describes.
    ProtectedResource {
        resource_path: &'static str,
    },
    AuthorizationServer,
    Register,
    Authorize,
    Decide,
    DiscordCallback,
    Token,
    Revoke,
    Introspect,
    /// The connected apps page, its form, and its Discord login.
    Apps,
    AppsAction,
    AppsLogin,
    /// Discord's webhook events (`DISCORD_PUBLIC_KEY`).
    DiscordEvents,
    /// `OPTIONS` on a known path: `204` with `Allow`.
    Options {
        allow: &'static str,
    },
}

impl Route {
    /// The route's name in log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Landing => "landing",
            Route::Health => "health",
            Route::Mcp => "mcp",
            Route::ProtectedResource { .. } => "protected_resource_metadata",
            Route::AuthorizationServer => "authorization_server_metadata",
            Route::Register => "register",
            Route::Authorize => "authorize",
            Route::Decide => "consent",
            Route::DiscordCallback => "discord_callback",
            Route::Token => "token",
            Route::Revoke => "revoke",
            Route::Introspect => "introspect",
            Route::Apps => "apps",
            Route::AppsAction => "apps_action",
            Route::AppsLogin => "apps_login",
            Route::DiscordEvents => "discord_events",
            Route::Options { .. } => "preflight",
        }
    }
}

/// Path, the `Allow` value for it, and its handlers by method.
type Entry = (&'static str, &'static str, &'static [(&'static str, Route)]);

const TABLE: &[Entry] = &[
    // Some clients post MCP messages to the base URL; browsers get the landing page.
    ("/", "GET, HEAD, POST, OPTIONS", &[("GET", Route::Landing), ("POST", Route::Mcp)]),
    ("/mcp", "POST, OPTIONS", &[("POST", Route::Mcp)]),
    ("/health", "GET, HEAD, OPTIONS", &[("GET", Route::Health)]),
    (
        "/.well-known/oauth-protected-resource",
        "GET, HEAD, OPTIONS",
        &[("GET", Route::ProtectedResource { resource_path: "/" })],
    ),
    (
        "/.well-known/oauth-protected-resource/mcp",
        "GET, HEAD, OPTIONS",
        &[("GET", Route::ProtectedResource { resource_path: "/mcp" })],
    ),
    ("/.well-known/oauth-authorization-server", "GET, HEAD, OPTIONS", &[("GET", Route::AuthorizationServer)]),
    ("/register", "POST, OPTIONS", &[("POST", Route::Register)]),
    ("/authorize", "GET, HEAD, POST, OPTIONS", &[("GET", Route::Authorize), ("POST", Route::Decide)]),
    // The callback path existing Discord applications are configured with.
    ("/redirect", "GET, HEAD, OPTIONS", &[("GET", Route::DiscordCallback)]),
    ("/token", "POST, OPTIONS", &[("POST", Route::Token)]),
    ("/revoke", "POST, OPTIONS", &[("POST", Route::Revoke)]),
    ("/introspect", "POST, OPTIONS", &[("POST", Route::Introspect)]),
    ("/apps", "GET, HEAD, POST, OPTIONS", &[("GET", Route::Apps), ("POST", Route::AppsAction)]),
    ("/apps/login", "GET, HEAD, OPTIONS", &[("GET", Route::AppsLogin)]),
    ("/discord/events", "POST, OPTIONS", &[("POST", Route::DiscordEvents)]),
];

/// Paths that serve the MCP endpoint (their `OPTIONS` is a CORS preflight).
pub fn is_mcp_path(path: &str) -> bool {
    matches!(path, "/" | "/mcp")
}

/// The OAuth endpoints a browser-based client calls from its own origin (discovery,
/// registration, token, revocation, introspection). They read no cookie, so every origin may
/// call them and read the answer, errors included.
pub fn is_open_to_browsers(path: &str) -> bool {
    matches!(
        path,
        "/register"
            | "/token"
            | "/revoke"
            | "/introspect"
            | "/.well-known/oauth-authorization-server"
            | "/.well-known/oauth-protected-resource"
            | "/.well-known/oauth-protected-resource/mcp"
    )
}

/// Finds the handler for a method and path; the path must match exactly.
pub fn resolve(method: &str, path: &str) -> Result<Route, AppError> {
    let Some((_, allow, handlers)) = TABLE.iter().find(|(p, _, _)| *p == path) else {
        return Err(AppError::NotFound { path: path.to_string() });
    };
    let method = if method == "HEAD" { "GET" } else { method };
    if method == "OPTIONS" {
        return Ok(Route::Options { allow });
    }
    handlers
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, r)| *r)
        .ok_or_else(|| AppError::MethodNotAllowed { allow: allow.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routes() {
        assert_eq!(resolve("GET", "/"), Ok(Route::Landing));
        assert_eq!(resolve("POST", "/"), Ok(Route::Mcp));
        assert_eq!(resolve("POST", "/mcp"), Ok(Route::Mcp));
        assert_eq!(resolve("GET", "/mcp"), Err(AppError::MethodNotAllowed { allow: "POST, OPTIONS".into() }));
        assert_eq!(
            resolve("DELETE", "/"),
            Err(AppError::MethodNotAllowed { allow: "GET, HEAD, POST, OPTIONS".into() })
        );
        assert_eq!(resolve("HEAD", "/health"), Ok(Route::Health));
        assert_eq!(resolve("OPTIONS", "/health"), Ok(Route::Options { allow: "GET, HEAD, OPTIONS" }));
    }

    #[test]
    fn unknown_paths_and_methods() {
        assert!(matches!(resolve("GET", "/nope"), Err(AppError::NotFound { .. })));
        assert!(matches!(resolve("GET", "/health/"), Err(AppError::NotFound { .. })));
        assert!(matches!(resolve("GET", "/HEALTH"), Err(AppError::NotFound { .. })));
        assert_eq!(resolve("POST", "/health"), Err(AppError::MethodNotAllowed { allow: "GET, HEAD, OPTIONS".into() }));
        assert!(matches!(resolve("get", "/"), Err(AppError::MethodNotAllowed { .. })));
    }

    #[test]
    fn every_allow_header_matches_its_handlers() {
        for (path, allow, handlers) in TABLE {
            for (m, _) in *handlers {
                assert!(allow.split(", ").any(|a| a == *m), "{path} {m}");
            }
            for a in allow.split(", ") {
                assert!(resolve(a, path).is_ok(), "{path} {a}");
            }
        }
    }
}
