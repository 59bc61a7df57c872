//! The HTTP adapters, and the only layer that builds replies: each endpoint reads a
//! [`http::RequestInfo`], applies the rules, calls the store and the platform, and answers a
//! [`http::Reply`].

pub mod apps;
pub mod assertions;
pub mod authorize;
pub mod bearer;
pub mod callback;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod events;
pub mod http;
pub mod io;
pub mod log;
pub mod mcp;
pub mod metadata_documents;
pub mod pages;
pub mod policy;
pub mod revoke;
pub mod token;
