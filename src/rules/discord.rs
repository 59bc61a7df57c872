//! Discord's OAuth2 and REST endpoints, built from `DISCORD_BASE_URL` with Discord's own paths,
//! so the same code talks to discord.com in production and to the loopback stand-in in tests;
//! and the requests this server makes there and how it reads the answers. Pure: the calls
//! themselves go through [`crate::rules::platform::Platform`].

use base64::Engine;
use serde::{Deserialize, Serialize};
use url::form_urlencoded;

use crate::rules::platform::{FetchError, Inbound, Outbound};

/// Absolute URLs of every Discord endpoint the Worker uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordEndpoints {
    /// Where every API call goes (`<base>/api/`): what Discord's rate limits apply to.
    pub api_base: String,
    pub authorize: String,
    pub token: String,
    pub revoke: String,
    pub me: String,
    pub guilds: String,
}

impl DiscordEndpoints {
    /// `base` is an already validated absolute URL; a path prefix is kept.
    pub fn new(base: &str) -> DiscordEndpoints {
        let base = base.trim_end_matches('/');
        DiscordEndpoints {
            api_base: format!("{base}/api/"),
            authorize: format!("{base}/oauth2/authorize"),
            token: format!("{base}/api/oauth2/token"),
            revoke: format!("{base}/api/oauth2/token/revoke"),
            me: format!("{base}/api/v10/users/@me"),
            guilds: format!("{base}/api/v10/users/@me/guilds"),
        }
    }
}

/// The Discord account behind a login, as `users/@me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscordUser {
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub global_name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub verified: Option<bool>,
}

impl DiscordUser {
    /// The CDN URL of the avatar, when the user has one.
    pub fn avatar_url(&self) -> Option<String> {
        let hash = self.avatar.as_deref()?;
        let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (safe(&self.id) && safe(hash)).then(|| format!("https://cdn.discordapp.com/avatars/{}/{hash}.png", self.id))
    }
}

/// Discord's answer to a code exchange or a refresh. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct DiscordTokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for DiscordTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiscordTokens(***)")
    }
}

/// Discord's tokens behind a grant, as kept at rest: sealed with XChaCha20-Poly1305 under the
/// `discord/tokens` key, bound to the grant id, so a record copied to another grant does not
/// open. Only the Worker ever sees them in the clear; `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredTokens(***, expires_at: {})", self.expires_at)
    }
}

impl StoredTokens {
    /// Discord's default lifetime when it does not say (a week).
    const DEFAULT_LIFETIME: i64 = 604_800;

    pub fn from_exchange(t: &DiscordTokens, now: i64) -> StoredTokens {
        let lifetime = t.expires_in.map_or(Self::DEFAULT_LIFETIME, |s| s.min(365 * 24 * 3600) as i64);
        StoredTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            expires_at: now + lifetime,
        }
    }

    /// Expired, or about to: refresh before calling Discord.
    pub fn stale(&self, now: i64) -> bool {
        now + 60 >= self.expires_at
    }

    pub fn seal(&self, key: &crate::rules::keys::Key, grant: &str) -> Option<String> {
        key.seal_bound(&serde_json::to_vec(self).ok()?, grant.as_bytes())
    }

    pub fn open(key: &crate::rules::keys::Key, sealed: &str, grant: &str) -> Option<StoredTokens> {
        serde_json::from_slice(&key.open_bound(sealed, grant.as_bytes())?).ok()
    }
}

/// One of the person's Discord servers, as the `discord_guilds` tool reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guild {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub owner: bool,
}

/// What went wrong at Discord, in the terms the person and the client are told.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscordError {
    /// The person declined on Discord's page.
    Denied,
    /// The code was refused (`invalid_grant`: expired, used, wrong redirect URI).
    InvalidGrant,
    /// Discord rejected this server's credentials (`invalid_client`): an operator problem.
    BadCredentials,
    /// How long Discord asked to wait, in whole seconds (rounded up, at least 1).
    RateLimited { retry_after_seconds: u32 },
    /// 5xx, timeout, network failure.
    Unavailable,
    /// Anything else unexpected (status, body that does not parse).
    Unexpected(u16),
}

impl DiscordError {
    /// For the person's error page.
    pub fn describe(&self) -> String {
        match self {
            DiscordError::Denied => "You cancelled the login on Discord.".into(),
            DiscordError::InvalidGrant => "Discord did not accept the login code (it may have expired). Please try again.".into(),
            DiscordError::BadCredentials => {
                "Discord refused this server's application credentials. The operator must check DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET.".into()
            }
            DiscordError::RateLimited { retry_after_seconds } => {
                format!("Discord is rate limiting this server. Try again in {retry_after_seconds} seconds.")
            }
            DiscordError::Unavailable => "Discord did not answer in time. Please try again in a moment.".into(),
            DiscordError::Unexpected(status) => format!("Discord answered unexpectedly (HTTP {status}). Please try again."),
        }
    }

    /// The OAuth error the MCP client receives.
    pub fn client_error(&self) -> &'static str {
        match self {
            DiscordError::Denied | DiscordError::InvalidGrant => "access_denied",
            DiscordError::BadCredentials => "server_error",
            _ => "temporarily_unavailable",
        }
    }
}

impl From<FetchError> for DiscordError {
    fn from(_: FetchError) -> DiscordError {
        DiscordError::Unavailable
    }
}

/// Discord's authorize page for this login.
pub fn authorize_url(
    e: &DiscordEndpoints,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", state)
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    format!("{}?{query}", e.authorize)
}

/// This Worker's Discord application, as client authentication needs it (the configuration
/// provides it, so this module does not depend on where the secrets come from).
pub trait ClientCredentials {
    fn client_id(&self) -> &str;
    fn client_secret(&self) -> &str;
}

/// RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
fn basic(secrets: &impl ClientCredentials) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(secrets.client_id()), enc(secrets.client_secret()));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// The code exchange: form body, HTTP Basic client authentication, the same `redirect_uri`.
pub fn token_request(
    e: &DiscordEndpoints,
    secrets: &impl ClientCredentials,
    code: &str,
    redirect_uri: &str,
) -> Outbound {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    form_post(&e.token, secrets, body)
}

fn form_post(url: &str, secrets: &impl ClientCredentials, body: String) -> Outbound {
    Outbound {
        method: "POST",
        url: url.to_string(),
        headers: vec![
            ("authorization", basic(secrets)),
            ("content-type", "application/x-www-form-urlencoded".into()),
            ("accept", "application/json".into()),
        ],
        body: Some(body),
        timeout_ms: crate::rules::platform::FETCH_TIMEOUT_MS,
        max_bytes: crate::rules::platform::MAX_INBOUND_BYTES,
    }
}

/// A new Discord access token from its refresh token.
pub fn refresh_request(e: &DiscordEndpoints, secrets: &impl ClientCredentials, refresh_token: &str) -> Outbound {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .finish();
    form_post(&e.token, secrets, body)
}

/// Revokes a token, which ends the person's whole authorization of the Discord application.
pub fn revoke_request(e: &DiscordEndpoints, secrets: &impl ClientCredentials, token: &StoredTokens) -> Outbound {
    let (value, hint) = match &token.refresh_token {
        Some(r) => (r.as_str(), "refresh_token"),
        None => (token.access_token.as_str(), "access_token"),
    };
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", value)
        .append_pair("token_type_hint", hint)
        .finish();
    form_post(&e.revoke, secrets, body)
}

fn bearer_get(url: &str, access_token: &str) -> Outbound {
    Outbound {
        method: "GET",
        url: url.to_string(),
        headers: vec![("authorization", format!("Bearer {access_token}")), ("accept", "application/json".into())],
        body: None,
        timeout_ms: crate::rules::platform::FETCH_TIMEOUT_MS,
        max_bytes: crate::rules::platform::MAX_INBOUND_BYTES,
    }
}

pub fn user_request(e: &DiscordEndpoints, access_token: &str) -> Outbound {
    bearer_get(&e.me, access_token)
}

pub fn guilds_request(e: &DiscordEndpoints, access_token: &str) -> Outbound {
    bearer_get(&e.guilds, access_token)
}

/// The person's servers. Entries without an id or a name are skipped, not fatal.
pub fn parse_guilds(r: &Inbound) -> Result<Vec<Guild>, DiscordError> {
    if r.status != 200 {
        return Err(classify(r));
    }
    let list: Vec<serde_json::Value> =
        serde_json::from_slice(&r.body).map_err(|_| DiscordError::Unexpected(r.status))?;
    Ok(list
        .iter()
        .filter_map(|g| {
            let id = g.get("id")?.as_str().filter(|id| is_snowflake(id))?;
            let name = g.get("name")?.as_str()?;
            let owner = g.get("owner").and_then(serde_json::Value::as_bool).unwrap_or(false);
            Some(Guild { id: id.to_string(), name: name.chars().take(100).collect(), owner })
        })
        .collect())
}

/// Discord ids are decimal snowflakes.
pub fn is_snowflake(s: &str) -> bool {
    (1..=24).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn classify(r: &Inbound) -> DiscordError {
    match r.status {
        429 => {
            let body: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
            // The body's `retry_after` is fractional seconds; the header is whole seconds
            // (RFC 9110 §10.2.3, read as an integer: no float parsing for it in the wasm).
            let retry = body
                .as_ref()
                .and_then(|b| b.get("retry_after"))
                .and_then(serde_json::Value::as_f64)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| s.ceil().min(86_400.0) as u32)
                .or_else(|| r.header("retry-after").and_then(|v| v.trim().parse::<u32>().ok()))
                .unwrap_or(1);
            DiscordError::RateLimited { retry_after_seconds: retry.max(1) }
        }
        500..=599 => DiscordError::Unavailable,
        400 | 401 => {
            let body: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
            match body.as_ref().and_then(|b| b.get("error")).and_then(serde_json::Value::as_str) {
                Some("invalid_grant") => DiscordError::InvalidGrant,
                Some("invalid_client") => DiscordError::BadCredentials,
                _ => DiscordError::Unexpected(r.status),
            }
        }
        s => DiscordError::Unexpected(s),
    }
}

pub fn parse_tokens(r: &Inbound) -> Result<DiscordTokens, DiscordError> {
    if r.status != 200 {
        return Err(classify(r));
    }
    serde_json::from_slice::<DiscordTokens>(&r.body)
        .ok()
        .filter(|t| !t.access_token.is_empty())
        .ok_or(DiscordError::Unexpected(r.status))
}

pub fn parse_user(r: &Inbound) -> Result<DiscordUser, DiscordError> {
    if r.status != 200 {
        return Err(classify(r));
    }
    let user: DiscordUser = serde_json::from_slice(&r.body).map_err(|_| DiscordError::Unexpected(r.status))?;
    // A snowflake is decimal digits; anything else is not Discord.
    if !is_snowflake(&user.id) {
        return Err(DiscordError::Unexpected(r.status));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::config::Config;

    fn inbound(status: u16, body: &str) -> Inbound {
        Inbound { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn requests_discord_expects() {
        let e = DiscordEndpoints::new("http://127.0.0.1:8788");
        let url = authorize_url(&e, "id 1", "http://127.0.0.1:8787/redirect", &["identify", "email"], "s&t");
        assert_eq!(
            url,
            "http://127.0.0.1:8788/oauth2/authorize?response_type=code&client_id=id+1&scope=identify+email&state=s%26t&redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Fredirect"
        );
        let cfg = Config::load(
            |n| match n {
                "DISCORD_CLIENT_ID" => Some("a:b".into()),
                "DISCORD_CLIENT_SECRET" => Some("p@ss".into()),
                "SECRET_KEY" => Some("k".repeat(32)),
                _ => None,
            },
            true,
        );
        let t = token_request(&e, &cfg.secrets().unwrap(), "c0de", "http://127.0.0.1:8787/redirect");
        assert_eq!(
            t.body.as_deref(),
            Some("grant_type=authorization_code&code=c0de&redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Fredirect")
        );
        let auth = &t.headers[0].1;
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim_start_matches("Basic ")).unwrap();
        assert_eq!(decoded, b"a%3Ab:p%40ss");
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(parse_tokens(&inbound(400, r#"{"error":"invalid_grant"}"#)), Err(DiscordError::InvalidGrant));
        assert_eq!(parse_tokens(&inbound(401, r#"{"error":"invalid_client"}"#)), Err(DiscordError::BadCredentials));
        assert_eq!(
            parse_tokens(&inbound(
                429,
                r#"{"message":"You are being rate limited.","retry_after":2.5,"global":false}"#
            )),
            Err(DiscordError::RateLimited { retry_after_seconds: 3 })
        );
        assert_eq!(parse_tokens(&inbound(502, "<html>")), Err(DiscordError::Unavailable));
        assert_eq!(parse_tokens(&inbound(200, "{}")), Err(DiscordError::Unexpected(200)));
        assert_eq!(
            parse_tokens(&inbound(200, r#"{"access_token":"a","token_type":"Bearer"}"#)).unwrap().access_token,
            "a"
        );
        let u = parse_user(&inbound(200, r#"{"id":"80351110224678912","username":"nelly","global_name":null,"avatar":"8342729096ea3675442027381ff50dfe","discriminator":"0"}"#)).unwrap();
        assert_eq!(
            u.avatar_url().unwrap(),
            "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
        );
        assert_eq!(parse_user(&inbound(200, r#"{"id":"../x","username":"n"}"#)), Err(DiscordError::Unexpected(200)));
        assert_eq!(
            parse_user(&inbound(401, r#"{"message":"401: Unauthorized","code":0}"#)),
            Err(DiscordError::Unexpected(401))
        );
        let odd = DiscordUser { avatar: Some("../../x".into()), ..u };
        assert_eq!(odd.avatar_url(), None);
    }

    #[test]
    fn guilds_tokens_at_rest_and_revocation() {
        let list = parse_guilds(&inbound(
            200,
            r#"[{"id":"1","name":"One","owner":true},{"id":"x","name":"bad"},{"name":"no id"},{"id":"2","name":"Two"}]"#,
        ))
        .unwrap();
        assert_eq!(
            list,
            vec![
                Guild { id: "1".into(), name: "One".into(), owner: true },
                Guild { id: "2".into(), name: "Two".into(), owner: false }
            ]
        );
        assert_eq!(parse_guilds(&inbound(200, "{}")), Err(DiscordError::Unexpected(200)));
        assert!(matches!(parse_guilds(&inbound(429, r#"{"retry_after":3}"#)), Err(DiscordError::RateLimited { .. })));

        let key = crate::rules::keys::Key::derive(&"k".repeat(32), crate::rules::keys::DISCORD_TOKENS);
        let t = StoredTokens::from_exchange(
            &DiscordTokens {
                access_token: "at".into(),
                refresh_token: Some("rt".into()),
                expires_in: Some(100),
                scope: None,
            },
            1000,
        );
        assert_eq!(t.expires_at, 1100);
        assert!(!t.stale(1000) && t.stale(1041));
        let sealed = t.seal(&key, "grant-a").unwrap();
        assert_eq!(StoredTokens::open(&key, &sealed, "grant-a"), Some(t.clone()));
        assert_eq!(StoredTokens::open(&key, &sealed, "grant-b"), None, "bound to its grant");
        assert_eq!(format!("{t:?}"), "StoredTokens(***, expires_at: 1100)");

        let e = DiscordEndpoints::new("https://discord.com");
        let cfg = Config::load(
            |n| match n {
                "DISCORD_CLIENT_ID" => Some("a".into()),
                "DISCORD_CLIENT_SECRET" => Some("b".into()),
                "SECRET_KEY" => Some("k".repeat(32)),
                _ => None,
            },
            true,
        );
        let r = revoke_request(&e, &cfg.secrets().unwrap(), &t);
        assert_eq!(r.url, "https://discord.com/api/oauth2/token/revoke");
        assert_eq!(r.body.as_deref(), Some("token=rt&token_type_hint=refresh_token"));
        let r = refresh_request(&e, &cfg.secrets().unwrap(), "rt");
        assert_eq!(r.body.as_deref(), Some("grant_type=refresh_token&refresh_token=rt"));
    }

    #[test]
    fn paths_are_discords_own() {
        let e = DiscordEndpoints::new("https://discord.com/");
        assert_eq!(e.authorize, "https://discord.com/oauth2/authorize");
        assert_eq!(e.token, "https://discord.com/api/oauth2/token");
        assert_eq!(e.revoke, "https://discord.com/api/oauth2/token/revoke");
        assert_eq!(e.me, "https://discord.com/api/v10/users/@me");
        assert_eq!(e.guilds, "https://discord.com/api/v10/users/@me/guilds");
    }
}

/// Discord's rate limits as its answers state them (Discord's "Rate Limits" topic): a route
/// whose bucket said `X-RateLimit-Remaining: 0` waits `X-RateLimit-Reset-After`; a 429 waits
/// its `retry_after`, every route when it says `global`. Nothing is sent into a bucket known to
/// be exhausted: 401, 403 and 429 answers count toward the ban Discord gives an address after
/// 10,000 of them in 10 minutes, and Workers share their addresses.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// Route (URL path) and when it may be called again, in milliseconds since the epoch.
    routes: Vec<(String, i64)>,
    global_until: i64,
}

/// Routes remembered; the oldest go first beyond this (the Worker calls four or five).
const ROUTES_KEPT: usize = 32;

/// Seconds with a fraction (`1.5`, Discord's `Reset-After` and `retry_after`) as milliseconds,
/// read without float parsing; at most a day.
fn seconds_ms(v: &str) -> Option<i64> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let whole: i64 = whole.parse().ok().filter(|w: &i64| *w >= 0)?;
    let frac: String = frac.chars().take(3).collect();
    let ms = if frac.is_empty() { 0 } else { format!("{frac:0<3}").parse::<i64>().ok()? };
    Some((whole.min(86_400) * 1000 + ms).max(0))
}

impl RateLimits {
    /// The route of a request URL: its path (Discord's buckets are per route).
    pub fn route(url: &str) -> &str {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        path.split(['?', '#']).next().unwrap_or(path)
    }

    /// Milliseconds to wait before `route` may be called, when its bucket (or the global
    /// limit) is known to be exhausted.
    pub fn wait(&self, route: &str, now_ms: i64) -> Option<i64> {
        let until = self.routes.iter().find(|(r, _)| r == route).map_or(0, |(_, u)| *u).max(self.global_until);
        (until > now_ms).then(|| until - now_ms)
    }

    /// Learns from Discord's answer on `route`.
    pub fn observe(&mut self, route: &str, r: &Inbound, now_ms: i64) {
        let header_ms = |name: &str| r.header(name).and_then(seconds_ms);
        let mut until = None;
        if r.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
            until = header_ms("x-ratelimit-reset-after").map(|ms| now_ms + ms);
        }
        if r.status == 429 {
            let body: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
            let retry = body
                .as_ref()
                .and_then(|b| b.get("retry_after"))
                .and_then(|v| match v {
                    serde_json::Value::Number(n) => seconds_ms(&n.to_string()),
                    _ => None,
                })
                .or_else(|| header_ms("retry-after"))
                .unwrap_or(1000);
            let global = body.as_ref().and_then(|b| b.get("global")).and_then(serde_json::Value::as_bool) == Some(true)
                || r.header("x-ratelimit-global").is_some()
                || r.header("x-ratelimit-scope").map(str::trim) == Some("global");
            if global {
                self.global_until = self.global_until.max(now_ms + retry);
                return;
            }
            until = Some(until.unwrap_or(0).max(now_ms + retry));
        }
        let Some(until) = until else { return };
        self.routes.retain(|(rt, u)| rt != route && *u > now_ms);
        if self.routes.len() >= ROUTES_KEPT {
            self.routes.remove(0);
        }
        self.routes.push((route.to_string(), until));
    }
}

#[cfg(test)]
mod rate_limit_tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Inbound {
        Inbound {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn buckets_and_the_global_limit_are_honoured() {
        let mut l = RateLimits::default();
        let guilds = RateLimits::route("https://discord.com/api/v10/users/@me/guilds?x=1");
        assert_eq!(guilds, "/api/v10/users/@me/guilds");
        let now = 1_000_000;
        l.observe(guilds, &answer(200, &[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset-after", "9")], "[]"), now);
        assert_eq!(l.wait(guilds, now), None, "a request left");
        l.observe(
            guilds,
            &answer(200, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset-after", "1.5")], "[]"),
            now,
        );
        assert_eq!(l.wait(guilds, now), Some(1500), "exhausted until the reset");
        assert_eq!(l.wait(guilds, now + 1500), None);
        assert_eq!(l.wait("/api/v10/users/@me", now), None, "another route's bucket");
        l.observe(
            "/api/oauth2/token",
            &answer(429, &[], r#"{"message":"slow","retry_after":2.25,"global":false}"#),
            now,
        );
        assert_eq!(l.wait("/api/oauth2/token", now), Some(2250));
        l.observe(
            guilds,
            &answer(429, &[("retry-after", "3")], r#"{"message":"global","retry_after":3,"global":true}"#),
            now,
        );
        assert_eq!(l.wait("/api/v10/users/@me", now), Some(3000), "global: every route");
        assert_eq!(l.wait("/api/v10/users/@me", now + 3000), None);
        for junk in ["", "-1", "x", "1.x", "99999999999"] {
            let mut m = RateLimits::default();
            m.observe(
                "/r",
                &answer(200, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset-after", junk)], ""),
                now,
            );
            assert!(m.wait("/r", now).unwrap_or(0) <= 86_400_000, "{junk}");
        }
        assert_eq!(seconds_ms("0.001"), Some(1));
        assert_eq!(seconds_ms("12"), Some(12_000));
    }
}
