//! A person's Discord session, as `discord_guilds` and the access policy at refresh use it: the
//! tokens behind a grant ([`super::grants::discord_tokens`]), refreshed with Discord when stale
//! or refused early, kept once per person (Discord keeps one authorization per person and
//! application), and a refusal marked so that nothing retries. KV through [`Store`]; Discord
//! through the caller's [`Io`], so this stays free of the runtime.

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::{self, DiscordError, Guild, StoredTokens};
use crate::rules::keys::AuthKeys;
use crate::rules::mcp::tool::Io;
use crate::rules::oauth::grant::{GrantRecord, MAX_GRANT_SECONDS};
use crate::rules::platform::Store;

use super::grants::{discord_tokens, person_aad, DiscordState};
use super::keys;

/// A person's Discord state lives as long as a grant can: any grant of theirs may need it.
const PERSON_TTL: u64 = MAX_GRANT_SECONDS as u64;

/// Why the person's Discord tokens could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionError {
    /// Discord no longer accepts them (revoked, removed in Discord, expired unrefreshed): the
    /// person must log in again. Marked, so nothing retries.
    Reconnect,
    /// KV failed.
    Storage,
    /// Discord failed otherwise (rate limit, outage, a malformed answer): try later.
    Discord(DiscordError),
}

/// What acting through Discord for one request needs.
pub struct Session<'a> {
    pub io: &'a dyn Io,
    pub cfg: &'a Config,
    pub secrets: Secrets<'a>,
    pub keys: &'a AuthKeys,
}

impl Session<'_> {
    /// The person's servers, as Discord lists them now, with their tokens refreshed when stale,
    /// or once when Discord refuses them before their stated expiry.
    pub async fn guilds<S: Store>(
        &self,
        kv: &S,
        grant: &str,
        record: &GrantRecord,
        now: i64,
    ) -> Result<Vec<Guild>, SessionError> {
        let mut tokens = match discord_tokens(kv, self.keys, grant, record).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(SessionError::Reconnect),
            Err(_) => return Err(SessionError::Storage),
        };
        let mut refreshed = false;
        if tokens.stale(now) {
            tokens = self.refresh(kv, grant, record, &tokens, now).await?;
            refreshed = true;
        }
        let mut answer = self.fetch_guilds(&tokens).await;
        // Discord may end a token before its stated expiry: refresh once, then give up.
        if matches!(answer, Err(DiscordError::Unexpected(401))) && !refreshed {
            tokens = self.refresh(kv, grant, record, &tokens, now).await?;
            answer = self.fetch_guilds(&tokens).await;
        }
        match answer {
            Ok(guilds) => Ok(guilds),
            Err(DiscordError::Unexpected(401)) => {
                self.mark_reconnect(kv, grant, record, now).await;
                Err(SessionError::Reconnect)
            }
            Err(DiscordError::InvalidGrant) => Err(SessionError::Reconnect),
            Err(e) => Err(SessionError::Discord(e)),
        }
    }

    async fn fetch_guilds(&self, tokens: &StoredTokens) -> Result<Vec<Guild>, DiscordError> {
        match self.io.fetch(discord::guilds_request(&self.cfg.discord, &tokens.access_token)).await {
            Ok(r) => discord::parse_guilds(&r),
            Err(e) => Err(e.into()),
        }
    }

    /// New Discord tokens, stored sealed once for the person; a refusal marks them so nothing
    /// retries.
    pub async fn refresh<S: Store>(
        &self,
        kv: &S,
        grant: &str,
        record: &GrantRecord,
        old: &StoredTokens,
        now: i64,
    ) -> Result<StoredTokens, SessionError> {
        let Some(refresh_token) = old.refresh_token.as_deref() else {
            self.mark_reconnect(kv, grant, record, now).await;
            return Err(SessionError::Reconnect);
        };
        let answer =
            match self.io.fetch(discord::refresh_request(&self.cfg.discord, &self.secrets, refresh_token)).await {
                Ok(r) => discord::parse_tokens(&r),
                Err(e) => Err(e.into()),
            };
        match answer {
            Ok(t) => {
                let mut fresh = StoredTokens::from_exchange(&t, now);
                if fresh.refresh_token.is_none() {
                    fresh.refresh_token = old.refresh_token.clone();
                }
                // One Discord authorization per person: the refreshed tokens serve all their
                // grants, and the one refresh token Discord now accepts is kept in one place.
                let user = &record.user.id;
                let sealed = fresh.seal(&self.keys.discord, &person_aad(user));
                let state = DiscordState { tokens: sealed, reconnect: None, at: now, from: None };
                if let Ok(v) = serde_json::to_string(&state) {
                    // If this write fails the next call refreshes again with the new refresh
                    // token lost: Discord then refuses and the person reconnects. Say so.
                    if kv.put(&keys::discord_user(user), &v, Some(PERSON_TTL)).await.is_err() {
                        return Err(SessionError::Storage);
                    }
                }
                Ok(fresh)
            }
            Err(DiscordError::InvalidGrant) => {
                // Discord rotates its refresh tokens: a concurrent call may have refreshed
                // first and stored the successor. Use it rather than mark a live grant.
                if let Ok(Some(current)) = discord_tokens(kv, self.keys, grant, record).await {
                    if current.access_token != old.access_token && !current.stale(now) {
                        return Ok(current);
                    }
                }
                self.mark_reconnect(kv, grant, record, now).await;
                Err(SessionError::Reconnect)
            }
            Err(e) => Err(SessionError::Discord(e)),
        }
    }

    /// Discord refused the person's tokens: every grant made before now must reconnect (a new
    /// login brings new tokens, newer than this mark).
    async fn mark_reconnect<S: Store>(&self, kv: &S, grant: &str, record: &GrantRecord, now: i64) {
        let state = DiscordState { tokens: None, reconnect: Some(now), at: now, from: Some(grant.to_string()) };
        if let Ok(v) = serde_json::to_string(&state) {
            let _ = kv.put(&keys::discord_user(&record.user.id), &v, Some(PERSON_TTL)).await;
        }
    }
}
