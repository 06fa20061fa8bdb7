//! The tower layer (feature `tower`, `axum` for the peer IP): in-process through tower's `oneshot`,
//! then through real HTTP/1.1 on loopback against an axum server, with a raw `TcpStream` client.
//! Every limiter reads a virtual clock, so the numbers asserted are exact; every network wait has a
//! deadline.
use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use harness::clock::VirtualClock;
use http::{Request, Response, StatusCode};
use ratelimit::tower::{GlobalKey, HeaderIp, KeyExtractor, KeyRejected, PeerIp, RateLimitLayer};
use ratelimit::{Denied, Gcra, Global, KeyedRateLimiter, Quota, RateLimiter, Snapshot};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower::{Layer, ServiceExt};

type Clock = Arc<VirtualClock>;

/// Every network step of a test finishes within this, or the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// A keyed limiter for these tests (the library's own is src/keyed.rs): one GCRA per key behind a
/// mutex.
struct MapLimiter<K> {
    quota: Quota,
    clock: Clock,
    states: Mutex<HashMap<K, Arc<Gcra<Clock>>>>,
}

impl<K: Eq + Hash + Clone + Send> MapLimiter<K> {
    fn new(quota: Quota, clock: &Clock) -> Self {
        MapLimiter {
            quota,
            clock: Arc::clone(clock),
            states: Mutex::default(),
        }
    }

    fn state(&self, key: &K) -> Arc<Gcra<Clock>> {
        let mut states = self.states.lock().unwrap();
        let state = states
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Gcra::with_clock(self.quota, Arc::clone(&self.clock))));
        Arc::clone(state)
    }
}

/// A clone starts empty (every key full): what a layer that copied its limiter into each clone of
/// its service would hand each connection (tower#794, axum#2634).
impl<K: Eq + Hash + Clone + Send> Clone for MapLimiter<K> {
    fn clone(&self) -> Self {
        MapLimiter::new(self.quota, &self.clock)
    }
}

impl<K: Eq + Hash + Clone + Send> KeyedRateLimiter<K> for MapLimiter<K> {
    fn check_key_n(&self, key: &K, n: u32) -> Result<(), Denied> {
        self.state(key).check_n(n)
    }
    fn snapshot_key(&self, key: &K) -> Snapshot {
        self.state(key).snapshot()
    }
    fn quota(&self) -> Quota {
        self.quota
    }
}

/// `count` per `period`, burst `count`.
fn quota(count: u32, period: Duration) -> Quota {
    Quota::new(count, period).unwrap()
}

fn app<L, X>(layer: RateLimitLayer<L, X>) -> Router
where
    X: KeyExtractor<Body> + 'static,
    L: KeyedRateLimiter<X::Key> + 'static,
{
    Router::new()
        .route("/", get(|| async { "hello" }))
        .layer(layer)
}

// ---- in-process: the router called through `oneshot`, no sockets ----

async fn oneshot(router: &Router, req: Request<Body>) -> Response<Body> {
    let response = router.clone().oneshot(req).await;
    let response: Result<_, Infallible> = response;
    response.unwrap_or_else(|never| match never {})
}

fn from(ip: &str) -> Request<Body> {
    Request::builder()
        .uri("/")
        .header("x-forwarded-for", ip)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn every_service_and_every_clone_shares_one_limiter() {
    let clock = VirtualClock::new();
    let layer = RateLimitLayer::new(
        MapLimiter::new(quota(3, Duration::from_secs(3)), &clock),
        GlobalKey,
    );
    let hello = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("hello")))
    });
    let first = layer.layer(hello);
    let from_a_clone_of_the_layer = layer.clone().layer(hello);
    let status = |r: Result<Response<Body>, Infallible>| r.map(|r| r.status()).unwrap();
    assert_eq!(
        status(first.clone().oneshot(from("10.0.0.1")).await),
        StatusCode::OK
    );
    assert_eq!(
        status(first.clone().oneshot(from("10.0.0.1")).await),
        StatusCode::OK
    );
    assert_eq!(
        status(
            from_a_clone_of_the_layer
                .clone()
                .oneshot(from("10.0.0.1"))
                .await
        ),
        StatusCode::OK
    );
    // The burst of 3 is spent, whichever copy asks next.
    for svc in [first, from_a_clone_of_the_layer, layer.layer(hello)] {
        assert_eq!(
            status(svc.oneshot(from("10.0.0.1")).await),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

#[tokio::test]
async fn keys_are_limited_apart_and_the_last_forwarded_address_is_the_key() {
    let clock = VirtualClock::new();
    let limiter = MapLimiter::new(quota(1, Duration::from_secs(10)), &clock);
    let router = app(RateLimitLayer::new(limiter, HeaderIp::x_forwarded_for()));
    assert_eq!(
        oneshot(&router, from("10.0.0.1")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        oneshot(&router, from("10.0.0.2")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        oneshot(&router, from("10.0.0.1")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A client cannot get a fresh limit by prepending addresses of its own.
    assert_eq!(
        oneshot(&router, from("192.0.2.99, 10.0.0.2"))
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        oneshot(&router, from("10.0.0.2, 10.0.0.3")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_closure_extracts_the_key() {
    let clock = VirtualClock::new();
    let limiter = MapLimiter::new(quota(1, Duration::from_secs(1)), &clock);
    let by_tenant = |req: &Request<Body>| {
        req.headers()
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(KeyRejected::bad_request("x-tenant missing"))
    };
    let router = app(RateLimitLayer::new(limiter, by_tenant));
    let tenant = |t: &str| {
        Request::builder()
            .uri("/")
            .header("x-tenant", t)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(oneshot(&router, tenant("a")).await.status(), StatusCode::OK);
    assert_eq!(oneshot(&router, tenant("b")).await.status(), StatusCode::OK);
    assert_eq!(
        oneshot(&router, tenant("a")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let no_tenant = Request::builder().uri("/").body(Body::empty()).unwrap();
    assert_eq!(
        oneshot(&router, no_tenant).await.status(),
        StatusCode::BAD_REQUEST
    );
}

// ---- real HTTP on loopback ----

/// An axum server on 127.0.0.1:0 recording each connection's peer address; aborted on drop.
struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(router: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let make = router.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, make).await.unwrap();
        });
        Server { addr, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 connection, requests written by hand, responses parsed by hand.
struct Conn {
    stream: BufReader<TcpStream>,
}

/// A parsed response: status, headers (names lower-case), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Reply {
    /// A header that must be present and a whole number (delay-seconds or a count).
    fn num(&self, name: &str) -> u64 {
        let value = self
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"));
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {value:?} is not a whole number"))
    }
}

impl Conn {
    async fn open(server: &Server) -> Conn {
        let stream = tokio::time::timeout(DEADLINE, TcpStream::connect(server.addr))
            .await
            .expect("connect timed out")
            .unwrap();
        Conn {
            stream: BufReader::new(stream),
        }
    }

    /// Connects from another loopback address (Linux routes all of 127/8 to `lo`).
    #[cfg(target_os = "linux")]
    async fn open_from(server: &Server, source: [u8; 4]) -> Conn {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((source, 0))).unwrap();
        let stream = tokio::time::timeout(DEADLINE, socket.connect(server.addr))
            .await
            .expect("connect timed out")
            .unwrap();
        Conn {
            stream: BufReader::new(stream),
        }
    }

    async fn get(&mut self, headers: &[(&str, &str)]) -> Reply {
        tokio::time::timeout(DEADLINE, self.exchange(headers))
            .await
            .expect("no response before the deadline")
    }

    async fn exchange(&mut self, headers: &[(&str, &str)]) -> Reply {
        let mut request = String::from("GET / HTTP/1.1\r\nhost: localhost\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();

        let mut line = String::new();
        self.stream.read_line(&mut line).await.unwrap();
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut headers = HashMap::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {line:?}"));
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers
            .get("content-length")
            .expect("a response without content-length")
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    }
}

#[tokio::test]
async fn the_burst_passes_then_429_with_the_exact_retry_after() {
    let clock = VirtualClock::new();
    // T = 1 s, burst 3.
    let limiter = Global(Gcra::with_clock(
        quota(3, Duration::from_secs(3)),
        Arc::clone(&clock),
    ));
    let server = Server::start(app(RateLimitLayer::new(limiter, PeerIp))).await;
    let mut conn = Conn::open(&server).await;
    for remaining in [2, 1, 0] {
        let r = conn.get(&[]).await;
        assert_eq!((r.status, r.body.as_str()), (200, "hello"));
        assert_eq!(r.num("ratelimit-limit"), 3);
        assert_eq!(r.num("ratelimit-remaining"), remaining);
        assert_eq!(r.num("ratelimit-reset"), 3 - remaining);
        assert!(!r.headers.contains_key("retry-after"));
    }
    let r = conn.get(&[]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.num("retry-after"), 1);
    assert_eq!(r.num("ratelimit-limit"), 3);
    assert_eq!(r.num("ratelimit-remaining"), 0);
    assert_eq!(r.num("ratelimit-reset"), 3);

    clock.advance(Duration::from_millis(400));
    let r = conn.get(&[]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.num("retry-after"), 1); // 600 ms, rounded up
    assert_eq!(r.num("ratelimit-reset"), 3); // 2.6 s, rounded up

    clock.advance(Duration::from_millis(600));
    let r = conn.get(&[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.num("ratelimit-remaining"), 0);
}

#[tokio::test]
async fn two_connections_from_one_address_share_its_limit() {
    let clock = VirtualClock::new();
    let limiter = MapLimiter::new(quota(2, Duration::from_secs(2)), &clock);
    let server = Server::start(app(RateLimitLayer::new(limiter, PeerIp))).await;
    let mut a = Conn::open(&server).await;
    let mut b = Conn::open(&server).await;
    assert_eq!(a.get(&[]).await.status, 200);
    assert_eq!(b.get(&[]).await.status, 200);
    let r = a.get(&[]).await;
    assert_eq!((r.status, r.num("retry-after")), (429, 1));
    let mut c = Conn::open(&server).await;
    assert_eq!(c.get(&[]).await.status, 429);
    assert_eq!(b.get(&[]).await.status, 429);
}

#[tokio::test]
async fn different_forwarded_addresses_are_limited_apart() {
    let clock = VirtualClock::new();
    let limiter = MapLimiter::new(quota(1, Duration::from_secs(5)), &clock);
    let server = Server::start(app(RateLimitLayer::new(
        limiter,
        HeaderIp::x_forwarded_for(),
    )))
    .await;
    let mut conn = Conn::open(&server).await;
    let alice = [("x-forwarded-for", "198.51.100.1")];
    let bob = [("x-forwarded-for", "198.51.100.2")];
    assert_eq!(conn.get(&alice).await.status, 200);
    let r = conn.get(&alice).await;
    assert_eq!((r.status, r.num("retry-after")), (429, 5));
    let r = conn.get(&bob).await;
    assert_eq!((r.status, r.num("ratelimit-remaining")), (200, 0));
    assert_eq!(conn.get(&[]).await.status, 400); // no address, no key
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn different_peer_addresses_are_limited_apart() {
    let clock = VirtualClock::new();
    let limiter = MapLimiter::new(quota(1, Duration::from_secs(5)), &clock);
    let server = Server::start(app(RateLimitLayer::new(limiter, PeerIp))).await;
    let mut one = Conn::open_from(&server, [127, 0, 0, 1]).await;
    let mut two = Conn::open_from(&server, [127, 0, 0, 2]).await;
    assert_eq!(one.get(&[]).await.status, 200);
    assert_eq!(one.get(&[]).await.status, 429);
    assert_eq!(two.get(&[]).await.status, 200);
    assert_eq!(two.get(&[]).await.status, 429);
}
