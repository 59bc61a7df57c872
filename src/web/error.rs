//! Errors that end a request, and the one place they become responses.
//!
//! Each area has its own error type (configuration: [`ConfigError`]); they fold into
//! [`AppError`] with `From`, and [`AppError::into_reply`] is the single mapping to HTTP:
//! JSON in the RFC 6749 shape (`error`, `error_description`) for programs, an HTML page for a
//! person in a browser.

use serde_json::json;

use crate::rules::config::ConfigError;
use crate::rules::oauth::error::OAuthError;
use crate::web::http::Reply;
use crate::web::pages;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// No route for this path.
    NotFound { path: String },
    /// The path exists, but not for this method. `allow` lists the methods it answers.
    MethodNotAllowed { allow: String },
    /// A route needs settings that are missing or unusable.
    Config(ConfigError),
    /// Refused whoever asks (DNS rebinding in local development).
    Forbidden { reason: &'static str },
    /// Something that cannot happen did (no randomness); nothing internal is shown.
    Internal,
}

impl From<ConfigError> for AppError {
    fn from(e: ConfigError) -> Self {
        AppError::Config(e)
    }
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound { .. } => 404,
            AppError::MethodNotAllowed { .. } => 405,
            AppError::Config(_) => 500,
            AppError::Forbidden { .. } => 403,
            AppError::Internal => 500,
        }
    }

    /// The response for this error: HTML when the client prefers it, JSON otherwise.
    pub fn into_reply(self, html: bool) -> Reply {
        let status = self.status();
        let (code, title, message) = match &self {
            AppError::NotFound { .. } => (
                "not_found",
                "Page not found",
                "There is nothing at this address. The MCP endpoint is /mcp.".to_string(),
            ),
            AppError::MethodNotAllowed { allow } => {
                ("method_not_allowed", "Method not allowed", format!("This address answers only {allow}."))
            }
            AppError::Forbidden { reason } => ("forbidden", "Forbidden", reason.to_string()),
            AppError::Internal => (
                "server_error",
                "Something went wrong",
                "The server could not complete this request. Please try again.".to_string(),
            ),
            AppError::Config(e) => (
                "server_error",
                "Server not configured",
                format!(
                    "The server is not fully configured: {}.",
                    e.problems.iter().map(|p| p.describe()).collect::<Vec<_>>().join("; ")
                ),
            ),
        };

        let mut reply = if html {
            let details = match &self {
                AppError::Config(e) => {
                    let items: String = e
                        .problems
                        .iter()
                        .map(|p| {
                            format!(
                                "<li><strong>{}</strong>: {}.<br>Fix: <code>{}</code></li>",
                                pages::escape(p.name),
                                pages::escape(&p.describe()),
                                pages::escape(&p.fix())
                            )
                        })
                        .collect();
                    format!("<p>The operator can fix this:</p><ul>{items}</ul>")
                }
                _ => "<p><a href=\"/\">Go to the start page</a></p>".to_string(),
            };
            Reply::html(status, pages::error_page(title, &message, &details))
        } else {
            let mut body = json!({ "error": code, "error_description": message });
            if let AppError::Config(e) = &self {
                body["missing"] = e
                    .problems
                    .iter()
                    .map(|p| json!({ "name": p.name, "problem": p.describe(), "fix": p.fix() }))
                    .collect();
            }
            Reply::json(status, &body)
        };
        if let AppError::MethodNotAllowed { allow } = self {
            reply = reply.with_header("allow", allow);
        }
        reply
    }
}

/// RFC 6749 §5.2: JSON with `error` and `error_description`, never cached.
impl OAuthError {
    pub fn into_reply(self) -> Reply {
        let mut reply = Reply::json(self.status, &json!({ "error": self.code, "error_description": self.description }))
            .with_header("pragma", "no-cache");
        // RFC 6749 §5.2: a failed client authentication by HTTP Basic gets a challenge.
        if self.status == 401 && self.code == "invalid_client" {
            reply = reply.with_header("www-authenticate", "Basic realm=\"mcp-oauth-worker\"");
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oauth_errors_are_json_never_cached_with_a_basic_challenge_on_invalid_client() {
        let r = OAuthError::new("invalid_grant", "The code has expired").into_reply();
        assert_eq!(r.status, 400);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v, json!({"error": "invalid_grant", "error_description": "The code has expired"}));
        let c = OAuthError::new("invalid_client", "x").into_reply();
        assert_eq!((c.status, c.header("www-authenticate").is_some()), (401, true));
        assert_eq!(OAuthError::new("temporarily_unavailable", "x").status, 503);
    }

    use crate::rules::config::{Issue, Problem};

    fn config_error() -> AppError {
        AppError::Config(ConfigError {
            problems: vec![
                Problem { name: "SECRET_KEY", issue: Issue::TooShort { min: 32 } },
                Problem { name: "DISCORD_CLIENT_SECRET", issue: Issue::Missing },
            ],
        })
    }

    #[test]
    fn config_error_as_json_names_each_problem_and_fix() {
        let r = config_error().into_reply(false);
        assert_eq!(r.status, 500);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"], "server_error");
        assert_eq!(v["missing"][0]["name"], "SECRET_KEY");
        assert_eq!(
            v["missing"][1]["fix"],
            "npx wrangler secret put DISCORD_CLIENT_SECRET (locally: add it to .dev.vars)"
        );
        assert!(v["error_description"].as_str().unwrap().contains("SECRET_KEY is shorter than 32 characters"));
    }

    #[test]
    fn config_error_as_html_is_a_page_with_the_fix() {
        let r = config_error().into_reply(true);
        assert_eq!(r.status, 500);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
        assert!(r.body.contains("npx wrangler secret put DISCORD_CLIENT_SECRET"));
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let r = AppError::MethodNotAllowed { allow: "GET, HEAD".into() }.into_reply(false);
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"], "method_not_allowed");
    }

    #[test]
    fn not_found_in_both_forms() {
        let e = AppError::NotFound { path: "/nope".into() };
        assert_eq!(e.clone().into_reply(false).status, 404);
        let html = e.into_reply(true);
        assert!(html.body.contains("Page not found"));
    }
}
