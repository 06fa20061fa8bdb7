//! Section `park`: the park/unpark token, and what a wake-up costs.
//!
//! Go: a goroutine blocked on a channel is parked by the runtime (`gopark`) and readied by the other
//! side (`goready`), usually on the same P, for ~100-200 ns. Rust: a blocked thread sleeps in the
//! kernel (futex), and waking it on another core goes through the OS scheduler; only spinning avoids
//! that, at the price of a burnt core.
use std::time::{Duration, Instant};

use harness::exercise::Ctx;
use harness::stats::{Summary, fmt_duration, fmt_ratio};
use harness::watchdog::{self, Outcome};

use crate::scheduler::pingpong::{
    Crossbeam, OursCondvarEvent, OursParker, PingPong, Pinned, Signal, Spin, StdCondvar, StdMpsc,
    StdPark, TokioPingPong,
};
use crate::scheduler::{CondvarEvent, Parker};

/// Runs `f` on a watched thread; how long it took, or `None` if it did not return within 2 s.
fn watched(name: &str, f: impl FnOnce() -> bool + Send + 'static) -> Option<(bool, Duration)> {
    match watchdog::run(name, Duration::from_secs(2), move || {
        let t0 = Instant::now();
        let r = f();
        (r, t0.elapsed())
    }) {
        Outcome::Finished(v) => Some(v),
        Outcome::Panicked(_) => None,
        Outcome::TimedOut(stuck) => {
            // Nothing else can wake it; report and move on (Drop of `Stuck` records the leak).
            drop(stuck);
            None
        }
    }
}

/// p50 of the half round trip (one wake-up) over `rounds` batches of `iters` round trips.
fn half_round_trip(rounds: usize, iters: u64, mut time: impl FnMut(u64) -> Duration) -> Duration {
    time(iters / 4 + 1); // warm-up: both sides running, caches and futex state settled
    let mut per: Vec<Duration> = (0..rounds)
        .map(|_| time(iters) / (2 * iters as u32))
        .collect();
    Summary::of(&mut per).p50
}

/// Measures `A` and `B` in alternating batches (this thread on core 0, partners on core 1), so both
/// see the same machine: on a shared VM the cost of a cross-core wake-up drifts between runs.
fn measure_pair<A: Signal, B: Signal>(rounds: usize, iters: u64) -> [(String, Duration); 2] {
    let _me = Pinned::to(0);
    let mut a = PingPong::<A>::start_on(Some(1));
    let mut b = PingPong::<B>::start_on(Some(1));
    a.time(iters / 4 + 1);
    b.time(iters / 4 + 1);
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        pa.push(a.time(iters) / (2 * iters as u32));
        pb.push(b.time(iters) / (2 * iters as u32));
    }
    [
        (A::NAME.to_string(), Summary::of(&mut pa).p50),
        (B::NAME.to_string(), Summary::of(&mut pb).p50),
    ]
}

/// Measures `S` with this thread on core 0 and the partner on `partner_core`.
fn measure_on<S: Signal>(rounds: usize, iters: u64, partner_core: usize) -> Duration {
    let _me = Pinned::to(0);
    let mut pp = PingPong::<S>::start_on(Some(partner_core));
    half_round_trip(rounds, iters, |n| pp.time(n))
}

/// Cross-core: this thread on core 0, the partner on core 1.
fn measure<S: Signal>(rounds: usize, iters: u64) -> (String, Duration) {
    (S::NAME.to_string(), measure_on::<S>(rounds, iters, 1))
}

/// The section.
pub fn run(ctx: &mut Ctx) {
    ctx.say(
        "The token: unpark() before park() is not lost, it leaves a token that the next park() \
         consumes at once. Each demo runs on a watched thread (2 s deadline).",
    );
    let mut t = ctx.table("token semantics, live", &["demo", "returned", "took"]);
    let demos: Vec<(&str, Option<(bool, Duration)>)> = vec![
        (
            "ours: unparker.unpark(); then parker.park()",
            watched("token-ours", || {
                let p = Parker::new();
                p.unparker().unpark();
                p.park();
                true
            }),
        ),
        (
            "std: thread::current().unpark(); then thread::park()",
            watched("token-std", || {
                std::thread::current().unpark();
                std::thread::park();
                true
            }),
        ),
        (
            "ours: CondvarEvent notify(); then wait()",
            watched("token-condvar", || {
                let e = CondvarEvent::new();
                e.notify();
                e.wait();
                true
            }),
        ),
        (
            "ours: three unpark()s make one token (2nd park_timeout(20 ms) times out)",
            watched("token-once", || {
                let p = Parker::new();
                let u = p.unparker();
                u.unpark();
                u.unpark();
                u.unpark();
                p.park();
                !p.park_timeout(Duration::from_millis(20))
            }),
        ),
        (
            "ours: park_timeout(20 ms) with no token returns false",
            watched("token-timeout", || {
                !Parker::new().park_timeout(Duration::from_millis(20))
            }),
        ),
    ];
    let mut all_returned = true;
    for (what, r) in &demos {
        let ok = matches!(r, Some((true, _)));
        all_returned &= ok;
        t.row([
            what.to_string(),
            if ok {
                "yes".to_string()
            } else {
                format!("NO: {r:?}")
            },
            r.map_or("-".into(), |(_, d)| fmt_duration(d)),
        ]);
    }
    ctx.show(t);
    ctx.check(
        "every token demo returned as the token semantics say",
        all_returned,
    );

    let rounds = ctx.pick(9, 5);
    let iters: u64 = ctx.pick(300, 60);
    let spin_iters: u64 = ctx.pick(20_000, 2_000);
    ctx.say(format!(
        "Wake-up round trip: a ping-pong between two threads pinned to cores 0 and 1 ({rounds} batches × \
         {iters} round trips; p50 of the batches, halved = one wake-up). tokio-notify is two tasks on a \
         2-worker runtime, then this thread (in block_on) and a task; the last row pins both threads to one core (a wake-up is then a context switch)."
    ));
    // Every mechanism here blocks: a lost wake-up would hang the ping-pong, so the whole
    // measurement runs on a watched thread with a deadline.
    let measured = watchdog::run("wake-measure", Duration::from_secs(60), move || {
        let mut results: Vec<(String, Duration)> = Vec::new();
        results.extend(measure_pair::<OursParker, StdPark>(rounds, iters));
        results.extend(measure_pair::<OursCondvarEvent, StdCondvar>(rounds, iters));
        results.extend([
            measure::<Crossbeam>(rounds, iters),
            measure::<StdMpsc>(rounds, iters),
        ]);
        let tp = TokioPingPong::start();
        results.extend([
            (
                "tokio-notify (task ↔ task)".to_string(),
                half_round_trip(rounds, iters, |n| tp.time(n)),
            ),
            (
                "tokio-notify (thread ↔ task)".to_string(),
                half_round_trip(rounds, iters, |n| tp.time_from_thread(n)),
            ),
        ]);
        drop(tp);
        results.extend([
            measure::<Spin>(rounds, spin_iters),
            (
                "std-park, both threads on core 0".to_string(),
                measure_on::<StdPark>(rounds, iters, 0),
            ),
        ]);
        results
    });
    let mut results = match measured {
        Outcome::Finished(r) => r,
        other => {
            let what = if other.timed_out() {
                "missed its 60 s deadline (lost wake-up?)"
            } else {
                "panicked"
            };
            ctx.check_with("the wake-up measurement finished", false, what);
            return; // a timed-out `Stuck` is dropped here: reported on stderr and counted
        }
    };
    results.sort_by_key(|r| r.1);
    let spin = results
        .iter()
        .find(|r| r.0 == "spin")
        .map_or(Duration::ZERO, |r| r.1);
    let mut w = ctx.table(
        "one wake-up (half a round trip), fastest first",
        &["mechanism", "per wake-up", "vs spin"],
    );
    for (name, d) in &results {
        w.row([name.clone(), fmt_duration(*d), fmt_ratio(*d, spin)]);
        ctx.record(format!("wake_ns/{name}"), d.as_nanos() as u64);
    }
    ctx.show(w);
    let get = |name: &str| {
        results
            .iter()
            .find(|r| r.0 == name)
            .map_or(Duration::ZERO, |r| r.1)
    };
    let parked = get("std-park");
    let ours = get("ours-parker");
    let same_core = get("std-park, both threads on core 0");
    let tokio = get("tokio-notify (task ↔ task)");
    ctx.takeaway(format!(
        "waking a parked thread on the other core costs {} (futex wake, scheduler, inter-processor interrupt; a halted vCPU must be resumed first), {} on the \
         same core (a context switch), {} between tokio tasks (no thread sleeps), a spin hand-off {} ({} \
         faster than park): spin only for waits shorter than a wake-up, and only with a core to spare",
        fmt_duration(parked),
        fmt_duration(same_core),
        fmt_duration(tokio),
        fmt_duration(spin),
        fmt_ratio(parked, spin),
    ));
    ctx.check_with(
        "a spin hand-off is ≥ 5× faster than a park/unpark wake-up",
        spin * 5 < parked,
        format!(
            "spin {} vs std-park {}",
            fmt_duration(spin),
            fmt_duration(parked)
        ),
    );
    ctx.check_with(
        "our parker is within 10× of std park/unpark (the same futex underneath; a wide margin, as \
         the cross-core wake-up cost is bimodal on this VM)",
        ours < parked * 10,
        format!(
            "ours {} vs std {}",
            fmt_duration(ours),
            fmt_duration(parked)
        ),
    );
}
