//! HTTP adapters of the authorization server: discovery, registration, authorize and
//! consent, the Discord callback, the token endpoint, and bearer authentication of the MCP
//! endpoint. Thin over the pure rules in [`crate::oauth`]; storage and Discord go through
//! [`Platform`]. A login writes KV twice (code marker, refresh token) and reads it once.

use serde_json::json;

use crate::config::{Config, Secrets};
use crate::discord::{self, DiscordError};
use crate::error::AppError;
use crate::http::{Body, Reply, RequestInfo};
use crate::keys::{self, Key};
use crate::mcp::tool::Caller;
use crate::oauth::access_token::{self, AccessClaims};
use crate::oauth::authorize::{self, AuthorizeError, Pending, SCOPES};
use crate::oauth::client::{self, AuthMethod};
use crate::oauth::cookie;
use crate::oauth::error::{error_redirect, OAuthError};
use crate::oauth::form::Form;
use crate::oauth::grant::{self, ClientKeys, Code, Profile, RefreshRecord};
use crate::oauth::metadata::{self, Challenge, ServerFeatures};
use crate::pages;
use crate::platform::Platform;
use crate::store::Store;

/// Access tokens live this long unless `ACCESS_TOKEN_TTL` says otherwise.
pub const ACCESS_TTL_SECONDS: i64 = 3600;
/// Refresh tokens live this long.
pub const REFRESH_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// A grant (a login) ends this long after it began, however often it is refreshed; then the
/// person logs in again, and their Discord profile is read afresh.
pub const MAX_GRANT_SECONDS: i64 = 90 * 24 * 3600;
/// A remembered approval lasts this long.
pub const CONSENT_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// Clients remembered in the consent cookie.
const MAX_REMEMBERED: usize = 20;
/// Largest sealed login kept in a cookie (browsers cap a cookie near 4096 bytes).
const MAX_PENDING_COOKIE: usize = 3800;

/// Every key the authorization server uses, derived once per request from `SECRET_KEY`.
pub struct AuthKeys {
    pub client_id: Key,
    pub client_secret: Key,
    pub pending: Key,
    pub consent: Key,
    pub code: Key,
    pub access: Key,
}

impl AuthKeys {
    pub fn new(secrets: &Secrets) -> AuthKeys {
        let k = |p| Key::derive(secrets.secret_key.expose(), p);
        AuthKeys {
            client_id: k(keys::CLIENT_ID),
            client_secret: k(keys::CLIENT_SECRET),
            pending: k(keys::PENDING),
            consent: k(keys::CONSENT),
            code: k(keys::AUTH_CODE),
            access: k(keys::ACCESS_TOKEN),
        }
    }

    fn clients(&self) -> ClientKeys<'_> {
        ClientKeys { id: &self.client_id, secret: &self.client_secret }
    }
}

fn now_s(req: &RequestInfo) -> i64 {
    (req.now_ms / 1000) as i64
}

fn body(req: &RequestInfo) -> &[u8] {
    match &req.body {
        Body::Bytes(b) => b,
        _ => &[],
    }
}

fn metadata_url(origin: &str) -> String {
    format!("{origin}/.well-known/oauth-protected-resource/mcp")
}

fn features(cfg: &Config) -> ServerFeatures<'static> {
    ServerFeatures {
        registration: !cfg.registration_disabled,
        revocation: false,
        introspection: false,
        client_id_metadata_documents: false,
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
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body(req)) else {
        return OAuthError::new("invalid_client_metadata", "the body is not valid JSON").into_reply();
    };
    let client = match client::register(&value, now_s(req)) {
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

fn person_error(title: &str, message: &str) -> Reply {
    Reply::html(400, pages::error_page(title, message, ""))
}

fn client_error(p: &Pending, origin: &str, code: &str, description: &str) -> Reply {
    match url::Url::parse(&p.redirect_uri) {
        Ok(u) => Reply::redirect(&error_redirect(&u, code, description, p.state.as_deref(), origin)),
        Err(_) => person_error("Invalid redirect URI", "The application's redirect URI is not valid."),
    }
}

/// `form-action` sources a consent page needs: Discord (approve) and the client (deny).
fn form_targets(cfg: &Config, redirect_uri: &str) -> Vec<String> {
    let mut t = Vec::new();
    if let Ok(d) = url::Url::parse(&cfg.discord.authorize) {
        t.push(d.origin().ascii_serialization());
    }
    if let Ok(r) = url::Url::parse(redirect_uri) {
        t.push(match r.origin() {
            o @ url::Origin::Tuple(..) => o.ascii_serialization(),
            url::Origin::Opaque(_) => format!("{}:", r.scheme()),
        });
    }
    t
}

fn remembered(req: &RequestInfo, keys: &AuthKeys, now: i64) -> Vec<String> {
    cookie::get(req.header("cookie"), "__Host-consent")
        .and_then(|c| cookie::open(&keys.consent, "remember", now, c))
        .map(|v| v.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// Whether a remembered approval covers this request: same client, and every scope asked
/// for was approved before (a client that wants more shows the consent page again).
fn covered(remembered: &[String], p: &Pending) -> bool {
    remembered.iter().any(|entry| match entry.split_once('/') {
        Some((client, scopes)) if client == p.client => {
            let approved: Vec<&str> = scopes.split('+').collect();
            p.scopes().all(|s| approved.contains(&s))
        }
        _ => false,
    })
}

/// Sends the person to Discord, with the login sealed into a cookie bound to this browser.
fn to_discord(cfg: &Config, secrets: &Secrets, keys: &AuthKeys, p: &Pending, origin: &str) -> Reply {
    let Some(sealed) = p.seal(&keys.pending).filter(|s| s.len() <= MAX_PENDING_COOKIE) else {
        return person_error("Request too large", "This login request is too large to carry through Discord.");
    };
    let mut scopes = vec!["identify"];
    if p.scopes().any(|s| s == "email") {
        scopes.push("email");
    }
    let url = discord::authorize_url(
        &cfg.discord,
        secrets.discord_client_id,
        &format!("{origin}/redirect"),
        &scopes,
        &p.nonce,
    );
    Reply::redirect(&url)
        .append_header("set-cookie", cookie::set_cookie("pending", &sealed, authorize::PENDING_TTL_SECONDS))
}

/// `GET /authorize`.
pub fn authorize(req: &RequestInfo, cfg: &Config, secrets: &Secrets, keys: &AuthKeys) -> Reply {
    let origin = req.origin();
    let now = now_s(req);
    let query = match Form::parse(req.url.query().unwrap_or("").as_bytes()) {
        Ok(q) => q,
        Err(_) => {
            return person_error("Invalid request", "A parameter appears more than once in the authorization request.")
        }
    };
    let Some(nonce) = keys::random_token::<16>() else {
        return AppError::Internal.into_reply(true);
    };
    let (pending, client, _client_id) = match authorize::validate(&query, &keys.client_id, &origin, now, nonce) {
        Ok(v) => v,
        Err(AuthorizeError::Page { title, message }) => return person_error(title, &message),
        Err(AuthorizeError::Redirect { redirect_uri, error, description, state }) => {
            return match url::Url::parse(&redirect_uri) {
                Ok(u) => Reply::redirect(&error_redirect(&u, error, &description, state.as_deref(), &origin)),
                Err(_) => person_error("Invalid redirect URI", "The application's redirect URI is not valid."),
            }
        }
    };
    if covered(&remembered(req, keys, now), &pending) {
        return to_discord(cfg, secrets, keys, &pending, &origin);
    }
    let (Some(sealed), Some(csrf)) = (pending.seal(&keys.pending), keys::random_token::<16>()) else {
        return AppError::Internal.into_reply(true);
    };
    let scopes: Vec<&str> = pending.scopes().collect();
    let page = pages::consent(client.name.as_deref(), &pending.redirect_uri, &scopes, &sealed, &csrf);
    let csrf_cookie = cookie::seal(&keys.consent, &pending.client, now + authorize::PENDING_TTL_SECONDS, &csrf);
    Reply::html_posting_to(200, page, &form_targets(cfg, &pending.redirect_uri))
        .append_header("set-cookie", cookie::set_cookie("csrf", &csrf_cookie, authorize::PENDING_TTL_SECONDS))
}

/// `POST /authorize`: the person's decision on the consent page.
pub fn decide(req: &RequestInfo, cfg: &Config, secrets: &Secrets, keys: &AuthKeys) -> Reply {
    let origin = req.origin();
    let now = now_s(req);
    // A cross-site form post never gets here with our SameSite cookies, but say so plainly.
    if req.header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return Reply::html(
            403,
            pages::error_page("Request refused", "The approval did not come from this server's own page.", ""),
        );
    }
    let form = match Form::parse(body(req)) {
        Ok(f) => f,
        Err(_) => return person_error("Invalid request", "A field appears more than once."),
    };
    let Some(pending) = form.get("request").and_then(|r| Pending::open(&keys.pending, r, now)) else {
        return person_error(
            "This page has expired",
            "The approval page is no longer valid. Go back to the application and start the login again.",
        );
    };
    let csrf_ok = match (form.get("csrf"), cookie::get(req.header("cookie"), "__Host-csrf")) {
        (Some(sent), Some(c)) => cookie::open(&keys.consent, &pending.client, now, c)
            .is_some_and(|expected| keys::ct_eq(expected.as_bytes(), sent.as_bytes())),
        _ => false,
    };
    if !csrf_ok {
        return Reply::html(403, pages::error_page("Request refused", "This approval could not be verified (the page may be stale, or cookies are blocked). Go back to the application and start the login again.", ""));
    }
    let clear_csrf = cookie::set_cookie("csrf", "", 0);
    match form.get("decision") {
        Some("approve") => {
            let mut list = remembered(req, keys, now);
            list.retain(|entry| entry.split_once('/').map(|(c, _)| c) != Some(pending.client.as_str()));
            list.insert(0, format!("{}/{}", pending.client, pending.scope.replace(' ', "+")));
            list.truncate(MAX_REMEMBERED);
            let remember = cookie::seal(&keys.consent, "remember", now + CONSENT_TTL_SECONDS, &list.join(","));
            to_discord(cfg, secrets, keys, &pending, &origin)
                .append_header("set-cookie", clear_csrf)
                .append_header("set-cookie", cookie::set_cookie("consent", &remember, CONSENT_TTL_SECONDS))
        }
        _ => client_error(&pending, &origin, "access_denied", "The person denied the request")
            .append_header("set-cookie", clear_csrf),
    }
}

/// A page telling the person what happened at Discord, with the way back to the application.
fn discord_failure(p: &Pending, origin: &str, e: &DiscordError) -> Reply {
    let back = url::Url::parse(&p.redirect_uri)
        .map(|u| error_redirect(&u, e.client_error(), &e.describe(), p.state.as_deref(), origin))
        .unwrap_or_default();
    let details = format!("<p><a href=\"{}\">Return to the application</a></p>", pages::escape(&back));
    Reply::html_posting_to(502, pages::error_page("Login with Discord failed", &e.describe(), &details), &[])
        .append_header("set-cookie", cookie::set_cookie("pending", "", 0))
}

/// `GET /redirect`: Discord sends the person back here.
pub async fn callback<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
) -> Reply {
    let origin = req.origin();
    let now = now_s(req);
    let query = Form::parse(req.url.query().unwrap_or("").as_bytes()).unwrap_or_default();
    let Some(pending) =
        cookie::get(req.header("cookie"), "__Host-pending").and_then(|c| Pending::open(&keys.pending, c, now))
    else {
        return person_error("Login expired", "This login is no longer valid in this browser (it took too long, or cookies are blocked). Go back to the application and start again.");
    };
    let state_ok = query.get("state").is_some_and(|s| keys::ct_eq(s.as_bytes(), pending.nonce.as_bytes()));
    if !state_ok {
        return person_error(
            "Login refused",
            "The answer from Discord does not belong to this login. Go back to the application and start again.",
        );
    }
    if query.get("error").is_some() {
        return client_error(&pending, &origin, "access_denied", "The person cancelled the login on Discord")
            .append_header("set-cookie", cookie::set_cookie("pending", "", 0));
    }
    let Some(code) = query.get("code") else {
        return person_error("Login refused", "Discord sent no code.");
    };
    let redirect_uri = format!("{origin}/redirect");
    let tokens = match platform.fetch(discord::token_request(&cfg.discord, secrets, code, &redirect_uri)).await {
        Ok(r) => discord::parse_tokens(&r),
        Err(e) => Err(e.into()),
    };
    let user = match tokens {
        Ok(t) => match platform.fetch(discord::user_request(&cfg.discord, &t.access_token)).await {
            Ok(r) => discord::parse_user(&r),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return discord_failure(&pending, &origin, &e),
    };
    let granted: Vec<&str> = pending.scopes().collect();
    let profile = Profile::from_discord(&user, &granted);
    let (Some(jti), Ok(mut to)) = (keys::random_token::<16>(), url::Url::parse(&pending.redirect_uri)) else {
        return AppError::Internal.into_reply(true);
    };
    let Some(sealed) = Code::new(&pending, profile, now, jti).seal(&keys.code) else {
        return AppError::Internal.into_reply(true);
    };
    {
        let mut q = to.query_pairs_mut();
        q.append_pair("code", &sealed);
        if let Some(s) = &pending.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &origin);
    }
    Reply::redirect(to.as_str()).append_header("set-cookie", cookie::set_cookie("pending", "", 0))
}

fn token_reply(claims: AccessClaims, keys: &AuthKeys, now: i64, ttl: i64, refresh: Option<&str>) -> Reply {
    let scope = claims.scope.clone();
    let Some(access) = access_token::issue(&keys.access, claims, now, ttl) else {
        return OAuthError::new("server_error", "could not sign the access token").into_reply();
    };
    let mut body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": scope });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Reply::json(200, &body).with_header("pragma", "no-cache").with_header("access-control-allow-origin", "*")
}

fn kv_error() -> Reply {
    OAuthError::new("temporarily_unavailable", "storage is unavailable; try again").into_reply()
}

/// `POST /token`.
pub async fn token<P: Platform>(req: &RequestInfo, cfg: &Config, keys: &AuthKeys, platform: &P) -> Reply {
    let origin = req.origin();
    let now = now_s(req);
    if !req.header("content-type").is_some_and(|c| {
        c.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    }) {
        return OAuthError::invalid_request("the token request must be application/x-www-form-urlencoded").into_reply();
    }
    let form = match Form::parse(body(req)) {
        Ok(f) => f,
        Err(_) => return OAuthError::invalid_request("a parameter appears more than once").into_reply(),
    };
    let (client_id, client) = match grant::authenticate(&form, req.header("authorization"), &keys.clients()) {
        Ok(c) => c,
        Err(e) => return e.into_reply(),
    };
    let Some(kv) = platform.kv() else { return kv_error() };
    let ttl = cfg.access_token_ttl;
    match form.get("grant_type") {
        Some("authorization_code") => {
            let code = match grant::redeem(&keys.code, &form, &client_id, now) {
                Ok(c) => c,
                Err(e) => return e.into_reply(),
            };
            let marker = format!("code:{}", code.jti);
            match kv.get(&marker).await {
                Ok(None) => {}
                Ok(Some(_)) => {
                    // RFC 6749 §10.5: a replayed code revokes what it produced.
                    let _ =
                        kv.put(&format!("revoked:{}", code.jti), "code replay", Some(REFRESH_TTL_SECONDS as u64)).await;
                    return OAuthError::new(
                        "invalid_grant",
                        "this authorization code was already used; the tokens it produced are revoked",
                    )
                    .into_reply();
                }
                Err(_) => return kv_error(),
            }
            if kv.put(&marker, "used", Some(2 * grant::CODE_TTL_SECONDS as u64)).await.is_err() {
                return kv_error();
            }
            let refresh = if client.refresh { issue_refresh(kv, &code.jti, &code, now).await } else { Ok(None) };
            let Ok(refresh) = refresh else { return kv_error() };
            let claims = claims_for(&origin, &client_id, &code.scope, &code.resource, &code.user, &code.jti);
            token_reply(claims, keys, now, ttl, refresh.as_deref())
        }
        Some("refresh_token") if client.refresh => {
            let Some(presented) = form.get("refresh_token") else {
                return OAuthError::invalid_request("refresh_token is required").into_reply();
            };
            let key = format!("rt:{}", grant::token_hash(presented));
            let record: RefreshRecord = match kv.get(&key).await {
                Ok(Some(v)) => match serde_json::from_str(&v) {
                    Ok(r) => r,
                    Err(_) => return OAuthError::new("invalid_grant", "the refresh token is not valid").into_reply(),
                },
                Ok(None) => {
                    return OAuthError::new(
                        "invalid_grant",
                        "the refresh token is not valid (expired, used or revoked); log in again",
                    )
                    .into_reply()
                }
                Err(_) => return kv_error(),
            };
            if record.client != authorize::client_hash(&client_id) {
                return OAuthError::new("invalid_grant", "the refresh token was issued to another client").into_reply();
            }
            if record.expires < now || matches!(kv.get(&format!("revoked:{}", record.grant)).await, Ok(Some(_))) {
                return OAuthError::new("invalid_grant", "the grant behind this refresh token has ended; log in again")
                    .into_reply();
            }
            let scope = match form.get("scope") {
                None => record.scope.clone(),
                Some(s) => {
                    let granted: Vec<&str> = record.scope.split(' ').collect();
                    if s.split(' ').any(|w| !w.is_empty() && !granted.contains(&w)) {
                        return OAuthError::new("invalid_scope", "a refresh may narrow the scope, never widen it")
                            .into_reply();
                    }
                    s.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
                }
            };
            if form.get("resource").is_some_and(|r| {
                authorize::canonical_resource(&origin, Some(r)).as_deref() != Some(record.resource.as_str())
            }) {
                return OAuthError::new("invalid_target", "resource differs from the one granted").into_reply();
            }
            // Rotation: the presented token ends, one successor is issued.
            if kv.delete(&key).await.is_err() {
                return kv_error();
            }
            let expires = (now + REFRESH_TTL_SECONDS).min(record.grant_expires);
            let next = RefreshRecord { scope: scope.clone(), expires, ..record.clone() };
            let Ok(refresh) = put_refresh(kv, &next).await else { return kv_error() };
            let Some(jti) = keys::random_token::<16>() else { return kv_error() };
            let claims = claims_for(&origin, &client_id, &scope, &record.resource, &record.user, &jti);
            token_reply(claims, keys, now, ttl, Some(&refresh))
        }
        Some("refresh_token") => {
            OAuthError::new("unauthorized_client", "this client did not register the refresh_token grant").into_reply()
        }
        Some(_) => OAuthError::new("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
            .into_reply(),
        None => OAuthError::invalid_request("grant_type is required").into_reply(),
    }
}

fn claims_for(origin: &str, client_id: &str, scope: &str, resource: &str, user: &Profile, jti: &str) -> AccessClaims {
    AccessClaims {
        iss: origin.to_string(),
        aud: resource.to_string(),
        sub: user.id.clone(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        jti: jti.to_string(),
        discord: user.clone(),
    }
}

async fn issue_refresh<S: Store>(kv: &S, grant_id: &str, code: &Code, now: i64) -> Result<Option<String>, ()> {
    let record = RefreshRecord {
        grant: grant_id.to_string(),
        grant_expires: now + MAX_GRANT_SECONDS,
        client: code.client.clone(),
        scope: code.scope.clone(),
        resource: code.resource.clone(),
        user: code.user.clone(),
        expires: now + REFRESH_TTL_SECONDS,
    };
    put_refresh(kv, &record).await.map(Some)
}

async fn put_refresh<S: Store>(kv: &S, record: &RefreshRecord) -> Result<String, ()> {
    let token = keys::random_token::<32>().ok_or(())?;
    let value = serde_json::to_string(record).map_err(|_| ())?;
    kv.put(&format!("rt:{}", grant::token_hash(&token)), &value, Some(REFRESH_TTL_SECONDS as u64))
        .await
        .map_err(|_| ())?;
    Ok(token)
}

/// Bearer authentication of the MCP endpoint: the caller, or the `401` that tells the client
/// where to log in. No KV read, no Discord call.
pub fn authenticate(req: &RequestInfo, keys: &AuthKeys) -> Result<Caller, Reply> {
    let origin = req.origin();
    let challenge = |c: Challenge, error: &str, description: &str| {
        Reply::json(401, &json!({ "error": error, "error_description": description })).with_header(
            "www-authenticate",
            metadata::www_authenticate(&metadata_url(&origin), authorize::DEFAULT_SCOPE, c),
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
    let claims = access_token::verify(&keys.access, token, &origin, &format!("{origin}/mcp"), now_s(req))
        .map_err(|e| challenge(Challenge::InvalidToken(e.describe()), "invalid_token", e.describe()))?;
    Ok(Caller {
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
    metadata::www_authenticate(&metadata_url(origin), scope, Challenge::InsufficientScope)
}
