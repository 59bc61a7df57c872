//! Pure rules: the protocol logic of OAuth, MCP and Discord, configuration and keys, and the
//! interface of the platform. No HTTP reply, no storage layout, no runtime: everything here is
//! tested natively, and `tests/layering.rs` keeps it that way.

pub mod config;
pub mod discord;
pub mod discord_events;
pub mod keys;
pub mod mcp;
pub mod oauth;
pub mod platform;
pub mod time;
