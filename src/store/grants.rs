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

/// The Discord tokens behind a grant: the refreshed ones if a tool refreshed them, else the
/// ones from login. `None` when the person must reconnect.
pub async fn discord_tokens<S: Store>(
    kv: &S,
    keys: &AuthKeys,
    grant: &str,
    record: &GrantRecord,
) -> Result<Option<StoredTokens>, StoreError> {
    let state = read_json::<_, DiscordState>(kv, &keys::discord(grant)).await?;
    let sealed = match &state {
        Some(DiscordState { reconnect: Some(_), .. }) => return Ok(None),
        Some(DiscordState { tokens: Some(t), .. }) => Some(t),
        _ => record.discord.as_ref(),
    };
    Ok(sealed.and_then(|s| StoredTokens::open(&keys.discord, s, grant)))
}

/// `discord:<grant>`: Discord tokens refreshed since login, or the mark that Discord refused
/// them (the person must reconnect; nothing retries until then).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DiscordState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<i64>,
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
