//! The I/O that tools may use ([`Io`]), over the platform: KV, outbound HTTP, the rate limiter,
//! and the configuration. Boxes each future so a tool stays a plain function pointer.

use crate::rules::config::{Config, Secrets};
use crate::rules::discord::RateLimits;
use crate::rules::keys::AuthKeys;
use crate::rules::mcp::tool::{Io, IoFuture, KeyPage};
use crate::rules::platform::{FetchError, Inbound, Outbound, Platform, Store, StoreError};

pub struct PlatformIo<'a, P> {
    pub cfg: &'a Config,
    pub platform: &'a P,
    /// The request's time (Workers clocks move only across I/O): for Discord's rate limits.
    pub now_ms: i64,
}

thread_local! {
    /// What Discord's answers said of its rate limits, for this isolate.
    static DISCORD_LIMITS: std::cell::RefCell<RateLimits> = std::cell::RefCell::new(RateLimits::default());
}

/// An outbound request, through Discord's rate limits when it goes to Discord: a request into a
/// bucket known to be exhausted (or during a global limit) is not sent, and is answered as
/// Discord would answer it, `429` with `retry_after`; every Discord answer updates what is
/// known. Other hosts (metadata documents) go straight through.
pub async fn outbound<P: Platform>(
    cfg: &Config,
    platform: &P,
    out: Outbound,
    now_ms: i64,
) -> Result<Inbound, FetchError> {
    if !out.url.starts_with(&cfg.discord.api_base) {
        return platform.fetch(out).await;
    }
    let route = RateLimits::route(&out.url).to_string();
    if let Some(wait) = DISCORD_LIMITS.with(|l| l.borrow().wait(&route, now_ms)) {
        let seconds = (wait + 999) / 1000;
        let body = format!(
            r#"{{"message":"not sent: this rate limit is known to be exhausted","retry_after":{seconds},"global":false}}"#
        );
        return Ok(Inbound {
            status: 429,
            headers: vec![("retry-after".into(), seconds.to_string())],
            body: body.into_bytes(),
        });
    }
    let answer = platform.fetch(out).await?;
    DISCORD_LIMITS.with(|l| l.borrow_mut().observe(&route, &answer, now_ms));
    Ok(answer)
}

fn unbound() -> StoreError {
    StoreError::Backend("the OAUTH_KV binding is missing".into())
}

impl<P: Platform> Io for PlatformIo<'_, P> {
    fn config(&self) -> &Config {
        self.cfg
    }
    fn secrets(&self) -> Option<Secrets<'_>> {
        self.cfg.secrets().ok()
    }
    fn keys(&self) -> Option<&AuthKeys> {
        self.cfg.auth_keys().ok()
    }
    fn kv_get<'a>(&'a self, key: &'a str) -> IoFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move { self.platform.kv().ok_or_else(unbound)?.get(key).await })
    }
    fn kv_put<'a>(&'a self, key: &'a str, value: &'a str, ttl: Option<u64>) -> IoFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.platform.kv().ok_or_else(unbound)?.put(key, value, ttl).await })
    }
    fn kv_delete<'a>(&'a self, key: &'a str) -> IoFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.platform.kv().ok_or_else(unbound)?.delete(key).await })
    }
    fn kv_list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>) -> IoFuture<'a, Result<KeyPage, StoreError>> {
        Box::pin(async move { self.platform.kv().ok_or_else(unbound)?.list(prefix, cursor).await })
    }
    fn fetch(&self, request: Outbound) -> IoFuture<'_, Result<Inbound, FetchError>> {
        Box::pin(outbound(self.cfg, self.platform, request, self.now_ms))
    }
    fn within_rate<'a>(&'a self, key: &'a str) -> IoFuture<'a, bool> {
        Box::pin(self.platform.within_rate(key))
    }
}
