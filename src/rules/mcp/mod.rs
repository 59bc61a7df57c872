//! The Model Context Protocol: JSON-RPC envelopes, versions, tools and dispatch, and the
//! Streamable HTTP transport. Pure: no runtime types, no I/O, no state between requests.

pub mod catalogue;
pub mod headers;
pub mod input_required;
pub mod io;
pub mod jsonrpc;
pub mod schema;
pub mod server;
pub mod tool;
pub mod version;
