//! What native tests share: a complete configuration and a platform whose KV is in memory and
//! whose outbound calls are answered from a script (or fail as offline when none is left).

use std::cell::RefCell;

use crate::rules::config::Config;
use crate::rules::platform::{FetchError, Inbound, Outbound, Platform};
use crate::store::MemoryStore;

/// A complete configuration: Discord credentials and a 40-character `SECRET_KEY`.
pub fn config() -> Config {
    Config::load(
        |n| match n {
            "DISCORD_CLIENT_ID" => Some("1".into()),
            "DISCORD_CLIENT_SECRET" => Some("2".into()),
            "SECRET_KEY" => Some("k".repeat(40)),
            _ => None,
        },
        true,
    )
}

#[derive(Default)]
pub struct Fake {
    pub kv: MemoryStore,
    /// Answers to outbound calls, in order: status and body.
    pub answers: RefCell<Vec<(u16, &'static str)>>,
    /// URLs of the outbound calls made.
    pub sent: RefCell<Vec<String>>,
}

impl Platform for Fake {
    type Kv = MemoryStore;
    fn kv(&self) -> Option<&MemoryStore> {
        Some(&self.kv)
    }
    async fn fetch(&self, out: Outbound) -> Result<Inbound, FetchError> {
        self.sent.borrow_mut().push(out.url);
        let mut queue = self.answers.borrow_mut();
        if queue.is_empty() {
            return Err(FetchError::Network);
        }
        let (status, body) = queue.remove(0);
        Ok(Inbound { status, headers: vec![], body: body.as_bytes().to_vec() })
    }
}
