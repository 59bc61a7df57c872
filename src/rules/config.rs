//! Configuration: every secret and variable the Worker reads, read and validated in one place.
//!
//! The runtime hands us a lookup function; nothing here knows about `worker::Env`. A missing
//! or weak secret never panics and never stops routes that do not need it: it is recorded as a
//! [`Problem`], shown by name (never by value) on the landing page and `/health`, and turned into
//! a 500 naming the fix by every route that calls [`Config::secrets`].

use std::fmt;

use url::Url;

use crate::rules::discord::DiscordEndpoints;

/// Name of the KV namespace binding in `wrangler.toml`.
pub const KV_BINDING: &str = "OAUTH_KV";
/// `SECRET_KEY` must be at least this long: it seeds every signing key.
pub const MIN_SECRET_KEY_LEN: usize = 32;
/// Used when `DISCORD_BASE_URL` is not set.
pub const DEFAULT_DISCORD_BASE_URL: &str = "https://discord.com";

/// Secrets, in the order the landing page lists them.
pub const SECRET_NAMES: [&str; 3] = ["DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET", "SECRET_KEY"];
/// Optional secrets, which the fix text also sends to `wrangler secret put`.
const OPTIONAL_SECRETS: [&str; 2] = ["SECRET_KEY_PREVIOUS", "OAUTH_CLIENTS"];

/// A string that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// What is wrong with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    Missing,
    TooShort {
        min: usize,
    },
    Invalid(&'static str),
    /// Invalid, with a reason built from the value's structure (never the value itself).
    Detail(String),
}

/// One setting that is missing or unusable, named but never quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub name: &'static str,
    pub issue: Issue,
}

impl Problem {
    /// A sentence a person can act on.
    pub fn describe(&self) -> String {
        match &self.issue {
            Issue::Missing => format!("{} is not set", self.name),
            Issue::TooShort { min } => {
                format!("{} is shorter than {min} characters", self.name)
            }
            Issue::Invalid(why) => format!("{} is invalid: {why}", self.name),
            Issue::Detail(why) => format!("{} is invalid: {why}", self.name),
        }
    }

    /// The command (or edit) that fixes it.
    pub fn fix(&self) -> String {
        if self.name == KV_BINDING {
            return format!(
                "npx wrangler kv namespace create {KV_BINDING}, then put its id under [[kv_namespaces]] in wrangler.toml"
            );
        }
        if SECRET_NAMES.contains(&self.name) || OPTIONAL_SECRETS.contains(&self.name) {
            return format!("npx wrangler secret put {} (locally: add it to .dev.vars)", self.name);
        }
        format!("set {} under [vars] in wrangler.toml", self.name)
    }
}

/// Settings a route needs that are not usable. Lists every problem, not just the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

/// The secrets, borrowed from a [`Config`] whose secrets all passed validation.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    pub discord_client_id: &'a str,
    pub discord_client_secret: &'a SecretString,
    pub secret_key: &'a SecretString,
    /// `SECRET_KEY_PREVIOUS`: still accepted for verifying while a rotation is under way.
    pub secret_key_previous: Option<&'a SecretString>,
}

impl crate::rules::discord::ClientCredentials for Secrets<'_> {
    fn client_id(&self) -> &str {
        self.discord_client_id
    }
    fn client_secret(&self) -> &str {
        self.discord_client_secret.expose()
    }
}

impl Secrets<'_> {
    /// Every key of the authorization server, derived from these secrets.
    pub fn auth_keys(&self) -> crate::rules::keys::AuthKeys {
        crate::rules::keys::AuthKeys::derive(
            self.secret_key.expose(),
            self.secret_key_previous.map(SecretString::expose),
        )
    }

    /// The key for `purpose`, accepting values made under `SECRET_KEY_PREVIOUS` too.
    pub fn key(&self, purpose: &str) -> crate::rules::keys::Key {
        crate::rules::keys::Key::derive_rotating(
            self.secret_key.expose(),
            self.secret_key_previous.map(SecretString::expose),
            purpose,
        )
    }
}

/// See [`Config::policy_at_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyAtRefresh {
    Admitted,
    Refused,
    AskDiscord,
}

#[derive(Debug, Clone)]
pub struct Config {
    discord_client_id: Option<String>,
    discord_client_secret: Option<SecretString>,
    secret_key: Option<SecretString>,
    secret_key_previous: Option<SecretString>,
    /// Discord's endpoints, built from `DISCORD_BASE_URL` (or its default when that is unusable,
    /// so pages can still render; the problem is recorded).
    pub discord: DiscordEndpoints,
    /// Whether `DISCORD_BASE_URL` points at a loopback stand-in rather than Discord.
    pub discord_is_local: bool,
    /// Web origins, besides the Worker's own, that may call the MCP endpoint from a browser.
    pub allowed_origins: Vec<String>,
    /// `LOCAL_ONLY=true`: answer only requests addressed to a loopback host (local development).
    pub local_only: bool,
    /// `DISABLE_REGISTRATION=true`: `/register` answers 403 (pre-registered clients only).
    pub registration_disabled: bool,
    /// `DISABLE_METADATA_DOCUMENTS=true`: clients identified by a metadata document URL are
    /// unknown, so with `DISABLE_REGISTRATION` only configured clients remain.
    pub metadata_documents_disabled: bool,
    /// `DISCORD_PUBLIC_KEY`: the application's public key (hex), which turns on the webhook
    /// events endpoint (`POST /discord/events`); `None` leaves it off.
    pub discord_public_key: Option<[u8; 32]>,
    /// `PRIVATE_KEY_JWT=false` stops advertising and honouring `private_key_jwt` for
    /// metadata-document clients (on by default); such clients then authenticate as `none`.
    pub private_key_jwt: bool,
    /// `ACCESS_TOKEN_TTL`: access token lifetime in seconds (60 to 86400; default 3600).
    pub access_token_ttl: i64,
    /// `REFRESH_TOKEN_TTL`: refresh token lifetime in seconds (3600 to 7776000; default 30 days).
    pub refresh_token_ttl: i64,
    /// `REFRESH_REUSE_WINDOW`: seconds after rotation in which a superseded refresh token is
    /// refused without ending the grant (0 to 86400; default 300). See `oauth::refresh`.
    pub refresh_reuse_window: i64,
    /// `ALLOWED_DISCORD_USERS`: Discord user ids that may log in (empty: no user list).
    pub allowed_users: Vec<String>,
    /// `ALLOWED_DISCORD_GUILDS`: members of these Discord servers may log in (empty: no list).
    pub allowed_guilds: Vec<String>,
    /// `OAUTH_CLIENTS`: clients configured by the operator.
    pub clients: Vec<(String, crate::rules::oauth::client::Client)>,
    problems: Vec<Problem>,
    /// Keys derived on first use: the runtime keeps one `Config` per isolate, so each key is
    /// derived once, not on every request.
    auth_keys: std::cell::OnceCell<crate::rules::keys::AuthKeys>,
    mcp_keys: std::cell::OnceCell<(Option<crate::rules::keys::Key>, Option<crate::rules::keys::Key>)>,
}

impl Config {
    /// Reads and validates everything. `lookup` returns a variable or secret by name.
    /// `kv_bound` says whether the runtime found the KV binding.
    pub fn load(lookup: impl Fn(&str) -> Option<String>, kv_bound: bool) -> Config {
        let mut problems = Vec::new();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let discord_client_id = non_empty("DISCORD_CLIENT_ID");
        if discord_client_id.is_none() {
            problems.push(Problem { name: "DISCORD_CLIENT_ID", issue: Issue::Missing });
        }
        let discord_client_secret = non_empty("DISCORD_CLIENT_SECRET").map(SecretString);
        if discord_client_secret.is_none() {
            problems.push(Problem { name: "DISCORD_CLIENT_SECRET", issue: Issue::Missing });
        }
        let secret_key = match non_empty("SECRET_KEY") {
            None => {
                problems.push(Problem { name: "SECRET_KEY", issue: Issue::Missing });
                None
            }
            Some(k) if k.chars().count() < MIN_SECRET_KEY_LEN => {
                problems.push(Problem { name: "SECRET_KEY", issue: Issue::TooShort { min: MIN_SECRET_KEY_LEN } });
                None
            }
            Some(k) => Some(SecretString(k)),
        };

        let secret_key_previous = match non_empty("SECRET_KEY_PREVIOUS") {
            Some(k) if k.chars().count() < MIN_SECRET_KEY_LEN => {
                problems
                    .push(Problem { name: "SECRET_KEY_PREVIOUS", issue: Issue::TooShort { min: MIN_SECRET_KEY_LEN } });
                None
            }
            k => k.map(SecretString),
        };

        let (discord, discord_is_local) = match non_empty("DISCORD_BASE_URL") {
            None => (DiscordEndpoints::new(DEFAULT_DISCORD_BASE_URL), false),
            Some(raw) => match parse_discord_base(raw.trim()) {
                Ok(url) => (DiscordEndpoints::new(url.as_str()), crate::rules::oauth::redirect::is_loopback(&url)),
                Err(why) => {
                    problems.push(Problem { name: "DISCORD_BASE_URL", issue: Issue::Invalid(why) });
                    // Fall back to the real Discord so nothing is ever sent to the bad URL.
                    (DiscordEndpoints::new(DEFAULT_DISCORD_BASE_URL), false)
                }
            },
        };
        let (allowed_origins, bad_origin) = parse_origins(&non_empty("ALLOWED_ORIGINS").unwrap_or_default());
        if bad_origin {
            problems.push(Problem {
                name: "ALLOWED_ORIGINS",
                issue: Issue::Invalid("each comma-separated entry must be an origin such as https://app.example"),
            });
        }
        if !kv_bound {
            problems.push(Problem { name: KV_BINDING, issue: Issue::Missing });
        }

        let flag = |name: &str| non_empty(name).is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes"));
        let local_only = flag("LOCAL_ONLY");
        let registration_disabled = flag("DISABLE_REGISTRATION");
        let metadata_documents_disabled = flag("DISABLE_METADATA_DOCUMENTS");
        let discord_public_key = match non_empty("DISCORD_PUBLIC_KEY") {
            None => None,
            Some(v) => match crate::rules::discord_events::parse_public_key(&v) {
                Some(k) => Some(k),
                None => {
                    problems.push(Problem {
                        name: "DISCORD_PUBLIC_KEY",
                        issue: Issue::Invalid(
                            "must be the application's public key: 64 hex digits (General Information in the developer portal)",
                        ),
                    });
                    None
                }
            },
        };
        let private_key_jwt =
            !non_empty("PRIVATE_KEY_JWT").is_some_and(|v| matches!(v.trim(), "false" | "0" | "no" | "off"));
        // A number of seconds within its bounds; anything else is a problem, and the default.
        let mut seconds =
            |name: &'static str, bounds: std::ops::RangeInclusive<i64>, default: i64, why: &'static str| {
                match non_empty(name).map(|v| v.trim().parse::<i64>()) {
                    None => default,
                    Some(Ok(n)) if bounds.contains(&n) => n,
                    Some(_) => {
                        problems.push(Problem { name, issue: Issue::Invalid(why) });
                        default
                    }
                }
            };
        let access_token_ttl =
            seconds("ACCESS_TOKEN_TTL", 60..=86_400, 3600, "must be a number of seconds from 60 to 86400");
        let refresh_token_ttl = seconds(
            "REFRESH_TOKEN_TTL",
            3600..=7_776_000,
            crate::rules::oauth::refresh::DEFAULT_TTL_SECONDS,
            "must be a number of seconds from 3600 to 7776000 (90 days)",
        );
        let refresh_reuse_window = seconds(
            "REFRESH_REUSE_WINDOW",
            0..=86_400,
            crate::rules::oauth::refresh::DEFAULT_REUSE_WINDOW_SECONDS,
            "must be a number of seconds from 0 to 86400",
        );
        let mut id_list = |name: &'static str| -> Vec<String> {
            let raw = non_empty(name).unwrap_or_default();
            let ids: Vec<String> = raw.split(',').map(str::trim).filter(|e| !e.is_empty()).map(String::from).collect();
            if ids.iter().any(|id| !crate::rules::discord::is_snowflake(id)) {
                problems.push(Problem { name, issue: Issue::Invalid("must be comma-separated Discord ids (digits)") });
            }
            ids
        };
        let allowed_users = id_list("ALLOWED_DISCORD_USERS");
        let allowed_guilds = id_list("ALLOWED_DISCORD_GUILDS");
        let clients = match non_empty("OAUTH_CLIENTS").map(|raw| crate::rules::oauth::client::parse_configured(&raw)) {
            None => Vec::new(),
            Some(Ok(list)) => list,
            Some(Err(why)) => {
                problems.push(Problem { name: "OAUTH_CLIENTS", issue: Issue::Detail(why) });
                Vec::new()
            }
        };

        Config {
            auth_keys: std::cell::OnceCell::new(),
            mcp_keys: std::cell::OnceCell::new(),
            secret_key_previous,
            refresh_token_ttl,
            refresh_reuse_window,
            allowed_users,
            allowed_guilds,
            clients,
            local_only,
            registration_disabled,
            metadata_documents_disabled,
            discord_public_key,
            private_key_jwt,
            access_token_ttl,
            discord_client_id,
            discord_client_secret,
            secret_key,
            discord,
            discord_is_local,
            allowed_origins,
            problems,
        }
    }

    /// What metadata documents may ask for here.
    pub fn document_rules(&self) -> crate::rules::oauth::client::DocumentRules {
        crate::rules::oauth::client::DocumentRules {
            private_key_jwt: self.private_key_jwt,
            allow_loopback_http: self.local_only,
        }
    }

    /// The key for `purpose` from `SECRET_KEY` alone (and `SECRET_KEY_PREVIOUS`), when it is
    /// valid, for features that need no Discord credentials.
    pub fn key(&self, purpose: &str) -> Option<crate::rules::keys::Key> {
        let current = self.secret_key.as_ref()?;
        let previous = self.secret_key_previous.as_ref().map(SecretString::expose);
        Some(crate::rules::keys::Key::derive_rotating(current.expose(), previous, purpose))
    }

    /// The authorization server's keys, derived once.
    pub fn auth_keys(&self) -> Result<&crate::rules::keys::AuthKeys, ConfigError> {
        let secrets = self.secrets()?;
        Ok(self.auth_keys.get_or_init(|| secrets.auth_keys()))
    }

    /// The MCP endpoint's keys (request state, session ids), derived once; `None` without a
    /// valid `SECRET_KEY`.
    pub fn mcp_keys(&self) -> (Option<&crate::rules::keys::Key>, Option<&crate::rules::keys::Key>) {
        let (state, session) = self
            .mcp_keys
            .get_or_init(|| (self.key(crate::rules::keys::REQUEST_STATE), self.key(crate::rules::keys::SESSION)));
        (state.as_ref(), session.as_ref())
    }

    /// What the access policy says of a Discord user at a refresh, before asking Discord: a
    /// listed user is admitted; with no server list, anyone else is refused (removed from the
    /// user list); otherwise their server membership decides (`web::policy`).
    pub fn policy_at_refresh(&self, user: &str) -> PolicyAtRefresh {
        if !self.has_policy() || self.allowed_users.iter().any(|u| u == user) {
            PolicyAtRefresh::Admitted
        } else if self.allowed_guilds.is_empty() {
            PolicyAtRefresh::Refused
        } else {
            PolicyAtRefresh::AskDiscord
        }
    }

    /// Whether a Discord access policy is configured.
    pub fn has_policy(&self) -> bool {
        !self.allowed_users.is_empty() || !self.allowed_guilds.is_empty()
    }

    /// Every setting that is missing or unusable.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// The secrets, for routes that need them; a [`ConfigError`] naming every problem otherwise.
    /// A bad `DISCORD_BASE_URL` or a missing KV binding also fails here, since every route that
    /// needs the secrets talks to Discord or KV too.
    pub fn secrets(&self) -> Result<Secrets<'_>, ConfigError> {
        match (&self.discord_client_id, &self.discord_client_secret, &self.secret_key) {
            (Some(id), Some(secret), Some(key)) if self.problems.is_empty() => Ok(Secrets {
                discord_client_id: id,
                discord_client_secret: secret,
                secret_key: key,
                secret_key_previous: self.secret_key_previous.as_ref(),
            }),
            _ => Err(ConfigError { problems: self.problems.clone() }),
        }
    }
}

/// `ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]` values. Returns the valid ones
/// and whether any entry was not a plain http(s) origin (a path, `*`, a typo).
fn parse_origins(raw: &str) -> (Vec<String>, bool) {
    let mut bad = false;
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match Url::parse(entry) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == entry => {
                out.push(entry.to_string())
            }
            _ => bad = true,
        }
    }
    (out, bad)
}

/// `DISCORD_BASE_URL` must be https, or http on a loopback host (the local stand-in), with no
/// credentials, query or fragment: the client secret is sent there.
fn parse_discord_base(raw: &str) -> Result<Url, &'static str> {
    let url = Url::parse(raw).map_err(|_| "not an absolute URL")?;
    match url.scheme() {
        "https" => {}
        "http" if crate::rules::oauth::redirect::is_loopback(&url) => {}
        "http" => return Err("http is allowed only for a loopback host"),
        _ => return Err("the scheme must be https"),
    }
    if url.host().is_none() {
        return Err("no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn load(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load(|name| map.get(name).cloned(), true)
    }

    fn full() -> Vec<(&'static str, &'static str)> {
        vec![("DISCORD_CLIENT_ID", "123"), ("DISCORD_CLIENT_SECRET", "shh"), ("SECRET_KEY", KEY)]
    }

    #[test]
    fn complete_configuration_yields_secrets_and_default_discord() {
        let cfg = load(&full());
        assert!(cfg.is_complete());
        let s = cfg.secrets().expect("complete");
        assert_eq!(s.discord_client_id, "123");
        assert_eq!(s.discord_client_secret.expose(), "shh");
        assert_eq!(cfg.discord.token, "https://discord.com/api/oauth2/token");
        assert!(!cfg.discord_is_local);
    }

    #[test]
    fn every_missing_secret_is_named() {
        let cfg = load(&[]);
        let names: Vec<_> = cfg.problems().iter().map(|p| p.name).collect();
        assert_eq!(names, SECRET_NAMES);
        let err = cfg.secrets().unwrap_err();
        assert_eq!(err.problems.len(), 3);
        assert_eq!(err.problems[2].fix(), "npx wrangler secret put SECRET_KEY (locally: add it to .dev.vars)");
    }

    #[test]
    fn blank_values_count_as_missing() {
        let cfg = load(&[("DISCORD_CLIENT_ID", "  "), ("DISCORD_CLIENT_SECRET", "x"), ("SECRET_KEY", KEY)]);
        assert_eq!(cfg.problems(), &[Problem { name: "DISCORD_CLIENT_ID", issue: Issue::Missing }]);
    }

    #[test]
    fn short_secret_key_is_refused_by_length_in_characters() {
        let mut pairs = full();
        pairs[2] = ("SECRET_KEY", "0123456789abcdef0123456789abcde"); // 31
        let cfg = load(&pairs);
        assert_eq!(cfg.problems()[0].issue, Issue::TooShort { min: 32 });
        assert_eq!(cfg.problems()[0].describe(), "SECRET_KEY is shorter than 32 characters");
        assert!(cfg.secrets().is_err());
        pairs[2] = ("SECRET_KEY", "ééééééééééééééééééééééééééééééé"); // 31 chars, 62 bytes
        assert!(!load(&pairs).is_complete());
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let cfg = load(&full());
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains(KEY));
        assert!(!dbg.contains("shh"));
        let err = load(&[("SECRET_KEY", "short-secret-value")]).secrets().unwrap_err();
        let all: String = err.problems.iter().map(|p| p.describe() + &p.fix()).collect();
        assert!(!all.contains("short-secret-value"));
    }

    #[test]
    fn discord_base_url_rules() {
        let ok = |u: &str| {
            let mut p = full();
            p.push(("DISCORD_BASE_URL", u));
            load(&p)
        };
        let local = ok("http://127.0.0.1:8788");
        assert!(local.is_complete());
        assert!(local.discord_is_local);
        assert_eq!(local.discord.me, "http://127.0.0.1:8788/api/v10/users/@me");
        assert!(ok("http://localhost:9/").discord_is_local);
        assert!(ok("http://[::1]:9").discord_is_local);
        assert_eq!(
            ok("https://proxy.example/discord/").discord.authorize,
            "https://proxy.example/discord/oauth2/authorize"
        );
        for bad in [
            "http://discord.com",
            "ftp://discord.com",
            "discord.com",
            "https://user:pw@discord.com",
            "https://discord.com/?x=1",
            "https://discord.com/#f",
            "javascript:alert(1)",
        ] {
            let cfg = ok(bad);
            assert_eq!(cfg.problems().len(), 1, "{bad}");
            assert_eq!(cfg.problems()[0].name, "DISCORD_BASE_URL", "{bad}");
            assert!(cfg.secrets().is_err(), "{bad}");
            // Falls back to the real Discord so nothing is sent to the bad URL.
            assert_eq!(cfg.discord.token, "https://discord.com/api/oauth2/token", "{bad}");
        }
    }

    #[test]
    fn allowed_origins_are_exact_origins() {
        assert_eq!(parse_origins(""), (vec![], false));
        assert_eq!(
            parse_origins(" https://a.example , http://localhost:6274"),
            (vec!["https://a.example".to_string(), "http://localhost:6274".to_string()], false)
        );
        for bad in
            ["*", "https://a.example/", "https://a.example/path", "ftp://a.example", "a.example", "https://A.example"]
        {
            assert!(parse_origins(bad).1, "{bad}");
        }
        let mut p = full();
        p.push(("ALLOWED_ORIGINS", "https://ok.example,*"));
        let cfg = load(&p);
        assert_eq!(cfg.allowed_origins, ["https://ok.example"]);
        assert_eq!(cfg.problems()[0].name, "ALLOWED_ORIGINS");
    }

    #[test]
    fn missing_kv_binding_is_a_problem_with_its_fix() {
        let cfg = Config::load(|_| None, false);
        let kv = cfg.problems().iter().find(|p| p.name == KV_BINDING).expect("kv problem");
        assert!(kv.fix().contains("wrangler kv namespace create"));
    }

    #[test]
    fn lifecycle_settings_policy_and_rotation() {
        let cfg = load(&full());
        assert_eq!(cfg.refresh_token_ttl, 30 * 24 * 3600);
        assert_eq!(cfg.refresh_reuse_window, 300);
        assert!(!cfg.has_policy());
        let mut p = full();
        p.extend([
            ("REFRESH_TOKEN_TTL", "7200"),
            ("ALLOWED_DISCORD_USERS", " 80351110224678912 ,123"),
            ("ALLOWED_DISCORD_GUILDS", "1000000000000000002"),
            ("SECRET_KEY_PREVIOUS", "p".repeat(40).leak()),
        ]);
        let cfg = load(&p);
        assert!(cfg.is_complete(), "{:?}", cfg.problems());
        assert_eq!(cfg.refresh_token_ttl, 7200);
        assert_eq!(cfg.allowed_users, ["80351110224678912", "123"]);
        assert_eq!(cfg.allowed_guilds, ["1000000000000000002"]);
        assert!(cfg.has_policy());
        // The previous key verifies; the current one signs.
        let rotating = cfg.key(crate::rules::keys::SESSION).unwrap();
        let old = crate::rules::keys::Key::derive(&"p".repeat(40), crate::rules::keys::SESSION);
        assert!(rotating.verify(b"x", &old.sign(b"x")));
        assert_eq!(rotating.sign(b"x"), crate::rules::keys::Key::derive(KEY, crate::rules::keys::SESSION).sign(b"x"));

        for (name, value) in [
            ("REFRESH_TOKEN_TTL", "59"),
            ("REFRESH_TOKEN_TTL", "99999999"),
            ("REFRESH_REUSE_WINDOW", "-1"),
            ("REFRESH_REUSE_WINDOW", "86401"),
            ("ALLOWED_DISCORD_USERS", "nelly"),
            ("ALLOWED_DISCORD_GUILDS", "1,x"),
            ("SECRET_KEY_PREVIOUS", "tiny-key"),
            ("OAUTH_CLIENTS", "[{]"),
        ] {
            let mut p = full();
            p.push((name, value));
            let cfg = load(&p);
            assert_eq!(cfg.problems().iter().map(|p| p.name).collect::<Vec<_>>(), [name], "{name}={value}");
            assert!(!cfg.problems()[0].describe().contains(value) || value.len() < 3, "never quoted");
        }
    }
}
