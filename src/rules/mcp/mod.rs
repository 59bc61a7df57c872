//! The Model Context Protocol: JSON-RPC envelopes, versions and headers, tools and dispatch.
//! Pure: no runtime types, no I/O, no state between requests. The Streamable HTTP transport
//! is `web::mcp`.

pub mod catalogue;
pub mod headers;
pub mod input_required;
pub mod io;
pub mod jsonrpc;
pub mod schema;
pub mod server;
pub mod tool;
pub mod version;
