//! Redis GCRA checks per second on loopback, with p50 and p99, against a plain `INCR` round trip on
//! the same kind of connection: the floor any one-round-trip limiter on Redis sits on.
//!
//! ```text
//! cargo run --release -p ratelimit --features redis-async --example redis_throughput [-- --url redis://HOST:PORT/ --n 20000]
//! ```
//! Without `--url` it starts its own `redis-server` on a free loopback port (it must be on PATH).
//! One thread, one connection each, the two operations alternating in blocks of 500, so both measure
//! a round trip and the server's work in it under the same load; then the same with 32 tokio tasks
//! in flight on one multiplexed connection (the async limiter), where pipelining raises the rate.
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::redis_server::RedisServer;
use ratelimit::Quota;
use ratelimit::redis::{AsyncRedisGcra, OnError, RedisConfig, RedisGcra, Source};

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Latencies of one operation, gathered over interleaved blocks.
#[derive(Default)]
struct Samples {
    lat: Vec<Duration>,
    total: Duration,
}

impl Samples {
    fn absorb(&mut self, other: Samples) {
        self.lat.extend(other.lat);
        self.total += other.total;
    }

    /// Times `n` calls of `op`, one after another.
    fn block(&mut self, n: usize, mut op: impl FnMut()) {
        let start = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            op();
            self.lat.push(t.elapsed());
        }
        self.total += start.elapsed();
    }

    fn run(mut self) -> Run {
        let n = self.lat.len();
        self.lat.sort_unstable();
        Run {
            per_second: n as f64 / self.total.as_secs_f64(),
            p50: self.lat[n / 2],
            p99: self.lat[(n * 99 / 100).min(n - 1)],
        }
    }
}

/// Operations per block: the two operations alternate in blocks of this many, so a burst of load
/// from elsewhere on the machine falls on both alike.
const BLOCK: usize = 500;

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}\nusage: redis_throughput [--url redis://HOST:PORT/] [--n CHECKS]");
    std::process::exit(2)
}

fn main() {
    let mut url = None;
    let mut n = 20_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--url" => url = Some(args.next().unwrap_or_else(|| usage("--url needs a value"))),
            "--n" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v| v > 0)
                    .unwrap_or_else(|| usage("--n needs a positive number"))
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let _server;
    let url = match url {
        Some(u) => u,
        None => match harness::redis_server::find_redis_server() {
            Some(bin) => {
                let s = RedisServer::start(&bin);
                let u = s.url();
                _server = s;
                u
            }
            None => {
                usage("redis-server is not on PATH (apt-get install redis-server), or pass --url")
            }
        },
    };

    let client = redis::Client::open(url.as_str()).unwrap_or_else(|e| usage(&e.to_string()));
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap_or_else(|e| usage(&format!("cannot connect to {url}: {e}")));
    let key = format!("redis_throughput:incr:{}", std::process::id());
    let mut incr = move || {
        let _: i64 = redis::cmd("INCR").arg(&key).query(&mut con).expect("INCR");
    };

    // 10 000 a second, burst 10: at loopback speed some checks pass and some are denied, so both
    // outcomes (a write, or none) are measured.
    let quota = Quota::per_second(10_000)
        .and_then(|q| q.with_burst(10))
        .expect("quota");
    let config = RedisConfig {
        connections: 1,
        prefix: format!("redis_throughput:{}:", std::process::id()),
        ..RedisConfig::default()
    };
    let limiter =
        RedisGcra::with_config(&url, quota, OnError::FailClosed, config).expect("limiter");
    let admitted = std::cell::Cell::new(0usize);
    let mut check = || {
        let d = limiter.check_key_decision("k", 1);
        assert_eq!(d.source, Source::Redis, "Redis did not decide: {d:?}");
        admitted.set(admitted.get() + usize::from(d.result.is_ok()));
    };

    // Warm-up: connections, allocator, the script loaded.
    let (mut floor, mut gcra) = (Samples::default(), Samples::default());
    floor.block(1000, &mut incr);
    gcra.block(1000, &mut check);
    let (mut floor, mut gcra) = (Samples::default(), Samples::default());
    admitted.set(0);
    let mut left = n;
    while left > 0 {
        let b = left.min(BLOCK);
        floor.block(b, &mut incr);
        gcra.block(b, &mut check);
        left -= b;
    }
    let stats = limiter.stats();
    assert_eq!(stats.from_policy, 0, "{stats:?}");
    let (floor, gcra) = (floor.run(), gcra.run());

    println!(
        "Redis on loopback, one thread, one connection each, {n} operations each, interleaved ({url})"
    );
    report(&floor, &gcra);
    println!("GCRA checks admitted: {} of {n}", admitted.get());

    let (floor, gcra) = pipelined(&url, quota, n);
    println!(
        "\nThe same, async: {TASKS} tokio tasks in flight on one multiplexed connection (one worker thread)"
    );
    report(&floor, &gcra);
}

fn report(floor: &Run, gcra: &Run) {
    println!(
        "{:<26} {:>12} {:>10} {:>10}",
        "operation", "ops/s", "p50 µs", "p99 µs"
    );
    for (name, r) in [
        ("INCR (round-trip floor)", floor),
        ("GCRA check (EVALSHA)", gcra),
    ] {
        println!(
            "{:<26} {:>12.0} {:>10.1} {:>10.1}",
            name,
            r.per_second,
            r.p50.as_secs_f64() * 1e6,
            r.p99.as_secs_f64() * 1e6
        );
    }
    println!(
        "GCRA check / INCR: {:.2}x the time per operation ({:.2}x at p99)",
        floor.per_second / gcra.per_second,
        gcra.p99.as_secs_f64() / floor.p99.as_secs_f64()
    );
}

/// Tasks in flight in the async measurement.
const TASKS: usize = 32;

/// `n` INCRs and `n` GCRA checks from [`TASKS`] tasks at once, in alternating rounds; each task
/// times its own operations.
fn pipelined(url: &str, quota: Quota, n: usize) -> (Run, Run) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let client = redis::Client::open(url).expect("url");
        let con = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let config = RedisConfig {
            prefix: format!("redis_throughput:async:{}:", std::process::id()),
            ..RedisConfig::default()
        };
        let limiter = Arc::new(
            AsyncRedisGcra::with_config(url, quota, OnError::FailClosed, config).expect("limiter"),
        );
        let key = Arc::new(format!("redis_throughput:aincr:{}", std::process::id()));
        let (mut floor, mut gcra) = (Samples::default(), Samples::default());
        let per_task = (n / TASKS / ROUNDS).max(1);
        for round in 0..=ROUNDS {
            // Round 0 warms up and is not kept.
            let incr = {
                let (con, key) = (con.clone(), key.clone());
                round_of(per_task, move || {
                    let (mut con, key) = (con.clone(), key.clone());
                    async move {
                        let _: i64 = redis::cmd("INCR")
                            .arg(&*key)
                            .query_async(&mut con)
                            .await
                            .expect("INCR");
                    }
                })
                .await
            };
            let check = {
                let limiter = limiter.clone();
                round_of(per_task, move || {
                    let limiter = limiter.clone();
                    async move {
                        let d = limiter.check_key_decision("k", 1).await;
                        assert_eq!(d.source, Source::Redis, "Redis did not decide: {d:?}");
                    }
                })
                .await
            };
            if round > 0 {
                floor.absorb(incr);
                gcra.absorb(check);
            }
        }
        assert_eq!(limiter.stats().from_policy, 0);
        (floor.run(), gcra.run())
    })
}

/// Alternating rounds of the async measurement.
const ROUNDS: usize = 4;

/// [`TASKS`] tasks, each running `op` `per_task` times; their latencies and the round's wall time.
async fn round_of<F, Fut>(per_task: usize, op: F) -> Samples
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let t = Instant::now();
                    op().await;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut samples = Samples::default();
    for t in tasks {
        samples.lat.extend(t.await.expect("task"));
    }
    samples.total = start.elapsed();
    samples
}
