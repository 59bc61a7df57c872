//! `POST /token`: code redemption and refresh rotation, and the one way a grant ends early,
//! [`revoke_grant`] (which `/revoke`, introspection's neighbour in [`super::revoke`], and the
//! connected apps page use too). Thin over [`crate::rules::oauth::refresh`] and [`crate::rules::oauth::grant`];
//! the KV keys are documented in `docs/storage.md`.
//!
//! KV per request (counted by the tests below): redeeming a code reads 1 key and writes 1 (the
//! grant); a refresh reads 3 or 4 (one more for a retry) and writes 1 (the successor's record);
//! a revocation reads 3, lists 1 (the person's other grants), writes 2 and deletes 3.

use serde_json::json;

use crate::rules::config::{Config, Secrets};
use crate::rules::discord;
use crate::rules::keys;
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::access_token::{self, AccessClaims};
use crate::rules::oauth::authorize;
use crate::rules::oauth::client::{AuthMethod, Client};
use crate::rules::oauth::error::OAuthError;
use crate::rules::oauth::form::Form;
use crate::rules::oauth::grant::MAX_GRANT_SECONDS;
use crate::rules::oauth::grant::{self, GrantRecord, Profile};
use crate::rules::oauth::refresh::{self, Issued, RefreshToken, Step};
use crate::rules::platform::Platform;
use crate::rules::platform::{Store, StoreError};
use crate::store::grants::{discord_tokens, other_active_grant, read_json, revoked, ttl_until};
use crate::store::keys as kvkey;
use crate::store::revoked::{remember_revoked, revoked_here};
use crate::web::http::{Reply, RequestInfo, MAX_OAUTH_BODY_BYTES};

pub(super) fn kv_error() -> Reply {
    OAuthError { code: "temporarily_unavailable", description: "storage is unavailable; try again".into(), status: 503 }
        .into_reply()
        .with_header("retry-after", "2")
}

pub(super) fn invalid_grant(why: &str) -> Reply {
    OAuthError::new("invalid_grant", why).into_reply()
}

pub(super) fn form_request(req: &RequestInfo) -> Result<Form, Reply> {
    if !req.header("content-type").is_some_and(|c| {
        c.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    }) {
        return Err(OAuthError::invalid_request("the request must be application/x-www-form-urlencoded").into_reply());
    }
    let body = req.body_within(MAX_OAUTH_BODY_BYTES).ok_or_else(|| {
        OAuthError {
            code: "invalid_request",
            description: format!("the request body is larger than {MAX_OAUTH_BODY_BYTES} bytes"),
            status: 413,
        }
        .into_reply()
    })?;
    Form::parse(body).map_err(|_| OAuthError::invalid_request("a parameter appears more than once").into_reply())
}

pub(super) fn client_keys<'a>(cfg: &'a Config, keys: &'a AuthKeys) -> grant::ClientKeys<'a> {
    grant::ClientKeys {
        id: &keys.client_id,
        secret: &keys.client_secret,
        configured: &cfg.clients,
        allow_loopback_http: cfg.local_only,
        metadata_documents: !cfg.metadata_documents_disabled,
    }
}

/// What the token, revocation and introspection endpoints share: a form body and an
/// authenticated client. A client assertion (`private_key_jwt`) is checked against the key set
/// of the client's metadata document; everything else without I/O. The client comes back with
/// `auth_method` saying how it authenticated.
pub(super) async fn client_request<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    keys: &AuthKeys,
    platform: &P,
) -> Result<(Form, String, Client), Reply> {
    let form = form_request(req)?;
    let authenticated = if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        super::assertions::authenticate(req, cfg, platform, &form).await
    } else {
        grant::authenticate(&form, req.header("authorization"), &client_keys(cfg, keys))
    };
    let (id, client) = authenticated.map_err(|e| e.into_reply())?;
    Ok((form, id, client))
}

/// A grant whose client declared `private_key_jwt` is redeemed, refreshed and revoked only by
/// a request that proved it holds the key: a stolen refresh token alone is worth nothing. Once
/// the operator switches `PRIVATE_KEY_JWT` off, such grants go on as public clients' do (PKCE,
/// rotation): the client no longer sees the method advertised, and must not be locked out.
pub(super) fn assertion_required(cfg: &Config, bound: bool, client: &Client) -> Result<(), Reply> {
    if cfg.private_key_jwt && bound && client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(OAuthError::new(
            "invalid_client",
            "this client's metadata document declares private_key_jwt: authenticate with a client_assertion",
        )
        .into_reply());
    }
    Ok(())
}

/// `POST /token`.
pub async fn token<P: Platform>(
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
    let Some(kv) = platform.kv() else { return kv_error() };
    let cx = Ctx { cfg, secrets, keys, platform, now: req.now_s(), origin: req.origin(), req: Some(req) };
    req.note(|n| {
        n.client_id = Some(client_id.clone());
        n.detail = form.get("grant_type").map(String::from);
    });
    match form.get("grant_type") {
        Some("authorization_code") => redeem(&cx, kv, &form, &client_id, &client).await,
        Some("refresh_token") if client.refresh => rotate(&cx, kv, &form, &client_id, &client).await,
        Some("refresh_token") => {
            OAuthError::new("unauthorized_client", "this client did not register the refresh_token grant").into_reply()
        }
        Some(_) => OAuthError::new("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
            .into_reply(),
        None => OAuthError::invalid_request("grant_type is required").into_reply(),
    }
}

/// What every step of the lifecycle needs.
pub(super) struct Ctx<'a, P> {
    pub(super) cfg: &'a Config,
    pub(super) secrets: &'a Secrets<'a>,
    pub(super) keys: &'a AuthKeys,
    pub(super) platform: &'a P,
    pub(super) now: i64,
    pub(super) origin: String,
    /// The request, when there is one, for its log line.
    pub(super) req: Option<&'a RequestInfo>,
}

impl<P> Ctx<'_, P> {
    fn note_user(&self, user: &str) {
        if let Some(r) = self.req {
            r.note(|n| n.user = Some(user.to_string()));
        }
    }
}

async fn redeem<P: Platform>(cx: &Ctx<'_, P>, kv: &P::Kv, form: &Form, client_id: &str, client: &Client) -> Reply {
    let code = match grant::redeem(&cx.keys.code, form, client_id, cx.now) {
        Ok(c) => c,
        Err(e) => return e.into_reply(),
    };
    cx.note_user(&code.user.id);
    if let Err(reply) = assertion_required(cx.cfg, code.private_key_jwt, client) {
        return reply;
    }
    let key = kvkey::grant(&code.user.id, &code.jti);
    // The grant record is the code's single-use marker: it exists once the code was redeemed.
    match read_json::<_, GrantRecord>(kv, &key).await {
        Ok(None) => {}
        Ok(Some(existing)) => {
            // RFC 6749 §10.5: a replayed code revokes what it produced.
            if existing.revoked.is_none()
                && revoke_grant(cx, kv, &code.user.id, &code.jti, &existing, "authorization code replayed")
                    .await
                    .is_err()
            {
                return kv_error();
            }
            return invalid_grant("this authorization code was already used; the tokens it produced are revoked");
        }
        Err(_) => return kv_error(),
    }
    let expires = cx.now + MAX_GRANT_SECONDS;
    let record = GrantRecord {
        client_id: client_id.to_string(),
        client_name: code.client_name.clone(),
        scope: code.scope.clone(),
        resource: code.resource.clone(),
        user: code.user.clone(),
        created: cx.now,
        expires,
        refresh_expires: (cx.now + cx.cfg.refresh_token_ttl).min(expires),
        discord: code.discord.clone(),
        revoked: None,
        private_key_jwt: code.private_key_jwt,
    };
    let Ok(value) = serde_json::to_string(&record) else { return kv_error() };
    if kv.put(&key, &value, Some(ttl_until(expires, cx.now))).await.is_err() {
        return kv_error();
    }
    let refresh = client.refresh.then(|| RefreshToken::first(&code.user.id, &code.jti).encode(&cx.keys.refresh));
    token_reply(cx, client_id, &record.scope, &record, &code.jti, refresh.as_deref())
}

async fn rotate<P: Platform>(cx: &Ctx<'_, P>, kv: &P::Kv, form: &Form, client_id: &str, client: &Client) -> Reply {
    let Some(presented) = form.get("refresh_token") else {
        return OAuthError::invalid_request("refresh_token is required").into_reply();
    };
    let Some(token) = RefreshToken::decode(&cx.keys.refresh, presented) else {
        return invalid_grant("the refresh token is not valid; log in again");
    };
    cx.note_user(&token.user);
    // A token this isolate held moments ago (see `held`) is answered from memory: a client
    // refreshing in a loop costs no KV read either.
    let remembered = held::recall(&token, cx.now);
    let record = match &remembered {
        Some((r, _)) => r.clone(),
        None => match read_json::<_, GrantRecord>(kv, &kvkey::grant(&token.user, &token.grant)).await {
            Ok(Some(r)) => r,
            Ok(None) => return invalid_grant("the grant behind this refresh token has ended; log in again"),
            Err(_) => return kv_error(),
        },
    };
    if record.client_id != client_id {
        return invalid_grant("the refresh token was issued to another client");
    }
    if let Err(reply) = assertion_required(cx.cfg, record.private_key_jwt, client) {
        return reply;
    }
    let ended = match &remembered {
        Some(_) => Ok(revoked_here(&token.grant, cx.now)),
        None => revoked(kv, &token.grant, &record).await,
    };
    match ended {
        Ok(false) if record.active(cx.now) => {}
        Ok(_) => return invalid_grant("the grant behind this refresh token was revoked or has ended; log in again"),
        Err(_) => return kv_error(),
    }
    let still = match super::policy::admitted(cx, &token.grant, &record).await {
        Ok(a) => a,
        Err(_) => return kv_error(),
    };
    if !still {
        if revoke_grant(cx, kv, &token.user, &token.grant, &record, "no longer admitted by the access policy")
            .await
            .is_err()
        {
            return kv_error();
        }
        return invalid_grant("this Discord account is no longer allowed to use this server");
    }
    let own = match (&remembered, kvkey::own_record(&token)) {
        (Some((_, own)), _) => Some(own.clone()),
        (None, None) => {
            Some(Issued { at: record.created, scope: record.scope.clone(), expires: record.refresh_expires })
        }
        (None, Some(k)) => match read_json::<_, Issued>(kv, &k).await {
            Ok(r) => r,
            Err(_) => return kv_error(),
        },
    };
    let Some(own) = own else { return invalid_grant("the refresh token is not valid; log in again") };
    if own.expires <= cx.now {
        return invalid_grant("the refresh token has expired; log in again");
    }
    let scope = refresh::narrow(&own.scope, form.get("scope"));
    // Never `invalid_target` here: the SDKs throw on it and the person is stuck. A refresh for
    // another resource (a server that moved) needs a new login, which `invalid_grant` asks for.
    if form.get("resource").is_some_and(|r| {
        authorize::canonical_resource(&cx.origin, Some(r)).as_deref() != Some(record.resource.as_str())
    }) {
        return invalid_grant("this login was for another resource; log in again");
    }
    // Held: a new access token, the same refresh token, nothing written.
    let hold = |record: &GrantRecord| {
        let access_scope = refresh::narrow(&own.scope, Some(&scope));
        token_reply(cx, client_id, &access_scope, record, &token.grant, Some(presented))
    };
    if remembered.is_some() {
        return hold(&record);
    }
    let next = token.successor();
    let successor = match read_json::<_, Issued>(kv, &kvkey::successor_record(&token)).await {
        Ok(s) => s,
        Err(_) => return kv_error(),
    };
    let window = cx.cfg.refresh_reuse_window;
    let issued_scope = match (refresh::step(successor.as_ref(), cx.now, window), successor) {
        (Step::Rotate, _) if !refresh::may_rotate(token.generation, record.created, cx.now) => {
            held::remember(&token, &record, &own, cx.now);
            return hold(&record);
        }
        (Step::Rotate, _) => {
            // RFC 6749 §6: the new refresh token has the scope of the one presented; a
            // narrower `scope` narrows only the access token.
            let issued = Issued {
                at: cx.now,
                scope: own.scope.clone(),
                expires: (cx.now + cx.cfg.refresh_token_ttl).min(record.expires),
            };
            let Ok(value) = serde_json::to_string(&issued) else { return kv_error() };
            if kv.put(&kvkey::successor_record(&token), &value, Some(ttl_until(issued.expires, cx.now))).await.is_err()
            {
                return kv_error();
            }
            // The connected apps page shows when a grant was last refreshed.
            crate::web::apps::forget_list(&token.user);
            issued.scope
        }
        (Step::RetryIfSuccessorUnused, Some(s)) => match kv.get(&kvkey::successor_record(&next)).await {
            Ok(None) => s.scope,
            Ok(Some(_)) if refresh::stale_or_reuse(&s, cx.now, window) == Step::Stale => return stale(),
            Ok(Some(_)) => return reuse(cx, kv, &token, &record).await,
            Err(_) => return kv_error(),
        },
        (Step::Stale, _) => return stale(),
        _ => return reuse(cx, kv, &token, &record).await,
    };
    let access_scope = refresh::narrow(&issued_scope, Some(&scope));
    token_reply(cx, client_id, &access_scope, &record, &token.grant, Some(&next.encode(&cx.keys.refresh)))
}

/// Refresh tokens this isolate held lately (over the rotation pace), with what their answer
/// needs, so that repeating them reads no KV. Kept for [`held::SECONDS`]: a revocation made in
/// this isolate is seen at once (`revoked_here`); one made elsewhere, within that time plus KV's
/// own propagation (SECURITY.md).
mod held {
    use std::cell::RefCell;

    use crate::rules::oauth::grant::GrantRecord;
    use crate::rules::oauth::refresh::{Issued, RefreshToken};

    pub const SECONDS: i64 = 60;
    const KEPT: usize = 64;

    type Entry = (String, u32, i64, GrantRecord, Issued);

    thread_local! {
        static HELD: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    }

    pub fn recall(token: &RefreshToken, now: i64) -> Option<(GrantRecord, Issued)> {
        HELD.with(|h| {
            h.borrow()
                .iter()
                .find(|(g, n, until, _, _)| *g == token.grant && *n == token.generation && *until > now)
                .map(|(_, _, _, r, o)| (r.clone(), o.clone()))
        })
    }

    pub fn remember(token: &RefreshToken, record: &GrantRecord, own: &Issued, now: i64) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            h.retain(|(g, _, until, _, _)| *until > now && *g != token.grant);
            if h.len() >= KEPT {
                h.remove(0);
            }
            h.push((token.grant.clone(), token.generation, now + SECONDS, record.clone(), own.clone()));
        });
    }
}

/// A superseded refresh token within the reuse window: refused, and the grant lives on (another
/// process of the same client holds the newer one).
fn stale() -> Reply {
    invalid_grant("this refresh token was replaced by a newer one; use the newest refresh token, or log in again")
}

/// RFC 9700 §4.14: a refresh token used again after its successor took over means one of the
/// two holders is not the client; the whole grant ends.
async fn reuse<P: Platform>(cx: &Ctx<'_, P>, kv: &P::Kv, token: &RefreshToken, record: &GrantRecord) -> Reply {
    if revoke_grant(cx, kv, &token.user, &token.grant, record, "refresh token reused").await.is_err() {
        return kv_error();
    }
    invalid_grant("this refresh token was already used, so the login was revoked for safety; log in again")
}

pub(super) fn token_reply<P>(
    cx: &Ctx<'_, P>,
    client_id: &str,
    scope: &str,
    record: &GrantRecord,
    grant: &str,
    refresh: Option<&str>,
) -> Reply {
    let Some(jti) = keys::random_token::<16>() else {
        return OAuthError::new("server_error", "no randomness available").into_reply();
    };
    let claims = AccessClaims {
        iss: cx.origin.clone(),
        aud: record.resource.clone(),
        sub: record.user.id.clone(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        jti,
        gid: grant.to_string(),
        discord: visible_profile(&record.user, scope),
    };
    let ttl = cx.cfg.access_token_ttl;
    let Some(access) = access_token::issue(&cx.keys.access, claims, cx.now, ttl) else {
        return OAuthError::new("server_error", "could not sign the access token").into_reply();
    };
    let mut body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": scope });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Reply::json(200, &body)
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
        .with_header("access-control-allow-origin", "*")
}

/// What a token may reveal after its scope was narrowed.
fn visible_profile(p: &Profile, scope: &str) -> Profile {
    let has = |s: &str| scope.split(' ').any(|w| w == s);
    Profile {
        id: p.id.clone(),
        username: if has("profile") { p.username.clone() } else { String::new() },
        global_name: p.global_name.clone().filter(|_| has("profile")),
        avatar_url: p.avatar_url.clone().filter(|_| has("profile")),
        email: p.email.clone().filter(|_| has("email")),
    }
}

/// Ends a grant: a tombstone replaces its record (so its refresh tokens, and a replay of its
/// code, find it revoked), its refreshed Discord tokens and cache go, this isolate stops its
/// access tokens at once, and Discord is told to revoke the authorization behind it. Only the
/// tombstone's write is essential; the rest is best effort and says so in the docs.
pub(super) async fn revoke_grant<P: Platform>(
    cx: &Ctx<'_, P>,
    kv: &P::Kv,
    user: &str,
    grant: &str,
    record: &GrantRecord,
    reason: &str,
) -> Result<(), StoreError> {
    end_grant(cx, kv, user, grant, record, reason, true).await
}

/// [`revoke_grant`], telling Discord or not: not when Discord told us (the person removed the
/// application there, so its authorization is already gone, and a revoke would be one more
/// invalid request from a shared Workers address).
pub(super) async fn end_grant<P: Platform>(
    cx: &Ctx<'_, P>,
    kv: &P::Kv,
    user: &str,
    grant: &str,
    record: &GrantRecord,
    reason: &str,
    tell_discord: bool,
) -> Result<(), StoreError> {
    // The Discord authorization is the person's, shared by their grants: revoked at Discord
    // (which ends all of its tokens) only with their last grant. Unsure (KV failed): keep it.
    let last = !other_active_grant(kv, user, grant, cx.now).await.unwrap_or(true);
    let upstream = match tell_discord && last {
        true => discord_tokens(kv, cx.keys, grant, record).await.ok().flatten(),
        false => None,
    };
    let tombstone = serde_json::to_string(&record.revoke(cx.now, reason))
        .map_err(|e| StoreError::Backend(format!("tombstone: {e}")))?;
    let ttl = Some(ttl_until(record.expires, cx.now));
    kv.put(&kvkey::revoked(grant), reason, ttl).await?;
    // The tombstone drops the sealed Discord tokens; the mark above is what refresh relies on.
    let _ = kv.put(&kvkey::grant(user, grant), &tombstone, ttl).await;
    remember_revoked(grant, cx.now + cx.cfg.access_token_ttl + access_token::LEEWAY_SECONDS, cx.now);
    crate::web::apps::forget_list(user);
    let _ = kv.delete(&kvkey::discord(grant)).await;
    if last {
        let _ = kv.delete(&kvkey::discord_user(user)).await;
    }
    let _ = kv.delete(&kvkey::guilds(grant)).await;
    if let Some(t) = upstream {
        let revoke = discord::revoke_request(&cx.cfg.discord, cx.secrets, &t);
        let _ = crate::web::io::outbound(cx.cfg, cx.platform, revoke, cx.now.saturating_mul(1000)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::discord::StoredTokens;
    use crate::rules::oauth::authorize::{client_hash, Pending};
    use crate::rules::oauth::grant::Code;
    use crate::rules::platform::block_on;
    use crate::store::grants::connected;
    use crate::store::revoked::revoked_here;
    use crate::store::Ops;
    use crate::testing::signer::{Signer, CHATGPT};
    use crate::testing::{config as cfg, Fake};
    use crate::web::http::Body;
    use crate::web::revoke::{disconnect, revoke};
    use serde_json::Value;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const ORIGIN: &str = "https://mcp.example";

    fn post(fake: &Fake, path: &str, body: &str, now: i64) -> (u16, Value) {
        post_with(&cfg(), fake, path, body, now)
    }

    fn post_with(cfg: &Config, fake: &Fake, path: &str, body: &str, now: i64) -> (u16, Value) {
        let secrets = cfg.secrets().unwrap();
        let keys = secrets.auth_keys();
        let url = url::Url::parse(ORIGIN).unwrap().join(path).unwrap();
        let req =
            RequestInfo::new("POST", url, vec![("content-type".into(), "application/x-www-form-urlencoded".into())])
                .with_body(Body::Bytes(body.as_bytes().to_vec()))
                .with_now(now as u64 * 1000);
        let reply = block_on(async {
            match path {
                "/token" => token(&req, cfg, &secrets, &keys, fake).await,
                _ => revoke(&req, cfg, &secrets, &keys, fake).await,
            }
        });
        (reply.status, serde_json::from_str(&reply.body).unwrap_or(Value::Null))
    }

    /// A registered public client and a code for it, as `/redirect` would issue.
    fn client_and_code(now: i64) -> (String, String) {
        let cfg = cfg();
        let keys = cfg.secrets().unwrap().auth_keys();
        let c = crate::rules::oauth::client::register(
            &serde_json::json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}),
            now,
        )
        .unwrap();
        let id = crate::rules::oauth::client::client_id(&keys.client_id, &c).unwrap();
        let p = Pending {
            client: client_hash(&id),
            redirect_uri: "http://127.0.0.1/cb".into(),
            challenge: CHALLENGE.into(),
            state: None,
            scope: "mcp profile".into(),
            resource: format!("{ORIGIN}/mcp"),
            expires: now + 600,
            nonce: "n".into(),
            client_name: None,
            private_key_jwt: false,
            vetted: false,
        };
        let user = Profile { id: "42".into(), username: "n".into(), global_name: None, avatar_url: None, email: None };
        let mut code = Code::new(&p, user, now, "AAAAAAAAAAAAAAAAAAAAAA".into());
        let stored =
            StoredTokens { access_token: "d-at".into(), refresh_token: Some("d-rt".into()), expires_at: now + 600 };
        code.discord = stored.seal(&keys.discord, &code.jti);
        (id, code.seal(&keys.code).unwrap())
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    /// A client id and the token request that redeems a fresh code for it.
    fn redemption(now: i64) -> (String, String) {
        let (id, code) = client_and_code(now);
        let body = format!(
            "grant_type=authorization_code&client_id={}&code={}&code_verifier={VERIFIER}",
            enc(&id),
            enc(&code)
        );
        (id, body)
    }

    #[test]
    fn connected_apps_list_and_disconnect_only_the_persons_own_grants() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let (_, body) = redemption(now);
        let (status, first) = post(&fake, "/token", &body, now);
        assert_eq!(status, 200);
        let refresh = first["refresh_token"].as_str().unwrap().to_string();
        let rotate =
            format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(&first_client(&body)), enc(&refresh));
        assert_eq!(post(&fake, "/token", &rotate, now + 100).0, 200);
        // Someone else's grant under another user id must never be listed or revoked.
        let other = GrantRecord { user: Profile { id: "7".into(), ..record_user() }, ..stored_grant(&fake) };
        block_on(fake.kv.put(
            &kvkey::grant("7", "BBBBBBBBBBBBBBBBBBBBBB"),
            &serde_json::to_string(&other).unwrap(),
            None,
        ))
        .unwrap();
        fake.kv.take_ops();

        let list = block_on(connected(&fake.kv, "42", now + 200)).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].grant.as_str(), list[0].created, list[0].refreshed),
            ("AAAAAAAAAAAAAAAAAAAAAA", now, Some(now + 100))
        );
        assert_eq!(list[0].scope, "mcp profile");
        assert_eq!(
            fake.kv.take_ops(),
            Ops { reads: 2, writes: 0, deletes: 0, lists: 2 },
            "listing one refreshed grant"
        );

        let cfg = cfg();
        let secrets = cfg.secrets().unwrap();
        let keys = secrets.auth_keys();
        let end = |user: &str, grant: &str| block_on(disconnect(&cfg, &secrets, &keys, &fake, now + 300, user, grant));
        assert_eq!(end("42", "BBBBBBBBBBBBBBBBBBBBBB"), Ok(None), "another person's grant is not reachable");
        fake.answers.borrow_mut().push((200, ""));
        let ended = end("42", "AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert!(ended.is_some_and(|c| c.starts_with("mcpc1.")), "the client whose consent the page then forgets");
        assert!(fake.sent.borrow().iter().any(|u| u.ends_with("/api/oauth2/token/revoke")), "Discord is told");
        assert_eq!(end("42", "AAAAAAAAAAAAAAAAAAAAAA"), Ok(None), "already ended");
        assert!(block_on(connected(&fake.kv, "42", now + 400)).unwrap().is_empty());
        assert_eq!(post(&fake, "/token", &rotate, now + 500).1["error"], "invalid_grant", "its refresh token is dead");
        assert_eq!(block_on(connected(&fake.kv, "7", now + 400)).unwrap().len(), 1);
    }

    fn first_client(body: &str) -> String {
        let form = Form::parse(body.as_bytes()).unwrap();
        form.get("client_id").unwrap().to_string()
    }

    fn record_user() -> Profile {
        Profile { id: "42".into(), username: "n".into(), global_name: None, avatar_url: None, email: None }
    }

    fn stored_grant(fake: &Fake) -> GrantRecord {
        let v = fake.kv.entries.borrow()[&kvkey::grant("42", "AAAAAAAAAAAAAAAAAAAAAA")].0.clone();
        serde_json::from_str(&v).unwrap()
    }

    #[test]
    fn redeem_rotate_retry_reuse_replay() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let ops = |reads, writes, deletes| Ops { reads, writes, deletes, lists: 0 };
        let (status, first) = post(&fake, "/token", &redeem, now);
        assert_eq!(status, 200, "{first}");
        assert_eq!(fake.kv.entries.borrow().len(), 1, "one write per login: the grant");
        assert_eq!(fake.kv.take_ops(), ops(1, 1, 0), "redeeming a code");
        let rt0 = first["refresh_token"].as_str().unwrap().to_string();
        let refresh = |rt: &str, at: i64| {
            post(
                &fake,
                "/token",
                &format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(&id), enc(rt)),
                at,
            )
        };
        let (_, a) = refresh(&rt0, now + 1);
        let rt1 = a["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(fake.kv.take_ops(), ops(3, 1, 0), "refreshing generation 0");
        assert_eq!(refresh(&rt0, now + 1 + refresh::GRACE_SECONDS).1["refresh_token"], rt1.as_str(), "grace");
        assert_eq!(fake.kv.take_ops(), ops(4, 0, 0), "a retry of generation 0 writes nothing");
        let (_, b) = refresh(&rt1, now + 20);
        let rt2 = b["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(fake.kv.take_ops(), ops(4, 1, 0), "refreshing generation 1");
        assert_eq!(refresh(&rt1, now + 21).1["refresh_token"], rt2.as_str());
        assert_eq!(fake.kv.take_ops(), ops(5, 0, 0), "a retry of generation 1 writes nothing");
        assert_eq!(fake.kv.entries.borrow().len(), 3, "grant and one record per successor");
        assert!(!fake.kv.entries.borrow().contains_key(&kvkey::revoked("AAAAAAAAAAAAAAAAAAAAAA")));

        // rt0 again within the reuse window (another process still holding it): refused, and
        // the grant lives on: nothing sent to Discord, nothing written, rt2 still rotates.
        let (status, stale) = refresh(&rt0, now + 22);
        assert_eq!((status, stale["error"].as_str()), (400, Some("invalid_grant")));
        assert!(stale["error_description"].as_str().unwrap().contains("replaced by a newer one"));
        assert!(fake.sent.borrow().is_empty(), "no revocation");
        assert_eq!(fake.kv.take_ops().writes, 0);
        let (_, c) = refresh(&rt2, now + 23);
        let rt3 = c["refresh_token"].as_str().unwrap().to_string();
        assert!(!revoked_here("AAAAAAAAAAAAAAAAAAAAAA", now + 23));

        // rt0 again beyond the window (its successor was issued at now + 1): reuse. The grant
        // ends, Discord is told, rt3 stops.
        let late = now + 1 + refresh::DEFAULT_REUSE_WINDOW_SECONDS + 1;
        let (status, reuse) = refresh(&rt0, late);
        assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(fake.sent.borrow().as_slice(), ["https://discord.com/api/oauth2/token/revoke"], "(answered or not)");
        assert_eq!(refresh(&rt3, late + 1).1["error"], "invalid_grant");
        assert!(revoked_here("AAAAAAAAAAAAAAAAAAAAAA", late + 1));

        // The code again (still fresh): already used, its grant exists and is revoked; nothing more is sent.
        let (status, replay) = post(&fake, "/token", &redeem, now + 24);
        assert_eq!(status, 400);
        assert!(replay["error_description"].as_str().unwrap().contains("already used"));
        assert_eq!(fake.sent.borrow().len(), 1);
    }

    /// The token request redeeming a code for ChatGPT's stable metadata document (which declares
    /// private_key_jwt), with no client authentication yet, and the answers its hosts give (the
    /// document, then the key set).
    fn chatgpt_redemption(fake: &Fake, signer: &Signer, now: i64) -> String {
        let keys = cfg().secrets().unwrap().auth_keys();
        let p = Pending {
            client: client_hash(CHATGPT),
            redirect_uri: "https://chatgpt.com/connector_platform_oauth_redirect".into(),
            challenge: CHALLENGE.into(),
            state: None,
            scope: "mcp profile".into(),
            resource: format!("{ORIGIN}/mcp"),
            expires: now + 600,
            nonce: "n".into(),
            client_name: Some("ChatGPT".into()),
            private_key_jwt: true,
            vetted: false,
        };
        let user = Profile { id: "42".into(), username: "n".into(), global_name: None, avatar_url: None, email: None };
        let code = Code::new(&p, user, now, "CCCCCCCCCCCCCCCCCCCCCC".into());
        let doc = crate::rules::oauth::client::tests::published()[1].1.to_string();
        fake.answers.borrow_mut().extend([(200, &*doc.leak()), (200, &*signer.jwks().leak())]);
        let code = code.seal(&keys.code).unwrap();
        format!("grant_type=authorization_code&client_id={}&code={}&code_verifier={VERIFIER}", enc(CHATGPT), enc(&code))
    }

    fn assertion_for(signer: &Signer, now: i64, jti: &str) -> String {
        let claims = serde_json::json!({ "iss": CHATGPT, "sub": CHATGPT, "aud": ORIGIN, "iat": now, "exp": now + 300, "jti": jti });
        format!(
            "client_assertion_type={}&client_assertion={}",
            enc(crate::rules::oauth::assertion::ASSERTION_TYPE),
            signer.sign(&claims)
        )
    }

    #[test]
    fn a_private_key_jwt_grant_is_redeemed_and_refreshed_only_with_a_verified_assertion() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let signer = Signer::rsa("k1");
        let redeem = chatgpt_redemption(&fake, &signer, now);
        let (status, bare) = post(&fake, "/token", &redeem, now);
        assert_eq!((status, bare["error"].as_str()), (401, Some("invalid_client")), "{bare}");
        assert_eq!(fake.kv.take_ops().writes, 0, "the code is not spent by a request that did not authenticate");
        let forged = format!("{redeem}&{}", assertion_for(&Signer::ec("k1"), now, "j0"));
        assert_eq!(post(&fake, "/token", &forged, now).0, 401, "a key that is not in the set");
        let (status, first) = post(&fake, "/token", &format!("{redeem}&{}", assertion_for(&signer, now, "j1")), now);
        assert_eq!(status, 200, "{first}");
        let sent = fake.sent.borrow().clone();
        assert_eq!(
            sent,
            ["https://chatgpt.com/oauth/client.json", "https://chatgpt.com/oauth/jwks.json"],
            "fetched once each, then cached"
        );
        let rt = first["refresh_token"].as_str().unwrap();
        let refresh = format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(CHATGPT), enc(rt));
        assert_eq!(
            post(&fake, "/token", &refresh, now + 1).1["error"],
            "invalid_client",
            "a stolen refresh token alone"
        );
        let (status, next) =
            post(&fake, "/token", &format!("{refresh}&{}", assertion_for(&signer, now + 1, "j2")), now + 1);
        assert_eq!(status, 200, "{next}");
        let replay = post(&fake, "/token", &format!("{refresh}&{}", assertion_for(&signer, now + 1, "j2")), now + 2);
        assert_eq!(replay.1["error_description"], "this client assertion was already used (jti)");
        // Revoking needs the key too; with it, the grant ends.
        let revoke = format!("client_id={}&token={}", enc(CHATGPT), enc(next["refresh_token"].as_str().unwrap()));
        assert_eq!(post(&fake, "/revoke", &revoke, now + 3).0, 401);
        assert_eq!(
            post(&fake, "/revoke", &format!("{revoke}&{}", assertion_for(&signer, now + 3, "j3")), now + 3).0,
            200
        );
        assert_eq!(
            post(&fake, "/token", &format!("{refresh}&{}", assertion_for(&signer, now + 4, "j4")), now + 4).1["error"],
            "invalid_grant"
        );
    }

    #[test]
    fn switching_private_key_jwt_off_keeps_its_grants_working_as_public_clients() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let signer = Signer::rsa("k1");
        let redeem = chatgpt_redemption(&fake, &signer, now);
        let (status, first) = post(&fake, "/token", &format!("{redeem}&{}", assertion_for(&signer, now, "j1")), now);
        assert_eq!(status, 200, "{first}");
        let off = crate::testing::config_with(&[("PRIVATE_KEY_JWT", "false")]);
        let refresh = format!(
            "grant_type=refresh_token&client_id={}&refresh_token={}",
            enc(CHATGPT),
            enc(first["refresh_token"].as_str().unwrap())
        );
        // ChatGPT no longer sees the method advertised, so it sends none; the grant goes on.
        let (status, next) = post_with(&off, &fake, "/token", &refresh, now + 1);
        assert_eq!(status, 200, "{next}");
        let (status, e) =
            post_with(&off, &fake, "/token", &format!("{refresh}&{}", assertion_for(&signer, now + 1, "j2")), now + 1);
        assert_eq!(
            (status, e["error"].as_str()),
            (401, Some("invalid_client")),
            "an assertion is refused, not ignored"
        );
    }

    #[test]
    fn only_metadata_document_clients_send_assertions() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let signer = Signer::rsa("k1");
        let with = format!("{redeem}&{}", assertion_for(&signer, now, "j1"));
        let (status, e) = post(&fake, "/token", &with, now);
        assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
        assert!(e["error_description"].as_str().unwrap().contains("metadata document URL"), "{e}");
        assert!(fake.sent.borrow().is_empty(), "nothing fetched for a registered client");
        let wrong_type =
            redeem.replace(&enc(&id), &format!("{}&client_assertion_type=urn%3Ax&client_assertion=a.b.c", enc(&id)));
        assert_eq!(post(&fake, "/token", &wrong_type, now).1["error"], "invalid_client");
    }

    #[test]
    fn a_grant_refreshing_in_a_loop_is_held_to_the_pace_and_then_reads_nothing() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let mut rt = post(&fake, "/token", &redeem, now).1["refresh_token"].as_str().unwrap().to_string();
        fake.kv.take_ops();
        let refresh = |rt: &str, at: i64| {
            post(
                &fake,
                "/token",
                &format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(&id), enc(rt)),
                at,
            )
        };
        // 300 refreshes in a second, each with the newest token: the burst rotates, the rest
        // are held (a new access token, the same refresh token) and read nothing.
        let mut access = std::collections::HashSet::new();
        for _ in 0..300 {
            let (status, body) = refresh(&rt, now + 1);
            assert_eq!(status, 200, "{body}");
            access.insert(body["access_token"].as_str().unwrap().to_string());
            rt = body["refresh_token"].as_str().unwrap().to_string();
        }
        assert_eq!(access.len(), 300, "every answer is a fresh access token");
        let ops = fake.kv.take_ops();
        assert_eq!(ops.writes, refresh::ROTATION_BURST as u32, "writes: the burst, then none ({ops:?})");
        assert!(ops.reads <= 4 * (refresh::ROTATION_BURST as u32 + 1), "reads bounded too ({ops:?})");
        assert!(rt.contains(&format!(".{}.", refresh::ROTATION_BURST)), "held at the burst's last generation: {rt}");
        // Once the pace allows, it rotates again; a revocation here ends a held token at once.
        let (status, later) = refresh(&rt, now + refresh::ROTATION_PACE_SECONDS + 1);
        assert_eq!(status, 200);
        assert_ne!(later["refresh_token"], rt.as_str(), "rotated");
        let newest = later["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(
            refresh(&newest, now + refresh::ROTATION_PACE_SECONDS + 2).1["refresh_token"],
            newest.as_str(),
            "held"
        );
        assert_eq!(
            post(
                &fake,
                "/revoke",
                &format!("client_id={}&token={}", enc(&id), enc(&newest)),
                now + refresh::ROTATION_PACE_SECONDS + 3
            )
            .0,
            200
        );
        assert_eq!(refresh(&newest, now + refresh::ROTATION_PACE_SECONDS + 4).1["error"], "invalid_grant");
    }

    #[test]
    fn server_membership_is_checked_again_at_refresh_failing_open_only_when_discord_is_unreachable() {
        let fake = Fake::default();
        let cfg = crate::testing::config_with(&[("ALLOWED_DISCORD_GUILDS", "1000000000000000001")]);
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let rt = post_with(&cfg, &fake, "/token", &redeem, now).1["refresh_token"].as_str().unwrap().to_string();
        let refresh = |rt: &str, at: i64| {
            let body = format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(&id), enc(rt));
            post_with(&cfg, &fake, "/token", &body, at)
        };
        let member = r#"[{"id":"1000000000000000001","name":"Ours","owner":false}]"#;
        let kicked = r#"[{"id":"2000000000000000002","name":"Elsewhere","owner":false}]"#;
        let tokens = r#"{"access_token":"d-at2","refresh_token":"d-rt2","expires_in":604800,"token_type":"Bearer"}"#;
        // A member: asked once, then remembered for CHECK_SECONDS.
        fake.answers.borrow_mut().push((200, member));
        let (status, a) = refresh(&rt, now + 1);
        assert_eq!(status, 200, "{a}");
        let (status, b) = refresh(a["refresh_token"].as_str().unwrap(), now + 2);
        assert_eq!(status, 200, "{b}");
        assert_eq!(fake.sent.borrow().len(), 1, "remembered: one Discord call");
        // Later Discord is down: the refresh goes on (fail-open). Its token was stale: refreshed first.
        fake.answers.borrow_mut().extend([(200, tokens), (503, "{}")]);
        let at = now + super::super::policy::CHECK_SECONDS + 3;
        let (status, c) = refresh(b["refresh_token"].as_str().unwrap(), at);
        assert_eq!(status, 200, "{c}");
        // Then the person was kicked from the server: the next refresh ends the grant.
        fake.answers.borrow_mut().push((200, kicked));
        let (status, d) = refresh(c["refresh_token"].as_str().unwrap(), at + 1);
        assert_eq!((status, d["error"].as_str()), (400, Some("invalid_grant")), "{d}");
        assert!(d["error_description"].as_str().unwrap().contains("no longer allowed"));
        assert!(
            fake.sent.borrow().iter().any(|u| u.ends_with("/api/oauth2/token/revoke")),
            "their last grant: Discord is told"
        );
    }

    #[test]
    fn revocation_answers_200_for_anything_and_ends_only_own_grants() {
        let fake = Fake::default();
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let rt = post(&fake, "/token", &redeem, now).1["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(post(&fake, "/revoke", &format!("client_id={}&token=junk", enc(&id)), now).0, 200);
        assert!(fake.sent.borrow().is_empty());
        assert_eq!(post(&fake, "/revoke", "token=junk", now).0, 401, "client authentication first");
        fake.kv.take_ops();
        assert_eq!(post(&fake, "/revoke", &format!("client_id={}&token={}", enc(&id), enc(&rt)), now).0, 200);
        assert_eq!(fake.sent.borrow().len(), 1, "Discord revoke");
        assert_eq!(
            fake.kv.take_ops(),
            Ops { reads: 3, writes: 2, deletes: 3, lists: 1 },
            "a revocation: the grant, the person's other grants (a list), their Discord tokens"
        );
        let record = fake.kv.entries.borrow().values().next().unwrap().0.clone();
        let g: GrantRecord = serde_json::from_str(&record).unwrap();
        assert_eq!(g.revoked.unwrap().reason, "revoked by the client");
        assert_eq!(g.discord, None);
    }

    #[test]
    fn a_code_replayed_where_the_revocation_is_not_yet_visible_cannot_revive_the_grant() {
        let now = 1_785_240_000;
        let (id, redeem) = redemption(now);
        let here = Fake::default();
        let rt = post(&here, "/token", &redeem, now).1["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(post(&here, "/revoke", &format!("client_id={}&token={}", enc(&id), enc(&rt)), now + 1).0, 200);
        // Another location, whose KV has seen neither the grant nor its revocation, redeems the
        // same code; KV then converges with that active record written last.
        let there = Fake::default();
        let (status, revived) = post(&there, "/token", &redeem, now + 2);
        assert_eq!(status, 200);
        let key = kvkey::grant("42", "AAAAAAAAAAAAAAAAAAAAAA");
        let active = there.kv.entries.borrow()[&key].clone();
        here.kv.entries.borrow_mut().insert(key, active);
        let rt2 = revived["refresh_token"].as_str().unwrap();
        let again = post(
            &here,
            "/token",
            &format!("grant_type=refresh_token&client_id={}&refresh_token={}", enc(&id), enc(rt2)),
            now + 3,
        );
        assert_eq!(again.1["error"], "invalid_grant", "the revocation mark outlives the overwrite");
    }
}
