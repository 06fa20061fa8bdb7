//! `bench`: what a benchmark harness (criterion, our `benchkit` config) protects you from, shown live.
//!
//! 1. The optimiser deletes work whose result is unused: `std::hint::black_box` hides a value from it.
//! 2. The first pass over fresh memory pays page faults (and cold caches): a warm-up discards it.
//! 3. Repeated samples of the same work spread: a harness takes many and reports a robust centre.
use std::hint::black_box;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{Summary, fmt_bytes, fmt_duration};

/// A cheap, non-foldable mixing step (a multiply, a rotate, an xor).
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x
}

/// One timed run of the opaque `calls`-iteration loop. Not inlined, so the 1× and the 2× samples run
/// the very same machine code. With the loop inlined at both call sites, the two copies ran at
/// different speeds per call: the 2×-work sample measured 1.3×–1.8× the 1× one, and the check below
/// failed in 3 of 10 quick runs (project machine, 2026-12-07); with one copy it measured 1.8×–2.3×.
#[inline(never)]
fn timed_loop(calls: u64) -> Duration {
    let t0 = Instant::now();
    for i in 0..calls {
        black_box(mix(black_box(i)));
    }
    t0.elapsed()
}

/// Total time of three versions of the same `n`-iteration loop.
fn black_box_demo(n: u64) -> [Duration; 3] {
    // 1. Result discarded: nothing observable depends on the loop, so the optimiser may delete it.
    let t0 = Instant::now();
    let _discarded = (0..n).map(mix).fold(0u64, u64::wrapping_add);
    let deleted = t0.elapsed();
    // 2. Only the final sum escapes: the loop must run, but may be vectorised and unrolled freely.
    let t0 = Instant::now();
    black_box((0..n).map(mix).fold(0u64, u64::wrapping_add));
    let sum_only = t0.elapsed();
    // 3. Every input and every result pass through black_box: one real call per iteration.
    let t0 = Instant::now();
    for i in 0..n {
        black_box(mix(black_box(i)));
    }
    let each = t0.elapsed();
    [deleted, sum_only, each]
}

/// Minor page faults of the calling thread so far.
fn minor_faults() -> u64 {
    #[cfg(target_os = "linux")]
    let who = libc::RUSAGE_THREAD;
    #[cfg(not(target_os = "linux"))]
    let who = libc::RUSAGE_SELF;
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own; no other invariant.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    usage.ru_minflt as u64
}

/// Writes every byte of a fresh buffer `passes` times: (time, minor faults) per pass.
fn warm_up_demo(bytes: usize, passes: usize) -> Vec<(Duration, u64)> {
    // `vec![0; n]` asks the allocator for zeroed memory: for a large buffer that is a fresh mapping
    // whose pages do not exist until first touched.
    let mut buf = vec![0u8; bytes];
    let mut out = Vec::with_capacity(passes);
    for pass in 0..passes {
        let f0 = minor_faults();
        let t0 = Instant::now();
        for b in buf.iter_mut() {
            *b = b.wrapping_add(pass as u8 + 1);
        }
        black_box(&mut buf);
        out.push((t0.elapsed(), minor_faults() - f0));
    }
    out
}

/// The smallest non-zero step between two consecutive clock readings.
fn clock_resolution() -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..1_000 {
        let a = Instant::now();
        let mut b = Instant::now();
        while b == a {
            b = Instant::now();
        }
        best = best.min(b - a);
    }
    best
}

pub(crate) fn run(ctx: &mut Ctx) {
    // 1. black_box.
    let n: u64 = ctx.pick(20_000_000, 2_000_000);
    let [deleted, sum_only, each] = black_box_demo(n);
    let per_iter = |d: Duration| format!("{:.3} ns", d.as_secs_f64() * 1e9 / n as f64);
    let mut t = ctx.table(
        format!("the same loop of {n} mix() calls, time per iteration"),
        &[
            "version",
            "whole loop",
            "per iteration",
            "what the optimiser did",
        ],
    );
    t.row([
        "result discarded".to_string(),
        fmt_duration(deleted),
        per_iter(deleted),
        "deleted the loop (nothing depends on it)".into(),
    ]);
    t.row([
        "black_box(sum)".to_string(),
        fmt_duration(sum_only),
        per_iter(sum_only),
        "kept it, free to vectorise and unroll".into(),
    ]);
    t.row([
        "black_box(mix(black_box(i)))".to_string(),
        fmt_duration(each),
        per_iter(each),
        "one opaque call per iteration: what a bench means".into(),
    ]);
    ctx.show(t);
    ctx.record("black_box_deleted_loop_ns", deleted.as_nanos() as u64);
    ctx.record("black_box_each_loop_ns", each.as_nanos() as u64);

    // 2. Warm-up.
    let bytes = ctx.pick(64 << 20, 8 << 20);
    let passes = 5;
    let runs = warm_up_demo(bytes, passes);
    let mut t = ctx.table(
        format!(
            "writing a fresh {} buffer, pass by pass",
            fmt_bytes(bytes as u64)
        ),
        &["pass", "time", "minor page faults"],
    );
    for (i, (d, faults)) in runs.iter().enumerate() {
        t.row([(i + 1).to_string(), fmt_duration(*d), faults.to_string()]);
    }
    ctx.show(t);
    let first = runs[0];
    let mut warm: Vec<Duration> = runs[1..].iter().map(|r| r.0).collect();
    let warm_p50 = Summary::of(&mut warm).p50;
    let later_faults = runs[1..].iter().map(|r| r.1).max().unwrap_or(0);
    ctx.record(
        "cold_over_warm",
        first.0.as_secs_f64() / warm_p50.as_secs_f64(),
    );

    // 3. Noise.
    let samples = ctx.pick(40, 12);
    let work = ctx.pick(200_000u64, 50_000);
    let sample = |calls: u64| timed_loop(black_box(calls));
    // Each sample is followed by one of twice the work, so a change of machine load hits both
    // series alike: the self-check below compares their fastest samples. On a loaded machine a whole
    // series can be slowed (all 12 quick samples preempted), so the series is taken again, up to
    // ATTEMPTS times, until the ratio is in range; a loop that measures nothing (optimised away, or
    // a timer read in the wrong place) is out of range every time.
    const ATTEMPTS: usize = 5;
    let series = || -> (Vec<Duration>, Vec<Duration>) {
        (0..samples)
            .map(|_| (sample(work), sample(2 * work)))
            .unzip()
    };
    let ratio = |times: &[Duration], doubled: &[Duration]| {
        let min = *times.iter().min().expect("samples");
        let min_doubled = *doubled.iter().min().expect("samples");
        min_doubled.as_secs_f64() / min.as_secs_f64()
    };
    let (mut times, doubled) = series();
    let mut attempts = 1;
    let (mut times, doubled) = {
        let mut current = (std::mem::take(&mut times), doubled);
        while attempts < ATTEMPTS && !(1.6..=2.6).contains(&ratio(&current.0, &current.1)) {
            current = series();
            attempts += 1;
        }
        current
    };
    let min = *times.iter().min().expect("samples");
    let s = Summary::of(&mut times);
    let mean = s.mean.as_secs_f64();
    let sd = (times
        .iter()
        .map(|d| (d.as_secs_f64() - mean).powi(2))
        .sum::<f64>()
        / times.len() as f64)
        .sqrt();
    let outliers = times.iter().filter(|d| **d > s.p50 * 3 / 2).count();
    let resolution = clock_resolution();
    let mut t = ctx.table(
        format!("{samples} samples of the same {work}-call loop"),
        &[
            "min",
            "p50",
            "mean",
            "p99",
            "max",
            "max/min",
            "std dev / mean",
            "> 1.5× p50",
        ],
    );
    t.row([
        fmt_duration(min),
        fmt_duration(s.p50),
        fmt_duration(s.mean),
        fmt_duration(s.p99),
        fmt_duration(s.max),
        format!("{:.2}×", s.max.as_secs_f64() / min.as_secs_f64()),
        format!("{:.1} %", 100.0 * sd / mean),
        outliers.to_string(),
    ]);
    ctx.show(t);
    ctx.record(
        "noise_max_over_min",
        s.max.as_secs_f64() / min.as_secs_f64(),
    );
    ctx.say(format!(
        "clock resolution (smallest step of Instant::now): {}. criterion does all of the above for every \
         bench: warm-up time, many samples, a linear fit of time against iteration count, outlier \
         classification; `benchkit::config()` sizes it for this 2-core machine.",
        fmt_duration(resolution)
    ));

    ctx.check_with(
        "without black_box the loop was optimised away (the whole loop ≥ 10× faster than with it)",
        deleted * 10 <= each,
        format!("{} vs {}", fmt_duration(deleted), fmt_duration(each)),
    );
    ctx.check_with(
        "the cold first pass page-faulted; warm passes faulted at most a tenth as often",
        first.1 > 0 && later_faults * 10 <= first.1,
        format!("{} faults, then ≤ {later_faults}", first.1),
    );
    // The samples measure the loop, not the clock or the harness: twice the calls take about twice
    // as long (an optimised-away loop, or a timer read in the wrong place, gives ~1× or 0/0).
    let min_doubled = *doubled.iter().min().expect("samples");
    let scaling = min_doubled.as_secs_f64() / min.as_secs_f64();
    ctx.record("noise_doubled_work_ratio", scaling);
    ctx.check_with(
        "twice the work, twice the time: the fastest 2×-work sample is 1.6×–2.6× the fastest 1× one",
        (1.6..=2.6).contains(&scaling),
        format!(
            "{} vs {} ({scaling:.2}×, series taken {attempts}× of at most {ATTEMPTS}); clock resolution {}",
            fmt_duration(min_doubled),
            fmt_duration(min),
            fmt_duration(resolution)
        ),
    );
    ctx.takeaway(format!(
        "unused results vanish ({} vs {} for the loop), the first pass over fresh memory took {:.1}× a \
         warm one ({} page faults), and identical samples spread {:.2}× from fastest to slowest: black_box, \
         warm up, and report a median of many samples.",
        fmt_duration(deleted),
        fmt_duration(each),
        first.0.as_secs_f64() / warm_p50.as_secs_f64(),
        first.1,
        s.max.as_secs_f64() / min.as_secs_f64()
    ));
}
