//! `happens-before`: message passing through a flag with Relaxed vs Release/Acquire, live; then the
//! store-buffering litmus test on this CPU. loom's verdicts are in `tests/loom_reliable.rs`.
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;

use crate::reliable::litmus::{Flavor, store_buffering};
use crate::reliable::message::Sequence;

/// Streams `n` sequence numbers through `Sequence`; returns (reads, stale reads, elapsed).
fn message_passing(n: u64, ordered: bool, deadline: Duration) -> (u64, u64, Duration) {
    let seq = Arc::new(Sequence::new());
    let t0 = Instant::now();
    let writer = {
        let seq = Arc::clone(&seq);
        thread::Builder::new()
            .name("hb-writer".into())
            .spawn(move || {
                for i in 1..=n {
                    seq.publish(i, ordered);
                    if i % 4096 == 0 && t0.elapsed() > deadline {
                        break;
                    }
                }
            })
            .expect("spawn writer")
    };
    let (mut reads, mut stale) = (0u64, 0u64);
    loop {
        let (s, d) = seq.read(ordered);
        reads += 1;
        if d < s {
            stale += 1;
        }
        if s == n || (reads % 4096 == 0 && (writer.is_finished() || t0.elapsed() > deadline)) {
            break;
        }
    }
    writer.join().expect("writer");
    (reads, stale, t0.elapsed())
}

pub(super) fn run(ctx: &mut Ctx) {
    // Part 1: message passing.
    let n = ctx.pick(2_000_000u64, 200_000);
    // Each run stops at its deadline; the section's deadlines add up to ≤ 6.5 s (≤ 1.5 s with --quick).
    let deadline = ctx.pick(Duration::from_secs(1), Duration::from_millis(250));
    ctx.say(format!(
        "1. Message passing: a writer stores data = i, then seq = i (i = 1..{n}); a reader loads seq, \
         then data. Seeing seq = s promises data >= s only if the seq store is Release and the load \
         Acquire. A read with data < s is stale: the bug, if this CPU and compiler produce it."
    ));
    let mut t = ctx.table(
        "message passing, live on this CPU",
        &[
            "seq store / load",
            "reads",
            "stale reads (data < seq)",
            "time",
        ],
    );
    let mut stale_ordered = 0;
    let mut stale_relaxed = 0;
    let mut reads_total = 0;
    for ordered in [false, true] {
        let (reads, stale, took) = message_passing(n, ordered, deadline);
        reads_total += reads;
        if ordered {
            stale_ordered = stale;
        } else {
            stale_relaxed = stale;
        }
        t.row([
            if ordered {
                "Release / Acquire"
            } else {
                "Relaxed / Relaxed (wrong)"
            }
            .to_string(),
            reads.to_string(),
            stale.to_string(),
            format!("{:.0} ms", took.as_secs_f64() * 1e3),
        ]);
    }
    ctx.show(t);
    ctx.say(format!(
        "On {}, stale reads of the Relaxed version are {}: x86 keeps stores in order and loads in \
         order (TSO), so the hardware rarely shows this bug; ARM and POWER do, and so may a compiler. \
         loom does not depend on luck: `make loom` runs tests/loom_reliable.rs, where the Relaxed \
         mailbox fails (a should_panic model) and the Release/Acquire one passes.",
        std::env::consts::ARCH,
        if stale_relaxed == 0 {
            "0 here".to_string()
        } else {
            format!("{stale_relaxed} here")
        }
    ));
    ctx.record("mp_stale_relaxed", stale_relaxed);
    ctx.record("mp_stale_release_acquire", stale_ordered);

    // Part 2: store buffering.
    let iterations = ctx.pick(200_000usize, 20_000);
    let sb_deadline = ctx.pick(Duration::from_millis(1500), Duration::from_millis(250));
    ctx.say(format!(
        "2. Store buffering: A: x = 1; r1 = y  ||  B: y = 1; r2 = x, {iterations} fresh (x, y) pairs, \
         both threads released together each iteration by a spinning barrier. SeqCst forbids \
         r1 == r2 == 0; Relaxed and Release/Acquire allow it (a store may wait in the store buffer \
         while the later load runs)."
    ));
    let mut t = ctx.table(
        "store buffering, live on this CPU",
        &[
            "orderings",
            "iterations",
            "r1 == r2 == 0",
            "per million",
            "one 0",
            "both 1",
            "overlapped",
            "CPUs",
            "time",
        ],
    );
    let mut results = Vec::new();
    for flavor in Flavor::ALL {
        let r = store_buffering(flavor, iterations, sb_deadline);
        t.row([
            flavor.label().to_string(),
            format!(
                "{}{}",
                r.iterations,
                if r.cut_short { " (deadline)" } else { "" }
            ),
            r.both_zero.to_string(),
            format!(
                "{:.0}",
                r.both_zero as f64 * 1e6 / r.iterations.max(1) as f64
            ),
            r.one_zero.to_string(),
            r.both_one.to_string(),
            format!(
                "{:.1} %",
                (r.both_zero + r.both_one) as f64 * 100.0 / r.iterations.max(1) as f64
            ),
            r.pinned
                .map_or("not pinned".to_string(), |(a, b)| format!("{a} + {b}")),
            format!("{:.0} ms", r.elapsed.as_secs_f64() * 1e3),
        ]);
        results.push(r);
    }
    ctx.show(t);
    ctx.say(
        "'overlapped' = iterations whose two store/load pairs ran at the same time (both 0 or both 1); \
         the threads are pinned to two CPUs, but on this shared machine one of them is sometimes busy with \
         other work; when 'overlapped' is near 0 the threads took turns and no reordering could show.",
    );
    let by = |f: Flavor| results.iter().find(|r| r.flavor == f).expect("ran");
    let (relaxed, acqrel, seqcst) = (
        by(Flavor::Relaxed),
        by(Flavor::AcquireRelease),
        by(Flavor::SeqCst),
    );
    for r in &results {
        ctx.record(
            format!("sb_both_zero_{:?}", r.flavor).to_lowercase(),
            r.both_zero,
        );
        ctx.record(
            format!("sb_iterations_{:?}", r.flavor).to_lowercase(),
            r.iterations,
        );
    }
    ctx.takeaway(format!(
        "Only SeqCst forbids r1 == r2 == 0: this CPU showed it {} times with Relaxed, {} with \
         Release/Acquire and {} with SeqCst; Release/Acquire orders a store before later stores, not \
         before a later load.",
        relaxed.both_zero, acqrel.both_zero, seqcst.both_zero
    ));
    ctx.check_with(
        "message passing with Release/Acquire: 0 stale reads",
        stale_ordered == 0 && reads_total > 0,
        format!("{stale_ordered} stale"),
    );
    ctx.check_with(
        "every litmus run completed iterations before its deadline",
        results.iter().all(|r| r.iterations > 0),
        results
            .iter()
            .map(|r| r.iterations.to_string())
            .collect::<Vec<_>>()
            .join(" / "),
    );
    ctx.check_with(
        "SeqCst: r1 == r2 == 0 never observed",
        seqcst.both_zero == 0,
        format!("{} of {}", seqcst.both_zero, seqcst.iterations),
    );
}
