//! A tower [`Layer`] that rate-limits HTTP requests: feature `tower`.
//!
//! [`RateLimitLayer`] wraps any `Service<http::Request<B>>`. For each request it extracts a key
//! ([`KeyExtractor`]: the peer IP, a header, one global key, or a closure) and a cost ([`Cost`],
//! default 1), asks a [`KeyedRateLimiter`] for that many permits, and either calls the inner service
//! or answers itself:
//!
//! | outcome | status | headers |
//! |---|---|---|
//! | admitted | the inner service's | `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` |
//! | [`Denied::NotUntil`] | 429 Too Many Requests | `Retry-After` and the three above |
//! | [`Denied::InsufficientCapacity`] | 413 Content Too Large | `RateLimit-Limit` only |
//! | [`Denied::KeyCapacity`] (a keyed limiter full of other keys) | 503 Service Unavailable | `Retry-After` |
//! | [`Denied::Saturated`] (a concurrency limit) | 503 Service Unavailable | none |
//! | the key could not be extracted | the [`KeyRejected`]'s (400 or 500) | none |
//!
//! The `RateLimit-*` fields are those of the IETF draft "RateLimit header fields for HTTP",
//! draft-ietf-httpapi-ratelimit-headers-06 (December 2022), the revision that defines them as three
//! separate fields: `RateLimit-Limit` is the burst, `RateLimit-Remaining` the permits a request could
//! take now, `RateLimit-Reset` the seconds until the limiter is full again. Every duration is sent in
//! whole seconds *rounded up*: a client that waits `Retry-After` seconds then finds its permit, where
//! rounding down would invite a retry that is refused again.
//!
//! A request costing more than the burst is refused with 413, not 429: no wait makes it admissible,
//! and a 429 (with or without `Retry-After`) tells a client to come back later, which generic retry
//! loops do forever. 413 says "this request is too large for this server"; costs usually grow with
//! the request (bytes, batch items), so the status names the cause.
//!
//! # One limiter for all clones
//! The limiter, the extractors and the options live in one [`Arc`]: the layer, every service it
//! makes, and every clone of those (servers clone the service per connection, axum's router per
//! request) consult the same limiter. A layer that stored its limiter by value and cloned it with the
//! service gave each connection a fresh limit (tower#794, axum#2634).
//!
//! # Readiness
//! `poll_ready` only forwards the inner service's readiness: it reserves no permit, because the key
//! and the cost come from the request, which only `call` sees. The decision is made in `call`.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use ratelimit::tower::{GlobalKey, RateLimitLayer};
//! use ratelimit::{Gcra, Global, Quota};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! let layer = RateLimitLayer::new(Global(Gcra::new(Quota::per_minute(60)?.with_burst(1)?)), GlobalKey);
//! let inner = tower_service_fn(|_req: Request<String>| Response::new(String::from("hello")));
//! let mut first = layer.layer(inner.clone());
//! let mut second = layer.layer(inner); // another service, the same limiter
//! let ok = block_on(first.call(Request::new(String::new())))?;
//! assert_eq!(ok.status(), StatusCode::OK);
//! assert_eq!(ok.headers()["ratelimit-remaining"], "0");
//! let limited = block_on(second.call(Request::new(String::new())))?;
//! assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(limited.headers()["retry-after"], "1");
//! # #[derive(Clone)]
//! # struct Fixed<F>(F);
//! # fn tower_service_fn<F: Fn(Request<String>) -> Response<String> + Clone>(f: F) -> Fixed<F> { Fixed(f) }
//! # impl<F: Fn(Request<String>) -> Response<String>> Service<Request<String>> for Fixed<F> {
//! #     type Response = Response<String>;
//! #     type Error = Infallible;
//! #     type Future = std::future::Ready<Result<Response<String>, Infallible>>;
//! #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
//! #         std::task::Poll::Ready(Ok(()))
//! #     }
//! #     fn call(&mut self, req: Request<String>) -> Self::Future { std::future::ready(Ok((self.0)(req))) }
//! # }
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::{Denied, KeyedRateLimiter, Snapshot};

/// `RateLimit-Limit` (draft-ietf-httpapi-ratelimit-headers-06): the burst.
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining` (draft-06): permits a request could take now.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset` (draft-06): seconds, rounded up, until the limiter is full again.
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Why no key could be taken from a request: the layer answers with `status` and `reason` as body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRejected {
    /// The response's status: 400 when the client sent too little, 500 when the server is set up
    /// wrong (no peer address recorded, for instance).
    pub status: StatusCode,
    /// The response's body.
    pub reason: &'static str,
}

impl KeyRejected {
    /// The client's fault (a header missing or malformed): 400 Bad Request.
    pub const fn bad_request(reason: &'static str) -> Self {
        KeyRejected {
            status: StatusCode::BAD_REQUEST,
            reason,
        }
    }

    /// The server's set-up is wrong: 500 Internal Server Error.
    pub const fn internal(reason: &'static str) -> Self {
        KeyRejected {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason,
        }
    }
}

impl fmt::Display for KeyRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for KeyRejected {}

/// Takes the rate-limiting key from a request. Implemented by [`GlobalKey`], [`PeerIp`],
/// [`HeaderIp`], [`HeaderKey`], and every `Fn(&Request<B>) -> Result<K, KeyRejected>`.
///
/// ```
/// use http::{Request, StatusCode};
/// use ratelimit::tower::{KeyExtractor, KeyRejected};
///
/// // A closure is an extractor: here, the tenant is the first segment of the path.
/// let tenant = |req: &Request<()>| -> Result<String, KeyRejected> {
///     match req.uri().path().split('/').nth(1) {
///         Some(t) if !t.is_empty() => Ok(t.to_owned()),
///         _ => Err(KeyRejected::bad_request("no tenant in the path")),
///     }
/// };
/// assert_eq!(tenant.extract(&Request::get("/acme/orders").body(())?)?, "acme");
/// assert_eq!(tenant.extract(&Request::get("/").body(())?).unwrap_err().status, StatusCode::BAD_REQUEST);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeyExtractor<B>: Send + Sync {
    /// The key the limiter is indexed by.
    type Key;
    /// This request's key, or why it has none.
    fn extract(&self, req: &Request<B>) -> Result<Self::Key, KeyRejected>;
}

impl<B, K, F> KeyExtractor<B> for F
where
    F: Fn(&Request<B>) -> Result<K, KeyRejected> + Send + Sync,
{
    type Key = K;
    #[inline]
    fn extract(&self, req: &Request<B>) -> Result<K, KeyRejected> {
        self(req)
    }
}

/// One key, `()`, for every request: with [`Global`](crate::Global), one limit for the whole service.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalKey;

impl<B> KeyExtractor<B> for GlobalKey {
    type Key = ();
    #[inline]
    fn extract(&self, _req: &Request<B>) -> Result<(), KeyRejected> {
        Ok(())
    }
}

/// The address of the connection's peer, from the request's extensions: axum's
/// `ConnectInfo<SocketAddr>` (with feature `axum`; serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`), else a bare `SocketAddr` that a hand-written
/// hyper accept loop inserts. Neither present: 500, the server was not set up to record it.
///
/// Behind a reverse proxy every request comes from the proxy's address: use [`HeaderIp`] there.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerIp;

impl<B> KeyExtractor<B> for PeerIp {
    type Key = IpAddr;
    #[inline]
    fn extract(&self, req: &Request<B>) -> Result<IpAddr, KeyRejected> {
        #[cfg(feature = "axum")]
        if let Some(axum::extract::ConnectInfo(addr)) = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
        {
            return Ok(addr.ip());
        }
        req.extensions()
            .get::<SocketAddr>()
            .map(SocketAddr::ip)
            .ok_or(KeyRejected::internal(
                "rate limiter: the peer address is not recorded (axum: serve with \
                 into_make_service_with_connect_info::<SocketAddr>())",
            ))
    }
}

/// The client's IP address as a reverse proxy reports it in a header (`X-Forwarded-For`,
/// `X-Real-IP`): the *last* comma-separated entry of the header's last line.
///
/// Each proxy appends the address it received the request from, so the last entry is the one the
/// nearest proxy saw; the entries before it arrived with the request and can be anything
/// (`X-Forwarded-For: <anything the client wrote>, <the client's real address>`). Keying on the
/// first entry would let a client choose its own limit. With several trusted proxies in a chain,
/// write a closure that skips their entries. Missing or unparsable: 400.
///
/// ```
/// use std::net::IpAddr;
/// use http::{Request, StatusCode};
/// use ratelimit::tower::{HeaderIp, KeyExtractor};
///
/// let forwarded = Request::get("/")
///     .header("x-forwarded-for", "10.9.9.9, 203.0.113.7") // the first entry is the client's to forge
///     .body(())?;
/// let ip = HeaderIp::x_forwarded_for().extract(&forwarded)?;
/// assert_eq!(ip, "203.0.113.7".parse::<IpAddr>()?); // the one the nearest proxy saw
/// let direct = Request::get("/").body(())?;
/// assert_eq!(HeaderIp::x_forwarded_for().extract(&direct).unwrap_err().status, StatusCode::BAD_REQUEST);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeaderIp {
    name: HeaderName,
}

impl HeaderIp {
    /// Reads `name` (e.g. `x-forwarded-for`, `x-real-ip`).
    pub fn new(name: HeaderName) -> Self {
        HeaderIp { name }
    }

    /// `X-Forwarded-For`.
    pub fn x_forwarded_for() -> Self {
        HeaderIp::new(HeaderName::from_static("x-forwarded-for"))
    }
}

impl<B> KeyExtractor<B> for HeaderIp {
    type Key = IpAddr;
    fn extract(&self, req: &Request<B>) -> Result<IpAddr, KeyRejected> {
        let value = req.headers().get_all(&self.name).iter().next_back().ok_or(
            KeyRejected::bad_request("rate limiter: the client address header is missing"),
        )?;
        value
            .to_str()
            .ok()
            .and_then(|s| s.rsplit(',').next())
            .and_then(|s| s.trim().parse().ok())
            .ok_or(KeyRejected::bad_request(
                "rate limiter: the client address header holds no IP address",
            ))
    }
}

/// The value of a header (an API key, a tenant id) as the key; missing: 400.
///
/// ```
/// use http::{HeaderName, Request};
/// use ratelimit::tower::{HeaderKey, KeyExtractor};
///
/// let by_api_key = HeaderKey::new(HeaderName::from_static("x-api-key"));
/// let req = Request::get("/").header("x-api-key", "k-123").body(())?;
/// assert_eq!(by_api_key.extract(&req)?, "k-123");
/// assert!(by_api_key.extract(&Request::get("/").body(())?).is_err()); // missing: 400
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeaderKey {
    name: HeaderName,
}

impl HeaderKey {
    /// Reads `name`.
    pub fn new(name: HeaderName) -> Self {
        HeaderKey { name }
    }
}

impl<B> KeyExtractor<B> for HeaderKey {
    type Key = HeaderValue;
    fn extract(&self, req: &Request<B>) -> Result<HeaderValue, KeyRejected> {
        req.headers()
            .get(&self.name)
            .cloned()
            .ok_or(KeyRejected::bad_request(
                "rate limiter: the key header is missing",
            ))
    }
}

/// How many permits a request costs (requests above the burst are refused with 413).
/// Implemented by [`UnitCost`] and every `Fn(&Request<B>) -> u32`.
pub trait Cost<B>: Send + Sync {
    /// Permits `req` takes.
    fn cost(&self, req: &Request<B>) -> u32;
}

impl<B, F> Cost<B> for F
where
    F: Fn(&Request<B>) -> u32 + Send + Sync,
{
    #[inline]
    fn cost(&self, req: &Request<B>) -> u32 {
        self(req)
    }
}

/// Every request costs one permit: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCost;

impl<B> Cost<B> for UnitCost {
    #[inline]
    fn cost(&self, _req: &Request<B>) -> u32 {
        1
    }
}

/// What the layer and all its services share, behind one `Arc`.
struct Shared<L, X, C> {
    limiter: L,
    extractor: X,
    cost: C,
    admitted_headers: bool,
}

/// The rate-limiting layer: every service it makes, and every clone of those, shares its limiter.
pub struct RateLimitLayer<L, X, C = UnitCost> {
    shared: Arc<Shared<L, X, C>>,
}

impl<L, X> RateLimitLayer<L, X> {
    /// Limits with `limiter`, keyed by `extractor`, one permit a request, headers on every response.
    pub fn new(limiter: L, extractor: X) -> Self {
        RateLimitLayer::builder(limiter, extractor).build()
    }

    /// A layer with options: a request cost, headers on admitted responses or not.
    pub fn builder(limiter: L, extractor: X) -> RateLimitBuilder<L, X> {
        RateLimitBuilder {
            limiter,
            extractor,
            cost: UnitCost,
            admitted_headers: true,
        }
    }
}

impl<L, X, C> RateLimitLayer<L, X, C> {
    /// The limiter every service of this layer consults.
    pub fn limiter(&self) -> &L {
        &self.shared.limiter
    }
}

impl<L, X, C> Clone for RateLimitLayer<L, X, C> {
    fn clone(&self) -> Self {
        RateLimitLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<L, X, C> fmt::Debug for RateLimitLayer<L, X, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limiter", &std::any::type_name::<L>())
            .field("extractor", &std::any::type_name::<X>())
            .finish_non_exhaustive()
    }
}

impl<S, L, X, C> Layer<S> for RateLimitLayer<L, X, C> {
    type Service = RateLimit<S, L, X, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Options of a [`RateLimitLayer`], set before it is shared.
///
/// ```
/// use std::{convert::Infallible, sync::Arc};
/// use http::{Request, Response, StatusCode};
/// use ratelimit::tower::{GlobalKey, RateLimitLayer};
/// use ratelimit::{Gcra, Global, ManualClock, Quota};
/// use tower_layer::Layer;
/// use tower_service::Service;
///
/// // Each request costs its body's length in permits; 10 a second, a burst of 10.
/// let clock = Arc::new(ManualClock::default());
/// let limiter = Global(Gcra::with_clock(Quota::per_second(10)?, clock));
/// let layer = RateLimitLayer::builder(limiter, GlobalKey)
///     .cost(|req: &Request<String>| req.body().len() as u32)
///     .admitted_headers(false)
///     .build();
/// let mut svc = layer.layer(echo());
/// let call = |svc: &mut _, body: &str| block_on(Service::call(svc, Request::new(body.to_owned())));
/// let ok = call(&mut svc, "1234")?;
/// assert_eq!(ok.status(), StatusCode::OK);
/// assert!(ok.headers().get("ratelimit-remaining").is_none()); // admitted_headers(false)
/// assert_eq!(call(&mut svc, "more than ten")?.status(), StatusCode::PAYLOAD_TOO_LARGE);
/// assert_eq!(call(&mut svc, "123456")?.status(), StatusCode::OK); // 4 + 6: the burst is spent
/// assert_eq!(call(&mut svc, "1")?.status(), StatusCode::TOO_MANY_REQUESTS);
/// # #[derive(Clone)]
/// # struct Echo;
/// # fn echo() -> Echo { Echo }
/// # impl Service<Request<String>> for Echo {
/// #     type Response = Response<String>;
/// #     type Error = Infallible;
/// #     type Future = std::future::Ready<Result<Response<String>, Infallible>>;
/// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
/// #         std::task::Poll::Ready(Ok(()))
/// #     }
/// #     fn call(&mut self, req: Request<String>) -> Self::Future { std::future::ready(Ok(Response::new(req.into_body()))) }
/// # }
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RateLimitBuilder<L, X, C = UnitCost> {
    limiter: L,
    extractor: X,
    cost: C,
    admitted_headers: bool,
}

impl<L, X, C> RateLimitBuilder<L, X, C> {
    /// Each request costs `cost(req)` permits instead of one.
    pub fn cost<C2>(self, cost: C2) -> RateLimitBuilder<L, X, C2> {
        RateLimitBuilder {
            limiter: self.limiter,
            extractor: self.extractor,
            cost,
            admitted_headers: self.admitted_headers,
        }
    }

    /// Whether admitted responses carry the `RateLimit-*` headers (default: yes). Leaving them out
    /// saves a snapshot of the key's state per request; refusals always carry them.
    pub fn admitted_headers(self, on: bool) -> Self {
        RateLimitBuilder {
            admitted_headers: on,
            ..self
        }
    }

    /// The layer.
    pub fn build(self) -> RateLimitLayer<L, X, C> {
        RateLimitLayer {
            shared: Arc::new(Shared {
                limiter: self.limiter,
                extractor: self.extractor,
                cost: self.cost,
                admitted_headers: self.admitted_headers,
            }),
        }
    }
}

impl<L, X, C> fmt::Debug for RateLimitBuilder<L, X, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitBuilder")
            .field("admitted_headers", &self.admitted_headers)
            .finish_non_exhaustive()
    }
}

/// The service [`RateLimitLayer`] wraps around `S`.
pub struct RateLimit<S, L, X, C = UnitCost> {
    inner: S,
    shared: Arc<Shared<L, X, C>>,
}

impl<S, L, X, C> RateLimit<S, L, X, C> {
    /// The limiter this service consults (the same for every clone).
    pub fn limiter(&self) -> &L {
        &self.shared.limiter
    }
}

impl<S: Clone, L, X, C> Clone for RateLimit<S, L, X, C> {
    fn clone(&self) -> Self {
        RateLimit {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, L, X, C> fmt::Debug for RateLimit<S, L, X, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Whole seconds, rounded up.
#[inline]
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The three `RateLimit-*` values of a snapshot.
#[derive(Debug, Clone, Copy)]
struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
}

impl RateHeaders {
    fn of(s: Snapshot) -> Self {
        RateHeaders {
            limit: s.limit,
            remaining: s.remaining,
            reset_secs: ceil_secs(s.reset_after),
        }
    }

    fn write(self, headers: &mut HeaderMap) {
        headers.reserve(3);
        headers.insert(RATELIMIT_LIMIT, number(u64::from(self.limit)));
        headers.insert(RATELIMIT_REMAINING, number(u64::from(self.remaining)));
        headers.insert(RATELIMIT_RESET, number(self.reset_secs));
    }
}

/// Header values below this come from a table built once per process.
const SMALL_NUMBERS: u64 = 1024;

/// `n` as a header value. `HeaderValue::from(n)` allocates a buffer per call; the values of nearly
/// every response (a burst, what remains of it, a few seconds) are small, so they are cloned from a
/// table of static values instead, which costs a copy and no allocation.
fn number(n: u64) -> HeaderValue {
    static TABLE: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    if n >= SMALL_NUMBERS {
        return HeaderValue::from(n);
    }
    let table = TABLE.get_or_init(|| {
        // One string of all the digits, leaked once (about 3 KiB): static values clone for free.
        let digits: String = (0..SMALL_NUMBERS).map(|i| i.to_string()).collect();
        let digits: &'static str = Box::leak(digits.into_boxed_str());
        let mut start = 0;
        (0..SMALL_NUMBERS)
            .map(|i| {
                let end = start + i.to_string().len();
                let value = HeaderValue::from_static(&digits[start..end]);
                start = end;
                value
            })
            .collect()
    });
    table[n as usize].clone()
}

fn refusal<RB: From<&'static str>>(status: StatusCode, body: &'static str) -> Response<RB> {
    let mut response = Response::new(RB::from(body));
    *response.status_mut() = status;
    response
}

impl<S, L, X, C, B, RB> Service<Request<B>> for RateLimit<S, L, X, C>
where
    S: Service<Request<B>, Response = Response<RB>>,
    X: KeyExtractor<B>,
    L: KeyedRateLimiter<X::Key>,
    C: Cost<B>,
    RB: From<&'static str>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, RB>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Nothing is reserved here: the key and the cost are the request's, seen only in `call`.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let shared = &*self.shared;
        let key = match shared.extractor.extract(&req) {
            Ok(key) => key,
            Err(rejected) => {
                return ResponseFuture::ready(refusal(rejected.status, rejected.reason));
            }
        };
        let n = shared.cost.cost(&req);
        match shared.limiter.check_key_n(&key, n) {
            Ok(()) => {
                let headers = shared
                    .admitted_headers
                    .then(|| RateHeaders::of(shared.limiter.snapshot_key(&key)));
                ResponseFuture {
                    kind: Kind::Admitted {
                        inner: self.inner.call(req),
                        headers,
                    },
                }
            }
            Err(Denied::NotUntil(wait)) => {
                let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "rate limited");
                let headers = response.headers_mut();
                headers.insert(
                    RETRY_AFTER,
                    HeaderValue::from(ceil_secs(wait.retry_after())),
                );
                RateHeaders::of(shared.limiter.snapshot_key(&key)).write(headers);
                ResponseFuture::ready(response)
            }
            Err(Denied::InsufficientCapacity(c)) => {
                let mut response = refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request costs more than the rate limit's burst",
                );
                response
                    .headers_mut()
                    .insert(RATELIMIT_LIMIT, HeaderValue::from(c.burst));
                ResponseFuture::ready(response)
            }
            // The limiter is full of other keys (a keyed limiter at its cap denying new ones): not
            // this client's rate but the server's capacity, so 503, with the time a slot frees up.
            Err(Denied::KeyCapacity(wait)) => {
                let mut response = refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "rate limiter tracks all the keys it may",
                );
                response.headers_mut().insert(
                    RETRY_AFTER,
                    HeaderValue::from(ceil_secs(wait.retry_after())),
                );
                ResponseFuture::ready(response)
            }
            // A concurrency limit behind the trait: no one knows when a permit comes back.
            Err(Denied::Saturated(_)) => ResponseFuture::ready(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "concurrency limit reached",
            )),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`RateLimit`] service: the inner service's, with headers added, or the
    /// layer's own refusal.
    pub struct ResponseFuture<F, RB> {
        #[pin]
        kind: Kind<F, RB>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, RB> {
        Admitted { #[pin] inner: F, headers: Option<RateHeaders> },
        Refused { response: Option<Response<RB>> },
    }
}

impl<F, RB> ResponseFuture<F, RB> {
    fn ready(response: Response<RB>) -> Self {
        ResponseFuture {
            kind: Kind::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, RB> fmt::Debug for ResponseFuture<F, RB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.kind {
            Kind::Admitted { .. } => "admitted",
            Kind::Refused { .. } => "refused",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, RB, E> Future for ResponseFuture<F, RB>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Admitted { inner, headers } => {
                let mut response = ready!(inner.poll(cx))?;
                if let Some(h) = headers.take() {
                    h.write(response.headers_mut());
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("a rate-limit ResponseFuture polled after it completed"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use harness::clock::VirtualClock;

    use super::*;
    use crate::{Gcra, Global, Quota, RateLimiter};

    /// `count` per `period`, burst `count`.
    fn quota(count: u32, period: Duration) -> Quota {
        Quota::new(count, period).unwrap()
    }

    fn hello() -> impl Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = std::future::Ready<Result<Response<String>, Infallible>>,
    > + Clone {
        tower::service_fn(|_req: Request<String>| {
            std::future::ready(Ok::<_, Infallible>(Response::new(String::from("hello"))))
        })
    }

    /// Drives `svc` through `poll_ready` and `call`; every future here is ready at once (a pending
    /// one is a failure, never a wait).
    fn send<S>(svc: &mut S, req: Request<String>) -> Response<String>
    where
        S: Service<Request<String>, Response = Response<String>, Error = Infallible>,
    {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(svc.poll_ready(&mut cx).is_ready());
        let mut fut = std::pin::pin!(svc.call(req));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => panic!("the response future was pending"),
        }
    }

    fn get() -> Request<String> {
        Request::new(String::new())
    }

    fn header<'a>(r: &'a Response<String>, name: &str) -> Option<&'a str> {
        r.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn denial_is_429_with_retry_after_rounded_up_and_ratelimit_headers() {
        let clock = VirtualClock::new();
        // T = 1.5 s, burst 2: the full window is 3 s.
        let limiter = Global(Gcra::with_clock(
            quota(2, Duration::from_secs(3)),
            clock.clone(),
        ));
        let mut svc = RateLimitLayer::new(limiter, GlobalKey).layer(hello());

        let r = send(&mut svc, get());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body(), "hello");
        assert_eq!(header(&r, "ratelimit-limit"), Some("2"));
        assert_eq!(header(&r, "ratelimit-remaining"), Some("1"));
        assert_eq!(header(&r, "ratelimit-reset"), Some("2")); // 1.5 s, rounded up
        assert_eq!(header(&r, "retry-after"), None);

        let r = send(&mut svc, get());
        assert_eq!(header(&r, "ratelimit-remaining"), Some("0"));
        assert_eq!(header(&r, "ratelimit-reset"), Some("3"));

        let r = send(&mut svc, get());
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after"), Some("2")); // 1.5 s, rounded up
        assert_eq!(header(&r, "ratelimit-limit"), Some("2"));
        assert_eq!(header(&r, "ratelimit-remaining"), Some("0"));
        assert_eq!(header(&r, "ratelimit-reset"), Some("3"));

        clock.advance(Duration::from_millis(1499));
        let r = send(&mut svc, get());
        assert_eq!(header(&r, "retry-after"), Some("1")); // 1 ms left
        clock.advance(Duration::from_millis(1));
        assert_eq!(send(&mut svc, get()).status(), StatusCode::OK);
    }

    #[test]
    fn a_cost_above_the_burst_is_413_without_retry_after_and_takes_nothing() {
        let clock = VirtualClock::new();
        let limiter = Global(Gcra::with_clock(quota(4, Duration::from_secs(1)), clock));
        let cost = |req: &Request<String>| req.body().len() as u32;
        let mut svc = RateLimitLayer::builder(limiter, GlobalKey)
            .cost(cost)
            .build()
            .layer(hello());
        let r = send(&mut svc, Request::new("12345".into()));
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(header(&r, "retry-after"), None);
        assert_eq!(header(&r, "ratelimit-limit"), Some("4"));
        // Nothing was taken: the whole burst is still there.
        let r = send(&mut svc, Request::new("1234".into()));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-remaining"), Some("0"));
    }

    #[test]
    fn a_keyed_limiter_full_of_other_keys_answers_503_with_retry_after() {
        let clock = VirtualClock::new();
        let one_key = crate::Bounds {
            max_keys: std::num::NonZeroUsize::new(1).unwrap(),
            at_cap: crate::AtCap::DenyNewKeys,
            shards: std::num::NonZeroUsize::new(1).unwrap(),
        };
        let limiter = crate::Keyed::<HeaderValue, _>::with_bounds(
            quota(1, Duration::from_secs(2)),
            one_key,
            clock.clone(),
            std::hash::RandomState::new(),
        );
        let mut svc =
            RateLimitLayer::new(limiter, HeaderKey::new(HeaderName::from_static("x-user")))
                .layer(hello());
        let as_user = |who: &str| {
            Request::builder()
                .header("x-user", who)
                .body(String::new())
                .unwrap()
        };
        assert_eq!(send(&mut svc, as_user("alice")).status(), StatusCode::OK);
        // alice is in debt for 2 s and holds the only slot: bob is turned away by capacity.
        let r = send(&mut svc, as_user("bob"));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&r, "retry-after"), Some("2"));
        clock.advance(Duration::from_secs(2));
        assert_eq!(send(&mut svc, as_user("bob")).status(), StatusCode::OK);
    }

    #[test]
    fn poll_ready_reserves_nothing() {
        let clock = VirtualClock::new();
        let limiter = Global(Gcra::with_clock(quota(2, Duration::from_secs(1)), clock));
        let mut svc = RateLimitLayer::new(limiter, GlobalKey).layer(hello());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for _ in 0..10 {
            assert!(svc.poll_ready(&mut cx).is_ready());
        }
        assert_eq!(svc.limiter().0.snapshot().remaining, 2);
        assert_eq!(send(&mut svc, get()).status(), StatusCode::OK);
        assert_eq!(send(&mut svc, get()).status(), StatusCode::OK);
    }

    #[test]
    fn a_request_without_a_key_is_refused_with_the_extractors_status() {
        let limiter = || Global(Gcra::new(quota(1, Duration::from_secs(1))));
        let mut by_peer = RateLimitLayer::new(limiter(), PeerIp).layer(hello());
        let r = send(&mut by_peer, get());
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.body().contains("peer address"));

        let mut with_peer = get();
        with_peer
            .extensions_mut()
            .insert(SocketAddr::from(([192, 0, 2, 7], 4000)));
        assert_eq!(send(&mut by_peer, with_peer).status(), StatusCode::OK);

        let mut by_header =
            RateLimitLayer::new(limiter(), HeaderIp::x_forwarded_for()).layer(hello());
        assert_eq!(
            send(&mut by_header, get()).status(),
            StatusCode::BAD_REQUEST
        );
        let garbage = Request::builder()
            .header("x-forwarded-for", "not-an-ip")
            .body(String::new())
            .unwrap();
        assert_eq!(
            send(&mut by_header, garbage).status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn numbers_from_the_table_and_beyond_it_read_the_same() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            1023,
            1024,
            65_536,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(number(n), HeaderValue::from(n), "{n}");
        }
    }

    #[test]
    fn ceil_secs_rounds_up_only_fractions() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
    }
}
