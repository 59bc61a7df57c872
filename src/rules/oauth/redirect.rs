//! Redirect URIs: what a client may register, and when a requested one matches a registered
//! one. An invalid redirect URI is never redirected to; callers show the person an error page.

use url::{Host, Url};

/// Longest redirect URI accepted; real ones are far shorter.
pub const MAX_LEN: usize = 2000;

/// Private-use schemes of MCP clients that are not reverse domain names: Cursor's
/// (`cursor://anysphere.cursor-mcp/oauth/callback`), VS Code's and its Insiders', Windsurf's,
/// Zed's. Any other scheme must be a reverse domain name (`com.example.app:/cb`), as RFC 8252
/// §7.1 asks of native apps: a deny list let through the operating system's own handlers
/// (`search-ms:`, `ms-word:`, `ms-msdt:`), which Deny would have sent a person to.
const APP_SCHEMES: &[&str] = &["cursor", "vscode", "vscode-insiders", "windsurf", "zed"];

/// Whether `scheme` is a native app's own (see [`APP_SCHEMES`]).
fn app_scheme(scheme: &str) -> bool {
    APP_SCHEMES.contains(&scheme) || (scheme.contains('.') && scheme.split('.').all(|label| !label.is_empty()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    TooLong,
    NotAbsolute,
    /// Whitespace or control characters, which parsers disagree about.
    BadCharacters,
    /// Not in the form a URL parser writes it back (`https:///cb`, `HTTPS://A.example`,
    /// an international host): parsers may read such a URI differently, so it must be exact.
    NotCanonical,
    /// A host name that is not ASCII: this build has no IDNA tables (see `idna_adapter` in
    /// Cargo.toml), so an international name must be written in punycode.
    NonAsciiHost,
    RefusedScheme(String),
    /// `http` is for loopback hosts only (RFC 8252 §7.3); elsewhere use https.
    HttpNotLoopback,
    Fragment,
    UserInfo,
    NoHost,
}

impl RedirectError {
    pub fn describe(&self) -> String {
        match self {
            RedirectError::TooLong => format!("a redirect URI may be at most {MAX_LEN} characters"),
            RedirectError::NotAbsolute => "a redirect URI must be an absolute URI".into(),
            RedirectError::BadCharacters => "a redirect URI must not contain spaces or control characters".into(),
            RedirectError::NotCanonical => {
                "a redirect URI must be written in canonical form (lower-case scheme and host, no empty authority, ASCII host)".into()
            }
            RedirectError::NonAsciiHost => {
                "a redirect URI's host name must be ASCII: write an international name in punycode (xn--…)".into()
            }
            RedirectError::RefusedScheme(s) => format!(
                "the scheme `{s}:` is not allowed for redirect URIs (https, http on a loopback host, or an app's own scheme: a reverse domain name such as com.example.app, or cursor, vscode, windsurf, zed)"
            ),
            RedirectError::HttpNotLoopback => {
                "http redirect URIs are allowed only for localhost, 127.0.0.1 or [::1]; use https".into()
            }
            RedirectError::Fragment => "a redirect URI must not contain a fragment (#)".into(),
            RedirectError::UserInfo => "a redirect URI must not contain a user name or password".into(),
            RedirectError::NoHost => "an https redirect URI needs a host".into(),
        }
    }
}

/// Loopback hosts: `localhost`, `127.0.0.0/8`, `::1` (RFC 8252 §8.3 and the local stand-in).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the authority (between `scheme://` and the path) is plain ASCII with no percent
/// escapes: the only form this server hands to the URL parser. This build has no IDNA tables
/// (`idna_adapter` is pinned in Cargo.toml), an escaped or international host is never the
/// canonical form, and the stand-in IDNA code asserts on such hosts in debug builds.
pub fn plain_authority(raw: &str) -> bool {
    // URL parsers drop tabs and newlines anywhere before reading the authority.
    let raw: String = raw.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let Some((_, rest)) = raw.split_once(':') else { return raw.is_ascii() };
    // Parsers read `\` as `/` after special schemes: the authority starts after either.
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or(rest);
    authority.is_ascii() && !authority.contains('%')
}

/// Checks a redirect URI offered at registration (or in a client metadata document).
pub fn validate(raw: &str) -> Result<Url, RedirectError> {
    if raw.len() > MAX_LEN {
        return Err(RedirectError::TooLong);
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RedirectError::BadCharacters);
    }
    // Only ASCII reaches the URL parser: this build has no IDNA tables (Cargo.toml), and a
    // non-ASCII character anywhere else would be percent-encoded, so not canonical either.
    if !raw.is_ascii() {
        let authority = raw.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest));
        return Err(match authority {
            Some(a) if !a.is_ascii() => RedirectError::NonAsciiHost,
            _ => RedirectError::NotCanonical,
        });
    }
    if !plain_authority(raw) {
        return Err(RedirectError::NotCanonical); // a percent-escaped host
    }
    let url = Url::parse(raw).map_err(|_| RedirectError::NotAbsolute)?;
    let scheme = url.scheme();
    if !(matches!(scheme, "https" | "http") || app_scheme(scheme)) {
        return Err(RedirectError::RefusedScheme(scheme.to_string()));
    }
    if url.fragment().is_some() || raw.contains('#') {
        return Err(RedirectError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectError::UserInfo);
    }
    // What is stored is compared byte for byte later: it must be what the parser reads.
    if url.as_str() != raw && url.as_str() != format!("{raw}/") {
        return Err(RedirectError::NotCanonical);
    }
    match scheme {
        "https" if url.host().is_none() => Err(RedirectError::NoHost),
        "http" if !is_loopback(&url) => Err(RedirectError::HttpNotLoopback),
        // https, loopback http, and private-use schemes of native apps (cursor://, vscode://).
        _ => Ok(url),
    }
}

/// Whether `requested` may be used for a client that registered `registered`: the same string,
/// or, for a loopback http URI, the same but for the port, which native apps pick at run time.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    // Registered URIs are plain ASCII (see `validate`); nothing else reaches the parser.
    if [registered, requested].iter().any(|u| !u.is_ascii() || !plain_authority(u)) {
        return false;
    }
    let (Ok(r), Ok(q)) = (Url::parse(registered), Url::parse(requested)) else { return false };
    r.scheme() == "http"
        && q.scheme() == "http"
        && is_loopback(&r)
        && r.host() == q.host()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
        && q.username().is_empty()
        && q.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_redirect_uris() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "http://localhost:6274/oauth/callback",
            "http://127.0.0.1:33418/callback",
            "http://[::1]/cb",
            "cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback",
            "vscode://vscode.github-authentication/did-authenticate",
            "com.example.app:/oauth2redirect",
            "https://app.example/cb?tenant=1",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refused_redirect_uris() {
        let err = |u: &str| validate(u).unwrap_err();
        for odd in [
            "https:///cb",
            "HTTPS://a.example/cb",
            "https://A.example/cb",
            "https://a.example/./cb",
            "https://a.example:443/cb",
        ] {
            assert_eq!(err(odd), RedirectError::NotCanonical, "{odd}");
        }
        // No IDNA in this build: an international host must be written in punycode.
        for unicode in ["https://bücher.example/cb", "https://BÜCHER.example/cb", "https://ex\u{200B}ample.com/cb"] {
            assert_eq!(err(unicode), RedirectError::NonAsciiHost, "{unicode}");
        }
        assert!(err("https://bücher.example/cb").describe().contains("punycode"));
        assert!(validate("https://xn--bcher-kva.example/cb").is_ok(), "the punycode form is accepted");
        assert_eq!(err("https://a.example/pâth"), RedirectError::NotCanonical, "non-ASCII outside the host");
        // A percent-escaped host, with capitals: never parsed (debug builds of the IDNA stand-in assert).
        assert_eq!(err("https://URW%C3%A8.example/cb"), RedirectError::NotCanonical);
        assert_eq!(err("https:\\\\URW%C3%A8.example/cb"), RedirectError::NotCanonical);
        assert!(validate("https://a.example/p%C3%A2th").is_ok(), "an escaped path is fine");
        assert!(!plain_authority("http:\t/.EE%EE%22/x"), "tabs are dropped before the authority is read");
        assert!(!matches("http://127.0.0.1/cb", "http://URW%C3%A8:99/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:99/çb"));
        assert_eq!(err("javascript:alert(1)"), RedirectError::RefusedScheme("javascript".into()));
        assert_eq!(err("JavaScript:alert(1)"), RedirectError::RefusedScheme("javascript".into()));
        assert_eq!(err("data:text/html,<script>x</script>"), RedirectError::RefusedScheme("data".into()));
        assert_eq!(err("file:///etc/passwd"), RedirectError::RefusedScheme("file".into()));
        assert_eq!(err("vbscript:x"), RedirectError::RefusedScheme("vbscript".into()));
        // The operating system's own handlers, and any scheme that is neither a known app's nor
        // a reverse domain name (second security review, finding 4).
        for handler in
            ["search-ms:query=x", "ms-word:ofe|u|https://evil.example/a.docx", "ms-msdt:-id", "myapp://cb", "com.:/cb"]
        {
            assert!(matches!(err(handler), RedirectError::RefusedScheme(_)), "{handler}");
        }
        for app in ["windsurf://codeium.windsurf/cb", "zed://auth/cb", "vscode-insiders://a/cb", "io.github.app:/cb"] {
            assert!(validate(app).is_ok(), "{app}");
        }
        assert_eq!(err("http://example.com/cb"), RedirectError::HttpNotLoopback);
        assert_eq!(err("http://localhost.evil.com/cb"), RedirectError::HttpNotLoopback);
        assert_eq!(err("http://127.0.0.1.nip.io/cb"), RedirectError::HttpNotLoopback);
        assert_eq!(err("https://app.example/cb#frag"), RedirectError::Fragment);
        assert_eq!(err("https://app.example/cb#"), RedirectError::Fragment);
        assert_eq!(err("https://user:pw@app.example/cb"), RedirectError::UserInfo);
        assert_eq!(err("https://evil.example@app.example/cb"), RedirectError::UserInfo);
        assert_eq!(err("/relative/cb"), RedirectError::NotAbsolute);
        assert_eq!(err("https://app.example/c b"), RedirectError::BadCharacters);
        assert_eq!(err("https://app.example/cb\n"), RedirectError::BadCharacters);
        assert_eq!(err(&format!("https://app.example/{}", "a".repeat(MAX_LEN))), RedirectError::TooLong);
        assert!(err("javascript:x").describe().contains("javascript:"));
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let reg = "https://app.example/cb";
        assert!(matches(reg, reg));
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cbx",
            "https://app.example/cb?x=1",
            "https://app.example:8443/cb",
            "https://APP.example/cb",
            "https://app.example/%63b",
            "https://app.example.evil.com/cb",
            "https://app.example/cb#x",
            "http://app.example/cb",
        ] {
            assert!(!matches(reg, bad), "{bad}");
        }
        let native = "http://127.0.0.1/callback";
        assert!(matches(native, "http://127.0.0.1:51234/callback"));
        assert!(matches("http://localhost:1/cb", "http://localhost:65000/cb"));
        assert!(!matches(native, "http://127.0.0.1:51234/callback/x"));
        assert!(!matches(native, "http://localhost:51234/callback"), "host must be the same loopback name");
        assert!(!matches(native, "http://evil@127.0.0.1:5/callback"));
        assert!(!matches(native, "https://127.0.0.1:5/callback"));
        assert!(!matches("https://127.0.0.1/cb", "https://127.0.0.1:9/cb"), "only http loopback ports vary");
        assert!(!matches("cursor://a/cb", "cursor://a/cb2"));
    }
}
