//! One structured log line per request (JSON, for Workers Logs and `wrangler tail`). Fields are
//! a fixed whitelist filled by the handlers through [`RequestInfo::note`]: a token, code,
//! secret, cookie or query string has no field to land in.

use serde_json::{json, Value};

use crate::web::http::RequestInfo;

/// Longest value logged per field: client ids can be metadata document URLs.
const MAX_FIELD: usize = 200;

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A request id safe to log and show: Cloudflare's `cf-ray` when present, else `fallback`.
pub fn request_id(cf_ray: Option<&str>, fallback: impl FnOnce() -> String) -> String {
    match cf_ray {
        Some(r) if !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            r.to_string()
        }
        _ => fallback(),
    }
}

/// The log line of a finished request.
pub fn line(req: &RequestInfo, status: u16, duration_ms: u64) -> String {
    let n = req.notes.borrow();
    let mut v = json!({
        "level": if status >= 500 { "error" } else if status >= 400 { "warn" } else { "info" },
        "request_id": req.request_id,
        "method": req.method,
        "route": if n.route.is_empty() { "unknown" } else { n.route },
        "status": status,
        "duration_ms": duration_ms,
    });
    for (name, value) in [("client_id", &n.client_id), ("user", &n.user), ("detail", &n.detail), ("error", &n.error)] {
        if let Some(value) = value {
            v[name] = Value::String(clip(value));
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_carries_the_whitelist_and_nothing_else() {
        let url = url::Url::parse("https://mcp.example/token?code=SECRET-CODE").unwrap();
        let req = RequestInfo::new(
            "POST",
            url,
            vec![
                ("authorization".into(), "Bearer SECRET-TOKEN".into()),
                ("cookie".into(), "__Host-apps=SECRET".into()),
            ],
        )
        .with_body(crate::web::http::Body::Bytes(b"refresh_token=SECRET-REFRESH".to_vec()));
        req.note(|n| {
            n.route = "token";
            n.client_id = Some("c".repeat(300));
            n.user = Some("42".into());
            n.detail = Some("refresh_token".into());
            n.error = Some("invalid_grant".into());
        });
        let text = line(&req, 400, 3);
        assert!(!text.contains("SECRET"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["route"], "token");
        assert_eq!(v["status"], 400);
        assert_eq!(v["user"], "42");
        assert_eq!(v["error"], "invalid_grant");
        assert_eq!(v["client_id"].as_str().unwrap().chars().count(), MAX_FIELD + 1);
        assert_eq!(v.as_object().unwrap().len(), 10);
    }

    #[test]
    fn request_ids_come_from_cf_ray_only_when_plain() {
        assert_eq!(request_id(Some("8f1c2d3e4f5a6b7c-AMS"), || "r".into()), "8f1c2d3e4f5a6b7c-AMS");
        for bad in ["", "a b", "<x>", &"a".repeat(65)] {
            assert_eq!(request_id(Some(bad), || "fallback".into()), "fallback");
        }
        assert_eq!(request_id(None, || "fallback".into()), "fallback");
    }
}
