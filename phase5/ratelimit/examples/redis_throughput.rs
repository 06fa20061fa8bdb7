//! Redis GCRA checks per second on loopback, with p50 and p99, against a plain `INCR` round trip on
//! the same kind of connection: the floor any one-round-trip limiter on Redis sits on.
//!
//! ```text
//! cargo run --release -p ratelimit --features redis --example redis_throughput [-- --url redis://HOST:PORT/ --n 20000]
//! ```
//! Without `--url` it starts its own `redis-server` on a free loopback port (it must be on PATH).
//! One thread, one connection, so both loops measure a round trip and the server's work in it.
use std::time::{Duration, Instant};

use harness::redis_server::RedisServer;
use ratelimit::Quota;
use ratelimit::redis::{OnError, RedisConfig, RedisGcra, Source};

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Times `n` calls of `op`, one after another.
fn measure(n: usize, mut op: impl FnMut()) -> Run {
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        op();
        lat.push(t.elapsed());
    }
    let total = start.elapsed();
    lat.sort_unstable();
    Run {
        per_second: n as f64 / total.as_secs_f64(),
        p50: lat[n / 2],
        p99: lat[(n * 99 / 100).min(n - 1)],
    }
}

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
    // Warm-up: connection, allocator, the script loaded.
    let mut incr = || {
        let _: i64 = redis::cmd("INCR").arg(&key).query(&mut con).expect("INCR");
    };
    for _ in 0..1000 {
        incr();
    }
    let floor = measure(n, incr);
    let _: () = redis::cmd("DEL").arg(&key).query(&mut con).expect("DEL");

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
    for _ in 0..1000 {
        let _ = limiter.check_key_decision("k", 1);
    }
    let before = limiter.stats();
    let mut admitted = 0usize;
    let gcra = measure(n, || {
        let d = limiter.check_key_decision("k", 1);
        assert_eq!(d.source, Source::Redis, "Redis did not decide: {d:?}");
        admitted += usize::from(d.result.is_ok());
    });
    let stats = limiter.stats();
    assert_eq!(stats.from_policy, before.from_policy, "{stats:?}");

    println!("Redis on loopback, one thread, one connection, {n} operations each ({url})");
    println!(
        "{:<26} {:>12} {:>10} {:>10}",
        "operation", "ops/s", "p50 µs", "p99 µs"
    );
    for (name, r) in [
        ("INCR (round-trip floor)", &floor),
        ("GCRA check (EVALSHA)", &gcra),
    ] {
        println!(
            "{:<26} {:>12.0} {:>10.1} {:>10.1}",
            name,
            r.per_second,
            r.p50.as_secs_f64() * 1e6,
            r.p99.as_secs_f64() * 1e6
        );
    }
    println!("GCRA checks admitted: {admitted} of {n}");
    println!(
        "GCRA check / INCR: {:.2}x the time per operation ({:.2}x at p99)",
        floor.per_second / gcra.per_second,
        gcra.p99.as_secs_f64() / floor.p99.as_secs_f64()
    );
}
