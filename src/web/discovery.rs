//! Discovery and registration: the protected resource metadata (RFC 9728), the authorization
//! server metadata (RFC 8414), and `POST /register` (RFC 7591), which writes nothing.

use crate::rules::config::Config;
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::authorize::SCOPES;
use crate::rules::oauth::client::{self, AuthMethod};
use crate::rules::oauth::error::OAuthError;
use crate::rules::oauth::metadata::{self, ServerFeatures};
use crate::web::http::{Reply, RequestInfo, MAX_OAUTH_BODY_BYTES};

fn too_large(code: &'static str) -> Reply {
    OAuthError {
        code,
        description: format!("the request body is larger than {MAX_OAUTH_BODY_BYTES} bytes"),
        status: 413,
    }
    .into_reply()
}

fn features(cfg: &Config) -> ServerFeatures<'static> {
    ServerFeatures {
        registration: !cfg.registration_disabled,
        revocation: true,
        introspection: true,
        client_id_metadata_documents: !cfg.metadata_documents_disabled,
        private_key_jwt: cfg.private_key_jwt,
        scopes: SCOPES,
    }
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`.
pub fn protected_resource(req: &RequestInfo, resource_path: &str) -> Reply {
    let origin = req.origin();
    let resource = format!("{origin}{resource_path}");
    Reply::json(200, &metadata::protected_resource(&origin, &resource, SCOPES))
        .with_header("cache-control", "public, max-age=3600")
        .with_header("access-control-allow-origin", "*")
}

/// `GET /.well-known/oauth-authorization-server`.
pub fn authorization_server(req: &RequestInfo, cfg: &Config) -> Reply {
    Reply::json(200, &metadata::authorization_server(&req.origin(), &features(cfg)))
        .with_header("cache-control", "public, max-age=3600")
        .with_header("access-control-allow-origin", "*")
}

/// `POST /register` (RFC 7591). Writes nothing: the client id carries the registration.
pub fn register(req: &RequestInfo, cfg: &Config, keys: &AuthKeys) -> Reply {
    if cfg.registration_disabled {
        return OAuthError {
            code: "access_denied",
            description: "Dynamic client registration is disabled on this server; ask its operator for a client".into(),
            status: 403,
        }
        .into_reply();
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")))
    {
        return OAuthError::new("invalid_client_metadata", "the registration request must be application/json")
            .into_reply();
    }
    let Some(body) = req.body_within(MAX_OAUTH_BODY_BYTES) else { return too_large("invalid_client_metadata") };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return OAuthError::new("invalid_client_metadata", "the body is not valid JSON").into_reply();
    };
    let client = match client::register(&value, req.now_s()) {
        Ok(c) => c,
        Err(e) => return OAuthError::new(e.code, e.description).into_reply(),
    };
    let Some(id) = client::client_id(&keys.client_id, &client) else {
        return OAuthError::new("invalid_client_metadata", "the registration is too large").into_reply();
    };
    let secret = (client.auth_method != AuthMethod::None).then(|| client::client_secret(&keys.client_secret, &id));
    Reply::json(201, &client::registration_response(&client, &id, secret.as_deref()))
        .with_header("access-control-allow-origin", "*")
}
