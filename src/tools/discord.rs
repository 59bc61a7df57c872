//! Tools that act through Discord on the caller's behalf, with the Discord tokens stored
//! (sealed) behind their grant. The client never sees those tokens; it sees the tool's result.
//!
//! `discord_guilds`, at most the rate limiter's count per grant a minute; KV per call: cached in
//! the isolate, nothing; cached in KV, 1 read; uncached, 3 reads and 1 write; with an expired
//! Discord token, 3 reads and 2 writes (the refreshed tokens too). When Discord refuses the
//! grant's tokens (and no concurrent call stored newer ones), the grant is marked
//! (`discord:<grant>`) and later calls answer at once without calling Discord: no retry loop;
//! the person reconnects by logging in again.

use serde_json::json;

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{DiscordError, Guild};
use crate::rules::keys::AuthKeys;
use crate::rules::mcp::tool::{Args, Call, Caller, Io, IoStore, Output, ToolFuture};
use crate::rules::oauth::grant::GrantRecord;
use crate::rules::platform::Store;
use crate::store::discord_session::{Session, SessionError};
use crate::store::keys as kvkey;

/// How long a person's server list is served from KV before Discord is asked again.
pub const GUILDS_CACHE_SECONDS: i64 = 300;

/// `discord_guilds`: the caller's Discord servers, read with the grant's stored Discord token.
pub fn guilds<'a>(_args: &'a Args<'a>, call: &'a Call<'a>, io: &'a dyn Io) -> ToolFuture<'a> {
    Box::pin(async move {
        let Some(caller) = call.caller else { return Ok(Output::error("discord_guilds needs a logged-in caller.")) };
        let (Some(secrets), Some(keys)) = (io.secrets(), io.keys()) else {
            return Ok(Output::error("This server is not configured to reach Discord."));
        };
        let discord = Discord { io, cfg: io.config(), secrets, keys };
        Ok(discord.guilds(&IoStore(io), caller, (call.now_ms / 1000) as i64).await)
    })
}

/// What the tool needs to act through Discord for one call.
struct Discord<'a> {
    io: &'a dyn Io,
    cfg: &'a Config,
    secrets: Secrets<'a>,
    keys: &'a AuthKeys,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Cached {
    at: i64,
    guilds: Vec<Guild>,
}

thread_local! {
    /// Server lists this isolate read lately, by grant: a caller looping on `discord_guilds`
    /// reads KV once per [`GUILDS_CACHE_SECONDS`] per isolate, not once per call (the second
    /// security review counted 86,400 reads a day per grant otherwise).
    static RECENT: std::cell::RefCell<Vec<(String, Cached)>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Grants whose lists an isolate keeps.
const RECENT_KEPT: usize = 32;

fn recall(grant: &str, now: i64) -> Option<Cached> {
    if crate::store::revoked::revoked_here(grant, now) {
        return None;
    }
    RECENT.with(|r| {
        r.borrow().iter().find(|(g, c)| g == grant && now - c.at < GUILDS_CACHE_SECONDS).map(|(_, c)| c.clone())
    })
}

fn remember(grant: &str, c: &Cached) {
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|(g, _)| g != grant);
        if r.len() >= RECENT_KEPT {
            r.remove(0);
        }
        r.push((grant.to_string(), c.clone()));
    });
}

const RECONNECT: &str = "Discord no longer accepts this login (it was revoked or has expired). Reconnect: log in to this server again from your MCP client, then retry.";

fn result(guilds: &[Guild], fetched_at: i64, cached: bool) -> Output {
    let lines: Vec<String> =
        guilds.iter().map(|g| format!("{} ({}){}", g.name, g.id, if g.owner { ", owner" } else { "" })).collect();
    let mut out = Output::data(json!({ "guilds": guilds, "fetchedAt": fetched_at, "cached": cached }));
    out.content = vec![json!({
        "type": "text",
        "text": if lines.is_empty() { "You are in no Discord servers.".to_string() } else { format!("Your Discord servers:\n{}", lines.join("\n")) },
    })];
    out
}

fn discord_error(e: &DiscordError) -> Output {
    match e {
        DiscordError::RateLimited { retry_after_seconds } => {
            Output::error(format!("Discord is rate limiting requests; retry in {retry_after_seconds} seconds."))
        }
        DiscordError::InvalidGrant => Output::error(RECONNECT),
        _ => Output::error("Discord did not answer correctly; try again in a moment."),
    }
}

impl Discord<'_> {
    async fn guilds<S: Store>(&self, kv: &S, caller: &Caller, now: i64) -> Output {
        let grant = caller.grant.as_str();
        // Every call reads KV (and may call Discord): one grant must not spend the day's reads.
        if !self.io.within_rate(&format!("guilds:{grant}")).await {
            return Output::error("Too many calls of discord_guilds from this login; wait a minute, then try again.");
        }
        if let Some(c) = recall(grant, now) {
            return result(&c.guilds, c.at, true);
        }
        if let Ok(Some(raw)) = kv.get(&kvkey::guilds(grant)).await {
            if let Ok(c) = serde_json::from_slice::<Cached>(raw.as_bytes()) {
                if now - c.at < GUILDS_CACHE_SECONDS {
                    remember(grant, &c);
                    return result(&c.guilds, c.at, true);
                }
            }
        }
        let record = match kv.get(&kvkey::grant(&caller.user_id, grant)).await {
            Ok(Some(raw)) => serde_json::from_slice::<GrantRecord>(raw.as_bytes()).ok(),
            Ok(None) => None,
            Err(_) => return Output::error("Storage is unavailable; try again."),
        };
        let Some(record) = record.filter(|r| r.active(now)) else { return Output::error(RECONNECT) };
        let session = Session { io: self.io, cfg: self.cfg, secrets: self.secrets, keys: self.keys };
        match session.guilds(kv, grant, &record, now).await {
            Ok(guilds) => {
                let fresh = Cached { at: now, guilds: guilds.clone() };
                remember(grant, &fresh);
                if let Ok(v) = serde_json::to_string(&fresh) {
                    let _ = kv.put(&kvkey::guilds(grant), &v, Some(GUILDS_CACHE_SECONDS as u64)).await;
                }
                result(&guilds, now, false)
            }
            Err(SessionError::Reconnect) => Output::error(RECONNECT),
            Err(SessionError::Storage) => Output::error("Storage is unavailable; try again."),
            Err(SessionError::Discord(e)) => discord_error(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::discord::StoredTokens;
    use crate::rules::mcp::version::Version;
    use crate::rules::oauth::grant::Profile;
    use crate::rules::platform::block_on;
    use crate::store::grants::{person_aad, DiscordState};
    use crate::store::Ops;
    use crate::testing::{config, Fake};
    use crate::web::io::PlatformIo;
    use serde_json::Map;

    const NOW: i64 = 1_785_240_000;
    const GRANT: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    const GUILDS: &str = r#"[{"id":"1","name":"One","owner":true}]"#;
    const TOKENS: &str =
        r#"{"access_token":"new-at","refresh_token":"new-rt","expires_in":604800,"token_type":"Bearer"}"#;

    fn setup(expires_at: i64) -> (Fake, Config) {
        let cfg = config();
        let keys = cfg.secrets().unwrap().auth_keys();
        let tokens = StoredTokens { access_token: "at".into(), refresh_token: Some("rt".into()), expires_at };
        let record = GrantRecord {
            client_id: "c".into(),
            client_name: None,
            scope: "mcp guilds".into(),
            resource: "https://mcp.example/mcp".into(),
            user: Profile {
                id: "42".into(),
                username: String::new(),
                global_name: None,
                avatar_url: None,
                email: None,
            },
            created: NOW,
            expires: NOW + 1000,
            refresh_expires: NOW + 1000,
            discord: tokens.seal(&keys.discord, GRANT),
            revoked: None,
            private_key_jwt: false,
        };
        let fake = Fake::default();
        block_on(fake.kv.put(&kvkey::grant("42", GRANT), &serde_json::to_string(&record).unwrap(), None)).unwrap();
        fake.kv.take_ops();
        (fake, cfg)
    }

    fn run(fake: &Fake, cfg: &Config, at: i64) -> Output {
        let io = PlatformIo { cfg, platform: fake, now_ms: at * 1000 };
        let caller = Caller {
            user_id: "42".into(),
            username: String::new(),
            global_name: None,
            avatar_url: None,
            email: None,
            client_id: "c".into(),
            scopes: vec!["mcp".into(), "guilds".into()],
            grant: GRANT.into(),
        };
        let mut call = Call::new("https://mcp.example", at as u64 * 1000, Version::V2025_11_25);
        call.caller = Some(&caller);
        let args = Map::new();
        block_on(guilds(&Args(&args), &call, &io)).unwrap()
    }

    fn ops(reads: u32, writes: u32) -> Ops {
        Ops { reads, writes, ..Ops::default() }
    }

    #[test]
    fn lists_then_caches() {
        let (fake, cfg) = setup(NOW + 600);
        fake.answers.borrow_mut().push((200, GUILDS));
        let out = run(&fake, &cfg, NOW);
        assert!(!out.is_error);
        assert_eq!(out.structured.as_ref().unwrap()["guilds"][0]["name"], "One");
        assert_eq!(fake.kv.take_ops(), ops(4, 1), "uncached: cache, grant, the person's tokens, a grant's older ones");
        let again = run(&fake, &cfg, NOW + 10);
        assert_eq!(again.structured.as_ref().unwrap()["cached"], true);
        assert_eq!(fake.kv.take_ops(), ops(0, 0), "cached in this isolate");
        RECENT.with(|r| r.borrow_mut().clear()); // another isolate
        assert_eq!(run(&fake, &cfg, NOW + 11).structured.as_ref().unwrap()["cached"], true);
        assert_eq!(fake.kv.take_ops(), ops(1, 0), "cached in KV");
        assert_eq!(fake.sent.borrow().as_slice(), ["https://discord.com/api/v10/users/@me/guilds"]);
        assert!(run(&fake, &cfg, NOW + GUILDS_CACHE_SECONDS).is_error, "stale cache asks Discord (nothing queued)");
    }

    #[test]
    fn an_expired_token_is_refreshed_and_stored() {
        let (fake, cfg) = setup(NOW - 1);
        fake.answers.borrow_mut().extend([(200, TOKENS), (200, GUILDS)]);
        assert!(!run(&fake, &cfg, NOW).is_error);
        assert_eq!(
            fake.sent.borrow().as_slice(),
            ["https://discord.com/api/oauth2/token", "https://discord.com/api/v10/users/@me/guilds"]
        );
        assert_eq!(fake.kv.take_ops(), ops(4, 2), "expired: refreshed tokens and cache written");
        let person = kvkey::discord_user("42");
        let state: DiscordState = serde_json::from_str(&fake.kv.entries.borrow()[&person].0).unwrap();
        let keys = cfg.secrets().unwrap().auth_keys();
        let fresh = StoredTokens::open(&keys.discord, state.tokens.as_deref().unwrap(), &person_aad("42")).unwrap();
        assert_eq!(fresh.access_token, "new-at", "kept once for the person, not per grant");
        assert!(StoredTokens::open(&keys.discord, state.tokens.as_deref().unwrap(), GRANT).is_none());
    }

    #[test]
    fn a_refused_refresh_marks_the_grant_and_never_loops() {
        let (fake, cfg) = setup(NOW - 1);
        fake.answers.borrow_mut().push((400, r#"{"error":"invalid_grant"}"#));
        let out = run(&fake, &cfg, NOW);
        assert!(out.is_error);
        assert!(out.content[0]["text"].as_str().unwrap().contains("Reconnect"));
        fake.kv.take_ops();
        let again = run(&fake, &cfg, NOW + 1);
        assert!(again.is_error);
        assert_eq!(fake.sent.borrow().len(), 1, "the mark answers without calling Discord");
        assert_eq!(fake.kv.take_ops(), ops(3, 0), "marked");
    }

    #[test]
    fn a_token_discord_ends_early_is_refreshed_once() {
        let (fake, cfg) = setup(NOW + 600);
        fake.answers.borrow_mut().extend([(401, "{}"), (200, TOKENS), (200, GUILDS)]);
        assert!(!run(&fake, &cfg, NOW).is_error);
        RECENT.with(|r| r.borrow_mut().clear()); // a new world: another isolate, another KV
        let (fake, cfg) = setup(NOW + 600);
        fake.answers.borrow_mut().extend([(401, "{}"), (200, TOKENS), (401, "{}")]);
        assert!(run(&fake, &cfg, NOW).is_error, "still refused after one refresh: give up, marked");
        assert_eq!(fake.sent.borrow().len(), 3);
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let (fake, cfg) = setup(NOW + 600);
        fake.answers.borrow_mut().push((429, r#"{"message":"slow down","retry_after":2.5,"global":false}"#));
        let out = run(&fake, &cfg, NOW);
        assert!(out.is_error);
        assert_eq!(out.content[0]["text"], "Discord is rate limiting requests; retry in 3 seconds.");
    }

    #[test]
    fn a_refusal_after_a_concurrent_refresh_uses_the_stored_successor() {
        let (fake, cfg) = setup(NOW - 1);
        // Another call refreshed first and stored new tokens; ours is refused by Discord.
        let keys = cfg.secrets().unwrap().auth_keys();
        let newer =
            StoredTokens { access_token: "newer".into(), refresh_token: Some("rt2".into()), expires_at: NOW + 600 };
        let state = DiscordState {
            tokens: newer.seal(&keys.discord, &person_aad("42")),
            reconnect: None,
            at: NOW + 1,
            from: None,
        };
        let stored = serde_json::to_string(&state).unwrap();
        fake.answers.borrow_mut().push((400, r#"{"error":"invalid_grant"}"#));
        let record: GrantRecord =
            serde_json::from_str(&fake.kv.entries.borrow()[&kvkey::grant("42", GRANT)].0).unwrap();
        let io = PlatformIo { cfg: &cfg, platform: &fake, now_ms: NOW * 1000 };
        let up = Session { io: &io, cfg: &cfg, secrets: cfg.secrets().unwrap(), keys: &keys };
        // What this call read before the other one stored its successor.
        let old = StoredTokens { access_token: "at".into(), refresh_token: Some("rt".into()), expires_at: NOW - 1 };
        block_on(fake.kv.put(&kvkey::discord_user("42"), &stored, None)).unwrap();
        let got = block_on(up.refresh(&fake.kv, GRANT, &record, &old, NOW)).ok().unwrap();
        assert_eq!(got.access_token, "newer");
        let state: DiscordState =
            serde_json::from_str(&fake.kv.entries.borrow()[&kvkey::discord_user("42")].0).unwrap();
        assert_eq!(state.reconnect, None, "not marked");
    }
}
