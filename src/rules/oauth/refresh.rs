//! Refresh tokens and their rotation, without compare-and-set storage.
//!
//! A refresh token names its grant and its generation and is signed:
//! `mcpr1.<discord user>.<grant>.<generation>.<mac>`. The successor of generation `n` is
//! always the same string (generation `n + 1` of the same grant, signed with the same key), so
//! two refreshes racing with one token, at one edge location or two, hand out the same
//! successor: there is exactly one live successor without any atomic write. KV keeps one small
//! record per generation `n ≥ 1` under `rt:<grant>:<n>`, written when it is issued; its
//! existence is what marks generation `n − 1` as used. Generation 0 is described by the grant.
//!
//! Presenting generation `n`:
//! - `n + 1` not issued yet: rotate (write `rt:<grant>:<n+1>`).
//! - `n + 1` issued less than [`GRACE_SECONDS`] ago and not itself used: the same successor
//!   again (a retry after a lost response, or a race), nothing written.
//! - `n + 1` issued within the reuse window (`REFRESH_REUSE_WINDOW`, default
//!   [`DEFAULT_REUSE_WINDOW_SECONDS`]): a stale copy (a second process of the same client, or
//!   a second egress address), answered `invalid_grant` without ending the grant.
//! - otherwise: reuse (RFC 9700 §4.14): the grant is revoked.
//!
//! Beyond [`ROTATION_BURST`] rotations, a grant rotates at most once per
//! [`ROTATION_PACE_SECONDS`] on average ([`may_rotate`]); a refresh over that pace is held: a
//! new access token, the same refresh token, nothing written.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::grant::is_grant_id;
use crate::rules::discord::is_snowflake;
use crate::rules::keys::Key;

const PREFIX: &str = "mcpr1.";
/// A client that lost a refresh response (or raced itself) may present the same token again
/// for this long and get the same successor.
pub const GRACE_SECONDS: i64 = 10;
/// A superseded refresh token presented this long after its successor was issued is a stale
/// copy, refused without revoking; later, it is reuse. Short, because within it a thief who
/// rotated first is not detected (see SECURITY.md).
pub const DEFAULT_REUSE_WINDOW_SECONDS: i64 = 300;
/// Rotations a grant may make before [`ROTATION_PACE_SECONDS`] applies: a client's first
/// refreshes, retries after errors, a few processes starting at once.
pub const ROTATION_BURST: i64 = 10;
/// Beyond the burst, a grant rotates at most once per this many seconds on average. A
/// rotation is a KV write, and the free plan has 1,000 a day: without a pace, one login
/// refreshing in a loop spends them all (second security review). A refresh over the pace is
/// answered with a new access token and the same refresh token ("held"), which writes nothing;
/// a client refreshing when its access token (an hour by default) runs out never meets it.
pub const ROTATION_PACE_SECONDS: i64 = 600;

/// Whether generation `generation` of a grant that began at `created` may rotate at `now`.
pub fn may_rotate(generation: u32, created: i64, now: i64) -> bool {
    i64::from(generation) < ROTATION_BURST + now.saturating_sub(created).max(0) / ROTATION_PACE_SECONDS
}

/// Refresh tokens live this long unless `REFRESH_TOKEN_TTL` says otherwise.
pub const DEFAULT_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// A refresh token's content. It carries no secret of its own: the MAC makes it unforgeable,
/// and KV decides whether it is still the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Discord user id (locates the grant record).
    pub user: String,
    pub grant: String,
    pub generation: u32,
}

impl RefreshToken {
    pub fn first(user: &str, grant: &str) -> RefreshToken {
        RefreshToken { user: user.to_string(), grant: grant.to_string(), generation: 0 }
    }

    fn body(&self) -> String {
        format!("{}.{}.{}", self.user, self.grant, self.generation)
    }

    pub fn encode(&self, key: &Key) -> String {
        let body = self.body();
        format!("{PREFIX}{body}.{}", B64.encode(key.sign(body.as_bytes())))
    }

    /// A token this server signed, or `None`. Says nothing about whether it is still live.
    pub fn decode(key: &Key, token: &str) -> Option<RefreshToken> {
        let rest = token.strip_prefix(PREFIX)?;
        if rest.len() > 200 {
            return None;
        }
        let (body, tag) = rest.rsplit_once('.')?;
        if !key.verify(body.as_bytes(), &B64.decode(tag).ok()?) {
            return None;
        }
        let mut parts = body.split('.');
        let (user, grant, generation) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !is_snowflake(user) || !is_grant_id(grant) {
            return None;
        }
        let generation = generation.parse().ok().filter(|_| !generation.starts_with('+'))?;
        Some(RefreshToken { user: user.to_string(), grant: grant.to_string(), generation })
    }

    /// Whether a string has the shape of a refresh token (for revocation's type hint).
    pub fn looks_like(token: &str) -> bool {
        token.starts_with(PREFIX)
    }

    pub fn successor(&self) -> RefreshToken {
        RefreshToken { generation: self.generation.saturating_add(1), ..self.clone() }
    }
}

/// What KV keeps for generation `n ≥ 1`: when it was issued, with which scope, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub at: i64,
    pub scope: String,
    pub expires: i64,
}

/// What to do with a presented token whose successor may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// First use: issue the successor.
    Rotate,
    /// The successor was issued within the grace window: check that it is unused, then hand
    /// it out again.
    RetryIfSuccessorUnused,
    /// Superseded within the reuse window: refuse, keep the grant.
    Stale,
    /// Used before, outside the reuse window: reuse, the grant ends.
    Reuse,
}

/// `reuse_window`: `REFRESH_REUSE_WINDOW` in seconds (0: every reuse past the grace ends the
/// grant, as RFC 9700 §4.14 describes).
pub fn step(successor: Option<&Issued>, now: i64, reuse_window: i64) -> Step {
    match successor {
        None => Step::Rotate,
        Some(s) if now.saturating_sub(s.at) <= GRACE_SECONDS => Step::RetryIfSuccessorUnused,
        Some(s) => stale_or_reuse(s, now, reuse_window),
    }
}

/// A token whose successor was issued at `s.at` and has moved on. Window 0 turns stale copies
/// off altogether.
pub fn stale_or_reuse(s: &Issued, now: i64, reuse_window: i64) -> Step {
    if reuse_window > 0 && now.saturating_sub(s.at) <= reuse_window {
        Step::Stale
    } else {
        Step::Reuse
    }
}

/// The scope of a refreshed token: the granted one, or a narrower one; never wider. A scope
/// that was not granted is left out rather than refused (RFC 6749 §3.3 lets a server grant less):
/// Claude may send `offline_access` again, which no grant holds, and `invalid_scope` would
/// leave the person stuck. Nothing granted among those asked for means the granted scope.
pub fn narrow(granted: &str, requested: Option<&str>) -> String {
    let Some(requested) = requested else { return granted.to_string() };
    let want: Vec<&str> = requested.split(' ').filter(|w| !w.is_empty()).collect();
    // Keep the granted order, so equal scopes compare equal.
    let kept: Vec<&str> = granted.split(' ').filter(|h| want.contains(h)).collect();
    if kept.is_empty() {
        granted.to_string()
    } else {
        kept.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::derive(&"k".repeat(32), crate::rules::keys::REFRESH_TOKEN)
    }

    const GRANT: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn tokens_round_trip_and_successors_are_deterministic() {
        let t = RefreshToken::first("80351110224678912", GRANT);
        let s = t.encode(&key());
        assert!(s.starts_with("mcpr1.80351110224678912."));
        assert_eq!(RefreshToken::decode(&key(), &s), Some(t.clone()));
        assert_eq!(t.successor().encode(&key()), t.successor().encode(&key()), "one successor, always");
        assert_eq!(t.successor().generation, 1);
    }

    #[test]
    fn forged_and_malformed_tokens_do_not_decode() {
        let good = RefreshToken::first("1", GRANT).encode(&key());
        let other = Key::derive(&"z".repeat(32), crate::rules::keys::REFRESH_TOKEN);
        assert_eq!(RefreshToken::decode(&other, &good), None, "another key");
        let forged = good.replacen(".0.", ".7.", 1);
        assert_eq!(RefreshToken::decode(&key(), &forged), None, "generation changed");
        for bad in ["", "mcpr1.", "mcpr1.a.b.c.d", &good[..good.len() - 2], &format!("{good}x"), &"mcpr1.".repeat(60)] {
            assert_eq!(RefreshToken::decode(&key(), bad), None, "{bad}");
        }
        // A signed body with a bad field is still refused.
        for body in
            ["x.AAAAAAAAAAAAAAAAAAAAAA.0", "1.short.0", "1.AAAAAAAAAAAAAAAAAAAAAA.-1", "1.AAAAAAAAAAAAAAAAAAAAAA.+1"]
        {
            let t = format!("mcpr1.{body}.{}", B64.encode(key().sign(body.as_bytes())));
            assert_eq!(RefreshToken::decode(&key(), &t), None, "{body}");
        }
        assert!(RefreshToken::looks_like(&good));
        assert!(!RefreshToken::looks_like("eyJhbGciOi"));
    }

    #[test]
    fn rotation_grace_and_reuse() {
        let issued = |at| Issued { at, scope: "mcp".into(), expires: at + 100 };
        let w = DEFAULT_REUSE_WINDOW_SECONDS;
        assert_eq!(step(None, 1000, w), Step::Rotate);
        assert_eq!(step(Some(&issued(995)), 1000, w), Step::RetryIfSuccessorUnused);
        assert_eq!(step(Some(&issued(1000 - GRACE_SECONDS)), 1000, w), Step::RetryIfSuccessorUnused);
        // Past the grace: a stale copy within the window, reuse beyond it.
        assert_eq!(step(Some(&issued(1000 - GRACE_SECONDS - 1)), 1000, w), Step::Stale);
        assert_eq!(step(Some(&issued(1000 - w)), 1000, w), Step::Stale);
        assert_eq!(step(Some(&issued(1000 - w - 1)), 1000, w), Step::Reuse);
        // Window 0: strict RFC 9700 reuse detection after the grace.
        assert_eq!(step(Some(&issued(1000 - GRACE_SECONDS - 1)), 1000, 0), Step::Reuse);
        assert_eq!(step(Some(&issued(995)), 1000, 0), Step::RetryIfSuccessorUnused);
        // A successor already used within the grace: stale within the window, reuse with 0.
        assert_eq!(stale_or_reuse(&issued(995), 1000, w), Step::Stale);
        assert_eq!(stale_or_reuse(&issued(995), 1000, 0), Step::Reuse);
        assert_eq!(stale_or_reuse(&issued(1000), 1000, 0), Step::Reuse, "even in the same second");
    }

    #[test]
    fn rotations_are_paced_beyond_a_burst() {
        let created = 1000;
        assert!((0..ROTATION_BURST as u32).all(|g| may_rotate(g, created, created)), "the burst at once");
        assert!(!may_rotate(ROTATION_BURST as u32, created, created + ROTATION_PACE_SECONDS - 1));
        assert!(may_rotate(ROTATION_BURST as u32, created, created + ROTATION_PACE_SECONDS));
        // A day of a grant: at most the burst plus one rotation per pace.
        let day = 86_400;
        let most = (0..u32::MAX).find(|g| !may_rotate(*g, created, created + day)).unwrap();
        assert_eq!(i64::from(most), ROTATION_BURST + day / ROTATION_PACE_SECONDS);
        let _ = (may_rotate(u32::MAX, i64::MIN, i64::MAX), may_rotate(0, i64::MAX, i64::MIN)); // no overflow
        assert!(may_rotate(0, created, created - 50), "a clock behind the grant still allows the burst");
    }

    #[test]
    fn scope_narrows_never_widens() {
        assert_eq!(narrow("mcp profile email", None), "mcp profile email");
        assert_eq!(narrow("mcp profile email", Some("email mcp")), "mcp email");
        assert_eq!(narrow("mcp profile", Some("  ")), "mcp profile");
        assert_eq!(narrow("mcp profile", Some("mcp mcp")), "mcp");
        assert_eq!(narrow("mcp", Some("mcp email")), "mcp", "never wider");
        assert_eq!(narrow("mcp profile", Some("mcp profile offline_access")), "mcp profile", "Claude's refresh");
        assert_eq!(narrow("mcp", Some("email")), "mcp", "nothing granted asked for: the grant");
    }
}
