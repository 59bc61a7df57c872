//! The store layer: everything that knows how this Worker uses its one KV namespace
//! (`OAUTH_KV`), as `docs/storage.md` lays it out: the keys ([`keys`]), the grant repository
//! ([`grants`]), the isolate's revocation cache ([`revoked`]), and [`MemoryStore`], the
//! counting in-memory KV of the native tests. The KV interface itself is pure
//! ([`crate::rules::platform::Store`]); the Workers implementation is in `runtime`.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::rules::platform::{check_key, storage_ttl, Store, StoreError, LIST_PAGE};

pub mod discord_session;
pub mod grants;
pub mod keys;
pub mod revoked;

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
mod tests {
    use super::*;
    use crate::rules::platform::block_on;

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
