//! What a tool that does I/O may reach: the KV namespace, outbound HTTP, the rate limiter, and
//! the configuration with its secrets and keys. An object-safe interface (boxed futures), so a
//! tool stays a plain function; the HTTP adapter implements it over the platform.

use std::future::Future;
use std::pin::Pin;

use crate::rules::config::{Config, Secrets};
use crate::rules::keys::AuthKeys;
use crate::rules::platform::{FetchError, Inbound, Outbound, Store, StoreError};

/// A boxed future of the I/O interface (one thread per isolate: no `Send`).
pub type IoFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One page of keys and the cursor of the next (see [`Store::list`]).
pub type KeyPage = (Vec<String>, Option<String>);

pub trait Io {
    fn config(&self) -> &Config;
    /// `None` while a secret is missing (the tool then says the server is not configured).
    fn secrets(&self) -> Option<Secrets<'_>>;
    fn keys(&self) -> Option<&AuthKeys>;
    fn kv_get<'a>(&'a self, key: &'a str) -> IoFuture<'a, Result<Option<String>, StoreError>>;
    fn kv_put<'a>(&'a self, key: &'a str, value: &'a str, ttl: Option<u64>) -> IoFuture<'a, Result<(), StoreError>>;
    fn kv_delete<'a>(&'a self, key: &'a str) -> IoFuture<'a, Result<(), StoreError>>;
    fn kv_list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>) -> IoFuture<'a, Result<KeyPage, StoreError>>;
    fn fetch(&self, request: Outbound) -> IoFuture<'_, Result<Inbound, FetchError>>;
    /// Whether a call counted under `key` is within the rate limit.
    fn within_rate<'a>(&'a self, key: &'a str) -> IoFuture<'a, bool>;
}

/// The KV namespace of an [`Io`], as a [`Store`] (so the store layer's functions work on it).
pub struct IoStore<'a>(pub &'a dyn Io);

impl Store for IoStore<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.kv_get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.0.kv_put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.kv_delete(key).await
    }
    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<KeyPage, StoreError> {
        self.0.kv_list(prefix, cursor).await
    }
}
