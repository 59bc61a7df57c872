//! The OAuth 2.1 authorization server, as pure functions: PKCE, redirect URI rules, access
//! tokens. No runtime types and no I/O; the HTTP endpoints that use them come with login.

pub mod access_token;
pub mod assertion;
pub mod authorize;
pub mod client;
pub mod cookie;
pub mod error;
pub mod form;
pub mod grant;
pub mod metadata;
pub mod pkce;
pub mod redirect;
pub mod refresh;
