//! `false-sharing`: the same per-thread counting, packed into one cache line vs padded apart.
use std::time::Duration;

use harness::Ctx;
use harness::stats::{fmt_duration, fmt_ratio};

use crate::lockfree::counters::{self, CounterSet, Packed, Padded};

const THREADS: usize = 2;

/// Runs `rounds` short rounds, alternating the layouts so both see the same machine conditions;
/// returns each layout's median time, whether every count was exact, and the median overlap.
fn measure(rounds: usize, iters: u64) -> [(Duration, bool, f64); 2] {
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut overlaps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut exact = [true; 2];
    for _ in 0..rounds {
        let packed = counters::hammer(&Packed::default(), THREADS, iters);
        let padded = counters::hammer(&Padded::default(), THREADS, iters);
        for (i, run) in [packed, padded].into_iter().enumerate() {
            exact[i] &= run.counts.iter().all(|&c| c == iters);
            times[i].push(run.elapsed);
            overlaps[i].push(run.overlap);
        }
    }
    [0, 1].map(|i| {
        let mut t = std::mem::take(&mut times[i]);
        let mut o = std::mem::take(&mut overlaps[i]);
        o.sort_by(f64::total_cmp);
        (
            harness::stats::Summary::of(&mut t).p50,
            exact[i],
            o[o.len() / 2],
        )
    })
}

pub(crate) fn run(ctx: &mut Ctx) {
    // Many short rounds rather than one long one: a round fits in a scheduling slice, so on a loaded
    // machine the two threads still tend to run at the same time (the overlap column says how much).
    let iters: u64 = ctx.pick(200_000, 100_000);
    let rounds = ctx.pick(100, 8);
    ctx.say(format!(
        "{THREADS} threads, each adds 1 to its *own* counter {iters} times (a Relaxed load and store; one writer per counter). Only the \
         memory layout differs. Median of {rounds} alternating rounds."
    ));
    let (packed_set, padded_set) = (Packed::default(), Padded::default());
    let strides = [counters::stride(&packed_set), counters::stride(&padded_set)];
    let line_of = |p: *const std::sync::atomic::AtomicU64| p as usize / 64;
    let packed_one_line = line_of(packed_set.counter(0)) == line_of(packed_set.counter(1));
    let [
        (packed, packed_exact, packed_overlap),
        (padded, padded_exact, padded_overlap),
    ] = measure(rounds, iters);
    let mut t = ctx.table(
        "per-thread counters",
        &[
            "layout",
            "bytes between counters",
            "time",
            "per increment",
            "threads overlapped",
            "counts exact",
        ],
    );
    for (name, stride, time, overlap, ok) in [
        (
            Packed::NAME,
            strides[0],
            packed,
            packed_overlap,
            packed_exact,
        ),
        (
            Padded::NAME,
            strides[1],
            padded,
            padded_overlap,
            padded_exact,
        ),
    ] {
        t.row([
            name.to_string(),
            stride.to_string(),
            fmt_duration(time),
            format!("{:.2} ns", time.as_secs_f64() * 1e9 / iters as f64),
            format!("{:.0} %", overlap * 100.0),
            ok.to_string(),
        ]);
    }
    ctx.show(t);
    let ratio = packed.as_secs_f64() / padded.as_secs_f64();
    ctx.record("packed_over_padded", ratio);
    ctx.record("packed_ns", packed.as_nanos() as u64);
    ctx.record("padded_ns", padded.as_nanos() as u64);
    ctx.check_with(
        "every counter reached exactly its thread's increments, both layouts",
        packed_exact && padded_exact,
        format!("{THREADS} × {iters}"),
    );
    ctx.check_with(
        "the packed counters share one 64-byte line; the padded ones are a line or more apart",
        packed_one_line && strides[0] == 8 && strides[1] >= 64,
        format!("strides {} B and {} B", strides[0], strides[1]),
    );
    ctx.record("packed_overlap", packed_overlap);
    ctx.takeaway(format!(
        "packed / padded = {} in this run: the threads share nothing but a cache line, and that line \
         bouncing between cores is the whole difference. It only costs while both run at once (here \
         {:.0} % of a packed round); on a loaded 2-core machine that shrinks the gap.",
        fmt_ratio(packed, padded),
        packed_overlap * 100.0
    ));
}
