//! Storage: the only module that defines how the Worker uses its one KV namespace
//! (`OAUTH_KV`). The key layout is documented in `docs/storage.md`.
//!
//! Handlers get a [`Store`]; the Workers KV implementation lives in `worker_glue`, and
//! [`MemoryStore`] serves native tests. The rules KV imposes are enforced here, so a handler
//! cannot write what KV would reject: keys up to 512 bytes, TTLs of at least 60 seconds.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// KV rejects longer keys.
pub const MAX_KEY_BYTES: usize = 512;
/// KV rejects shorter expirations.
pub const MIN_TTL_SECONDS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    KeyTooLong,
    /// The KV runtime failed; the message is for logs, never for clients.
    Backend(String),
}

/// Validates a key before any I/O.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        Err(StoreError::KeyTooLong)
    } else {
        Ok(())
    }
}

/// KV needs at least [`MIN_TTL_SECONDS`]; shorter lifetimes are enforced by the value itself
/// (an expiry inside it), so rounding the storage TTL up never extends validity.
pub fn storage_ttl(seconds: u64) -> u64 {
    seconds.max(MIN_TTL_SECONDS)
}

// Workers run one request at a time per isolate on one thread; the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes with a TTL in seconds (`None`: kept until deleted).
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// One page (at most [`LIST_PAGE`]) of the keys starting with `prefix`, in key order, and
    /// the cursor of the next page if there is one.
    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<(Vec<String>, Option<String>), StoreError>;
}

/// Keys per `list` page (KV's default and maximum).
pub const LIST_PAGE: usize = 1000;

/// An in-memory store for native tests. TTLs are recorded, not enforced; every operation is
/// counted, so tests state the KV cost of each endpoint exactly.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub entries: RefCell<BTreeMap<String, (String, Option<u64>)>>,
    pub ops: std::cell::Cell<Ops>,
}

/// Operations a [`MemoryStore`] has served.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    pub reads: u32,
    pub writes: u32,
    pub deletes: u32,
    pub lists: u32,
}

impl MemoryStore {
    /// The operations counted since the last call, and a fresh count.
    pub fn take_ops(&self) -> Ops {
        self.ops.take()
    }

    fn count(&self, f: impl FnOnce(&mut Ops)) {
        let mut o = self.ops.get();
        f(&mut o);
        self.ops.set(o);
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        check_key(key)?;
        self.count(|o| o.reads += 1);
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_key(key)?;
        self.count(|o| o.writes += 1);
        self.entries.borrow_mut().insert(key.to_string(), (value.to_string(), ttl.map(storage_ttl)));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.count(|o| o.deletes += 1);
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<(Vec<String>, Option<String>), StoreError> {
        check_key(prefix)?;
        self.count(|o| o.lists += 1);
        // The cursor is the last key of the previous page.
        let entries = self.entries.borrow();
        let mut keys = entries
            .keys()
            .filter(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .take(LIST_PAGE + 1)
            .cloned()
            .collect::<Vec<_>>();
        let more = keys.len() > LIST_PAGE;
        keys.truncate(LIST_PAGE);
        let next = if more { keys.last().cloned() } else { None };
        Ok((keys, next))
    }
}

#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_with_kv_rules() {
        let s = MemoryStore::default();
        block_on(async {
            assert_eq!(s.get("a").await, Ok(None));
            s.put("a", "1", Some(5)).await.unwrap();
            assert_eq!(s.get("a").await, Ok(Some("1".into())));
            assert_eq!(s.entries.borrow()["a"].1, Some(60), "TTL rounded up to KV's minimum");
            s.delete("a").await.unwrap();
            assert_eq!(s.get("a").await, Ok(None));
            let long = "k".repeat(513);
            assert_eq!(s.put(&long, "v", None).await, Err(StoreError::KeyTooLong));
            assert!(s.entries.borrow().is_empty(), "nothing written on a rejected key");
        });
    }
}
