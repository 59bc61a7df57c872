//! What the service needs from the runtime besides the request: the KV store (with the limits
//! KV imposes, checked before any call: keys up to 512 bytes, TTLs of at least 60 seconds),
//! outbound HTTP, the cache and the rate limiter. `runtime` implements it over Workers; the
//! rest is generic over it, so nothing else imports the runtime.

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
    /// Whether `signature` over `message` verifies under `jwk` (a public JWK with only its
    /// public members) with `alg`. `false` for any failure, including a key it cannot import.
    async fn verify_signature(
        &self,
        _alg: crate::rules::oauth::assertion::Alg,
        _jwk: &str,
        _message: &[u8],
        _signature: &[u8],
    ) -> bool {
        false
    }
}

/// KV rejects longer keys.
pub const MAX_KEY_BYTES: usize = 512;
/// KV rejects shorter expirations.
pub const MIN_TTL_SECONDS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    KeyTooLong,
    /// The KV runtime failed; the message is for logs, never for clients.
    Backend(String),
}

/// Validates a key before any I/O.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_BYTES {
        Err(StoreError::KeyTooLong)
    } else {
        Ok(())
    }
}

/// KV needs at least [`MIN_TTL_SECONDS`]; shorter lifetimes are enforced by the value itself
/// (an expiry inside it), so rounding the storage TTL up never extends validity.
pub fn storage_ttl(seconds: u64) -> u64 {
    seconds.max(MIN_TTL_SECONDS)
}

// Workers run one request at a time per isolate on one thread; the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes with a TTL in seconds (`None`: kept until deleted).
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// One page (at most [`LIST_PAGE`]) of the keys starting with `prefix`, in key order, and
    /// the cursor of the next page if there is one.
    async fn list(&self, prefix: &str, cursor: Option<&str>) -> Result<(Vec<String>, Option<String>), StoreError>;
}

/// Keys per `list` page (KV's default and maximum).
pub const LIST_PAGE: usize = 1000;

/// Runs a future that never waits on real I/O (native tests, fuzzing, benchmarks).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
