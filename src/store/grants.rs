//! The grant repository: reading grant records and refresh records, the Discord tokens behind
//! a grant, whether a grant was revoked, and the connected apps of a person. KV only; the keys
//! come from [`super::keys`]. Storage failures are [`StoreError`]s.

use super::keys;
use crate::rules::discord::StoredTokens;
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::grant::GrantRecord;
use crate::rules::oauth::refresh::Issued;
use crate::rules::platform::{Store, StoreError};

pub async fn read_json<S: Store, T: serde::de::DeserializeOwned>(kv: &S, key: &str) -> Result<Option<T>, StoreError> {
    match kv.get(key).await {
        // A record that does not parse is treated as absent: it cannot authorize anything.
        Ok(v) => Ok(v.and_then(|v| serde_json::from_slice(v.as_bytes()).ok())),
        Err(e) => Err(e),
    }
}

pub fn ttl_until(expires: i64, now: i64) -> u64 {
    expires.saturating_sub(now).max(60) as u64
}

/// The Discord tokens behind a grant: the newest the person has. Discord keeps one
/// authorization per person and application, so the tokens a tool refreshed for any grant of
/// theirs (`discord-user:<user>`) serve every grant made before that refresh; a grant made
/// later has newer ones from its own login. `None` when Discord refused the person's tokens
/// after this grant began (they must reconnect).
pub async fn discord_tokens<S: Store>(
    kv: &S,
    keys: &AuthKeys,
    grant: &str,
    record: &GrantRecord,
) -> Result<Option<StoredTokens>, StoreError> {
    let user = &record.user.id;
    let login = || record.discord.as_ref().and_then(|s| StoredTokens::open(&keys.discord, s, grant));
    match read_json::<_, DiscordState>(kv, &keys::discord_user(user)).await? {
        // Within the same second as a login, that login's own tokens win over refreshed ones
        // (both are valid) and over a refusal of other tokens; a refusal of its own counts.
        Some(DiscordState { reconnect: Some(at), from, .. })
            if at > record.created || (at == record.created && from.as_deref() == Some(grant)) =>
        {
            return Ok(None)
        }
        Some(DiscordState { tokens: Some(t), at, .. }) if at > record.created => {
            return Ok(StoredTokens::open(&keys.discord, &t, &person_aad(user)))
        }
        Some(_) => return Ok(login()),
        None => {}
    }
    // Written before one authorization per person: a grant's own refreshed tokens.
    Ok(match read_json::<_, DiscordState>(kv, &keys::discord(grant)).await? {
        Some(DiscordState { reconnect: Some(_), .. }) => None,
        Some(DiscordState { tokens: Some(t), .. }) => StoredTokens::open(&keys.discord, &t, grant),
        _ => login(),
    })
}

/// What a person's Discord tokens are sealed to, so that they open only under their key.
pub fn person_aad(user: &str) -> String {
    format!("user:{user}")
}

/// `discord-user:<user>` (and, before it, `discord:<grant>`): the person's Discord tokens as
/// last refreshed, or the mark that Discord refused them (they must reconnect; nothing retries
/// until a new login).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DiscordState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<i64>,
    /// When this was written: grants made later have newer tokens of their own.
    #[serde(default)]
    pub at: i64,
    /// The grant whose use of the tokens Discord refused (with `reconnect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Whether `user` has an active grant other than `except`: while one remains, the person's
/// Discord authorization must not be revoked (it is theirs, not one grant's).
pub async fn other_active_grant<S: Store>(kv: &S, user: &str, except: &str, now: i64) -> Result<bool, StoreError> {
    let prefix = keys::grants_of(user);
    let mut cursor = None;
    loop {
        let (names, next) = kv.list(&prefix, cursor.as_deref()).await?;
        for key in names {
            if key.strip_prefix(&prefix) == Some(except) {
                continue;
            }
            if read_json::<_, GrantRecord>(kv, &key).await?.is_some_and(|r| r.active(now)) {
                return Ok(true);
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(false),
        }
    }
}

/// Whether the grant was revoked, by its tombstone or its separate mark.
pub async fn revoked<S: Store>(kv: &S, grant: &str, record: &GrantRecord) -> Result<bool, StoreError> {
    if record.revoked.is_some() {
        return Ok(true);
    }
    kv.get(&keys::revoked(grant)).await.map(|v| v.is_some())
}

/// An active grant as the connected apps page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub grant: String,
    pub client_id: String,
    pub client_name: Option<String>,
    pub scope: String,
    pub created: i64,
    /// When the newest refresh token was issued; `None` if never refreshed.
    pub refreshed: Option<i64>,
    pub expires: i64,
}

/// Most grants one person's page lists, and most pages of refresh records read per grant.
pub const MAX_CONNECTED: usize = 50;
const MAX_GENERATION_PAGES: usize = 3;

/// `user`'s active grants, newest first. Read only from keys under `grant:<user>:`, so no
/// other person's grant can appear. KV: 1 list, then per grant 1 read, 1 list (or more for
/// a grant refreshed over a thousand times) and 1 read if it was ever refreshed.
pub async fn connected<S: Store>(kv: &S, user: &str, now: i64) -> Result<Vec<Connected>, StoreError> {
    let prefix = keys::grants_of(user);
    let (names, _) = kv.list(&prefix, None).await?;
    let mut out = Vec::new();
    for key in names {
        let Some(grant) = key.strip_prefix(&prefix) else { continue };
        let Some(record) = read_json::<_, GrantRecord>(kv, &key).await? else { continue };
        if !record.active(now) {
            continue;
        }
        let refreshed = match newest_generation(kv, grant).await? {
            Some(n) => read_json::<_, Issued>(kv, &keys::refresh_record(grant, n)).await?.map(|i| i.at),
            None => None,
        };
        out.push(Connected {
            grant: grant.to_string(),
            client_id: record.client_id,
            client_name: record.client_name,
            scope: record.scope,
            created: record.created,
            refreshed,
            expires: record.expires,
        });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.created));
    out.truncate(MAX_CONNECTED);
    Ok(out)
}

/// The highest generation with a record under `rt:<grant>:` (keys sort as text, not numbers).
async fn newest_generation<S: Store>(kv: &S, grant: &str) -> Result<Option<u32>, StoreError> {
    let prefix = keys::refresh_records(grant);
    let mut newest = None;
    let mut cursor = None;
    for _ in 0..MAX_GENERATION_PAGES {
        let (names, next) = kv.list(&prefix, cursor.as_deref()).await?;
        let page = names.iter().filter_map(|k| k.strip_prefix(&prefix)?.parse::<u32>().ok()).max();
        newest = newest.max(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::oauth::grant::Profile;
    use crate::rules::platform::block_on;
    use crate::store::MemoryStore;

    const T: i64 = 1_785_240_000;

    fn tokens(name: &str) -> StoredTokens {
        StoredTokens { access_token: name.into(), refresh_token: Some(format!("{name}-rt")), expires_at: T + 600 }
    }

    fn record(keys: &AuthKeys, grant: &str, created: i64) -> GrantRecord {
        GrantRecord {
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
            created,
            expires: created + 1000,
            refresh_expires: created + 1000,
            discord: tokens(&format!("login-{grant}")).seal(&keys.discord, grant),
            revoked: None,
            private_key_jwt: false,
        }
    }

    fn person(kv: &MemoryStore, state: DiscordState) {
        block_on(kv.put(&keys::discord_user("42"), &serde_json::to_string(&state).unwrap(), None)).unwrap();
    }

    #[test]
    fn a_grant_uses_the_newest_tokens_of_the_person() {
        let keys = crate::testing::config().secrets().unwrap().auth_keys();
        let kv = MemoryStore::default();
        let (a, b) = ("AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB");
        let (ra, rb) = (record(&keys, a, T), record(&keys, b, T + 100));
        let got =
            |r: &GrantRecord, g: &str| block_on(discord_tokens(&kv, &keys, g, r)).unwrap().map(|t| t.access_token);
        assert_eq!(got(&ra, a).as_deref(), Some(&*format!("login-{a}")), "nothing refreshed: the login's own");
        // Refreshed for the person at T + 50: newer than grant a's login, older than b's.
        let refreshed = tokens("refreshed").seal(&keys.discord, &person_aad("42"));
        person(&kv, DiscordState { tokens: refreshed, at: T + 50, ..DiscordState::default() });
        assert_eq!(got(&ra, a).as_deref(), Some("refreshed"));
        assert_eq!(got(&rb, b).as_deref(), Some(&*format!("login-{b}")));
        // Discord refused grant a's tokens at T + 50: a must reconnect, b (a later login) not.
        person(
            &kv,
            DiscordState { reconnect: Some(T + 50), at: T + 50, from: Some(a.into()), ..DiscordState::default() },
        );
        assert_eq!(got(&ra, a), None);
        assert!(got(&rb, b).is_some());
        // In the same second as a login: its own refusal counts, another grant's does not.
        person(
            &kv,
            DiscordState { reconnect: Some(T + 100), at: T + 100, from: Some(b.into()), ..DiscordState::default() },
        );
        assert_eq!(got(&rb, b), None);
        person(
            &kv,
            DiscordState { reconnect: Some(T + 100), at: T + 100, from: Some(a.into()), ..DiscordState::default() },
        );
        assert!(got(&rb, b).is_some());
        // Tokens sealed for one person never open as another's or as a grant's.
        let other = tokens("x").seal(&keys.discord, &person_aad("43"));
        person(&kv, DiscordState { tokens: other, at: T + 500, ..DiscordState::default() });
        assert_eq!(got(&ra, a), None);
    }
}
