//! `http`: `ratelimit::tower::RateLimitLayer` on a real axum server on loopback, driven by a plain
//! HTTP/1.1 client over TCP — the headers of admitted requests, a 429 with `Retry-After`, another key
//! still admitted, a 413 for a request costing more than the burst, and N concurrent connections (each
//! served by its own clone of the service) held to one quota, against a layer built per connection
//! (the bug of tower#794 and axum#2634).
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Ready;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum::serve::IncomingStream;
use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use http::Request;
use ratelimit::tower::{KeyRejected, RateLimitLayer};
use ratelimit::{Keyed, Quota};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Every network step (connect, one request and its response, the server's shutdown) finishes
/// within this, or the step fails.
const DEADLINE: Duration = Duration::from_secs(5);

/// Per API key: 5 requests at once, then one every 12 s (5 a minute). The tour's requests take far
/// less than 12 s, so after the burst every request of a key is refused; the checks still count
/// the permits the elapsed time may have added (`floor(elapsed / T)`), so a stalled machine cannot
/// make them fail.
const BURST: u32 = 5;

fn quota() -> Quota {
    Quota::per_minute(BURST).expect("5 per minute is a valid quota")
}

/// The key: the `x-api-key` header (400 without it).
fn api_key(req: &Request<Body>) -> Result<String, KeyRejected> {
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or(KeyRejected::bad_request("x-api-key header missing"))
}

/// The cost: the `x-cost` header, 1 without it.
fn cost(req: &Request<Body>) -> u32 {
    req.headers()
        .get("x-cost")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

type Layer = RateLimitLayer<
    Keyed<String>,
    fn(&Request<Body>) -> Result<String, KeyRejected>,
    fn(&Request<Body>) -> u32,
>;

fn layer() -> Layer {
    RateLimitLayer::builder(
        Keyed::<String>::new(quota()),
        api_key as fn(&Request<Body>) -> Result<String, KeyRejected>,
    )
    .cost(cost as fn(&Request<Body>) -> u32)
    .build()
}

fn app(layer: Layer) -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(layer)
}

/// The make-service axum calls once per accepted connection: the router, with either one layer
/// shared by every connection (`Some`: how the library is used) or a new layer, and so a new
/// limiter, per connection (`None`: what a layer that copied its limiter into each clone of its
/// service amounted to).
#[derive(Clone)]
struct PerConnection {
    shared: Option<Layer>,
    /// Connections accepted (Relaxed: a count read after the server stopped).
    services: Arc<AtomicUsize>,
}

impl<'a> tower_service::Service<IncomingStream<'a, TcpListener>> for PerConnection {
    type Response = Router;
    type Error = Infallible;
    type Future = Ready<Result<Router, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _conn: IncomingStream<'a, TcpListener>) -> Self::Future {
        self.services.fetch_add(1, Relaxed);
        let layer = self.shared.clone().unwrap_or_else(layer);
        std::future::ready(Ok(app(layer)))
    }
}

/// A server task on 127.0.0.1:0, stopped gracefully by [`Server::stop`].
struct Server {
    addr: SocketAddr,
    services: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl Server {
    fn start(rt: &tokio::runtime::Runtime, shared: Option<Layer>) -> io::Result<Server> {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let services = Arc::new(AtomicUsize::new(0));
        let make = PerConnection {
            shared,
            services: Arc::clone(&services),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = rt.spawn(async move {
            axum::serve(listener, make)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Server {
            addr,
            services,
            stop: Some(stop),
            task,
        })
    }

    /// Asks for a graceful shutdown and waits for it (at most [`DEADLINE`]); aborts the task if it
    /// did not finish in time. True when it stopped by itself, without error.
    fn stop(mut self, rt: &tokio::runtime::Runtime) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        match rt.block_on(async { tokio::time::timeout(DEADLINE, task).await }) {
            Ok(Ok(Ok(()))) => true,
            Ok(_) => false,
            Err(_) => {
                self.task.abort();
                false
            }
        }
    }
}

/// One HTTP/1.1 keep-alive connection of a blocking client; every read and write has [`DEADLINE`].
struct Conn {
    stream: BufReader<TcpStream>,
}

/// A response: status, headers (names lower-case).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HashMap<String, String>,
}

impl Reply {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .cloned()
            .unwrap_or_else(|| "-".into())
    }

    fn num(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.parse().ok()
    }
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Conn {
    fn open(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
        stream.set_read_timeout(Some(DEADLINE))?;
        stream.set_write_timeout(Some(DEADLINE))?;
        Ok(Conn {
            stream: BufReader::new(stream),
        })
    }

    /// `GET /` as `key`, costing `cost` permits.
    fn get(&mut self, key: &str, cost: u32) -> io::Result<Reply> {
        let request = format!(
            "GET / HTTP/1.1\r\nhost: localhost\r\nx-api-key: {key}\r\nx-cost: {cost}\r\n\r\n"
        );
        self.stream.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
        let mut headers = HashMap::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(format!("no content-length in {headers:?}")))?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(Reply { status, headers })
    }
}

/// The most a key may have admitted over `elapsed`: `floor(elapsed / T) + burst`.
fn bound(elapsed: Duration) -> u64 {
    (elapsed.as_nanos() / quota().interval().as_nanos()) as u64 + u64::from(BURST)
}

/// `connections` clients, each on its own connection, each sending `BURST` requests as one key, all
/// at once: (admitted, requests, elapsed).
fn hammer(addr: SocketAddr, key: &str, connections: usize) -> io::Result<(u64, u64, Duration)> {
    let barrier = Barrier::new(connections + 1);
    let (results, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..connections)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || -> io::Result<(u64, u64)> {
                    let conn = Conn::open(addr);
                    barrier.wait();
                    let mut conn = conn?;
                    let mut admitted = 0;
                    for _ in 0..BURST {
                        let reply = conn.get(key, 1)?;
                        match reply.status {
                            200 => admitted += 1,
                            429 => {}
                            other => return Err(bad(format!("status {other}: {reply:?}"))),
                        }
                    }
                    Ok((admitted, u64::from(BURST)))
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(bad("a client thread panicked".into())))
            })
            .collect();
        (results, start.elapsed())
    });
    let (mut admitted, mut sent) = (0, 0);
    for r in results {
        let (a, n) = r?;
        admitted += a;
        sent += n;
    }
    Ok((admitted, sent, elapsed))
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(format!(
        "An axum server on 127.0.0.1:0 behind ratelimit::tower::RateLimitLayer, keyed by the \
         x-api-key header (a Keyed<String> limiter: {BURST} at once, then {BURST}/min), cost from \
         x-cost; a blocking HTTP/1.1 client on TCP talks to it."
    ));
    let threads = ThreadLeakCheck::start();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rl-tour-http")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ctx.check_with("a tokio runtime starts", false, e.to_string());
            return;
        }
    };
    let mut servers = Vec::new();
    let outcome = tour(ctx, &rt, &mut servers);
    // Every server stops, whatever happened above; the clients' connections are closed by now
    // (each was dropped with its thread or its scope).
    let mut stopped = true;
    for server in servers {
        stopped &= server.stop(&rt);
    }
    rt.shutdown_timeout(DEADLINE);
    let leaked = threads.leaked_after(DEADLINE);
    if let Err(e) = outcome {
        ctx.check_with(
            "every request got a well-formed response in time",
            false,
            e.to_string(),
        );
    }
    ctx.check_with(
        "both servers shut down gracefully within 5 s, and no thread of the runtime or the clients \
         is left behind",
        stopped && leaked.is_empty(),
        format!("stopped cleanly: {stopped}; threads left: {leaked:?}"),
    );
    ctx.takeaway(
        "Servers clone a service per connection (and axum per request): a rate limit is only a limit \
         if every clone consults one shared limiter, which is why the layer keeps it behind one Arc.",
    );
}

fn tour(ctx: &mut Ctx, rt: &tokio::runtime::Runtime, servers: &mut Vec<Server>) -> io::Result<()> {
    servers.push(Server::start(rt, Some(layer()))?);
    let addr = servers[0].addr;

    // --- one connection: the burst, the 429, another key, the 413 -------------------------------
    let mut conn = Conn::open(addr)?;
    let start = Instant::now();
    let mut steps: Vec<(&str, u32, Reply)> = Vec::new();
    for _ in 0..BURST + 2 {
        steps.push(("alice", 1, conn.get("alice", 1)?));
    }
    steps.push(("bob", 1, conn.get("bob", 1)?));
    steps.push(("carol", BURST + 1, conn.get("carol", BURST + 1)?));
    steps.push(("carol", 1, conn.get("carol", 1)?));
    let elapsed = start.elapsed();
    drop(conn);
    let mut table = ctx.table(
        "one connection, requests in order",
        &[
            "#",
            "x-api-key",
            "x-cost",
            "status",
            "RateLimit-Limit",
            "-Remaining",
            "-Reset (s)",
            "Retry-After (s)",
        ],
    );
    for (i, (key, cost, reply)) in steps.iter().enumerate() {
        table.row([
            (i + 1).to_string(),
            key.to_string(),
            cost.to_string(),
            reply.status.to_string(),
            reply.header("ratelimit-limit"),
            reply.header("ratelimit-remaining"),
            reply.header("ratelimit-reset"),
            reply.header("retry-after"),
        ]);
    }
    ctx.show(table);
    let burst = BURST as usize;
    let alice = &steps[..burst + 2];
    let statuses: Vec<u16> = steps.iter().map(|s| s.2.status).collect();
    ctx.record("http_statuses", statuses.clone());
    let remaining: Vec<Option<u64>> = alice[..burst]
        .iter()
        .map(|s| s.2.num("ratelimit-remaining"))
        .collect();
    ctx.check_with(
        "alice's first 5 requests are admitted (200) with RateLimit-Limit 5 and RateLimit-Remaining \
         4, 3, 2, 1, 0",
        alice[..burst]
            .iter()
            .all(|s| s.2.status == 200 && s.2.num("ratelimit-limit") == Some(u64::from(BURST)))
            && remaining == [4, 3, 2, 1, 0].map(Some),
        format!("statuses {statuses:?}, remaining {remaining:?}"),
    );
    let t_secs = quota().interval().as_secs();
    if bound(elapsed) == u64::from(BURST) {
        let refused: Vec<Option<u64>> = alice[burst..]
            .iter()
            .map(|s| s.2.num("retry-after"))
            .collect();
        ctx.check_with(
            format!(
                "alice's 6th and 7th get 429 with Retry-After between 1 and {t_secs} s (T rounded up) \
                 and RateLimit-Remaining 0"
            ),
            alice[burst..].iter().all(|s| {
                s.2.status == 429
                    && s.2.num("ratelimit-remaining") == Some(0)
                    && s.2.num("retry-after").is_some_and(|r| (1..=t_secs).contains(&r))
            }),
            format!("statuses {statuses:?}, retry-after {refused:?}"),
        );
    } else {
        ctx.skip(
            "alice's 6th and 7th get 429",
            format!("the requests took {elapsed:?}, longer than T: a permit may have accrued"),
        );
    }
    let bob = &steps[burst + 2].2;
    ctx.check_with(
        "bob, another key, is admitted right after alice is refused, from a full bucket (Remaining 4)",
        bob.status == 200 && bob.num("ratelimit-remaining") == Some(u64::from(BURST) - 1),
        format!("{bob:?}"),
    );
    let (big, next) = (&steps[burst + 3].2, &steps[burst + 4].2);
    ctx.check_with(
        "a request costing 6 (> burst 5) gets 413, not 429 (no wait makes it admissible), and takes \
         nothing: carol's next request finds Remaining 4",
        big.status == 413
            && !big.headers.contains_key("retry-after")
            && next.status == 200
            && next.num("ratelimit-remaining") == Some(u64::from(BURST) - 1),
        format!("{big:?}; then {next:?}"),
    );

    // --- N connections at once, one key: one layer for all vs one layer per connection ----------
    let connections = ctx.pick(8, 4);
    let shared = hammer(addr, "dave", connections)?;
    servers.push(Server::start(rt, None)?);
    let broken = hammer(servers[1].addr, "dave", connections)?;
    let rows = [
        (
            "one layer, a clone per connection (the library)",
            shared,
            &servers[0],
        ),
        (
            "a new layer per connection (tower#794's bug)",
            broken,
            &servers[1],
        ),
    ];
    let mut table = ctx.table(
        format!("{connections} connections at once, {BURST} requests each, one key"),
        &[
            "server",
            "services made",
            "requests",
            "admitted",
            "bound floor(e/T)+burst",
            "elapsed",
        ],
    );
    for (name, (admitted, sent, elapsed), server) in &rows {
        table.row([
            name.to_string(),
            server.services.load(Relaxed).to_string(),
            sent.to_string(),
            admitted.to_string(),
            bound(*elapsed).to_string(),
            format!("{elapsed:.1?}"),
        ]);
    }
    ctx.show(table);
    let (admitted, sent, elapsed) = shared;
    ctx.record("http_connections", connections);
    ctx.record("http_shared_admitted", admitted);
    ctx.record("http_per_connection_admitted", broken.0);
    ctx.record(
        "http_requests_per_s",
        (sent + broken.1) as f64 / (elapsed + broken.2).as_secs_f64(),
    );
    // The one-connection part above made one service; these made one each.
    let services = servers[0].services.load(Relaxed);
    ctx.check_with(
        format!(
            "{connections} connections, each served by its own clone of the service, together admit \
             at least the burst and at most floor(e/T) + burst"
        ),
        services == connections + 1 && admitted >= u64::from(BURST) && admitted <= bound(elapsed),
        format!(
            "{services} services made, {admitted} of {sent} admitted in {elapsed:?}, bound {}",
            bound(elapsed)
        ),
    );
    ctx.check_with(
        "a layer per connection admits more than that bound (each connection gets a fresh burst): \
         the check above tells the bug apart",
        broken.0 > bound(broken.2),
        format!(
            "{} of {} admitted in {:?}, bound {}",
            broken.0,
            broken.1,
            broken.2,
            bound(broken.2)
        ),
    );
    Ok(())
}
