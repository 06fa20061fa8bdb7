//! Section `cpu-vs-io`: how many threads should a pool have?
//!
//! Go sizes its scheduler with `GOMAXPROCS` = cores and lets blocked goroutines cost nothing; the
//! question reappears as soon as you pick a worker count for a pool. Rust makes you pick it (rayon:
//! cores; tokio: cores + a blocking pool of up to 512). The measurement answers it: CPU-bound work
//! stops scaling at the number of cores; work that waits scales until the cores are busy, i.e. up to
//! cores × (1 + wait/compute) threads (Little's law: in-flight = throughput × time in the system).
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use harness::exercise::Ctx;
use harness::stats::{Summary, fmt_duration, fmt_rate};

/// A pure-arithmetic kernel (xorshift steps); `black_box` keeps the optimiser from removing it.
pub fn compute(steps: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for i in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    black_box(x)
}

/// Steps of [`compute`] that take about `target` on this machine (median of a few calibrations).
pub fn calibrate(target: Duration) -> u64 {
    let probe = 200_000u64;
    let mut t: Vec<Duration> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            compute(probe);
            t0.elapsed()
        })
        .collect();
    let per_step = Summary::of(&mut t).p50.as_secs_f64() / probe as f64;
    ((target.as_secs_f64() / per_step.max(1e-12)) as u64).max(1)
}

/// Runs `jobs` jobs on `threads` threads pulling from a shared counter; returns jobs per second.
pub fn throughput(threads: usize, jobs: usize, job: impl Fn() + Sync) -> f64 {
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            // Relaxed: the counter only hands out job numbers; the scope's join publishes results.
            s.spawn(|| {
                while next.fetch_add(1, Relaxed) < jobs {
                    job()
                }
            });
        }
    });
    jobs as f64 / t0.elapsed().as_secs_f64()
}

/// The section.
pub fn run(ctx: &mut Ctx) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_steps = calibrate(Duration::from_micros(50));
    let io_steps = calibrate(Duration::from_micros(100));
    let wait = Duration::from_millis(2);
    let cpu_jobs = ctx.pick(4_000, 800);
    let io_jobs = ctx.pick(160, 64);
    let counts = [1, 2, 4, 8];
    // Best of a few runs per point: other processes on the machine can only slow a run down.
    let reps = ctx.pick(3, 2);
    ctx.say(format!(
        "CPU job: ~50 µs of arithmetic. IO job: ~100 µs of arithmetic + a {} wait (a simulated \
         request). {cpu_jobs} CPU jobs and {io_jobs} IO jobs per run, best of {reps} runs, on {cores} cores.",
        fmt_duration(wait)
    ));

    let best = |f: &dyn Fn() -> f64| (0..reps).map(|_| f()).fold(0.0, f64::max);
    let mut cpu = Vec::new();
    let mut io = Vec::new();
    for &n in &counts {
        cpu.push(best(&|| {
            throughput(n, cpu_jobs, || {
                compute(cpu_steps);
            })
        }));
        io.push(best(&|| {
            throughput(n, io_jobs, || {
                compute(io_steps);
                std::thread::sleep(wait);
            })
        }));
    }
    // Jobs timed alone on this thread: the compute share of an IO job sizes the pool (Little's
    // law), and a CPU job's time gives what one core can do.
    let alone = |steps: u64| {
        let mut c: Vec<Duration> = (0..ctx.pick(21, 7))
            .map(|_| {
                let t0 = Instant::now();
                compute(steps);
                t0.elapsed()
            })
            .collect();
        Summary::of(&mut c).p50
    };
    let io_compute = alone(io_steps);
    // One core's rate: the better of the 1-thread run and the job timed alone (other processes on
    // the machine can only make either of them look slower).
    let one_core = cpu[0].max(1.0 / alone(cpu_steps).as_secs_f64().max(1e-12));
    let io_pool = ((cores as f64) * (1.0 + wait.as_secs_f64() / io_compute.as_secs_f64().max(1e-9)))
        .round() as usize;
    let io_pool = io_pool.clamp(1, 256);
    // Enough jobs per thread that starting the pool's threads is not part of what is measured.
    let io_at_pool = best(&|| {
        throughput(io_pool, io_jobs.max(io_pool * ctx.pick(24, 8)), || {
            compute(io_steps);
            std::thread::sleep(wait);
        })
    });

    let mut t = ctx.table(
        "throughput against thread count (speed-up vs 1 thread)",
        &[
            "threads",
            "× cores",
            "CPU-bound jobs/s",
            "CPU speed-up",
            "IO-bound jobs/s",
            "IO speed-up",
        ],
    );
    for (i, &n) in counts.iter().enumerate() {
        t.row([
            n.to_string(),
            format!("{:.1}", n as f64 / cores as f64),
            fmt_rate(cpu[i]),
            format!("{:.2}×", cpu[i] / cpu[0]),
            fmt_rate(io[i]),
            format!("{:.2}×", io[i] / io[0]),
        ]);
        ctx.record(format!("cpu_jobs_per_s/threads={n}"), cpu[i]);
        ctx.record(format!("io_jobs_per_s/threads={n}"), io[i]);
    }
    t.row([
        format!("{io_pool} (sized)"),
        format!("{:.1}", io_pool as f64 / cores as f64),
        "-".to_string(),
        "-".to_string(),
        fmt_rate(io_at_pool),
        format!("{:.2}×", io_at_pool / io[0]),
    ]);
    ctx.show(t);
    ctx.record("io_pool_size", io_pool as u64);
    ctx.record("io_jobs_per_s/sized", io_at_pool);

    // The CPU pool size the measurement supports: the fewest threads within 10 % of the best.
    let best = cpu.iter().copied().fold(0.0, f64::max);
    let cpu_pick = (0..counts.len())
        .find(|&i| cpu[i] >= 0.9 * best)
        .unwrap_or(0);
    ctx.record("cpu_pool_size", counts[cpu_pick] as u64);
    // Did this run get every core? Best throughput vs cores × one core's rate.
    let ceiling = cores as f64 * one_core;
    let shared = best < 0.75 * ceiling;
    ctx.record("cpu_share_of_cores", best / ceiling);
    ctx.takeaway(format!(
        "CPU-bound: {} thread(s) already reach {:.2}× of one thread (within 10 % of the best), more only \
         add switching → size = {} ({:.1}× the {cores} cores){}. IO-bound: compute {} + wait {} → \
         cores × (1 + wait/compute) = {io_pool} threads, measured at {} ({:.1}× one thread, {:.1}× 8 threads)",
        counts[cpu_pick],
        cpu[cpu_pick] / cpu[0],
        counts[cpu_pick],
        counts[cpu_pick] as f64 / cores as f64,
        if shared {
            format!(
                "; but this run got only {:.0} % of the cores (other processes were busy): on an idle \
                 machine the answer is the core count",
                100.0 * best / ceiling
            )
        } else {
            String::new()
        },
        fmt_duration(io_compute),
        fmt_duration(wait),
        fmt_rate(io_at_pool),
        io_at_pool / io[0],
        io_at_pool / io[3],
    ));
    let (i2, i8) = (io[1], io[3]);
    ctx.check_with(
        "IO throughput keeps rising past the cores: 8 threads ≥ 2.5× 2 threads",
        i8 >= 2.5 * i2,
        format!("{} vs {}", fmt_rate(i8), fmt_rate(i2)),
    );
    // Not "8 threads vs 2 threads": when other processes share the machine, 8 threads win a larger
    // share of it than 2 do. The ceiling below holds whatever else runs: cores × one core's rate.
    let top = cpu[2].max(cpu[3]);
    ctx.check_with(
        "CPU throughput stops at the cores: 4 and 8 threads stay below 1.3 × cores × one core's rate",
        top < 1.3 * ceiling,
        format!("best of 4 and 8 threads {} vs cores × one core {}", fmt_rate(top), fmt_rate(ceiling)),
    );
    ctx.check_with(
        "the pool sized by Little's law beats 8 threads on the IO job",
        io_at_pool > i8 * 1.3,
        format!(
            "{io_pool} threads: {} vs 8: {}",
            fmt_rate(io_at_pool),
            fmt_rate(i8)
        ),
    );
}
