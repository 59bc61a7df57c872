//! The HTTP vocabulary the pure code speaks: a request summary in, a [`Reply`] out.
//! `runtime` converts to and from the Workers types; nothing here touches the runtime.

use url::Url;

use crate::rules::oauth::redirect::is_loopback;

/// A request body, read by the runtime adapter up to a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Longer than [`MAX_BODY_BYTES`]; reading stopped there.
    TooLarge,
}

/// No route reads more than this; the adapter stops reading beyond it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Bodies of the OAuth endpoints (registration, token, revocation, introspection, consent):
/// real ones are a few kilobytes.
pub const MAX_OAUTH_BODY_BYTES: usize = 64 * 1024;

/// What the handlers need to know about a request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Upper-case method, as the runtime reports it.
    pub method: String,
    pub url: Url,
    /// Header names lower-cased; values as received.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Wall-clock time of the request, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// Shown on error pages and logged; set by the runtime adapter.
    pub request_id: String,
    /// What the handlers learned, for the request's log line ([`crate::web::log`]).
    pub notes: std::cell::RefCell<Notes>,
}

impl RequestInfo {
    pub fn new(method: &str, url: Url, headers: Vec<(String, String)>) -> RequestInfo {
        let headers = headers
            .into_iter()
            .map(|(mut k, v)| {
                k.make_ascii_lowercase();
                (k, v)
            })
            .collect();
        RequestInfo {
            method: method.to_ascii_uppercase(),
            url,
            headers,
            body: Body::Empty,
            now_ms: 0,
            request_id: String::new(),
            notes: Default::default(),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now_s(&self) -> i64 {
        (self.now_ms / 1000) as i64
    }

    /// A browser says this request was sent by another site (`Sec-Fetch-Site`): forms of this
    /// server's own pages must come from them.
    pub fn from_another_site(&self) -> bool {
        self.header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none")
    }

    /// Records facts for the log line.
    pub fn note(&self, f: impl FnOnce(&mut Notes)) {
        f(&mut self.notes.borrow_mut());
    }

    /// A request from its head in one string, as the runtime passes it in one crossing:
    /// method, URL, then each header name and value, all separated by `\n` (none of them can
    /// contain one: the runtime's HTTP parser and URL serialiser refuse or encode it). `None`
    /// for a URL that is not absolute, which the runtime never produces.
    pub fn from_head(head: &str) -> Option<RequestInfo> {
        let mut lines = head.split('\n');
        let method = lines.next()?;
        let url = Url::parse(lines.next()?).ok()?;
        let mut headers = Vec::new();
        while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
            headers.push((name.to_string(), value.to_string()));
        }
        Some(RequestInfo::new(method, url, headers))
    }

    pub fn with_body(mut self, body: Body) -> RequestInfo {
        self.body = body;
        self
    }

    pub fn with_now(mut self, now_ms: u64) -> RequestInfo {
        self.now_ms = now_ms;
        self
    }

    /// The body, if it is at most `max` bytes (an empty body is empty bytes).
    pub fn body_within(&self, max: usize) -> Option<&[u8]> {
        match &self.body {
            Body::Empty => Some(&[]),
            Body::Bytes(b) if b.len() <= max => Some(b),
            _ => None,
        }
    }

    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `scheme://host[:port]` of the URL the client used.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// DNS-rebinding guard for local development: a local server must be addressed by a
    /// loopback name. A page on `evil.example` that resolves to 127.0.0.1 fails this.
    /// `local_only` comes from configuration (`npm start` sets it); a loopback
    /// `CF-Connecting-IP`, which only `wrangler dev` produces, also marks a local server, but
    /// a page can set that header itself, so it only ever adds protection.
    pub fn is_rebound(&self, local_only: bool) -> bool {
        let from_loopback = self
            .header("cf-connecting-ip")
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        (local_only || from_loopback) && !is_loopback(&self.url)
    }

    /// Whether the client would rather read HTML than JSON.
    pub fn wants_html(&self) -> bool {
        prefers_html(self.header("accept").unwrap_or(""))
    }
}

/// A response, built by the HTTP adapters and sent by `runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: String) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type", content_type.to_string()),
                ("x-content-type-options", "nosniff".to_string()),
            ],
            body,
        }
    }

    /// JSON, never cached: every JSON answer here is either an error or per-deployment state.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::new(status, "application/json", value.to_string()).with_header("cache-control", "no-store")
    }

    /// An HTML page with the headers every page carries (see [`page_security_headers`]).
    pub fn html(status: u16, body: String) -> Reply {
        Reply::html_posting_to(status, body, &[])
    }

    /// An HTML page whose form may lead to `form_targets` besides this origin: `form-action`
    /// also governs the redirects that follow a form submission.
    pub fn html_posting_to(status: u16, body: String, form_targets: &[String]) -> Reply {
        let mut reply = Reply::new(status, "text/html; charset=utf-8", body);
        reply.headers.extend(page_security_headers(form_targets));
        reply
    }

    /// A `302` to `location`, never cached.
    pub fn redirect(location: &str) -> Reply {
        Reply::empty(302).with_header("location", location).with_header("cache-control", "no-store")
    }

    /// Adds a header without replacing earlier ones of the same name (`Set-Cookie`).
    pub fn append_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// No body (`204`, or `405`/`OPTIONS` answers that only carry headers).
    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new() }
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The headers in one string for the runtime (name and value, each followed by `\n`), so
    /// the response is built in one crossing. `None` if a value holds CR, LF or NUL, which
    /// would split a header in two: the runtime's `Headers` refuses those too.
    pub fn head(&self) -> Option<String> {
        let mut head = String::with_capacity(self.headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (name, value) in &self.headers {
            if value.contains(['\r', '\n', '\0']) || name.contains(['\r', '\n', '\0']) {
                return None;
            }
            head.push_str(name);
            head.push('\n');
            head.push_str(value);
            head.push('\n');
        }
        Some(head)
    }
}

/// Headers for every HTML page: no framing, no referrer leaks, no scripts, inline CSS by hash.
pub fn page_security_headers(form_targets: &[String]) -> Vec<(&'static str, String)> {
    // Source expressions are origins or schemes we produced; anything with a quote, space or
    // semicolon would change the policy, so it is dropped.
    let extra: String = form_targets
        .iter()
        .filter(|t| !t.is_empty() && !t.contains([' ', ';', '\'', ',', '\n', '\r']))
        .map(|t| format!(" {t}"))
        .collect();
    vec![
        (
            "content-security-policy",
            format!(
                "default-src 'none'; style-src '{}'; img-src 'self' https://cdn.discordapp.com data:; \
                 form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'",
                crate::web::pages::style_hash()
            ),
        ),
        ("x-frame-options", "DENY".to_string()),
        ("referrer-policy", "no-referrer".to_string()),
        ("cache-control", "no-store".to_string()),
    ]
}

/// Decides between HTML and JSON from an `Accept` header. HTML only when `text/html` is listed
/// (not merely `*/*`, which is what curl and most API clients send) with a quality at least
/// that of `application/json`.
pub fn prefers_html(accept: &str) -> bool {
    let mut html = 0u16;
    let mut json = 0u16;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        // An unparseable or out-of-range qvalue makes the range count for nothing.
        let q = match parts.find_map(|p| {
            let p = p.trim();
            p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
        }) {
            None => 1000,
            Some(v) => qvalue(v).unwrap_or(0),
        };
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" => json = json.max(q),
            _ => {}
        }
    }
    html > 0 && html >= json
}

/// A quality value (RFC 9110 §12.4.2: `0`, `0.` and up to three digits, or `1` with up to three
/// zeros), in thousandths. Exact, and without float parsing, whose tables would add 10 KB to
/// the wasm for this one use.
pub fn qvalue(v: &str) -> Option<u16> {
    let v = v.trim();
    let (whole, fraction) = v.split_once('.').unwrap_or((v, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// What the handlers learned about a request, for its log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    pub route: &'static str,
    pub client_id: Option<String>,
    /// Discord user id.
    pub user: Option<String>,
    /// The JSON-RPC method (and tool) of an MCP request, or the OAuth grant type.
    pub detail: Option<String>,
    /// The protocol's error code when the request failed (`invalid_grant`, `-32602`, …).
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(prefers_html(chrome));
        assert!(prefers_html("TEXT/HTML"));
        assert!(!prefers_html("*/*"));
        assert!(!prefers_html(""));
        assert!(!prefers_html("application/json"));
        assert!(!prefers_html("application/json, text/html;q=0.5"));
        assert!(prefers_html("application/json;q=0.5, text/html"));
        assert!(!prefers_html("text/html;q=0"));
        assert!(!prefers_html("text/html;q=NaN"));
    }

    #[test]
    fn request_heads_are_read_from_one_string() {
        let r = RequestInfo::from_head(
            "POST\nhttps://w.example/mcp?x=1\ncontent-type\napplication/json\nAuthorization\nBearer a b\nx-empty\n",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.url.as_str(), "https://w.example/mcp?x=1");
        assert_eq!(r.header("authorization"), Some("Bearer a b"));
        assert_eq!(r.header("x-empty"), Some(""));
        assert_eq!(r.headers.len(), 3);
        // A dangling name (never produced) is dropped, not paired with anything.
        assert_eq!(RequestInfo::from_head("GET\nhttps://w.example/\nlonely").unwrap().headers.len(), 0);
        for bad in ["", "GET", "GET\n/relative", "GET\n\n"] {
            assert!(RequestInfo::from_head(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn reply_heads_refuse_split_headers() {
        let r = Reply::empty(200).with_header("x-a", "1").append_header("set-cookie", "a=b; Path=/");
        assert_eq!(r.head().unwrap(), "x-a\n1\nset-cookie\na=b; Path=/\n");
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert!(Reply::empty(200).with_header("location", bad).head().is_none(), "{bad:?}");
        }
        assert_eq!(Reply::empty(204).head().unwrap(), "");
    }

    #[test]
    fn qvalues_follow_the_grammar_exactly() {
        for (v, q) in
            [("1", 1000), ("1.000", 1000), ("1.", 1000), ("0", 0), ("0.5", 500), (" 0.25 ", 250), ("0.001", 1)]
        {
            assert_eq!(qvalue(v), Some(q), "{v}");
        }
        for v in ["", ".5", "1.5", "1.001", "0.0001", "2", "-1", "0.5x", "1e0", "NaN", "0,5", "é"] {
            assert_eq!(qvalue(v), None, "{v}");
        }
    }

    #[test]
    fn odd_accept_headers_do_not_panic() {
        for a in [";;;", ",,,", "text/html;q=", "text/html;q=1e99", "text/html;q=-1", "\u{0}", "é/é;q=é"] {
            let _ = prefers_html(a);
        }
        assert!(!prefers_html("text/html;q=1e99"));
        assert!(!prefers_html("text/html;q=-1"));
    }

    #[test]
    fn loopback_hosts() {
        for u in ["http://localhost:1", "http://LOCALHOST", "http://127.0.0.1", "http://127.9.9.9:80", "http://[::1]:3"]
        {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["http://localhost.evil.com", "http://128.0.0.1", "http://[::2]", "http://example.com", "mailto:a@b"] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn rebinding_guard() {
        let r = |url: &str, ip: &str| {
            RequestInfo::new("GET", Url::parse(url).unwrap(), vec![("CF-Connecting-IP".into(), ip.into())])
                .is_rebound(false)
        };
        assert!(r("http://evil.example.com:8787/mcp", "127.0.0.1"));
        assert!(r("http://evil.example.com/mcp", "::1"));
        assert!(!r("http://127.0.0.1:8787/mcp", "127.0.0.1"));
        assert!(!r("http://localhost:8787/mcp", "::1"));
        assert!(!r("https://mcp.example.com/mcp", "203.0.113.9"), "production: a real client address");
        assert!(!r("https://mcp.example.com/mcp", "garbage"));
        let spoofed = RequestInfo::new(
            "GET",
            Url::parse("http://evil.example.com/").unwrap(),
            vec![("cf-connecting-ip".into(), "8.8.8.8".into())],
        );
        assert!(spoofed.is_rebound(true), "configuration wins over a spoofed header");
    }

    #[test]
    fn headers_are_case_insensitive_and_replaced() {
        let req = RequestInfo::new(
            "get",
            Url::parse("http://127.0.0.1:8787/x").unwrap(),
            vec![("Accept".into(), "text/html".into())],
        );
        assert_eq!(req.method, "GET");
        assert_eq!(req.header("ACCEPT"), Some("text/html"));
        assert_eq!(req.origin(), "http://127.0.0.1:8787");
        let r = Reply::empty(204).with_header("allow", "GET").with_header("allow", "POST");
        assert_eq!(r.headers, vec![("allow", "POST".to_string())]);
    }
}
