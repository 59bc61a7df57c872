//! Discovery documents: RFC 9728 protected resource metadata, RFC 8414 authorization server
//! metadata, and the RFC 6750 `WWW-Authenticate` challenge that points clients at them. Each
//! advertises only what the caller says is implemented.

use serde_json::{json, Value};

/// What the authorization server implements, as the metadata will state it.
pub struct ServerFeatures<'a> {
    pub registration: bool,
    pub revocation: bool,
    pub introspection: bool,
    pub client_id_metadata_documents: bool,
    /// `private_key_jwt` for metadata-document clients (needs `client_id_metadata_documents`).
    pub private_key_jwt: bool,
    pub scopes: &'a [&'a str],
}

/// RFC 9728 metadata for `resource` (the exact URL a client connects to).
pub fn protected_resource(origin: &str, resource: &str, scopes: &[&str]) -> Value {
    json!({
        "resource": resource,
        "authorization_servers": [origin],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "MCP server with Discord login",
    })
}

/// RFC 8414 metadata; `issuer` is the origin exactly.
pub fn authorization_server(origin: &str, f: &ServerFeatures) -> Value {
    let grants = ["authorization_code", "refresh_token"];
    // `none` stays listed: claude.ai uses a metadata document only when it is.
    let mut auth_methods = vec!["none", "client_secret_basic", "client_secret_post"];
    let assertions = f.private_key_jwt && f.client_id_metadata_documents;
    if assertions {
        auth_methods.push("private_key_jwt");
    }
    let mut m = json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/token"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": f.scopes,
        "authorization_response_iss_parameter_supported": true,
    });
    if f.registration {
        m["registration_endpoint"] = json!(format!("{origin}/register"));
    }
    if f.revocation {
        m["revocation_endpoint"] = json!(format!("{origin}/revoke"));
        m["revocation_endpoint_auth_methods_supported"] = json!(auth_methods);
    }
    if assertions {
        m["token_endpoint_auth_signing_alg_values_supported"] = json!(super::assertion::ALGS);
        if f.revocation {
            m["revocation_endpoint_auth_signing_alg_values_supported"] = json!(super::assertion::ALGS);
        }
    }
    if f.introspection {
        m["introspection_endpoint"] = json!(format!("{origin}/introspect"));
        let mut methods = vec!["client_secret_basic", "client_secret_post"];
        if assertions {
            methods.push("private_key_jwt");
        }
        m["introspection_endpoint_auth_methods_supported"] = json!(methods);
    }
    if f.client_id_metadata_documents {
        m["client_id_metadata_document_supported"] = json!(true);
    }
    m
}

/// Why a request to the protected resource is refused.
pub enum Challenge<'a> {
    /// No token: just where to log in.
    NoToken,
    /// A token was sent and is not acceptable (RFC 6750 `invalid_token`).
    InvalidToken(&'a str),
    /// A valid token whose scope does not cover the request.
    InsufficientScope,
}

/// The `WWW-Authenticate` value for a `401`/`403` from the MCP endpoint. Descriptions are
/// fixed strings of this server; quotes and backslashes are escaped all the same.
pub fn www_authenticate(metadata_url: &str, scope: &str, challenge: Challenge) -> String {
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut v = format!("Bearer resource_metadata=\"{}\", scope=\"{}\"", q(metadata_url), q(scope));
    match challenge {
        Challenge::NoToken => {}
        Challenge::InvalidToken(why) => {
            v.push_str(&format!(", error=\"invalid_token\", error_description=\"{}\"", q(why)))
        }
        Challenge::InsufficientScope => v.push_str(", error=\"insufficient_scope\""),
    }
    v
}

/// Where this server's protected resource metadata for `/mcp` is (RFC 9728), named in every
/// `WWW-Authenticate` challenge.
pub fn resource_metadata_url(origin: &str) -> String {
    format!("{origin}/.well-known/oauth-protected-resource/mcp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_state_only_what_exists() {
        let f = ServerFeatures {
            registration: true,
            revocation: false,
            introspection: false,
            client_id_metadata_documents: false,
            private_key_jwt: true,
            scopes: &["mcp"],
        };
        let m = authorization_server("https://mcp.example", &f);
        assert_eq!(m["issuer"], "https://mcp.example");
        assert_eq!(m["registration_endpoint"], "https://mcp.example/register");
        assert!(m.get("revocation_endpoint").is_none());
        assert!(m.get("client_id_metadata_document_supported").is_none());
        assert!(m.get("token_endpoint_auth_signing_alg_values_supported").is_none(), "no documents, no assertions");
        let with_documents = ServerFeatures { client_id_metadata_documents: true, ..f };
        let m = authorization_server("https://mcp.example", &with_documents);
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post", "private_key_jwt"])
        );
        assert_eq!(m["token_endpoint_auth_signing_alg_values_supported"], json!(["RS256", "ES256"]));
        let off =
            authorization_server("https://mcp.example", &ServerFeatures { private_key_jwt: false, ..with_documents });
        assert_eq!(
            off["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert!(off.get("token_endpoint_auth_signing_alg_values_supported").is_none());
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        let p = protected_resource("https://mcp.example", "https://mcp.example/mcp", &["mcp"]);
        assert_eq!(p["authorization_servers"], json!(["https://mcp.example"]));
        assert_eq!(p["resource"], "https://mcp.example/mcp");
    }

    #[test]
    fn challenges() {
        let url = "https://mcp.example/.well-known/oauth-protected-resource/mcp";
        assert_eq!(
            www_authenticate(url, "mcp", Challenge::NoToken),
            "Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""
        );
        assert!(www_authenticate(url, "mcp", Challenge::InvalidToken("expired \"x\""))
            .ends_with(", error=\"invalid_token\", error_description=\"expired \\\"x\\\"\""));
        assert!(www_authenticate(url, "mcp email", Challenge::InsufficientScope)
            .contains("scope=\"mcp email\", error=\"insufficient_scope\""));
    }
}
