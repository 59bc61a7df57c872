//! mcp-oauth-worker: a remote MCP server on Cloudflare Workers, protected by its own
//! OAuth 2.1 authorization server that delegates login to Discord.
//!
//! Layers that depend one way (docs/architecture.md; `tests/layering.rs` checks it):
//! `runtime` (the only module that sees the Workers runtime, wasm only) → [`service`] (route
//! and dispatch) → [`web`] (the HTTP adapters, the only layer that builds replies) →
//! [`rules`] (pure OAuth, MCP and Discord logic) and [`store`] (the KV layout); [`tools`] plug
//! into the MCP server. Everything but `runtime` builds and is tested natively.

pub mod rules;
#[cfg(target_arch = "wasm32")]
mod runtime;
pub mod service;
pub mod store;
#[cfg(test)]
pub mod testing;
pub mod tools;
pub mod web;

/// Version reported by `/health` and the landing page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Product name shown to people and clients.
pub const NAME: &str = env!("CARGO_PKG_NAME");
