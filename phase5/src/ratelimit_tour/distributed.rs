//! `distributed`: one quota shared by several clients through `ratelimit::redis::RedisGcra` (GCRA in a
//! Lua script on a Redis server), the cost of a check against a plain `INCR` round trip, and what the
//! `OnError` policies do while the server is gone and after it is back.
//!
//! The server is a `redis-server` this run starts on a free loopback port (when one is on `PATH`),
//! or the one given with `--redis URL`; with neither, the section says so and is skipped (a failure
//! under `REQUIRE_REDIS=1`, as in CI). Only a server this run started is killed and restarted.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::redis_server::{RedisServer, find_redis_server};
use ratelimit::redis::{OnError, RedisConfig, RedisGcra, RedisStats, Source};
use ratelimit::{Keyed, Quota};

/// `--redis URL`, read by [`super::before`] before the harness parses the rest.
pub(crate) static REDIS_URL: OnceLock<String> = OnceLock::new();

/// How to get a server, printed when there is none.
const INSTALL: &str = "install Redis (Debian/Ubuntu: apt install redis-server; macOS: brew install \
                       redis) or pass --redis redis://HOST:PORT/";

fn quota(count: u32, period: Duration, burst: u32) -> Quota {
    Quota::new(count, period)
        .and_then(|q| q.with_burst(burst))
        .expect("the tour's quotas are valid")
}

/// Keys of this run, apart from any other run's on a shared server.
fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("rl-tour:{}:{nanos}:", std::process::id())
}

fn config(prefix: &str, connections: usize) -> RedisConfig {
    RedisConfig {
        prefix: prefix.to_owned(),
        // Generous: a check that times out is decided by the policy, which the checks below count
        // as a failure; a loaded 2-core machine must not cause one.
        connect_timeout: Duration::from_secs(1),
        io_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        connections,
    }
}

fn limiter(
    url: &str,
    quota: Quota,
    on_error: OnError,
    config: RedisConfig,
) -> Result<RedisGcra, String> {
    RedisGcra::with_config(url, quota, on_error, config).map_err(|e| e.to_string())
}

/// The `q`-quantile of sorted latencies.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

pub(crate) fn run(ctx: &mut Ctx) {
    let required = std::env::var("REQUIRE_REDIS").is_ok_and(|v| v == "1");
    let (mut server, url) = match REDIS_URL.get() {
        Some(url) => (None, url.clone()),
        None => {
            match find_redis_server() {
                Some(bin) => {
                    let server = RedisServer::start(&bin);
                    let url = server.url();
                    (Some(server), url)
                }
                None => {
                    // On stderr, so that it shows with --json too (where stdout is the document).
                    eprintln!(
                        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !! SKIPPED: redis-server is not on PATH and no --redis URL was given.\n\
                     !! To run this section, {INSTALL}.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                    );
                    if required {
                        ctx.check_with(
                            "a Redis server to run against (REQUIRE_REDIS=1)",
                            false,
                            format!("redis-server is not on PATH: {INSTALL}"),
                        );
                    } else {
                        ctx.skip(
                        "the distributed section (RedisGcra on a Redis server)",
                        format!("redis-server is not on PATH and no --redis URL was given: {INSTALL}"),
                    );
                    }
                    return;
                }
            }
        }
    };
    ctx.say(format!(
        "RedisGcra against {url} ({}): GCRA in one Lua script per check, on the server's clock.",
        if server.is_some() {
            "a redis-server this run started on a free port"
        } else {
            "given with --redis"
        }
    ));
    let prefix = run_prefix();
    let answers = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
    if let Err(e) = answers {
        ctx.check_with(
            format!("the Redis server at {url} answers PING"),
            false,
            e.to_string(),
        );
        return;
    }
    if let Err(e) = tour(ctx, &url, &prefix, server.as_mut()) {
        ctx.check_with("every step could talk to Redis", false, e);
    }
    if let Some(server) = server {
        let addr = server.addr();
        drop(server);
        let refused = std::net::TcpStream::connect_timeout(
            &addr.parse().expect("127.0.0.1:port parses"),
            Duration::from_millis(500),
        )
        .is_err();
        ctx.check_with(
            "the redis-server this run started is stopped (its port refuses connections)",
            refused,
            format!("{addr}: connection refused: {refused}"),
        );
    }
    ctx.takeaway(
        "A quota shared across processes needs one place that decides; Redis decides one script at a \
         time for about the price of a round trip, and the OnError policy says what happens when \
         that place is gone: admit everything, deny everything, or fall back to a local limit.",
    );
}

fn tour(
    ctx: &mut Ctx,
    url: &str,
    prefix: &str,
    server: Option<&mut RedisServer>,
) -> Result<(), String> {
    shared_quota(ctx, url, prefix)?;
    latency(ctx, url, prefix)?;
    match server {
        Some(server) => outage(ctx, url, prefix, server),
        None => {
            ctx.skip(
                "OnError while Redis is down, and recovery",
                "the server was given with --redis: only a redis-server this run started is killed",
            );
            Ok(())
        }
    }
}

/// Several clients (each its own `RedisGcra`, with its own connections), each used by several
/// threads, all on one key, for a while: counted admissions against the shared bound.
fn shared_quota(ctx: &mut Ctx, url: &str, prefix: &str) -> Result<(), String> {
    // 100/s, burst 10: T = 10 ms. Six threads asking back to back outrun it as long as a round
    // trip takes less than 60 ms.
    let quota = quota(100, Duration::from_secs(1), 10);
    let (clients, threads_each) = (3, 2);
    let run_for = ctx.pick(Duration::from_millis(1000), Duration::from_millis(250));
    let limiters: Vec<RedisGcra> = (0..clients)
        .map(|_| limiter(url, quota, OnError::FailClosed, config(prefix, 2)))
        .collect::<Result<_, _>>()?;
    // Counted by the callers from the answers (Relaxed: read after the threads are joined).
    let admitted = AtomicU64::new(0);
    let checks = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for l in &limiters {
            for _ in 0..threads_each {
                let (admitted, checks) = (&admitted, &checks);
                s.spawn(move || {
                    while start.elapsed() < run_for {
                        checks.fetch_add(1, Relaxed);
                        if l.check_key_decision("shared", 1).result.is_ok() {
                            admitted.fetch_add(1, Relaxed);
                        }
                    }
                });
            }
        }
    });
    let elapsed = start.elapsed();
    let (admitted, checks) = (admitted.into_inner(), checks.into_inner());
    let stats: Vec<RedisStats> = limiters.iter().map(RedisGcra::stats).collect();
    let from_redis: u64 = stats.iter().map(|s| s.from_redis).sum();
    // The script reads the server's clock (CLOCK_REALTIME, which NTP may slew by up to 500 ppm),
    // `elapsed` ours (CLOCK_MONOTONIC): the span is stretched by 0.1 % so that a rate difference
    // between the two cannot make a correct limiter look over its bound (at most one permit here;
    // clients limiting apart would overshoot by a whole bound each).
    let stretched = elapsed + elapsed / 1000;
    let bound =
        (stretched.as_nanos() / quota.interval().as_nanos()) as u64 + u64::from(quota.burst());
    // Each client limiting on its own (a local Gcra each) could admit its own bound.
    let alone = clients as u64 * bound;
    let mut table = ctx.table(
        format!(
            "{clients} clients × {threads_each} threads, one key, 100/s burst 10, for {elapsed:.2?}"
        ),
        &[
            "checks",
            "decided by Redis",
            "admitted",
            "bound floor(e/T)+burst",
            "if each client limited alone",
            "checks/s",
        ],
    );
    let per_s = checks as f64 / elapsed.as_secs_f64();
    table.row([
        checks.to_string(),
        from_redis.to_string(),
        admitted.to_string(),
        bound.to_string(),
        format!("≤ {alone}"),
        format!("{per_s:.0}"),
    ]);
    ctx.show(table);
    ctx.record("redis_shared_checks", checks);
    ctx.record("redis_shared_admitted", admitted);
    ctx.record("redis_shared_bound", bound);
    ctx.record("redis_checks_per_s", per_s);
    ctx.check_with(
        format!(
            "{clients} clients on one key together admit at least the burst and at most floor(e/T) + \
             burst, e measured around all their checks; every check was decided by Redis, and some \
             were denied (the clients asked for more than the quota)"
        ),
        admitted >= u64::from(quota.burst())
            && admitted <= bound
            && from_redis == checks
            && checks > admitted,
        format!("{admitted} admitted of {checks} checks ({from_redis} by Redis), bound {bound}"),
    );
    Ok(())
}

/// One thread, one connection: a check's round trip against a plain INCR's.
fn latency(ctx: &mut Ctx, url: &str, prefix: &str) -> Result<(), String> {
    let n: usize = ctx.pick(3000, 300);
    let quota = quota(1_000_000, Duration::from_secs(1), 1000);
    let gcra = limiter(url, quota, OnError::FailClosed, config(prefix, 1))?;
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    con.set_read_timeout(Some(Duration::from_secs(2)))
        .and_then(|()| con.set_write_timeout(Some(Duration::from_secs(2))))
        .map_err(|e| e.to_string())?;
    let counter = format!("{prefix}incr");
    let mut incr = Vec::with_capacity(n);
    let mut check = Vec::with_capacity(n);
    let mut sources_ok = true;
    // Interleaved, so a burst of load on the machine hits both alike; one warm-up round first.
    for i in 0..=n {
        let t = Instant::now();
        let _: i64 = redis::cmd("INCR")
            .arg(&counter)
            .query(&mut con)
            .map_err(|e| format!("INCR: {e}"))?;
        let a = t.elapsed();
        let t = Instant::now();
        let d = gcra.check_key_decision("latency", 1);
        let b = t.elapsed();
        if i > 0 {
            incr.push(a);
            check.push(b);
            sources_ok &= d.source == Source::Redis;
        }
    }
    let _: Result<i64, _> = redis::cmd("DEL").arg(&counter).query(&mut con);
    incr.sort();
    check.sort();
    let (i50, i99, c50, c99) = (
        quantile(&incr, 0.5),
        quantile(&incr, 0.99),
        quantile(&check, 0.5),
        quantile(&check, 0.99),
    );
    let mean = |v: &[Duration]| v.iter().sum::<Duration>() / v.len().max(1) as u32;
    let mut table = ctx.table(
        format!("one thread, {n} round trips each, interleaved"),
        &["operation", "p50 µs", "p99 µs", "mean µs"],
    );
    table.row([
        "INCR (the floor: one round trip)".to_string(),
        us(i50),
        us(i99),
        us(mean(&incr)),
    ]);
    table.row([
        "RedisGcra::check (EVALSHA of the script)".to_string(),
        us(c50),
        us(c99),
        us(mean(&check)),
    ]);
    ctx.show(table);
    let ratio = c50.as_secs_f64() / i50.as_secs_f64().max(1e-9);
    ctx.record("redis_incr_p50_us", i50.as_secs_f64() * 1e6);
    ctx.record("redis_incr_p99_us", i99.as_secs_f64() * 1e6);
    ctx.record("redis_check_p50_us", c50.as_secs_f64() * 1e6);
    ctx.record("redis_check_p99_us", c99.as_secs_f64() * 1e6);
    ctx.record("redis_check_over_incr_p50", ratio);
    let stats = gcra.stats();
    ctx.say(format!(
        "A check costs {ratio:.2}× an INCR at the median: the same one round trip, plus the script's \
         work on the server."
    ));
    ctx.check_with(
        format!(
            "{n} checks over one connection, each one EVALSHA: one connection opened, the script \
             loaded at most once, every check decided by Redis"
        ),
        stats.connects == 1
            && stats.script_loads <= 1
            && stats.from_redis == n as u64 + 1
            && sources_ok,
        format!("{stats:?}"),
    );
    Ok(())
}

/// Three limiters, one per policy; the server is killed, each decides 10 checks by its policy; the
/// server is restarted (empty) and limiting through it resumes.
fn outage(ctx: &mut Ctx, url: &str, prefix: &str, server: &mut RedisServer) -> Result<(), String> {
    const TRIES: usize = 10;
    // 5 at once, then one a minute: nothing accrues during the section.
    let quota = quota(1, Duration::from_secs(60), 5);
    let local_burst = 3;
    let fallback: Arc<Keyed<String>> = Arc::new(Keyed::new(
        quota.with_burst(local_burst).map_err(|e| e.to_string())?,
    ));
    let policies: [(&str, OnError); 3] = [
        ("FailOpen", OnError::FailOpen),
        ("FailClosed", OnError::FailClosed),
        ("Fallback(local, burst 3)", OnError::Fallback(fallback)),
    ];
    let limiters: Vec<(&str, RedisGcra)> = policies
        .into_iter()
        .map(|(name, p)| limiter(url, quota, p, config(prefix, 1)).map(|l| (name, l)))
        .collect::<Result<_, _>>()?;
    let up: Vec<bool> = limiters
        .iter()
        .map(|(_, l)| l.check_key_decision("warm-up", 1).source == Source::Redis)
        .collect();
    server.kill();
    let mut during = Vec::new();
    for (name, l) in &limiters {
        let before = l.stats();
        let admitted = (0..TRIES)
            .filter(|_| l.check_key_decision("outage", 1).result.is_ok())
            .count();
        let after = l.stats();
        during.push((*name, admitted, after.from_policy - before.from_policy));
    }
    server.restart();
    // Back: each limiter reconnects after its backoff (≤ 50 ms) and reloads the script into the
    // empty server; checks on a fresh key are decided by Redis again.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut after = Vec::new();
    for (i, (name, l)) in limiters.iter().enumerate() {
        let loads = l.stats().script_loads;
        while l.check_key_decision("probe", 0).source != Source::Redis && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let decisions: Vec<_> = (0..quota.burst() + 2)
            .map(|_| l.check_key_decision(&format!("after-{i}"), 1))
            .collect();
        let admitted = decisions.iter().filter(|d| d.result.is_ok()).count();
        let by_redis = decisions.iter().all(|d| d.source == Source::Redis);
        after.push((*name, admitted, by_redis, l.stats().script_loads - loads));
    }
    let mut table = ctx.table(
        format!("the server killed: {TRIES} checks on a fresh key per policy (quota burst 5); then restarted"),
        &[
            "OnError",
            "admitted while down",
            "decided by the policy",
            "admitted after restart (of 7)",
            "by Redis",
            "script reloads",
        ],
    );
    for ((name, a, p), (_, a2, r2, loads)) in during.iter().zip(&after) {
        table.row([
            name.to_string(),
            format!("{a}/{TRIES}"),
            p.to_string(),
            a2.to_string(),
            r2.to_string(),
            loads.to_string(),
        ]);
    }
    ctx.show(table);
    let admitted_down: Vec<usize> = during.iter().map(|d| d.1).collect();
    ctx.record("redis_outage_admitted", admitted_down.clone());
    ctx.check_with(
        format!(
            "while Redis is down every decision comes from the policy: FailOpen admits all {TRIES}, \
             FailClosed none, Fallback exactly its local burst ({local_burst})"
        ),
        up.iter().all(|&u| u)
            && admitted_down == [TRIES, 0, local_burst as usize]
            && during.iter().all(|d| d.2 == TRIES as u64),
        format!("up before: {up:?}; (policy, admitted, by policy): {during:?}"),
    );
    ctx.check_with(
        "after the restart limiting goes through Redis again for every policy: 5 of 7 admitted on a \
         fresh key, all decided by Redis; the script was loaded once into the new server (by the \
         first limiter back, which found it gone)",
        after
            .iter()
            .all(|&(_, a, r, _)| a == quota.burst() as usize && r)
            && after.iter().map(|a| a.3).sum::<u64>() == 1,
        format!("(policy, admitted, by Redis, reloads): {after:?}"),
    );
    Ok(())
}
