//! HTML pages a person sees. One layout, inline CSS allowed by its hash (no external assets,
//! no scripts), light and dark, readable on a phone. Every dynamic value goes through [`escape`].

use std::sync::OnceLock;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::rules::config::{Config, SECRET_NAMES};

const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#f6f7fb;--fg:#1d2130;--muted:#5b6275;--card:#fff;--line:#dfe3ee;--accent:#4752c4;--bad:#b3261e;--ok:#1e7b34}\
@media (prefers-color-scheme:dark){:root{--bg:#14161f;--fg:#e8eaf2;--muted:#a3a9bb;--card:#1d2030;--line:#2f3447;--accent:#8d96ff;--bad:#ff8a80;--ok:#7bd88f}}\
*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{max-width:40rem;margin:0 auto;padding:2rem 1rem}\
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem;margin:1rem 0}\
h1{font-size:1.5rem;margin:0 0 .5rem;overflow-wrap:anywhere}h2{font-size:1.1rem;margin:1.25rem 0 .5rem}\
p,li{color:var(--fg)}.muted{color:var(--muted)}\
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}\
pre{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
ul{padding-left:1.25rem}.ok{color:var(--ok)}.bad{color:var(--bad)}\
a{color:var(--accent)}.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1rem}\
button{font:inherit;padding:.6rem 1.1rem;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}\
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\
footer{font-size:.85rem;color:var(--muted);text-align:center}\
.who{display:flex;align-items:center;gap:.75rem;margin:.5rem 0}.who img,.who .initial{width:40px;height:40px;border-radius:50%;flex:none}\
.who .initial{display:grid;place-items:center;background:var(--accent);color:#fff;font-weight:600}\
.apps{list-style:none;padding:0;margin:0}.apps li{border-top:1px solid var(--line);padding:1rem 0}.apps li:first-child{border-top:0}\
.apps h2{margin:0 0 .25rem}.apps dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem;margin:.25rem 0 .75rem;font-size:.95rem}\
.apps dt{color:var(--muted)}.apps dd{margin:0;overflow-wrap:anywhere}.notice{border-left:4px solid var(--ok);padding:.25rem .75rem}\
button.danger{border-color:var(--bad);color:var(--bad)}a.button{display:inline-block;text-decoration:none;padding:.6rem 1.1rem;border-radius:8px;background:var(--accent);color:#fff}\
a.button:focus-visible{outline:3px solid var(--fg);outline-offset:2px}";

/// `sha256-…` source expression for the inline stylesheet, for the CSP.
pub fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let digest = Sha256::digest(STYLE.as_bytes());
        format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest))
    })
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Wraps already-escaped `body` HTML in the shared layout. `title` is escaped here.
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}<footer>{name} {version}</footer></main></body></html>",
        title = escape(title),
        name = crate::NAME,
        version = crate::VERSION,
    )
}

/// The page for a person who opens the Worker's URL in a browser.
pub fn landing(origin: &str, cfg: &Config) -> String {
    let mcp_url = format!("{origin}/mcp");
    let mut body = format!(
        "<div class=\"card\"><h1>MCP server with Discord login</h1>\
         <p>This is a remote <a href=\"https://modelcontextprotocol.io\">Model Context Protocol</a> server. \
         Connect an MCP client (Claude, ChatGPT, Cursor, MCP Inspector) to it by URL; \
         the client will ask you to log in with Discord before it can use the tools.</p>\
         <h2>Server URL</h2><pre id=\"mcp-url\">{url}</pre>\
         <p class=\"muted\">Paste this URL into your client's “add remote MCP server” or “custom connector” field.</p></div>",
        url = escape(&mcp_url),
    );

    body.push_str("<div class=\"card\"><h2>Configuration</h2>");
    if cfg.is_complete() {
        body.push_str("<p class=\"ok\" id=\"config-status\">Complete: every secret and binding is set.</p>");
    } else {
        body.push_str(
            "<p class=\"bad\" id=\"config-status\">Incomplete: login will not work until these are fixed.</p><ul>",
        );
        for p in cfg.problems() {
            body.push_str(&format!(
                "<li><strong>{}</strong>: {}.<br><code>{}</code></li>",
                escape(p.name),
                escape(&p.describe()),
                escape(&p.fix())
            ));
        }
        body.push_str("</ul>");
    }
    let set: Vec<&str> =
        SECRET_NAMES.iter().copied().filter(|n| !cfg.problems().iter().any(|p| p.name == *n)).collect();
    if !set.is_empty() {
        body.push_str(&format!("<p class=\"muted\">Set: {}.</p>", escape(&set.join(", "))));
    }
    if cfg.discord_is_local {
        body.push_str(&format!(
            "<p><strong>Local mode:</strong> login goes to a Discord stand-in at <code>{}</code>, \
             not to Discord. Put real credentials in <code>.dev.vars</code> to use Discord.</p>",
            escape(cfg.discord.authorize.trim_end_matches("/oauth2/authorize"))
        ));
    }
    body.push_str("</div>");
    layout("MCP server with Discord login", &body)
}

/// What each scope means, for the consent page.
pub fn scope_description(scope: &str) -> &'static str {
    match scope {
        "mcp" => "Use this server's tools as you",
        "profile" => "See your Discord user name, display name and avatar",
        "email" => "See the email address of your Discord account",
        "guilds" => "See the list of Discord servers you are in (read from Discord on your behalf)",
        _ => "Unknown permission",
    }
}

/// The consent page: which application asks for what, Approve or Deny. A plain form, no script.
/// Who vouches for the name a consent page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance<'a> {
    /// Configured by this server's operator (`OAUTH_CLIENTS`).
    Operator,
    /// A Client ID Metadata Document: the name is its author's, the host is verified.
    Host(&'a str),
    /// Dynamic registration: anyone can register any name.
    SelfAsserted,
}

pub fn consent(
    client_name: Option<&str>,
    provenance: Provenance,
    redirect_uri: &str,
    scopes: &[&str],
    request: &str,
    csrf: &str,
) -> String {
    let name = client_name.map(str::trim).filter(|n| !n.is_empty());
    let (title, note) = match (name, provenance) {
        (Some(n), Provenance::Operator) => (
            format!("<strong>{}</strong> wants to access this server", escape(n)),
            "This application was set up by this server's operator.".to_string(),
        ),
        (Some(n), Provenance::Host(host)) => (
            format!(
                "<strong>{}</strong> from <strong>{}</strong> wants to access this server",
                escape(n),
                escape(host)
            ),
            format!("The name is the application's own; <code>{}</code> is the site that publishes it.", escape(host)),
        ),
        (None, Provenance::Host(host)) => (
            format!("An application from <strong>{}</strong> wants to access this server", escape(host)),
            format!("<code>{}</code> is the site that publishes it.", escape(host)),
        ),
        (Some(n), Provenance::SelfAsserted) => (
            format!("An application calling itself <strong>“{}”</strong> wants to access this server", escape(n)),
            "<strong>Unverified name:</strong> the application chose it itself when it registered, and anyone can \
             register any name. Trust the address below, not the name."
                .to_string(),
        ),
        (None, _) => (
            "An unnamed application wants to access this server".to_string(),
            "Trust the address below: it is where you will be sent.".to_string(),
        ),
    };
    // The whole address, as the person can check it against the application they started.
    let parsed = url::Url::parse(redirect_uri).ok();
    let elsewhere = match (&provenance, parsed.as_ref().and_then(|u| u.host_str().map(|h| (u, h)))) {
        (Provenance::Host(doc), Some((u, h))) if u.scheme() == "https" && !h.eq_ignore_ascii_case(doc) => {
            format!(
                "<p class=\"notice\"><strong>Another site:</strong> it sends you back to <code>{}</code>, not to <code>{}</code>, the site that publishes it.</p>",
                escape(h),
                escape(doc)
            )
        }
        _ => String::new(),
    };
    let items: String = scopes.iter().map(|s| format!("<li>{}</li>", escape(scope_description(s)))).collect();
    let body = format!(
        "<div class=\"card\"><h1>{title}</h1><p>{note}</p>\
         <p class=\"muted\">After you approve, you log in with Discord and are sent back to <code>{target}</code>. \
         Only approve applications you started yourself.</p>{elsewhere}\
         <h2>It will be able to</h2><ul>{items}</ul>\
         <form method=\"post\" action=\"/authorize\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"approve\" class=\"primary\">Approve and log in with Discord</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div></form></div>",
        target = escape(redirect_uri),
        request = escape(request),
        csrf = escape(csrf),
    );
    layout("Approve access", &body)
}

/// A Discord identity as a person recognises it: avatar (or initial) and display name.
pub fn identity(name: &str, avatar_url: Option<&str>) -> String {
    let picture = match avatar_url {
        Some(url) => format!("<img src=\"{}\" alt=\"\" width=\"40\" height=\"40\">", escape(url)),
        None => format!(
            "<span class=\"initial\" aria-hidden=\"true\">{}</span>",
            escape(&name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default())
        ),
    };
    format!("<div class=\"who\">{picture}<span>Logged in to Discord as <strong>{}</strong></span></div>", escape(name))
}

/// The connected apps page before login.
pub fn apps_login() -> String {
    layout(
        "Connected apps",
        "<div class=\"card\"><h1>Connected apps</h1>\
         <p>See every application you allowed to use this server with your Discord account, and disconnect any of them.</p>\
         <p class=\"muted\">You log in with Discord only to prove who you are: this page asks Discord for your name and nothing else, and keeps no Discord token.</p>\
         <div class=\"actions\"><a class=\"button\" href=\"/apps/login\">Log in with Discord</a></div></div>",
    )
}

/// One connected application on the page.
pub struct AppRow<'a> {
    pub grant: &'a str,
    pub name: Option<&'a str>,
    pub client_id: &'a str,
    pub scopes: Vec<&'a str>,
    pub granted: String,
    pub refreshed: Option<String>,
    pub expires: String,
}

/// The connected apps page: who is logged in, each application with a Disconnect button.
pub fn apps(who_html: &str, rows: &[AppRow], csrf: &str, notice: Option<&str>) -> String {
    let hidden = format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(csrf));
    let notice = notice.map(|n| format!("<p class=\"notice\" role=\"status\">{}</p>", escape(n))).unwrap_or_default();
    let list = if rows.is_empty() {
        "<p>No application is connected. When you approve one, it appears here.</p>".to_string()
    } else {
        let items: String = rows
            .iter()
            .map(|r| {
                let name = r.name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or("Unnamed application");
                // Who vouches for the name, as the consent page says it.
                let host = url::Url::parse(r.client_id).ok().and_then(|u| u.host_str().map(String::from));
                let vouched = match (host, r.client_id.starts_with("mcpc1.")) {
                    (_, true) => "<p class=\"muted\"><strong>Unverified name:</strong> the application chose it itself when it registered.</p>".to_string(),
                    (Some(h), false) => format!("<p class=\"muted\">Published by <code>{}</code>.</p>", escape(&h)),
                    (None, false) => "<p class=\"muted\">Set up by this server's operator.</p>".to_string(),
                };
                let scopes: String = r.scopes.iter().map(|s| format!("<li>{}</li>", escape(scope_description(s)))).collect();
                let label = format!("Disconnect {name}");
                format!(
                    "<li><h2>{name}</h2>{vouched}<dl><dt>Client id</dt><dd><code>{client}</code></dd>\
                     <dt>Connected</dt><dd>{granted}</dd><dt>Last refreshed</dt><dd>{refreshed}</dd>\
                     <dt>Ends</dt><dd>{expires}</dd></dl><ul>{scopes}</ul>\
                     <form method=\"post\" action=\"/apps\">{hidden}<input type=\"hidden\" name=\"grant\" value=\"{grant}\">\
                     <button type=\"submit\" name=\"action\" value=\"revoke\" class=\"danger\" aria-label=\"{label}\">Disconnect</button></form></li>",
                    name = escape(name),
                    client = escape(r.client_id),
                    granted = escape(&r.granted),
                    refreshed = escape(r.refreshed.as_deref().unwrap_or("never")),
                    expires = escape(&r.expires),
                    grant = escape(r.grant),
                    label = escape(&label),
                )
            })
            .collect();
        format!("<ul class=\"apps\">{items}</ul>")
    };
    layout(
        "Connected apps",
        &format!(
            "<div class=\"card\"><h1>Connected apps</h1>{who_html}{notice}\
             <p class=\"muted\">Disconnecting an application ends its access at once: its tokens stop working and the Discord authorization behind it is revoked. It can ask you again later.</p></div>\
             <div class=\"card\">{list}</div>\
             <form method=\"post\" action=\"/apps\">{hidden}<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"logout\">Log out of this page</button></div></form>"
        ),
    )
}

/// An error page: a heading, an explanation, and optional details (already escaped HTML).
pub fn error_page(title: &str, message: &str, details_html: &str) -> String {
    layout(
        title,
        &format!(
            "<div class=\"card\" role=\"alert\"><h1>{}</h1><p>{}</p>{details_html}</div>",
            escape(title),
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_controls() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(escape("línea\n"), "línea\n");
    }

    #[test]
    fn consent_page_escapes_everything_it_shows() {
        let page = consent(
            Some("<img src=x onerror=alert(1)>\"'"),
            Provenance::Host("<i>host"),
            "https://evil.example/cb?x=<b>",
            &["mcp", "email"],
            "req\"><script>",
            "csrf<",
        );
        assert!(!page.contains("<img src=x"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;"));
        assert!(page.contains("https://evil.example"));
        assert!(page.contains("&lt;i&gt;host") && !page.contains("<i>host"));
        assert!(page.contains("See the email address"));
        for s in crate::rules::oauth::authorize::SCOPES {
            assert_ne!(scope_description(s), "Unknown permission", "{s} is described");
        }
        assert!(page.contains("name=\"csrf\" value=\"csrf&lt;\""));
        let unnamed =
            consent(None, Provenance::SelfAsserted, "cursor://anysphere.cursor-retrieval/cb", &["mcp"], "r", "c");
        assert!(unnamed.contains("An unnamed application"));
        assert!(unnamed.contains("cursor://anysphere.cursor-retrieval"));
    }

    #[test]
    fn a_self_registered_name_is_marked_unverified_and_a_verified_one_is_not() {
        let page = |p| consent(Some("Claude (claude.ai)"), p, "https://evil.example/cb", &["mcp"], "r", "c");
        let registered = page(Provenance::SelfAsserted);
        assert!(registered.contains("calling itself <strong>“Claude (claude.ai)”</strong>"));
        assert!(registered.contains("Unverified name"));
        let document = page(Provenance::Host("claude.ai"));
        assert!(document.contains("<strong>Claude (claude.ai)</strong> from <strong>claude.ai</strong>"));
        assert!(!document.contains("Unverified"));
        assert!(!page(Provenance::Operator).contains("Unverified"));
        // The whole redirect URI is shown, and a document's redirect URI on another site is
        // pointed out (second security review, findings 4 and 6).
        assert!(document.contains("sent back to <code>https://evil.example/cb</code>"));
        assert!(document.contains("<strong>Another site:</strong> it sends you back to <code>evil.example</code>, not to <code>claude.ai</code>"));
        let same = consent(
            Some("Claude"),
            Provenance::Host("claude.ai"),
            "https://claude.ai/api/mcp/auth_callback",
            &["mcp"],
            "r",
            "c",
        );
        assert!(!same.contains("Another site"));
        let local = consent(
            Some("Claude Code"),
            Provenance::Host("claude.ai"),
            "http://localhost:5555/callback",
            &["mcp"],
            "r",
            "c",
        );
        assert!(!local.contains("Another site"), "a native app on this computer");
    }

    #[test]
    fn style_hash_matches_the_inline_style() {
        let page = layout("t", "");
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(style_hash().starts_with("sha256-"));
        assert_eq!(style_hash().len(), "sha256-".len() + 44);
    }

    #[test]
    fn landing_names_problems_but_never_values() {
        let cfg = Config::load(
            |n| match n {
                "SECRET_KEY" => Some("tooshort-but-secret".into()),
                "DISCORD_CLIENT_ID" => Some("4242".into()),
                _ => None,
            },
            true,
        );
        let page = landing("https://mcp.example", &cfg);
        assert!(page.contains("https://mcp.example/mcp"));
        assert!(page.contains("DISCORD_CLIENT_SECRET"));
        assert!(page.contains("npx wrangler secret put SECRET_KEY"));
        assert!(!page.contains("tooshort-but-secret"));
        assert!(!page.contains("4242"));
    }
}
