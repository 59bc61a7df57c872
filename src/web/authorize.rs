//! `GET /authorize` and the consent page's `POST /authorize`: the client resolved from its
//! signed registration, the configuration or its metadata document; errors as pages or
//! redirects by who vetted the redirect URI; remembered approvals; then off to Discord.

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{self};
use crate::rules::keys::{self, AuthKeys};
use crate::rules::oauth::authorize::{self, AuthorizeError, Pending};
use crate::rules::oauth::client::{self};
use crate::rules::oauth::cookie;
use crate::rules::oauth::error::error_redirect;
use crate::rules::oauth::form::Form;
use crate::rules::platform::Platform;
use crate::web::consent;
use crate::web::error::AppError;
use crate::web::http::{Reply, RequestInfo, MAX_OAUTH_BODY_BYTES};
use crate::web::metadata_documents::{metadata_document, DocumentError};
use crate::web::pages;

/// Largest sealed login kept in a cookie (browsers cap a cookie near 4096 bytes).
const MAX_PENDING_COOKIE: usize = 3800;

pub(super) fn person_error(title: &str, message: &str) -> Reply {
    Reply::html(400, pages::error_page(title, message, ""))
}

/// An answer to the client after the consent page (Deny, a cancelled Discord login): a
/// redirect for a client the operator vetted; for anyone else's, a page saying `page` with a
/// link the person may follow (RFC 9700 §4.11.2), as errors before the consent page are. An
/// automatic redirect would send the person wherever a registration or document pointed.
pub(super) fn client_error(p: &Pending, origin: &str, code: &str, description: &str, page: (&str, &str)) -> Reply {
    let Ok(u) = url::Url::parse(&p.redirect_uri) else {
        return person_error("Invalid redirect URI", "The application's redirect URI is not valid.");
    };
    let back = error_redirect(&u, code, description, p.state.as_deref(), origin);
    if p.vetted {
        return Reply::redirect(&back);
    }
    let details = format!(
        "<p><a href=\"{}\">Return to the application at <code>{}</code></a></p>",
        pages::escape(&back),
        pages::escape(&shown_target(&u))
    );
    Reply::html_posting_to(200, pages::error_page(page.0, page.1, &details), &[])
}

/// Where a link back to the client goes, as a person can check it: its host, or its scheme.
fn shown_target(target: &url::Url) -> String {
    target.host_str().map(String::from).unwrap_or_else(|| format!("{}:", target.scheme()))
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
    let host = shown_target(target);
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

/// Resolves the client of an authorization request: configured, registered, or described by
/// its Client ID Metadata Document (fetched, or read from the cache). `Err` is a page, which
/// names no text of the request's but the document's host (an ASCII host name, checked).
async fn resolve_client<P: Platform>(
    cfg: &Config,
    keys: &AuthKeys,
    platform: &P,
    id: &str,
    now: i64,
) -> Result<client::Client, Reply> {
    let unknown = || {
        let hint = if id.starts_with("http://") || id.starts_with("https://") {
            "Its client_id looks like a metadata document URL, but this server only fetches https URLs with an ASCII host name (punycode for international names) and a path (no fragment, credentials or dot segments)."
        } else {
            "This application is not registered with this server. Ask it to register again."
        };
        person_error("Unknown application", hint)
    };
    match super::token::client_keys(cfg, keys).lookup(id) {
        Some(c) if c.kind == client::Kind::MetadataDocument => {
            let url = client::metadata_url(id, cfg.local_only).ok_or_else(unknown)?;
            let host = url.host_str().unwrap_or_default().to_string();
            metadata_document(platform, &url, now, cfg.document_rules()).await.map_err(|e| match e {
                DocumentError::Unreachable(why) => Reply::html(
                    502,
                    pages::error_page(
                        "Application's host unavailable",
                        &format!("The application's metadata at {host} {why}. This is a problem at {host}, not here: try again in a moment."),
                        "",
                    ),
                ),
                DocumentError::Invalid(why) => person_error(
                    "Application could not be verified",
                    &format!("The application's metadata document at {host} {why}."),
                ),
            })
        }
        Some(c) => Ok(c),
        None => Err(unknown()),
    }
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
        Err(page) => return page,
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
        _ => client_error(
            &pending,
            &origin,
            "access_denied",
            "The person denied the request",
            ("Access denied", "You did not allow the application to use this server. Nothing was shared with it."),
        )
        .append_header("set-cookie", clear_csrf),
    }
}
