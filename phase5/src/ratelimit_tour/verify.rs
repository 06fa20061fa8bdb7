//! `verify`: request traces replayed through every algorithm on a virtual clock, each judged against
//! the quota's bound and against the ideal limiter (`ratelimit::verify` defines the measures; the
//! `ratelimit-verify` CLI runs the same replay on a user's own CSV trace).
use std::fmt::Write;

use harness::Ctx;
use harness::rng::XorShift64Star as Rng;
use ratelimit::Quota;
use ratelimit::verify::{Algorithm, Report, parse_trace, replay};

/// The three traces, as CSV text (what a user would feed `ratelimit-verify`).
fn traces(quota: Quota, keys: u32, seconds: u64) -> Vec<(&'static str, String)> {
    let t = quota.interval_ns();
    let w = quota.window_ns();
    let b = quota.burst();
    let line = |out: &mut String, at: u64, key: u32| {
        let _ = writeln!(
            out,
            "{}.{:09},k{key}",
            at / 1_000_000_000,
            at % 1_000_000_000
        );
    };
    // Steady: exactly one request per interval per key, which every limiter should admit in full.
    let mut steady = String::from("time,key,cost\n");
    for i in 0..seconds * 1_000_000_000 / t {
        for k in 0..keys {
            line(&mut steady, i * t, k);
        }
    }
    // Edge bursts: a full burst just before each window boundary and another right on it — the
    // pattern that lets a fixed window admit two bursts in one instant.
    let mut edges = String::from("time,key,cost\n");
    for n in 1..seconds * 1_000_000_000 / (2 * w) {
        for at in [2 * n * w - 1_000, 2 * n * w] {
            for _ in 0..b {
                for k in 0..keys {
                    line(&mut edges, at, k);
                }
            }
        }
    }
    // Poisson arrivals at 1.5× the rate, per key: the everyday overload.
    let mut poisson = String::from("time,key,cost\n");
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mean = t as f64 / 1.5;
    let mut next: Vec<u64> = (0..keys).map(|_| 0).collect();
    let end = seconds * 1_000_000_000;
    loop {
        let (k, at) = next
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(_, at)| at)
            .unwrap();
        if at >= end {
            break;
        }
        line(&mut poisson, at, k as u32);
        next[k] = at + (-rng.unit().ln() * mean) as u64;
    }
    vec![
        ("steady", steady),
        ("edge bursts", edges),
        ("poisson 1.5x", poisson),
    ]
}

pub(crate) fn run(ctx: &mut Ctx) {
    let quota = Quota::per_second(100)
        .and_then(|q| q.with_burst(10))
        .expect("a valid quota");
    let (keys, seconds) = ctx.pick((20, 20), (5, 4));
    ctx.say(format!(
        "Quota: 100/s, burst 10 (T = {:?}). Three traces of {seconds} s over {keys} keys, written as \
         CSV and parsed back, replayed through each algorithm on a virtual clock and beside the ideal \
         (GCRA). The same replay runs on your own trace: cargo run -p ratelimit --features cli --bin \
         ratelimit-verify -- trace.csv --rate 100/s --burst 10",
        quota.interval()
    ));
    let mut table = ctx.table(
        "replays",
        &[
            "trace",
            "algorithm",
            "requests",
            "admitted",
            "worst window (admitted / bound)",
            "largest burst",
            "false rejects",
            "over-admits",
        ],
    );
    let mut reports: Vec<(&str, Report)> = Vec::new();
    for (name, csv) in traces(quota, keys, seconds) {
        let trace = match parse_trace(&csv) {
            Ok(t) => t,
            Err(e) => {
                ctx.check_with(format!("the {name} trace parses"), false, e.to_string());
                return;
            }
        };
        for &algorithm in Algorithm::ALL {
            let r = replay(&trace, quota, algorithm);
            let worst = r.worst_window.as_ref().map_or("-".to_string(), |w| {
                format!("{} / {} in {:?}", w.admitted, w.allowed, w.length())
            });
            table.row([
                name.to_string(),
                r.name.to_string(),
                r.requests.to_string(),
                r.admitted.to_string(),
                worst,
                r.largest_burst.to_string(),
                r.false_rejects.to_string(),
                r.over_admits.to_string(),
            ]);
            reports.push((name, r));
        }
    }
    ctx.show(table);
    for (trace, r) in &reports {
        let key = format!("{}/{}", r.algorithm.cli_name(), trace.replace(' ', "_"));
        ctx.record(format!("{key}/admitted"), r.admitted);
        ctx.record(format!("{key}/false_rejects"), r.false_rejects);
        ctx.record(
            format!("{key}/worst_excess"),
            r.worst_window.as_ref().map_or(0, |w| w.excess()),
        );
    }
    let of = |trace: &str, a: Algorithm| {
        reports
            .iter()
            .find(|(t, r)| *t == trace && r.algorithm == a)
            .map(|(_, r)| r)
            .expect("every pair was replayed")
    };
    let gcra_steady = of("steady", Algorithm::Gcra);
    ctx.check_with(
        "GCRA admits a trace at exactly the rate in full",
        gcra_steady.denied == 0 && gcra_steady.admitted == gcra_steady.requests,
        format!("{} of {}", gcra_steady.admitted, gcra_steady.requests),
    );
    for trace in ["steady", "edge bursts", "poisson 1.5x"] {
        let r = of(trace, Algorithm::Gcra);
        let w = r.worst_window.as_ref();
        ctx.check_with(
            format!("GCRA stays within floor(e/T)+burst on every window ({trace})"),
            w.is_some_and(|w| w.excess() <= 0) && r.largest_burst <= u64::from(quota.burst()),
            format!(
                "worst: {}; largest burst {}",
                w.map_or("nothing admitted".to_string(), |w| format!(
                    "{} admitted in {:?}, bound {}",
                    w.admitted,
                    w.length(),
                    w.allowed
                )),
                r.largest_burst
            ),
        );
    }
    let poisson = of("poisson 1.5x", Algorithm::Gcra);
    let expected = (seconds * 100 + 10) * keys as u64;
    ctx.check_with(
        "under 1.5x overload GCRA admits about the quota (within 5 % of rate × time + burst)",
        (poisson.admitted as f64) > 0.95 * expected as f64 && poisson.admitted <= expected,
        format!("{} admitted, quota allows {expected}", poisson.admitted),
    );
    ctx.takeaway(
        "Judge a limiter by replaying traces on virtual time: the worst window says whether it ever \
         broke the quota, the false rejects what it refused that the ideal would have let through.",
    );
}
