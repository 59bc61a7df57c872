//! mcp-oauth-worker: a remote MCP server on Cloudflare Workers, protected by its own
//! OAuth 2.1 authorization server that delegates login to Discord.
//!
//! Everything but [`worker_glue`] is plain Rust with no `worker` import, so the protocol
//! logic builds and is tested natively with `cargo test`. `worker_glue` is the only module
//! that sees the Workers runtime: it turns a `worker::Request` into a [`http::RequestInfo`],
//! calls [`app::handle`], and turns the resulting [`http::Reply`] back into a response.

pub mod app;
pub mod apps;
pub mod auth;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod consent;
pub mod discord;
pub mod discord_tools;
pub mod error;
pub mod guides;
pub mod http;
pub mod keys;
pub mod log;
pub mod mcp;
pub mod oauth;
pub mod pages;
pub mod platform;
pub mod revoked;
pub mod routes;
pub mod store;
#[cfg(test)]
pub mod testing;
pub mod tokens;
pub mod tools;

#[cfg(target_arch = "wasm32")]
mod worker_glue;

/// Version reported by `/health` and the landing page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Product name shown to people and clients.
pub const NAME: &str = env!("CARGO_PKG_NAME");
