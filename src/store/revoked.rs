//! Grants this isolate revoked, kept in its memory until their last access token expires. The
//! token endpoints write it; bearer authentication reads it. No KV: it only makes revocation
//! take effect at once where it happened.

use std::cell::RefCell;

thread_local! {
    /// Grants revoked by this isolate, until their last access token has expired: a revoked
    /// grant's tokens stop here at once, everywhere else at their expiry (no KV read per MCP
    /// request). One thread per isolate, so a thread-local is the isolate's memory.
    static REVOKED: RefCell<Vec<(String, i64)>> = const { RefCell::new(Vec::new()) };
}

/// Most grants remembered; the oldest are forgotten first (they expire soonest).
const MAX_REMEMBERED_REVOCATIONS: usize = 1024;

pub fn remember_revoked(grant: &str, until: i64, now: i64) {
    REVOKED.with(|r| {
        let mut list = r.borrow_mut();
        list.retain(|(_, u)| *u > now);
        if list.len() >= MAX_REMEMBERED_REVOCATIONS {
            list.remove(0);
        }
        list.push((grant.to_string(), until));
    });
}

/// Whether this isolate revoked `grant` (its access tokens are refused before they expire).
pub fn revoked_here(grant: &str, now: i64) -> bool {
    REVOKED.with(|r| r.borrow().iter().any(|(g, u)| g == grant && *u > now))
}
