//! HTTP adapters of the authorization server: discovery, registration, authorize and
//! consent (with clients resolved from registration, configuration or a metadata document),
//! the Discord callback and its access policy, and bearer authentication of the MCP endpoint.
//! Thin over the pure rules in [`crate::rules::oauth`]; storage and Discord go through [`Platform`].
//! The token endpoints are in [`crate::web::tokens`].

use serde_json::json;

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{self, DiscordError, StoredTokens};
use crate::rules::keys::{self, AuthKeys};
use crate::rules::mcp::tool::Caller;
use crate::rules::oauth::access_token;
use crate::rules::oauth::authorize::{self, AuthorizeError, Pending, SCOPES};
use crate::rules::oauth::client::{self, AuthMethod};
use crate::rules::oauth::cookie;
use crate::rules::oauth::error::{error_redirect, OAuthError};
use crate::rules::oauth::form::Form;
use crate::rules::oauth::grant::{self, Code, Profile};
use crate::rules::oauth::metadata::{self, Challenge, ServerFeatures};
use crate::rules::platform::Platform;
use crate::web::consent;
use crate::web::error::AppError;
use crate::web::http::{Reply, RequestInfo, MAX_OAUTH_BODY_BYTES};
use crate::web::pages;

/// Largest sealed login kept in a cookie (browsers cap a cookie near 4096 bytes).
const MAX_PENDING_COOKIE: usize = 3800;

fn too_large(code: &'static str) -> Reply {
    OAuthError {
        code,
        description: format!("the request body is larger than {MAX_OAUTH_BODY_BYTES} bytes"),
        status: 413,
    }
    .into_reply()
}

fn metadata_url(origin: &str) -> String {
    format!("{origin}/.well-known/oauth-protected-resource/mcp")
}

fn features(cfg: &Config) -> ServerFeatures<'static> {
    ServerFeatures {
        registration: !cfg.registration_disabled,
        revocation: true,
        introspection: true,
        client_id_metadata_documents: true,
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

/// An error in the request of a client whose redirect URIs nobody vetted (registered by
/// anyone, or a metadata document): a page with a link the person may follow, never an
/// automatic redirect, or this server would be an open redirector (RFC 9700 §4.11.2).
fn unvetted_error(description: &str, target: &url::Url, back: &str) -> Reply {
    let host = target.host_str().map(String::from).unwrap_or_else(|| format!("{}:", target.scheme()));
    let details = format!(
        "<p>The application that sent you here made an invalid request. If you started this yourself, \
         you can <a href=\"{}\">return to the application at <code>{}</code></a> and tell it what went wrong.</p>",
        pages::escape(back),
        pages::escape(&host)
    );
    Reply::html_posting_to(400, pages::error_page("Invalid request from the application", description, &details), &[])
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
    // The tool needs it, or the access policy checks server membership at login.
    if p.scopes().any(|s| s == "guilds") || !cfg.allowed_guilds.is_empty() {
        scopes.push("guilds");
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

/// How long a fetched Client ID Metadata Document is cached when it does not say.
const METADATA_CACHE_SECONDS: u64 = 3600;
/// A metadata document host gets this long to answer.
const METADATA_TIMEOUT_MS: u32 = 3000;

/// Resolves the client of an authorization request: configured, registered, or described by
/// its Client ID Metadata Document (fetched, or read from the KV cache). `Err` is a page.
async fn resolve_client<P: Platform>(
    cfg: &Config,
    keys: &AuthKeys,
    platform: &P,
    id: &str,
    now: i64,
) -> Result<client::Client, (&'static str, String)> {
    let ck = grant::ClientKeys {
        id: &keys.client_id,
        secret: &keys.client_secret,
        configured: &cfg.clients,
        allow_loopback_http: cfg.local_only,
    };
    let unknown = || {
        let hint = if id.starts_with("http://") || id.starts_with("https://") {
            "Its client_id looks like a metadata document URL, but this server only fetches https URLs with an ASCII host name (punycode for international names) and a path (no fragment, credentials or dot segments)."
        } else {
            "This application is not registered with this server. Ask it to register again."
        };
        ("Unknown application", hint.to_string())
    };
    match ck.lookup(id) {
        Some(c) if c.kind == client::Kind::MetadataDocument => {
            let url = client::metadata_url(id, cfg.local_only).ok_or_else(unknown)?;
            metadata_document(platform, &url, now).await.map_err(|why| {
                ("Application could not be verified", format!("The application's metadata document at {id} {why}."))
            })
        }
        Some(c) => Ok(c),
        None => Err(unknown()),
    }
}

thread_local! {
    /// Metadata documents this isolate fetched lately: (URL, document, expires). Works on every
    /// deployment, including workers.dev where the Cache API does nothing.
    static DOCUMENTS: std::cell::RefCell<Vec<(String, String, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Documents kept per isolate.
const DOCUMENTS_KEPT: usize = 32;

fn remembered_document(url: &str, now: i64) -> Option<String> {
    DOCUMENTS.with(|d| d.borrow().iter().find(|(u, _, exp)| u == url && *exp > now).map(|(_, doc, _)| doc.clone()))
}

fn remember_document(url: &str, doc: &str, expires: i64) {
    DOCUMENTS.with(|d| {
        let mut d = d.borrow_mut();
        d.retain(|(u, _, _)| u != url);
        d.insert(0, (url.to_string(), doc.to_string(), expires));
        d.truncate(DOCUMENTS_KEPT);
    });
}

/// How long a document may be cached, from its `Cache-Control`: `None` for `no-store` or
/// `no-cache`, else its `max-age` clamped to 5 minutes – 24 hours (1 hour when it says nothing).
fn document_ttl(cache_control: Option<&str>) -> Option<u64> {
    let directives: Vec<String> =
        cache_control.unwrap_or("").split(',').map(|d| d.trim().to_ascii_lowercase()).collect();
    if directives.iter().any(|d| d == "no-store" || d == "no-cache") {
        return None;
    }
    let max_age = directives.iter().find_map(|d| d.strip_prefix("max-age=").and_then(|v| v.parse::<u64>().ok()));
    Some(max_age.unwrap_or(METADATA_CACHE_SECONDS).clamp(300, 86_400))
}

/// Fetches (or reads from cache) and validates a Client ID Metadata Document. The reason of a
/// failure completes the sentence "The application's metadata document at <url> …".
///
/// Anonymous: anyone can name any URL, so nothing here writes KV (the rule is that only a
/// signed-in person's action does). The cache is this isolate's memory, then the Workers
/// Cache API at this location; both are free and bounded.
async fn metadata_document<P: Platform>(platform: &P, url: &url::Url, now: i64) -> Result<client::Client, String> {
    let cache_key = format!("https://metadata-documents.invalid/{}", grant::token_hash(url.as_str()));
    let cached = match remembered_document(url.as_str(), now) {
        Some(doc) => Some(doc),
        None => platform.cache_get(&cache_key).await,
    };
    if let Some(doc) = cached {
        if let Ok(c) = client::from_metadata_document(url.as_str(), doc.as_bytes()) {
            return Ok(c);
        }
    }
    let request = crate::rules::platform::Outbound {
        method: "GET",
        url: url.to_string(),
        headers: vec![("accept", "application/json".into())],
        body: None,
        timeout_ms: METADATA_TIMEOUT_MS,
        max_bytes: client::MAX_METADATA_DOCUMENT,
    };
    let response = match platform.fetch(request).await {
        Ok(r) => r,
        Err(crate::rules::platform::FetchError::Timeout) => {
            return Err(format!("did not answer within {} seconds", METADATA_TIMEOUT_MS / 1000))
        }
        Err(crate::rules::platform::FetchError::TooLarge) => {
            return Err(format!("is larger than {} bytes", client::MAX_METADATA_DOCUMENT))
        }
        Err(_) => return Err("could not be fetched".into()),
    };
    match response.status {
        200 => {}
        300..=399 => return Err("answered with a redirect, which is not followed".into()),
        s => return Err(format!("answered HTTP {s}")),
    }
    let media = response.header("content-type").and_then(|c| c.split(';').next()).map(str::trim).unwrap_or("");
    if !(media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json")) {
        return Err("is not served as application/json".into());
    }
    let client = client::from_metadata_document(url.as_str(), &response.body)?;
    if let (Some(ttl), Ok(text)) = (document_ttl(response.header("cache-control")), std::str::from_utf8(&response.body))
    {
        remember_document(url.as_str(), text, now.saturating_add(ttl as i64));
        platform.cache_put(&cache_key, text, ttl).await;
    }
    Ok(client)
}

/// `GET /authorize`.
pub async fn authorize<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
) -> Reply {
    let origin = req.origin();
    let now = req.now_s();
    let query = match Form::parse(req.url.query().unwrap_or("").as_bytes()) {
        Ok(q) => q,
        Err(_) => {
            return person_error("Invalid request", "A parameter appears more than once in the authorization request.")
        }
    };
    let Some(nonce) = keys::random_token::<16>() else {
        return AppError::Internal.into_reply(true);
    };
    let client_id = match authorize::requested_client(&query) {
        Ok(id) => {
            req.note(|n| n.client_id = Some(id.to_string()));
            id
        }
        Err(AuthorizeError::Page { title, message }) => return person_error(title, &message),
        Err(_) => return AppError::Internal.into_reply(true),
    };
    let client = match resolve_client(cfg, keys, platform, client_id, now).await {
        Ok(c) => c,
        Err((title, message)) => return person_error(title, &message),
    };
    let pending = match authorize::validate(&query, client_id, &client, &origin, now, nonce) {
        Ok(v) => v,
        Err(AuthorizeError::Page { title, message }) => return person_error(title, &message),
        Err(AuthorizeError::Redirect { redirect_uri, error, description, state }) => {
            let Ok(u) = url::Url::parse(&redirect_uri) else {
                return person_error("Invalid redirect URI", "The application's redirect URI is not valid.");
            };
            let back = error_redirect(&u, error, &description, state.as_deref(), &origin);
            return if matches!(client.kind, client::Kind::Configured { .. }) {
                Reply::redirect(&back)
            } else {
                unvetted_error(&description, &u, &back)
            };
        }
    };
    let shown = consent::shown_digest(&client);
    if consent::covered(&consent::remembered(req, keys, now), &pending, &shown) {
        return to_discord(cfg, secrets, keys, &pending, &origin);
    }
    let (Some(sealed), Some(csrf)) = (pending.seal(&keys.pending), keys::random_token::<16>()) else {
        return AppError::Internal.into_reply(true);
    };
    let scopes: Vec<&str> = pending.scopes().collect();
    // A metadata document's name is its author's claim; the host it is served from is not.
    // A registered name is anyone's claim.
    let host = url::Url::parse(client_id).ok().and_then(|u| u.host_str().map(String::from)).unwrap_or_default();
    let provenance = match client.kind {
        client::Kind::MetadataDocument => pages::Provenance::Host(&host),
        client::Kind::Configured { .. } => pages::Provenance::Operator,
        client::Kind::Registered => pages::Provenance::SelfAsserted,
    };
    let page = pages::consent(client.name.as_deref(), provenance, &pending.redirect_uri, &scopes, &sealed, &csrf);
    // The approval is bound to what this page showed: a changed document asks again.
    let csrf_cookie =
        cookie::seal(&keys.consent, &pending.client, now + authorize::PENDING_TTL_SECONDS, &format!("{csrf}/{shown}"));
    Reply::html_posting_to(200, page, &form_targets(cfg, &pending.redirect_uri))
        .append_header("set-cookie", cookie::set_cookie("csrf", &csrf_cookie, authorize::PENDING_TTL_SECONDS))
}

/// `POST /authorize`: the person's decision on the consent page.
pub fn decide(req: &RequestInfo, cfg: &Config, secrets: &Secrets, keys: &AuthKeys) -> Reply {
    let origin = req.origin();
    let now = req.now_s();
    // A cross-site form post never gets here with our SameSite cookies, but say so plainly.
    if req.from_another_site() {
        return Reply::html(
            403,
            pages::error_page("Request refused", "The approval did not come from this server's own page.", ""),
        );
    }
    let Some(body) = req.body_within(MAX_OAUTH_BODY_BYTES) else {
        return Reply::html(413, pages::error_page("Request too large", "This form is larger than any approval.", ""));
    };
    let form = match Form::parse(body) {
        Ok(f) => f,
        Err(_) => return person_error("Invalid request", "A field appears more than once."),
    };
    let Some(pending) = form.get("request").and_then(|r| Pending::open(&keys.pending, r, now)) else {
        return person_error(
            "This page has expired",
            "The approval page is no longer valid. Go back to the application and start the login again.",
        );
    };
    let checked = match (form.get("csrf"), cookie::get(req.header("cookie"), "__Host-csrf")) {
        (Some(sent), Some(c)) => cookie::open(&keys.consent, &pending.client, now, c).and_then(|v| {
            let (expected, shown) = v.split_once('/')?;
            keys::ct_eq(expected.as_bytes(), sent.as_bytes()).then(|| shown.to_string())
        }),
        _ => None,
    };
    let Some(shown) = checked else {
        return Reply::html(403, pages::error_page("Request refused", "This approval could not be verified (the page may be stale, or cookies are blocked). Go back to the application and start the login again.", ""));
    };
    let clear_csrf = cookie::set_cookie("csrf", "", 0);
    match form.get("decision") {
        Some("approve") => {
            let mut list = consent::remembered(req, keys, now);
            list.retain(|entry| entry.split('/').next() != Some(pending.client.as_str()));
            list.insert(0, format!("{}/{}/{shown}", pending.client, pending.scope.replace(' ', "+")));
            to_discord(cfg, secrets, keys, &pending, &origin)
                .append_header("set-cookie", clear_csrf)
                .append_header("set-cookie", consent::remember_cookie(keys, list, now))
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
    let now = req.now_s();
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
    let tokens = match tokens {
        Ok(t) => t,
        Err(e) => return discord_failure(&pending, &origin, &e),
    };
    let user = match platform.fetch(discord::user_request(&cfg.discord, &tokens.access_token)).await {
        Ok(r) => discord::parse_user(&r),
        Err(e) => Err(e.into()),
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return discord_failure(&pending, &origin, &e),
    };
    req.note(|n| n.user = Some(user.id.clone()));
    if cfg.has_policy() {
        match allowed(cfg, platform, &user, &tokens.access_token).await {
            Ok(true) => {}
            Ok(false) => {
                // Nothing is stored for a refused person, and Discord's authorization ends.
                let stored = StoredTokens::from_exchange(&tokens, now);
                let _ = platform.fetch(discord::revoke_request(&cfg.discord, secrets, &stored)).await;
                return access_refused(&pending, &origin, &user);
            }
            Err(e) => return discord_failure(&pending, &origin, &e),
        }
    }
    let granted: Vec<&str> = pending.scopes().collect();
    let profile = Profile::from_discord(&user, &granted);
    let (Some(jti), Ok(mut to)) = (keys::random_token::<16>(), url::Url::parse(&pending.redirect_uri)) else {
        return AppError::Internal.into_reply(true);
    };
    let mut code = Code::new(&pending, profile, now, jti);
    code.client_name = pending.client_name.clone();
    code.discord = StoredTokens::from_exchange(&tokens, now).seal(&keys.discord, &code.jti);
    let Some(sealed) = code.seal(&keys.code) else {
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

/// The access policy: a listed user, or a member of a listed server. Discord is asked for the
/// person's servers only when a server list is set and the user list did not already decide.
async fn allowed<P: Platform>(
    cfg: &Config,
    platform: &P,
    user: &discord::DiscordUser,
    access_token: &str,
) -> Result<bool, DiscordError> {
    if cfg.allowed_users.contains(&user.id) {
        return Ok(true);
    }
    if cfg.allowed_guilds.is_empty() {
        return Ok(false);
    }
    let guilds = match platform.fetch(discord::guilds_request(&cfg.discord, access_token)).await {
        Ok(r) => discord::parse_guilds(&r)?,
        Err(e) => return Err(e.into()),
    };
    Ok(guilds.iter().any(|g| cfg.allowed_guilds.contains(&g.id)))
}

/// The page for a person the access policy refuses; the way back tells the client
/// `access_denied`.
fn access_refused(p: &Pending, origin: &str, user: &discord::DiscordUser) -> Reply {
    let back = url::Url::parse(&p.redirect_uri)
        .map(|u| {
            error_redirect(
                &u,
                "access_denied",
                "This Discord account is not allowed to use this server",
                p.state.as_deref(),
                origin,
            )
        })
        .unwrap_or_default();
    let who = user.global_name.as_deref().unwrap_or(&user.username);
    let message = format!(
        "You are logged in to Discord as {who}, but this server admits only the Discord accounts, or members of the Discord servers, that its operator listed. Nothing about you was stored. If you think you should have access, ask the operator to add your Discord user id ({}).",
        user.id
    );
    let details = format!(
        "{}<p><a href=\"{}\">Return to the application</a></p>",
        pages::identity(who, user.avatar_url().as_deref()),
        pages::escape(&back)
    );
    Reply::html_posting_to(403, pages::error_page("Access refused", &message, &details), &[])
        .append_header("set-cookie", cookie::set_cookie("pending", "", 0))
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
    metadata::www_authenticate(&metadata_url(origin), scope, Challenge::InsufficientScope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_cached_as_their_host_says_within_bounds() {
        assert_eq!(document_ttl(None), Some(METADATA_CACHE_SECONDS));
        assert_eq!(document_ttl(Some("public, max-age=600")), Some(600));
        assert_eq!(document_ttl(Some("max-age=1")), Some(300));
        assert_eq!(document_ttl(Some("max-age=99999999")), Some(86_400));
        assert_eq!(document_ttl(Some("No-Store")), None);
        assert_eq!(document_ttl(Some("max-age=600, no-cache")), None);
    }

    #[test]
    fn the_isolate_cache_keeps_the_newest_documents_until_they_expire() {
        remember_document("https://a.example/1.json", "one", 100);
        assert_eq!(remembered_document("https://a.example/1.json", 99).as_deref(), Some("one"));
        assert_eq!(remembered_document("https://a.example/1.json", 100), None, "expired");
        for i in 0..DOCUMENTS_KEPT + 5 {
            remember_document(&format!("https://b.example/{i}.json"), "x", 1000);
        }
        DOCUMENTS.with(|d| assert_eq!(d.borrow().len(), DOCUMENTS_KEPT));
        assert_eq!(remembered_document("https://b.example/0.json", 1), None, "the oldest went first");
    }
}
