//! `GET /redirect`: Discord sends the person back here. The code exchange and `users/@me`
//! (shared with the connected apps login), the access policy, and the authorization code.

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{self, DiscordError, StoredTokens};
use crate::rules::keys::{self, AuthKeys};
use crate::rules::oauth::authorize::Pending;
use crate::rules::oauth::cookie;
use crate::rules::oauth::error::error_redirect;
use crate::rules::oauth::form::Form;
use crate::rules::oauth::grant::{Code, Profile};
use crate::rules::platform::Platform;
use crate::web::authorize::{client_error, person_error};
use crate::web::error::AppError;
use crate::web::http::{Reply, RequestInfo};
use crate::web::io::outbound;
use crate::web::pages;

/// The code exchange at Discord and `users/@me`: who logged in, and the tokens to act for
/// them. One routine for both logins (an MCP client's and the connected apps page's), which
/// share the one redirect URI registered at Discord.
pub async fn discord_login<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    platform: &P,
    code: &str,
) -> Result<(discord::DiscordTokens, discord::DiscordUser), DiscordError> {
    let redirect_uri = format!("{}/redirect", req.origin());
    let now_ms = req.now_ms as i64;
    let answer =
        outbound(cfg, platform, discord::token_request(&cfg.discord, secrets, code, &redirect_uri), now_ms).await?;
    let tokens = discord::parse_tokens(&answer)?;
    let answer = outbound(cfg, platform, discord::user_request(&cfg.discord, &tokens.access_token), now_ms).await?;
    Ok((tokens, discord::parse_user(&answer)?))
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
        return client_error(
            &pending,
            &origin,
            "access_denied",
            "The person cancelled the login on Discord",
            ("Login cancelled", "You cancelled the login on Discord. Nothing was shared with the application."),
        )
        .append_header("set-cookie", cookie::set_cookie("pending", "", 0));
    }
    let Some(code) = query.get("code") else {
        return person_error("Login refused", "Discord sent no code.");
    };
    let (tokens, user) = match discord_login(req, cfg, secrets, platform, code).await {
        Ok(login) => login,
        Err(e) => return discord_failure(&pending, &origin, &e),
    };
    req.note(|n| n.user = Some(user.id.clone()));
    if cfg.has_policy() {
        match allowed(cfg, platform, &user, &tokens.access_token, req.now_ms as i64).await {
            Ok(true) => {}
            Ok(false) => {
                // Nothing is stored for a refused person, and Discord's authorization ends.
                let stored = StoredTokens::from_exchange(&tokens, now);
                let revoke = discord::revoke_request(&cfg.discord, secrets, &stored);
                let _ = outbound(cfg, platform, revoke, req.now_ms as i64).await;
                return access_refused(&pending, &origin, &user);
            }
            Err(e) => return discord_failure(&pending, &origin, &e),
        }
    }
    let granted: Vec<&str> = pending.scopes().collect();
    let profile = Profile::from_discord(&user, &granted);
    crate::web::apps::forget_list(&user.id);
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
pub(super) async fn allowed<P: Platform>(
    cfg: &Config,
    platform: &P,
    user: &discord::DiscordUser,
    access_token: &str,
    now_ms: i64,
) -> Result<bool, DiscordError> {
    if cfg.allowed_users.contains(&user.id) {
        return Ok(true);
    }
    if cfg.allowed_guilds.is_empty() {
        return Ok(false);
    }
    let guilds = match outbound(cfg, platform, discord::guilds_request(&cfg.discord, access_token), now_ms).await {
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
