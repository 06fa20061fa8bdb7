//! `periodic`: a periodic worker never overlaps its runs (measured), jitters from a seed, and shuts
//! down cleanly; the naive "spawn a thread per tick" version overlaps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::{Summary, fmt_duration};

use crate::timers::{PeriodicWorker, Schedule, Ticker};

const PERIOD: Duration = Duration::from_millis(10);
const JITTER: Duration = Duration::from_millis(2);
const SEED: u64 = 42;

/// What the job records: how many runs are in progress right now, the most ever seen, start times.
#[derive(Default)]
struct Probe {
    in_flight: AtomicUsize,
    max: AtomicUsize,
    runs: AtomicUsize,
    starts: Mutex<Vec<Instant>>,
}

impl Probe {
    /// The job: every 4th run is slow (2.5 periods), the others take 1 ms.
    fn job(&self, k: usize) {
        self.starts.lock().unwrap().push(Instant::now());
        // SeqCst on the in-flight counter and its max: a total order over every increment and
        // decrement, so the max observed is a true count of overlapping runs.
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        thread::sleep(if k % 4 == 3 {
            PERIOD * 5 / 2
        } else {
            Duration::from_millis(1)
        });
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        // Relaxed: a count read after the workers are joined.
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    fn intervals(&self) -> Summary {
        let starts = self.starts.lock().unwrap();
        let mut gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.is_empty() {
            gaps.push(Duration::ZERO);
        }
        Summary::of(&mut gaps)
    }
}

pub(super) fn run(ctx: &mut Ctx) {
    let span = ctx.pick(Duration::from_millis(400), Duration::from_millis(200));
    ctx.say(format!(
        "A job every {PERIOD:?} (jitter ±{JITTER:?}, seed {SEED}); every 4th run takes 25 ms, 2.5 \
         periods. Each variant runs {span:?}, then is stopped."
    ));

    // Ours: one thread runs the job between waits; a late run skips the periods it overran.
    let leak = ThreadLeakCheck::named("tmr-periodic");
    let ours = Arc::new(Probe::default());
    let p = Arc::clone(&ours);
    let worker = PeriodicWorker::spawn(
        "tmr-periodic",
        Schedule::new(PERIOD, JITTER, SEED),
        move |k| p.job(k as usize),
    );
    thread::sleep(span);
    let t0 = Instant::now();
    let runs = worker.stop();
    let stop_took = t0.elapsed();
    // Relaxed: the worker was joined by `stop`.
    let at_stop = ours.runs.load(Ordering::Relaxed);
    thread::sleep(PERIOD * 5);
    let after_stop = ours.runs.load(Ordering::Relaxed) - at_stop;
    let left = leak.leaked_after(Duration::from_millis(500)).len();

    // Naive: a ticker that spawns a thread for the job on every tick.
    let naive = Arc::new(Probe::default());
    let spawned: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let (p, s) = (Arc::clone(&naive), Arc::clone(&spawned));
    let k = AtomicUsize::new(0);
    let ticker = Ticker::spawn("tmr-naive", PERIOD, move || {
        let p = Arc::clone(&p);
        // Relaxed: only this ticker thread touches `k`.
        let k = k.fetch_add(1, Ordering::Relaxed);
        s.lock().unwrap().push(thread::spawn(move || p.job(k)));
    });
    thread::sleep(span);
    ticker.stop();
    for h in spawned.lock().unwrap().drain(..) {
        h.join().expect("naive job");
    }

    let mut t = ctx.table(
        "periodic runs",
        &[
            "variant",
            "runs",
            "max concurrent runs",
            "start gap mean",
            "p50",
            "max",
        ],
    );
    for (name, probe, n) in [
        ("ours (one worker, skip)", &ours, runs as usize),
        (
            "thread per tick",
            &naive,
            naive.runs.load(Ordering::Relaxed),
        ),
    ] {
        let s = probe.intervals();
        t.row([
            name.to_string(),
            n.to_string(),
            probe.max.load(Ordering::SeqCst).to_string(),
            fmt_duration(s.mean),
            fmt_duration(s.p50),
            fmt_duration(s.max),
        ]);
    }
    ctx.show(t);

    // The jitter is replayable: the same seed gives the same schedule, and every offset is in bounds.
    let (mut a, mut b) = (
        Schedule::new(PERIOD, JITTER, SEED),
        Schedule::new(PERIOD, JITTER, SEED),
    );
    let offsets: Vec<Duration> = (0..1000).map(|k| a.due(k)).collect();
    let same = (0..1000).all(|k| b.due(k) == offsets[k as usize]);
    let in_bounds = offsets.iter().enumerate().all(|(k, &d)| {
        let base = PERIOD * k as u32;
        d + JITTER >= base && d <= base + JITTER
    });
    let spread = offsets
        .iter()
        .enumerate()
        .filter(|&(k, &d)| d != PERIOD * k as u32)
        .count();

    let ours_max = ours.max.load(Ordering::SeqCst);
    let naive_max = naive.max.load(Ordering::SeqCst);
    ctx.record("ours_max_concurrent", ours_max);
    ctx.record("naive_max_concurrent", naive_max);
    ctx.record("stop_ms", stop_took.as_secs_f64() * 1e3);
    ctx.takeaway(format!(
        "Running the job on the worker's own thread caps concurrency at {ours_max} by construction; \
         a thread per tick reached {naive_max} when a run overran. Stop took {} (at most one run in \
         progress), and {after_stop} runs happened after it.",
        fmt_duration(stop_took)
    ));
    ctx.check_with(
        "ours: at most 1 run at a time (measured)",
        ours_max == 1,
        format!("max {ours_max}"),
    );
    ctx.check_with(
        "thread per tick: runs overlap when one overruns (max > 1)",
        naive_max > 1,
        format!("max {naive_max}"),
    );
    ctx.check_with(
        "ours: 0 runs after stop",
        after_stop == 0,
        format!("{after_stop}"),
    );
    ctx.check("ours: no worker thread left after stop", left == 0);
    ctx.check("ours: made runs before stop", runs > 0);
    ctx.check("jitter: same seed, same schedule", same);
    ctx.check_with(
        "jitter: every due time within ±jitter of its period, and not all on the grid",
        in_bounds && spread > 500,
        format!("{spread}/1000 off-grid"),
    );
}
