//! The access policy at a refresh: a person who no longer qualifies loses access at their next
//! refresh, so within one access-token lifetime (plus [`CHECK_SECONDS`]). A listed user, or the
//! absence of a server list, is decided without I/O; server membership is asked of Discord with
//! the person's Discord session and remembered in the isolate for [`CHECK_SECONDS`].
//!
//! When Discord cannot be asked (an outage, a rate limit), the refresh goes on (fail-open):
//! the person qualified at their last check, and failing closed would log out a whole community
//! whenever Discord is down. When Discord refuses the person's tokens (the application was
//! removed, the authorization revoked), it is refused (fail-closed): membership can no longer
//! be shown, and a new login would ask Discord afresh.

use std::cell::RefCell;

use crate::rules::config::PolicyAtRefresh;
use crate::rules::mcp::io::IoStore;
use crate::rules::oauth::grant::GrantRecord;
use crate::rules::platform::{Platform, StoreError};
use crate::store::discord_session::{Session, SessionError};
use crate::web::io::PlatformIo;
use crate::web::token::Ctx;

/// How long a membership answer is reused in an isolate before Discord is asked again.
pub const CHECK_SECONDS: i64 = 600;

thread_local! {
    /// Discord user id, whether they are a member of a listed server, until when.
    static CHECKED: RefCell<Vec<(String, bool, i64)>> = const { RefCell::new(Vec::new()) };
}

fn recall(user: &str, now: i64) -> Option<bool> {
    CHECKED.with(|c| c.borrow().iter().find(|(u, _, until)| u == user && *until > now).map(|(_, member, _)| *member))
}

fn remember(user: &str, member: bool, now: i64) {
    CHECKED.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(u, _, until)| u != user && *until > now);
        if c.len() >= 256 {
            c.remove(0);
        }
        c.push((user.to_string(), member, now + CHECK_SECONDS));
    });
}

/// Whether the policy still admits the person behind `record` (`Err`: KV failed).
pub(super) async fn admitted<P: Platform>(
    cx: &Ctx<'_, P>,
    grant: &str,
    record: &GrantRecord,
) -> Result<bool, StoreError> {
    let user = &record.user.id;
    match cx.cfg.policy_at_refresh(user) {
        PolicyAtRefresh::Admitted => return Ok(true),
        PolicyAtRefresh::Refused => return Ok(false),
        PolicyAtRefresh::AskDiscord => {}
    }
    if let Some(member) = recall(user, cx.now) {
        return Ok(member);
    }
    let io = PlatformIo { cfg: cx.cfg, platform: cx.platform, now_ms: cx.now.saturating_mul(1000) };
    let session = Session { io: &io, cfg: cx.cfg, secrets: *cx.secrets, keys: cx.keys };
    // Through the Io, like `discord_guilds`: one copy of the session's code in the wasm.
    match session.guilds(&IoStore(&io), grant, record, cx.now).await {
        Ok(guilds) => {
            let member = guilds.iter().any(|g| cx.cfg.allowed_guilds.contains(&g.id));
            remember(user, member, cx.now);
            Ok(member)
        }
        Err(SessionError::Reconnect) => Ok(false),
        Err(SessionError::Storage) => Err(StoreError::Backend("the Discord session could not be read".into())),
        Err(SessionError::Discord(_)) => Ok(true),
    }
}
