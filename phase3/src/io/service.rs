//! A loopback TCP service with a simulated service time, and closed- and open-loop load generators.
//!
//! The service has `workers` slots (a semaphore: think of a database pool or a disk queue). A
//! request is a frame of `batch` items (see [`broker::write_frame`](super::broker::write_frame));
//! serving it holds a slot for `per_request + batch · per_item` (a tokio sleep: IO wait, not CPU),
//! then answers 12 bytes: the item count and a checksum of the items, which the client verifies.
//!
//! The closed-loop load is `conns` connections, each sending its next request as soon as the
//! previous answer arrives (in flight is then pinned at `conns × batch`); the open-loop load sends
//! requests at Poisson arrival times whatever the service is doing, so the queue, and the in-flight
//! count, rise and fall with the luck of the arrivals. Latency is measured per request by the client and recorded once per
//! item (weight `batch`) in an HDR histogram; the in-flight item count is an atomic counter raised
//! before a request is written and lowered after its answer is read, read by a sampler thread at
//! random instants (random, so the samples do not fall in step with the timer wheel's ticks).
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::broker::{read_frame, write_frame};
use super::delivery::{Tally, item};
use super::log::SplitMix;

/// The simulated service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Requests served at once.
    pub workers: usize,
    /// Fixed cost of one request (a round trip, a seek, an fsync).
    pub per_request: Duration,
    /// Extra cost per item in the request.
    pub per_item: Duration,
}

/// The offered load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Concurrent connections, each with one request outstanding at a time.
    pub conns: usize,
    /// Items per request.
    pub batch: u32,
    /// Time run before the measurement window opens.
    pub warmup: Duration,
    /// The measurement window.
    pub measure: Duration,
}

/// One measured point of a sweep.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Requests answered inside the window.
    pub requests: u64,
    /// Items answered inside the window.
    pub items: u64,
    /// The window's length.
    pub window: Duration,
    /// Per-item latency in µs (a request's latency recorded `batch` times).
    pub latency_us: Histogram<u64>,
    /// Time-average of the in-flight item count over the window (sampled).
    pub in_flight: f64,
    /// In-flight samples taken in the window.
    pub samples: u64,
    /// Answers whose count or checksum did not match the request (must be 0).
    pub bad_replies: u64,
}

impl Measured {
    /// Mean per-item latency.
    pub fn mean_latency(&self) -> Duration {
        Duration::from_secs_f64(self.latency_us.mean() / 1e6)
    }

    /// A latency quantile (`q` in 0..=1).
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency_us.value_at_quantile(q))
    }

    /// Items per second in the window.
    pub fn throughput(&self) -> f64 {
        self.items as f64 / self.window.as_secs_f64()
    }

    /// Little's law for this point, in items.
    pub fn little(&self) -> super::little::Little {
        super::little::littles_law(self.items, self.window, self.mean_latency(), self.in_flight)
    }
}

async fn handle(sock: TcpStream, slots: Arc<Semaphore>, model: Model) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    while let Some(items) = read_frame(&mut r).await? {
        let permit = slots.acquire().await.map_err(std::io::Error::other)?;
        tokio::time::sleep(model.per_request + model.per_item * items.len() as u32).await;
        drop(permit);
        let mut reply = [0u8; 12];
        reply[..4].copy_from_slice(&(items.len() as u32).to_le_bytes());
        reply[4..].copy_from_slice(&Tally::of(&items).checksum.to_le_bytes());
        w.write_all(&reply).await?;
    }
    Ok(())
}

/// Serves until `stop` is cancelled, then waits for the open connections to be closed by their
/// clients; every connection task is joined before this returns.
pub async fn serve(listener: TcpListener, model: Model, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(model.workers.max(1)));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => { conns.spawn(handle(sock, slots.clone(), model)); }
                Err(_) => break,
            },
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

struct ClientOut {
    hist: Histogram<u64>,
    requests: u64,
    items: u64,
    bad: u64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn client(
    addr: SocketAddr,
    id: u32,
    batch: u32,
    in_flight: Arc<AtomicU64>,
    window: (Instant, Instant),
) -> std::io::Result<ClientOut> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let mut out = ClientOut {
        hist: histogram(),
        requests: 0,
        items: 0,
        bad: 0,
    };
    let mut seq = 0u32;
    let mut frame = Vec::with_capacity(4 + 8 * batch as usize);
    while Instant::now() < window.1 {
        let items: Vec<u64> = (0..batch).map(|k| item(id, seq.wrapping_add(k))).collect();
        seq = seq.wrapping_add(batch);
        frame.clear();
        write_frame(&mut frame, &items).await?;
        // Relaxed: the counter is a statistic read by the sampler; no other memory hangs on it.
        in_flight.fetch_add(u64::from(batch), Ordering::Relaxed);
        let t0 = Instant::now();
        sock.write_all(&frame).await?;
        let mut reply = [0u8; 12];
        sock.read_exact(&mut reply).await?;
        let t1 = Instant::now();
        in_flight.fetch_sub(u64::from(batch), Ordering::Relaxed);
        let n = u32::from_le_bytes(reply[..4].try_into().expect("4 bytes"));
        let sum = u64::from_le_bytes(reply[4..].try_into().expect("8 bytes"));
        if n != batch || sum != Tally::of(&items).checksum {
            out.bad += 1;
        }
        if t1 >= window.0 && t1 <= window.1 {
            let us = (t1 - t0).as_micros().clamp(1, 60_000_000) as u64;
            out.hist
                .record_n(us, u64::from(batch))
                .expect("latency within the histogram's bounds");
            out.requests += 1;
            out.items += u64::from(batch);
        }
    }
    Ok(out)
}

/// Samples `in_flight` at random instants (50–450 µs apart) inside `window`; returns (mean, samples).
fn sample(
    in_flight: &AtomicU64,
    window: (Instant, Instant),
    abort: &AtomicBool,
    seed: u64,
) -> (f64, u64) {
    let mut rng = SplitMix::new(seed);
    let (mut sum, mut n) = (0u64, 0u64);
    // Relaxed: `abort` only ends the loop early when the run failed; it guards no data.
    while !abort.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now > window.1 {
            break;
        }
        if now >= window.0 {
            sum += in_flight.load(Ordering::Relaxed); // a statistic, see `client`
            n += 1;
        }
        thread::sleep(Duration::from_micros(50 + rng.below(400)));
    }
    (if n == 0 { 0.0 } else { sum as f64 / n as f64 }, n)
}

/// How the load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    /// `conns` clients, each with one request outstanding.
    Closed { conns: usize, batch: u32 },
    /// Poisson arrivals of one-item requests at `rate` per second over `pool` pooled connections.
    Open { rate: f64, pool: usize },
}

async fn closed_loop(
    addr: SocketAddr,
    conns: usize,
    batch: u32,
    in_flight: Arc<AtomicU64>,
    window: (Instant, Instant),
) -> std::io::Result<ClientOut> {
    let mut clients = JoinSet::new();
    for id in 0..conns {
        clients.spawn(client(addr, id as u32, batch, in_flight.clone(), window));
    }
    let mut total = ClientOut {
        hist: histogram(),
        requests: 0,
        items: 0,
        bad: 0,
    };
    let mut first_err = None;
    while let Some(r) = clients.join_next().await {
        match r.map_err(std::io::Error::other).and_then(|r| r) {
            Ok(c) => {
                total.hist.add(&c.hist).expect("same histogram bounds");
                total.requests += c.requests;
                total.items += c.items;
                total.bad += c.bad;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(total), Err)
}

/// One open-loop request: counted in flight from its arrival, including any wait for a pooled
/// connection. Returns (arrival, answer, answer matched).
async fn open_request(
    pool: Arc<(Semaphore, tokio::sync::Mutex<Vec<TcpStream>>)>,
    it: u64,
    in_flight: Arc<AtomicU64>,
) -> std::io::Result<(Instant, Instant, bool)> {
    in_flight.fetch_add(1, Ordering::Relaxed); // a statistic, see `client`
    let t0 = Instant::now();
    let permit = pool.0.acquire().await.map_err(std::io::Error::other)?;
    let mut sock = pool
        .1
        .lock()
        .await
        .pop()
        .expect("a permit guarantees a connection");
    let mut frame = Vec::with_capacity(12);
    write_frame(&mut frame, &[it]).await?;
    sock.write_all(&frame).await?;
    let mut reply = [0u8; 12];
    sock.read_exact(&mut reply).await?;
    pool.1.lock().await.push(sock);
    drop(permit);
    let t1 = Instant::now();
    in_flight.fetch_sub(1, Ordering::Relaxed);
    let ok =
        reply[..4] == 1u32.to_le_bytes() && reply[4..] == Tally::of(&[it]).checksum.to_le_bytes();
    Ok((t0, t1, ok))
}

async fn open_loop(
    addr: SocketAddr,
    rate: f64,
    pool_size: usize,
    in_flight: Arc<AtomicU64>,
    window: (Instant, Instant),
) -> std::io::Result<ClientOut> {
    let mut conns = Vec::with_capacity(pool_size);
    for _ in 0..pool_size.max(1) {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        conns.push(s);
    }
    let pool = Arc::new((Semaphore::new(conns.len()), tokio::sync::Mutex::new(conns)));
    let mut rng = SplitMix::new(0xA11CE ^ rate.to_bits());
    let mut requests = JoinSet::new();
    let mut next = Instant::now();
    let mut seq = 0u32;
    while next < window.1 {
        tokio::time::sleep_until(next.into()).await;
        requests.spawn(open_request(pool.clone(), item(0, seq), in_flight.clone()));
        seq = seq.wrapping_add(1);
        // Exponential gaps: a Poisson process of `rate` arrivals per second.
        let u = (rng.below(1 << 53) as f64 + 1.0) / (1u64 << 53) as f64;
        next += Duration::from_secs_f64(-u.ln() / rate.max(1e-9));
    }
    let mut out = ClientOut {
        hist: histogram(),
        requests: 0,
        items: 0,
        bad: 0,
    };
    while let Some(r) = requests.join_next().await {
        let (t0, t1, ok) = r.map_err(std::io::Error::other).and_then(|r| r)?;
        out.bad += u64::from(!ok);
        if t1 >= window.0 && t1 <= window.1 {
            let us = (t1 - t0).as_micros().clamp(1, 60_000_000) as u64;
            out.hist
                .record(us)
                .expect("latency within the histogram's bounds");
            out.requests += 1;
            out.items += 1;
        }
    }
    Ok(out)
}

/// Runs the service and a closed-loop load on a runtime of its own (2 workers, threads `io-tvl`) plus
/// one sampler thread (`io-tvl-sample`), under `deadline`; every thread is joined before returning.
pub fn measure(model: Model, load: Load, deadline: Duration) -> Result<Measured, String> {
    run_point(
        model,
        Driver::Closed {
            conns: load.conns,
            batch: load.batch,
        },
        load.warmup,
        load.measure,
        deadline,
    )
}

/// Like [`measure`], with an open-loop load: one-item requests arriving as a Poisson process of
/// `rate` per second, each sent on a free connection of a pool of `pool` (waiting for one counts as
/// latency and as in flight). Arrivals are paced by tokio's timer, so they bunch on its 1 ms ticks.
pub fn measure_open(
    model: Model,
    rate: f64,
    pool: usize,
    warmup: Duration,
    window: Duration,
    deadline: Duration,
) -> Result<Measured, String> {
    run_point(model, Driver::Open { rate, pool }, warmup, window, deadline)
}

fn run_point(
    model: Model,
    driver: Driver,
    warmup: Duration,
    measure: Duration,
    deadline: Duration,
) -> Result<Measured, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("io-tvl")
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let in_flight = Arc::new(AtomicU64::new(0));
    let abort = Arc::new(AtomicBool::new(false));
    let start = Instant::now() + Duration::from_millis(20) + warmup;
    let window = (start, start + measure);
    let sampler = {
        let (in_flight, abort) = (in_flight.clone(), abort.clone());
        thread::Builder::new()
            .name("io-tvl-sample".into())
            .spawn(move || sample(&in_flight, window, &abort, 0x5EED))
            .map_err(|e| format!("sampler thread: {e}"))?
    };
    let result = rt.block_on(async {
        let work = async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let stop = CancellationToken::new();
            let server = tokio::spawn(serve(listener, model, stop.clone()));
            let total = match driver {
                Driver::Closed { conns, batch } => {
                    closed_loop(addr, conns, batch, in_flight.clone(), window).await
                }
                Driver::Open { rate, pool } => {
                    open_loop(addr, rate, pool, in_flight.clone(), window).await
                }
            };
            stop.cancel(); // the clients closed their connections; the server drains and returns
            let _ = server.await;
            total
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(r) => r.map_err(|e| format!("service run failed: {e}")),
            Err(_) => Err(format!("service run missed its {deadline:?} deadline")),
        }
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    abort.store(true, Ordering::Relaxed); // see `sample`
    let (mean, samples) = sampler
        .join()
        .map_err(|_| "sampler thread panicked".to_string())?;
    let total = result?;
    Ok(Measured {
        requests: total.requests,
        items: total.items,
        window: measure,
        latency_us: total.hist,
        in_flight: mean,
        samples,
        bad_replies: total.bad,
    })
}
