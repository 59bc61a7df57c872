//! mcp-oauth-worker: a remote MCP server on Cloudflare Workers, protected by its own
//! OAuth 2.1 authorization server that delegates login to Discord.
//!
//! Everything but [`worker_glue`] is plain Rust with no `worker` import, so the protocol
//! logic builds and is tested natively with `cargo test`. `worker_glue` is the only module
//! that sees the Workers runtime: it turns a `worker::Request` into a [`http::RequestInfo`],
//! calls [`app::handle`], and turns the resulting [`http::Reply`] back into a response.

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
