//! What the targets share: keys, a complete configuration, an offline platform, and a runner
//! for the service's futures (none of which waits on anything real).
#![allow(dead_code)]

use mcp_oauth_worker::rules::config::Config;
use mcp_oauth_worker::rules::keys::Key;
use mcp_oauth_worker::rules::platform::{FetchError, Inbound, Outbound, Platform};
use mcp_oauth_worker::store::MemoryStore;

pub const SECRET: &str = "fuzz-secret-key-0123456789-abcdefghijklmn";

pub fn key(purpose: &str) -> Key {
    Key::derive(SECRET, purpose)
}

pub fn config() -> Config {
    Config::load(
        |n| match n {
            "DISCORD_CLIENT_ID" => Some("1".into()),
            "DISCORD_CLIENT_SECRET" => Some("2".into()),
            "SECRET_KEY" => Some(SECRET.into()),
            _ => None,
        },
        true,
    )
}

/// KV in memory; Discord and every other host unreachable.
#[derive(Default)]
pub struct Offline(pub MemoryStore);

impl Platform for Offline {
    type Kv = MemoryStore;
    fn kv(&self) -> Option<&MemoryStore> {
        Some(&self.0)
    }
    async fn fetch(&self, _: Outbound) -> Result<Inbound, FetchError> {
        Err(FetchError::Network)
    }
}

#[allow(unused_imports)] // not every target runs futures
pub use mcp_oauth_worker::rules::platform::block_on;
