//! OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3): the code, a description for the
//! developer, and the HTTP status the protocol gives it. The reply (JSON, never cached) is
//! built by `web::error`.

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
    fn statuses_follow_the_code() {
        assert_eq!(OAuthError::new("invalid_grant", "x").status, 400);
        assert_eq!(OAuthError::new("invalid_client", "x").status, 401);
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
