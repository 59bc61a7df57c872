//! Bearer authentication of the MCP endpoint: the caller from a verified access token, or the
//! `401` whose `WWW-Authenticate` tells the client where to log in.
use serde_json::json;

use crate::rules::keys::AuthKeys;
use crate::rules::mcp::tool::Caller;
use crate::rules::oauth::access_token;
use crate::rules::oauth::authorize::{self};
use crate::rules::oauth::metadata::{self, Challenge};
use crate::web::http::{Reply, RequestInfo};

/// Bearer authentication of the MCP endpoint: the caller, or the `401` that tells the client
/// where to log in. No KV read, no Discord call.
pub fn authenticate(req: &RequestInfo, keys: &AuthKeys) -> Result<Caller, Reply> {
    let origin = req.origin();
    let challenge = |c: Challenge, error: &str, description: &str| {
        // Named for the log line here, so the service need not parse the reply to find it.
        req.note(|n| n.error = Some(error.to_string()));
        Reply::json(401, &json!({ "error": error, "error_description": description })).with_header(
            "www-authenticate",
            metadata::www_authenticate(&metadata::resource_metadata_url(&origin), authorize::DEFAULT_SCOPE, c),
        )
    };
    let Some(header) = req.header("authorization") else {
        return Err(challenge(
            Challenge::NoToken,
            "invalid_request",
            "This server requires an OAuth access token; log in first",
        ));
    };
    let token = match header.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
        _ => {
            return Err(challenge(
                Challenge::InvalidToken("Use the Bearer scheme"),
                "invalid_token",
                "Use the Bearer scheme",
            ))
        }
    };
    let claims = access_token::verify(&keys.access, token, &origin, &format!("{origin}/mcp"), req.now_s())
        .map_err(|e| challenge(Challenge::InvalidToken(e.describe()), "invalid_token", e.describe()))?;
    if crate::store::revoked::revoked_here(&claims.gid, req.now_s()) {
        let why = "The access token has been revoked";
        return Err(challenge(Challenge::InvalidToken(why), "invalid_token", why));
    }
    Ok(Caller {
        grant: claims.gid.clone(),
        user_id: claims.discord.id.clone(),
        username: claims.discord.username.clone(),
        global_name: claims.discord.global_name.clone(),
        avatar_url: claims.discord.avatar_url.clone(),
        email: claims.discord.email.clone(),
        client_id: claims.client_id,
        scopes: claims.scope.split(' ').map(String::from).collect(),
    })
}

/// The `WWW-Authenticate` value for a tool call whose token lacks `scope`.
pub fn insufficient_scope(origin: &str, scope: &str) -> String {
    metadata::www_authenticate(&metadata::resource_metadata_url(origin), scope, Challenge::InsufficientScope)
}
