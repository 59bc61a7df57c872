//! OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3) and their one mapping to
//! responses: JSON with `error` and `error_description`, never cached.

use serde_json::json;

use crate::web::http::Reply;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The registered error code, e.g. `invalid_grant`.
    pub code: &'static str,
    pub description: String,
    pub status: u16,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        let status = match code {
            "invalid_client" | "invalid_token" => 401,
            "insufficient_scope" | "access_denied" => 403,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        };
        OAuthError { code, description: description.into(), status }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", description)
    }

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

/// The error redirect of an authorization request: `error`, `error_description`, `state` and
/// `iss` (RFC 9207) appended to a redirect URI that was already validated for the client.
pub fn error_redirect(
    redirect_uri: &url::Url,
    code: &str,
    description: &str,
    state: Option<&str>,
    iss: &str,
) -> String {
    let mut url = redirect_uri.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", code).append_pair("error_description", description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", iss);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_status_and_headers() {
        let r = OAuthError::new("invalid_grant", "The code has expired").into_reply();
        assert_eq!(r.status, 400);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v, json!({"error": "invalid_grant", "error_description": "The code has expired"}));
        let c = OAuthError::new("invalid_client", "x").into_reply();
        assert_eq!((c.status, c.header("www-authenticate").is_some()), (401, true));
        assert_eq!(OAuthError::new("temporarily_unavailable", "x").status, 503);
    }

    #[test]
    fn error_redirect_encodes_every_value() {
        let base = url::Url::parse("https://app.example/cb?keep=1").unwrap();
        let to = error_redirect(
            &base,
            "access_denied",
            "The person said no",
            Some("s&x=1\r\nSet-Cookie: a"),
            "https://mcp.example",
        );
        let parsed = url::Url::parse(&to).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("keep".into(), "1".into()));
        assert!(pairs.contains(&("state".into(), "s&x=1\r\nSet-Cookie: a".into())));
        assert!(pairs.contains(&("iss".into(), "https://mcp.example".into())));
        assert!(!to.contains('\r') && !to.contains('\n') && !to.contains(' '));
    }
}
