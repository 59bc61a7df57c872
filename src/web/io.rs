//! The I/O that tools may use ([`Io`]), over the platform: KV, outbound HTTP, the rate limiter,
//! and the configuration. Boxes each future so a tool stays a plain function pointer.

use crate::rules::config::{Config, Secrets};
use crate::rules::keys::AuthKeys;
use crate::rules::mcp::tool::{Io, IoFuture, KeyPage};
use crate::rules::platform::{FetchError, Inbound, Outbound, Platform, Store, StoreError};

pub struct PlatformIo<'a, P> {
    pub cfg: &'a Config,
    pub platform: &'a P,
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
        Box::pin(self.platform.fetch(request))
    }
    fn within_rate<'a>(&'a self, key: &'a str) -> IoFuture<'a, bool> {
        Box::pin(self.platform.within_rate(key))
    }
}
