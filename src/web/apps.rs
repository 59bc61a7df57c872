//! The connected apps page (`/apps`): a person logs in with Discord and sees every MCP client
//! they granted access, and can disconnect any of them. Thin over [`crate::store::grants::connected`]
//! and [`crate::web::revoke::disconnect`].
//!
//! The login reuses the Worker's one Discord redirect URI (`/redirect`): a sealed `apps-login`
//! cookie carries the `state` sent to Discord, and [`owns_callback`] tells the callback which
//! flow an answer belongs to. Discord is asked for `identify` only, and its token is dropped
//! unused after one `users/@me` (it expires on its own at Discord). It is never revoked: at
//! Discord, revoking any token of an application ends the person's whole authorization of it,
//! which would break every connected client's Discord access. The session is a sealed
//! cookie holding the Discord user id, so the grants listed and revoked are always under
//! `grant:<that id>:` and no other person's can be reached. Forms carry a CSRF token derived
//! from the session, checked in constant time, and must come from this origin.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{self, DiscordError};
use crate::rules::keys;
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::cookie;
use crate::rules::oauth::form::Form;
use crate::rules::platform::Platform;
use crate::store::grants;
use crate::web::http::{Reply, RequestInfo, MAX_OAUTH_BODY_BYTES};
use crate::web::pages;
use crate::web::revoke;

/// How long the page stays logged in.
const SESSION_SECONDS: i64 = 1800;
/// How long a login may take at Discord.
const LOGIN_SECONDS: i64 = 600;
const SESSION_COOKIE: &str = "apps";
const LOGIN_COOKIE: &str = "apps-login";

/// Who is logged in to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    /// Discord user id.
    id: String,
    name: String,
    #[serde(default)]
    avatar: Option<String>,
    /// Random per login: the CSRF token is derived from it.
    nonce: String,
}

fn session(req: &RequestInfo, keys: &AuthKeys, now: i64) -> Option<Session> {
    let sealed = cookie::get(req.header("cookie"), &format!("__Host-{SESSION_COOKIE}"))?;
    serde_json::from_slice(cookie::open(&keys.consent, SESSION_COOKIE, now, sealed)?.as_bytes()).ok()
}

fn csrf(keys: &AuthKeys, s: &Session) -> String {
    B64.encode(keys.consent.sign(format!("apps-csrf|{}|{}", s.id, s.nonce).as_bytes()))
}

fn page(status: u16, title: &str, message: &str) -> Reply {
    Reply::html(status, pages::error_page(title, message, "<p><a href=\"/apps\">Back to connected apps</a></p>"))
}

/// Seconds since the epoch as `2026-11-23 14:05 UTC`.
fn when(seconds: i64) -> String {
    let iso = crate::rules::time::iso8601(seconds.max(0) as u64 * 1000);
    format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "))
}

/// How long this isolate shows a person the list it read, unless they disconnect something
/// here: each reading costs KV lists, and the free plan has 1,000 a day (second security review).
const LIST_KEPT_SECONDS: i64 = 300;

thread_local! {
    /// Lists read lately, by Discord user id: (user, list, until).
    static LISTS: std::cell::RefCell<Vec<(String, Vec<grants::Connected>, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn recent_list(user: &str, now: i64) -> Option<Vec<grants::Connected>> {
    LISTS.with(|l| l.borrow().iter().find(|(u, _, until)| u == user && *until > now).map(|(_, list, _)| list.clone()))
}

fn keep_list(user: &str, list: &[grants::Connected], now: i64) {
    LISTS.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|(u, _, until)| u != user && *until > now);
        if l.len() >= 32 {
            l.remove(0);
        }
        l.push((user.to_string(), list.to_vec(), now + LIST_KEPT_SECONDS));
    });
}

/// After a disconnect or a new login here, the page reads KV again.
pub(super) fn forget_list(user: &str) {
    LISTS.with(|l| l.borrow_mut().retain(|(u, _, _)| u != user));
}

/// `GET /apps` (and `HEAD`, which reads no KV).
pub async fn show<P: Platform>(req: &RequestInfo, keys: &AuthKeys, platform: &P) -> Reply {
    let now = req.now_s();
    let Some(s) = session(req, keys, now) else {
        return Reply::html(200, pages::apps_login());
    };
    req.note(|n| n.user = Some(s.id.clone()));
    if req.method == "HEAD" {
        return Reply::html(200, String::new());
    }
    let list = match recent_list(&s.id, now) {
        Some(list) => list,
        None => {
            let Some(kv) = platform.kv() else {
                return page(503, "Temporarily unavailable", "The list of applications cannot be read right now.");
            };
            // A person reloading in a loop, beyond the rate limiter's count, sees a short wait.
            if !platform.within_rate(&format!("apps-list:{}", s.id)).await {
                return page(429, "Too many requests", "Wait a minute, then reload the page.")
                    .with_header("retry-after", "60");
            }
            let Ok(list) = grants::connected(kv, &s.id, now).await else {
                return page(
                    503,
                    "Temporarily unavailable",
                    "The list of applications cannot be read right now. Try again in a moment.",
                )
                .with_header("retry-after", "2");
            };
            keep_list(&s.id, &list, now);
            list
        }
    };
    let rows: Vec<pages::AppRow> = list
        .iter()
        .map(|c| pages::AppRow {
            grant: &c.grant,
            name: c.client_name.as_deref(),
            client_id: &c.client_id,
            scopes: c.scope.split(' ').filter(|s| !s.is_empty()).collect(),
            granted: when(c.created),
            refreshed: c.refreshed.map(when),
            expires: when(c.expires),
        })
        .collect();
    let notice = match req.url.query_pairs().find(|(k, _)| k == "done").map(|(_, v)| v) {
        Some(v) if v == "revoked" => Some("Disconnected. Its tokens no longer work."),
        Some(v) if v == "gone" => Some("That application was already disconnected."),
        _ => None,
    };
    let who = pages::identity(&s.name, s.avatar.as_deref());
    Reply::html(200, pages::apps(&who, &rows, &csrf(keys, &s), notice))
}

/// `GET /apps/login`: off to Discord, asking only who the person is (and their servers, when
/// the access policy admits members of listed servers).
pub fn login(req: &RequestInfo, cfg: &Config, secrets: &Secrets<'_>, keys: &AuthKeys) -> Reply {
    let Some(nonce) = keys::random_token::<16>() else {
        return page(500, "Something went wrong", "The login could not be started. Please try again.");
    };
    let sealed = cookie::seal(&keys.consent, LOGIN_COOKIE, req.now_s() + LOGIN_SECONDS, &nonce);
    let url = discord::authorize_url(
        &cfg.discord,
        secrets.discord_client_id,
        &format!("{}/redirect", req.origin()),
        if cfg.allowed_guilds.is_empty() { &["identify"] } else { &["identify", "guilds"] },
        &nonce,
    );
    Reply::redirect(&url).append_header("set-cookie", cookie::set_cookie(LOGIN_COOKIE, &sealed, LOGIN_SECONDS))
}

/// Whether Discord's answer on `/redirect` belongs to a login of this page.
pub fn owns_callback(req: &RequestInfo, keys: &AuthKeys) -> bool {
    let query = Form::parse(req.url.query().unwrap_or("").as_bytes()).unwrap_or_default();
    let cookie = cookie::get(req.header("cookie"), &format!("__Host-{LOGIN_COOKIE}"));
    match (query.get("state"), cookie.and_then(|c| cookie::open(&keys.consent, LOGIN_COOKIE, req.now_s(), c))) {
        (Some(state), Some(nonce)) => keys::ct_eq(state.as_bytes(), nonce.as_bytes()),
        _ => false,
    }
}

/// `GET /redirect` for a login of this page (see [`owns_callback`]).
pub async fn callback<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    platform: &P,
    keys: &AuthKeys,
) -> Reply {
    let clear = cookie::set_cookie(LOGIN_COOKIE, "", 0);
    let query = Form::parse(req.url.query().unwrap_or("").as_bytes()).unwrap_or_default();
    if query.get("error").is_some() {
        return page(400, "Login cancelled", "You cancelled the login on Discord.").append_header("set-cookie", clear);
    }
    let Some(code) = query.get("code") else {
        return page(400, "Login refused", "Discord sent no code.").append_header("set-cookie", clear);
    };
    let failed = |e: DiscordError| page(502, "Login with Discord failed", &e.describe());
    // Identity was all the page needed: the token is dropped, not revoked (see the module comment).
    let (tokens, user) = match crate::web::callback::discord_login(req, cfg, secrets, platform, code).await {
        Ok(login) => login,
        Err(e) => return failed(e).append_header("set-cookie", clear),
    };
    // The page is for the people this server admits, like the MCP login (second review).
    if cfg.has_policy() {
        match crate::web::callback::allowed(cfg, platform, &user, &tokens.access_token, req.now_ms as i64).await {
            Ok(true) => {}
            Ok(false) => {
                return page(
                    403,
                    "Access refused",
                    "This server admits only the Discord accounts, or members of the Discord servers, that its operator listed.",
                )
                .append_header("set-cookie", clear)
            }
            Err(e) => return failed(e).append_header("set-cookie", clear),
        }
    }
    let now = req.now_s();
    let Some(nonce) = keys::random_token::<16>() else {
        return page(500, "Something went wrong", "The login could not be completed. Please try again.");
    };
    let s = Session {
        name: user.global_name.clone().unwrap_or_else(|| user.username.clone()),
        avatar: user.avatar_url(),
        id: user.id,
        nonce,
    };
    let Ok(json) = serde_json::to_string(&s) else {
        return page(500, "Something went wrong", "The login could not be completed. Please try again.");
    };
    let sealed = cookie::seal(&keys.consent, SESSION_COOKIE, now + SESSION_SECONDS, &json);
    see_other("/apps")
        .append_header("set-cookie", clear)
        .append_header("set-cookie", cookie::set_cookie(SESSION_COOKIE, &sealed, SESSION_SECONDS))
}

fn see_other(location: &str) -> Reply {
    Reply::empty(303).with_header("location", location).with_header("cache-control", "no-store")
}

/// `POST /apps`: disconnect an application, or log out of the page.
pub async fn act<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
) -> Reply {
    if req.from_another_site() {
        return page(403, "Request refused", "This request did not come from this server's own page.");
    }
    let now = req.now_s();
    let Some(s) = session(req, keys, now) else {
        return page(
            403,
            "Logged out",
            "Your session on this page has ended. Log in again to manage your applications.",
        );
    };
    let Some(body) = req.body_within(MAX_OAUTH_BODY_BYTES) else {
        return page(413, "Request too large", "This form is larger than any this page sends.");
    };
    let Ok(form) = Form::parse(body) else {
        return page(400, "Invalid request", "A field appears more than once.");
    };
    if !form.get("csrf").is_some_and(|sent| keys::ct_eq(sent.as_bytes(), csrf(keys, &s).as_bytes())) {
        return page(
            403,
            "Request refused",
            "This request could not be verified (the page may be stale). Reload the page and try again.",
        );
    }
    match (form.get("action"), form.get("grant")) {
        (Some("logout"), _) => {
            see_other("/apps").append_header("set-cookie", cookie::set_cookie(SESSION_COOKIE, "", 0))
        }
        (Some("revoke"), Some(grant)) if crate::rules::oauth::grant::is_grant_id(grant) => {
            forget_list(&s.id);
            match revoke::disconnect(cfg, secrets, keys, platform, now, &s.id, grant).await {
                // This browser's remembered approval of the client goes too: it must ask again.
                Ok(Some(client_id)) => match crate::web::consent::forget_consent(req, keys, &client_id) {
                    Some(forget) => see_other("/apps?done=revoked").append_header("set-cookie", forget),
                    None => see_other("/apps?done=revoked"),
                },
                Ok(None) => see_other("/apps?done=gone"),
                Err(_) => page(
                    503,
                    "Temporarily unavailable",
                    "The application could not be disconnected right now. Try again in a moment.",
                )
                .with_header("retry-after", "2"),
            }
        }
        _ => page(400, "Invalid request", "This form asks for nothing this page does."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_ids_are_checked_before_they_reach_a_key() {
        assert!(crate::rules::oauth::grant::is_grant_id("AAAAAAAAAAAAAAAAAAAAAA"));
        for bad in ["", "short", "a:b:cccccccccccccccccc", &"a".repeat(65), "aaaaaaaaaaaaaaaa/..", "aaaaaaaaaaaaaaaa é"]
        {
            assert!(!crate::rules::oauth::grant::is_grant_id(bad), "{bad}");
        }
    }

    #[test]
    fn times_read_as_dates() {
        assert_eq!(when(1_785_240_000), "2026-07-28 12:00 UTC");
        assert_eq!(when(-5), "1970-01-01 00:00 UTC");
    }
}
