//! Discord's OAuth2 and REST endpoints, built from `DISCORD_BASE_URL` with Discord's own paths,
//! so the same code talks to discord.com in production and to the loopback stand-in in tests.

/// Absolute URLs of every Discord endpoint the Worker uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordEndpoints {
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
            authorize: format!("{base}/oauth2/authorize"),
            token: format!("{base}/api/oauth2/token"),
            revoke: format!("{base}/api/oauth2/token/revoke"),
            me: format!("{base}/api/v10/users/@me"),
            guilds: format!("{base}/api/v10/users/@me/guilds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
