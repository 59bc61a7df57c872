//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), and the connected apps
//! page's disconnect. Thin over [`super::token::revoke_grant`] and the grant repository.

use serde_json::json;

use super::token::{assertion_required, client_request, kv_error, revoke_grant, Ctx};
use crate::rules::config::{Config, Secrets};
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::access_token::{self, AccessClaims};
use crate::rules::oauth::client::{AuthMethod, Kind};
use crate::rules::oauth::error::OAuthError;
use crate::rules::oauth::grant::GrantRecord;
use crate::rules::oauth::refresh::{Issued, RefreshToken};
use crate::rules::platform::{Platform, Store, StoreError};
use crate::store::grants::{read_json, revoked};
use crate::store::keys as kvkey;
use crate::store::revoked::revoked_here;
use crate::web::http::{Reply, RequestInfo};

/// Which grant a presented token belongs to, if this server issued it and it is still
/// well-formed: `(user, grant, client_id when the token names one)`.
fn locate(keys: &AuthKeys, origin: &str, token: &str, now: i64) -> Option<(String, String, Option<AccessClaims>)> {
    if RefreshToken::looks_like(token) {
        let t = RefreshToken::decode(&keys.refresh, token)?;
        return Some((t.user, t.grant, None));
    }
    let claims = access_token::verify(&keys.access, token, origin, &format!("{origin}/mcp"), now).ok()?;
    Some((claims.sub.clone(), claims.gid.clone(), Some(claims)))
}

/// `POST /revoke` (RFC 7009). Either token ends the whole grant: an access token cannot be
/// revoked alone without a KV read on every MCP request, and a client that revokes is
/// logging out. Unknown and malformed tokens answer `200` and change nothing (§2.2). So does
/// another client's token: §2.1 has the server refuse it, but an error would confirm to the
/// caller that a token it should not hold is live, so it is treated as invalid instead.
pub async fn revoke<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
) -> Reply {
    let (form, client_id, client) = match client_request(req, cfg, keys, platform).await {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let Some(token) = form.get("token") else {
        return OAuthError::invalid_request("token is required").into_reply();
    };
    let done =
        || Reply::empty(200).with_header("cache-control", "no-store").with_header("access-control-allow-origin", "*");
    let now = req.now_s();
    let origin = req.origin();
    let Some((user, grant, _)) = locate(keys, &origin, token, now) else { return done() };
    let Some(kv) = platform.kv() else { return kv_error() };
    let record = match read_json::<_, GrantRecord>(kv, &kvkey::grant(&user, &grant)).await {
        Ok(Some(r)) if r.client_id == client_id && r.revoked.is_none() => r,
        Ok(_) => return done(),
        Err(_) => return kv_error(),
    };
    if let Err(reply) = assertion_required(cfg, record.private_key_jwt, &client) {
        return reply;
    }
    let cx = Ctx { cfg, secrets, keys, platform, now, origin, req: Some(req) };
    match revoke_grant(&cx, kv, &user, &grant, &record, "revoked by the client").await {
        Ok(()) => done(),
        Err(_) => kv_error(),
    }
}

/// `POST /introspect` (RFC 7662), for clients that hold credentials: a client learns about its
/// own tokens; a configured client marked `introspection: true` (a resource server) about
/// any. Everything else is `{"active": false}`.
pub async fn introspect<P: Platform>(req: &RequestInfo, cfg: &Config, keys: &AuthKeys, platform: &P) -> Reply {
    let (form, client_id, client) = match client_request(req, cfg, keys, platform).await {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let confidential = match &client.kind {
        Kind::Configured { secret_sha256, .. } => secret_sha256.is_some(),
        _ => client.auth_method != AuthMethod::None,
    };
    if !confidential {
        return OAuthError {
            code: "invalid_client",
            description: "introspection needs client credentials (a client secret)".into(),
            status: 401,
        }
        .into_reply();
    }
    let any = matches!(client.kind, Kind::Configured { introspect_any: true, .. });
    let Some(token) = form.get("token") else {
        return OAuthError::invalid_request("token is required").into_reply();
    };
    let inactive = || Reply::json(200, &json!({ "active": false })).with_header("cache-control", "no-store");
    let now = req.now_s();
    let origin = req.origin();
    let Some((user, grant, claims)) = locate(keys, &origin, token, now) else { return inactive() };
    let Some(kv) = platform.kv() else { return kv_error() };
    let record = match read_json::<_, GrantRecord>(kv, &kvkey::grant(&user, &grant)).await {
        Ok(Some(r)) if r.active(now) && (any || r.client_id == client_id) => r,
        Ok(_) => return inactive(),
        Err(_) => return kv_error(),
    };
    match revoked(kv, &grant, &record).await {
        Ok(false) => {}
        Ok(true) => return inactive(),
        Err(_) => return kv_error(),
    }
    let (scope, iat, exp, kind) = match claims {
        Some(c) => {
            if revoked_here(&grant, now) {
                return inactive();
            }
            let (iat, exp) = access_token::times(&keys.access, token).unwrap_or((now, now));
            (c.scope, iat, exp, Some("Bearer"))
        }
        None => {
            let Some(t) = RefreshToken::decode(&keys.refresh, token) else { return inactive() };
            let own = match kvkey::own_record(&t) {
                None => {
                    Some(Issued { at: record.created, scope: record.scope.clone(), expires: record.refresh_expires })
                }
                Some(k) => match read_json::<_, Issued>(kv, &k).await {
                    Ok(r) => r,
                    Err(_) => return kv_error(),
                },
            };
            let used = match kv.get(&kvkey::successor_record(&t)).await {
                Ok(v) => v.is_some(),
                Err(_) => return kv_error(),
            };
            match own {
                // RFC 6749 §7.1 names no type for refresh tokens: `token_type` is left out.
                Some(o) if !used && o.expires > now => (o.scope, o.at, o.expires, None),
                _ => return inactive(),
            }
        }
    };
    let mut body = json!({
        "active": true,
        "scope": scope,
        "client_id": record.client_id,
        "sub": record.user.id,
        "aud": record.resource,
        "iss": origin,
        "exp": exp,
        "iat": iat,
    });
    if let Some(kind) = kind {
        body["token_type"] = json!(kind);
    }
    Reply::json(200, &body).with_header("cache-control", "no-store")
}

/// Ends one of `user`'s own grants at their request: its tokens, and the Discord
/// authorization behind it. `Ok(Some(client_id))`: ended; `Ok(None)`: no such active grant
/// (already ended).
pub async fn disconnect<P: Platform>(
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
    now: i64,
    user: &str,
    grant: &str,
) -> Result<Option<String>, StoreError> {
    let kv = platform.kv().ok_or_else(|| StoreError::Backend("OAUTH_KV is not bound".into()))?;
    let Some(record) = read_json::<_, GrantRecord>(kv, &kvkey::grant(user, grant)).await? else { return Ok(None) };
    if !record.active(now) {
        return Ok(None);
    }
    let cx = Ctx { cfg, secrets, keys, platform, now, origin: String::new(), req: None };
    revoke_grant(&cx, kv, user, grant, &record, "revoked on the connected apps page").await?;
    Ok(Some(record.client_id))
}
