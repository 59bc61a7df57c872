//! Every KV key this Worker writes, in one place; `docs/storage.md` describes each one (what
//! it holds, how long, who writes and reads it). Nothing else builds a key.

use crate::rules::oauth::refresh::RefreshToken;

/// `grant:<discord user>:<grant>`: a login's record (its tombstone once revoked).
pub fn grant(user: &str, grant: &str) -> String {
    format!("grant:{user}:{grant}")
}

/// The prefix of every grant of one person (the connected apps page lists it).
pub fn grants_of(user: &str) -> String {
    format!("grant:{user}:")
}

/// `rt:<grant>:<n>`: generation `n ≥ 1` of a grant's refresh token was issued.
pub fn refresh_record(grant: &str, generation: u32) -> String {
    format!("rt:{grant}:{generation}")
}

/// The prefix of every refresh record of one grant.
pub fn refresh_records(grant: &str) -> String {
    format!("rt:{grant}:")
}

/// The record of the presented token's own generation (`None` for generation 0, which its
/// grant describes).
pub fn own_record(token: &RefreshToken) -> Option<String> {
    (token.generation > 0).then(|| refresh_record(&token.grant, token.generation))
}

/// The record of the successor, whose existence marks the presented token used.
pub fn successor_record(token: &RefreshToken) -> String {
    refresh_record(&token.grant, token.generation.saturating_add(1))
}

/// `discord:<grant>`: Discord tokens refreshed since login, or the mark that Discord refused
/// them, as written before one Discord authorization per person: read only when the person has
/// no `discord-user:` record yet, deleted when the grant ends.
pub fn discord(grant: &str) -> String {
    format!("discord:{grant}")
}

/// `discord-user:<discord user>`: the person's Discord tokens as last refreshed, shared by all
/// their grants (Discord keeps one authorization per person and application), or the mark that
/// Discord refused them.
pub fn discord_user(user: &str) -> String {
    format!("discord-user:{user}")
}

/// `guilds:<grant>`: the person's Discord servers, cached for a few minutes.
pub fn guilds(grant: &str) -> String {
    format!("guilds:{grant}")
}

/// `revoked:<grant>`: written by every revocation, never by a redemption.
pub fn revoked(grant: &str) -> String {
    format!("revoked:{grant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_of_docs_storage_md() {
        assert_eq!(grant("1", "g"), "grant:1:g");
        assert!(grant("1", "g").starts_with(&grants_of("1")));
        let t = RefreshToken::first("1", "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(own_record(&t), None);
        assert_eq!(successor_record(&t), "rt:AAAAAAAAAAAAAAAAAAAAAA:1");
        assert_eq!(own_record(&t.successor()).as_deref(), Some("rt:AAAAAAAAAAAAAAAAAAAAAA:1"));
        assert!(refresh_record("g", 7).starts_with(&refresh_records("g")));
        assert_eq!(
            (discord("g"), guilds("g"), revoked("g")),
            ("discord:g".into(), "guilds:g".into(), "revoked:g".into())
        );
    }
}
