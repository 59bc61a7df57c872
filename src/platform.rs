//! What the service needs from the runtime besides the request: the KV store and outbound
//! HTTP (to Discord). `worker_glue` implements it over Workers KV and `fetch`; the service is
//! generic over it, so none of the protocol code imports the runtime.

use crate::store::Store;

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    /// Milliseconds the whole exchange may take, headers and body, before it counts as failed
    /// ([`FETCH_TIMEOUT_MS`] for Discord): a slow drip cannot hold the request open.
    /// Redirects are never followed: every caller wants the answer of the URL it named.
    pub timeout_ms: u32,
    /// Largest body read ([`MAX_INBOUND_BYTES`] for Discord). The body is read as a stream and
    /// the call fails as soon as it is exceeded, so an endless body never fills memory.
    pub max_bytes: usize,
}

/// Its response, read up to the request's `max_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Inbound {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Upstream answers larger than this are cut off and treated as failures.
pub const MAX_INBOUND_BYTES: usize = 256 * 1024;
/// How long an upstream call may take before the person is told Discord is unavailable.
pub const FETCH_TIMEOUT_MS: u32 = 8_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    Timeout,
    /// DNS, TLS, connection reset, or a malformed answer.
    Network,
    /// The body was larger than the request's `max_bytes`.
    TooLarge,
}

#[allow(async_fn_in_trait)] // one thread per isolate: futures need not be Send
pub trait Platform {
    type Kv: Store;
    /// The KV namespace, when bound.
    fn kv(&self) -> Option<&Self::Kv>;
    async fn fetch(&self, request: Outbound) -> Result<Inbound, FetchError>;
    /// Whether a request counted under `key` is within the rate limit (the Workers Rate
    /// Limiting binding, counted per edge location without storage). `true` when no limiter is
    /// bound, or when it fails: it bounds cost, it does not guard access.
    async fn within_rate(&self, _key: &str) -> bool {
        true
    }
    /// A value from the runtime's cache at this location (the Workers Cache API: free, not KV;
    /// only on custom domains, a no-op on workers.dev), or `None`.
    async fn cache_get(&self, _key: &str) -> Option<String> {
        None
    }
    /// Keeps `value` in that cache for `ttl_seconds`. Best effort: failures are ignored.
    async fn cache_put(&self, _key: &str, _value: &str, _ttl_seconds: u64) {}
}
