//! `work-stealing`: the skewed tree sum ([`workload`]) five ways on the same threads: sequential, a
//! static split (one top-level subtree per thread, the imbalance made visible), our pool on our
//! Chase–Lev deque, the same pool on crossbeam-deque, and rayon's `join`. Prints time (median of a
//! few runs), speed-up over sequential, steals, and the ratio to rayon; checks every result equals
//! the sequential one, that work was stolen, and that no worker thread outlives its pool.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::contracts::deque::{CrossbeamDeque, WorkDeque};
use harness::leaks::ThreadLeakCheck;
use harness::stats::{Summary, fmt_duration, fmt_ratio};

use crate::steal::ChaseLev;
use crate::steal::scheduler::StealingPool;
use crate::steal::workload;

/// One implementation's measurement.
struct Run {
    name: &'static str,
    time: Duration,
    /// Successful steals per run, when the implementation exposes them.
    steals: Option<f64>,
    value: u64,
}

/// Median of `reps` timed runs of `f` (after one untimed warm-up), and the value of the last one.
fn measure(reps: usize, mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut value = f();
    let mut samples: Vec<Duration> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            value = std::hint::black_box(f());
            t0.elapsed()
        })
        .collect();
    (Summary::of(&mut samples).p50, value)
}

fn ours_on<D: WorkDeque>(name: &'static str, threads: usize, reps: usize, n: u64) -> Run {
    let pool = StealingPool::<D>::new(threads);
    pool.install(|ctx| workload::ours(ctx, 0, n)); // warm the workers (first spawn, first park)
    let before = pool.steals();
    let (time, value) = measure(reps, || pool.install(|ctx| workload::ours(ctx, 0, n)));
    // `measure` runs reps + 1 times (one warm-up).
    let steals = (pool.steals() - before) as f64 / (reps + 1) as f64;
    Run {
        name,
        time,
        steals: Some(steals),
        value,
    }
}

/// Runs the `work-stealing` section.
pub fn run(ctx: &mut Ctx) {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4);
    let n: u64 = ctx.pick(3_000_000, 1_000_000);
    let reps = ctx.pick(5, 1);
    ctx.say(format!(
        "A skewed tree of {n} nodes (each node's left subtree holds 7/8 of its descendants; ~20 ns \
         per node; subtrees under {} nodes summed sequentially), {threads} threads, median of {reps} \
         runs.",
        workload::GRAIN
    ));
    let leak = ThreadLeakCheck::named("steal-worker");

    let mut runs = Vec::new();
    let (time, value) = measure(reps, || workload::sequential(0, n));
    runs.push(Run {
        name: "sequential",
        time,
        steals: None,
        value,
    });
    let sequential = runs[0].time;
    let expected = runs[0].value;

    // The static split: the root here, its left subtree on one thread, its right on another.
    let (time, value) = measure(reps, || {
        let rest = n - 1;
        let left = rest * 7 / 8;
        std::thread::scope(|s| {
            let l = s.spawn(|| workload::sequential(1, left));
            let r = workload::sequential(1 + left, rest - left);
            workload::node_value(0) + l.join().expect("no panic") + r
        })
    });
    runs.push(Run {
        name: "static split (2 threads)",
        time,
        steals: None,
        value,
    });

    runs.push(ours_on::<ChaseLev>("ours (Chase–Lev)", threads, reps, n));
    runs.push(ours_on::<CrossbeamDeque>(
        "ours on crossbeam-deque",
        threads,
        reps,
        n,
    ));

    let rayon_pool = ::rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("steal-rayon-{i}"))
        .build()
        .expect("a rayon pool");
    let (time, value) = measure(reps, || rayon_pool.install(|| workload::rayon(0, n)));
    drop(rayon_pool);
    runs.push(Run {
        name: "rayon::join",
        time,
        steals: None,
        value,
    });
    let rayon = runs[4].time;

    let mut table = ctx.table(
        format!("skewed tree sum, n = {n}, {threads} threads"),
        &[
            "implementation",
            "time",
            "speed-up",
            "steals/run",
            "vs rayon",
            "result",
        ],
    );
    for r in &runs {
        table.row([
            r.name.to_string(),
            fmt_duration(r.time),
            fmt_ratio(sequential, r.time),
            r.steals.map_or("n/a".into(), |s| format!("{s:.1}")),
            fmt_ratio(r.time, rayon),
            if r.value == expected {
                "✓ equal"
            } else {
                "✗ differs"
            }
            .to_string(),
        ]);
        ctx.record(
            format!("{}_ns", r.name.split(' ').next().unwrap_or(r.name)),
            r.time.as_nanos() as u64,
        );
    }
    ctx.show(table);
    ctx.record(
        "ours_vs_rayon",
        runs[2].time.as_secs_f64() / rayon.as_secs_f64(),
    );

    ctx.check_with(
        "every implementation computes the sequential sum",
        runs.iter().all(|r| r.value == expected),
        format!("sum = {expected}"),
    );
    let steals = runs[2].steals.unwrap_or(0.0);
    ctx.check_with(
        "our workers stole work (the skewed tree is rebalanced by thieves)",
        steals > 0.0,
        format!("{steals:.1} steals per run"),
    );
    let leaked = leak.leaked_after(Duration::from_secs(2));
    ctx.check_with(
        "every worker thread joined when its pool was dropped",
        leaked.is_empty(),
        format!("{} left", leaked.len()),
    );
    let static_speed = sequential.as_secs_f64() / runs[1].time.as_secs_f64();
    let ours_speed = sequential.as_secs_f64() / runs[2].time.as_secs_f64();
    let verdict = if ours_speed > static_speed * 1.1 {
        format!(
            "stealing the oldest (largest) job rebalances it: ours {} with ≈ {steals:.1} steals per run",
            fmt_ratio(sequential, runs[2].time)
        )
    } else {
        format!(
            "on this run stealing did not beat it (ours {}): both cores were not free (a loaded \
             machine), though ≈ {steals:.1} steals per run show the thieves at work",
            fmt_ratio(sequential, runs[2].time)
        )
    };
    ctx.takeaway(format!(
        "A static split of a 7/8-skewed tree gets {} of the ideal {threads}×; {verdict}. rayon {}; \
         ours takes {} rayon's time.",
        fmt_ratio(sequential, runs[1].time),
        fmt_ratio(sequential, rayon),
        fmt_ratio(runs[2].time, rayon),
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_section_passes_its_checks_quickly() {
        let mut ctx = harness::Ctx::for_test("work-stealing");
        super::run(&mut ctx);
        assert_eq!(ctx.failed(), 0, "{:?}", ctx.checks());
    }
}
