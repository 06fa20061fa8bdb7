//! `versus`: pond's benchmark matrix, small — one submitter × many tiny tasks, several submitters
//! at once, tasks that sleep — run on workpool (fire-and-forget `execute`, and `submit` + `join`),
//! threadpool, rusty_pool, rayon's `spawn`, tokio's `spawn_blocking`, and the pool workpool grew
//! from, phase 2's `Pool`. Same workers, same tasks, same driver; every pool is built before the
//! clock starts and warmed up with one unmeasured round.
//!
//! Every task bumps its own slot in a table, so "each task ran exactly once" is checked for every
//! pool and round, independently of what the pool reports. Times are printed as ratios to workpool's
//! `execute` in the same run; nothing here asserts that one pool is faster.
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::{Summary, fmt_duration};

use super::watched;

/// Every pool's threads start with this, for the leak check.
const PREFIX: &str = "vs-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Tiny,
    ManySubmitters,
    Sleeping,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Scenario::Tiny, Scenario::ManySubmitters, Scenario::Sleeping];
}

/// One cell's workload.
#[derive(Debug, Clone, Copy)]
struct Work {
    scenario: Scenario,
    tasks: usize,
    submitters: usize,
    workers: usize,
    sleep: Duration,
}

impl Work {
    fn label(&self) -> String {
        match self.scenario {
            Scenario::Tiny => format!("1 submitter × {} tiny", self.tasks),
            Scenario::ManySubmitters => {
                format!(
                    "{} submitters × {} tiny",
                    self.submitters,
                    self.tasks / self.submitters
                )
            }
            Scenario::Sleeping => format!(
                "{} × sleep {} on {} workers",
                self.tasks,
                fmt_duration(self.sleep),
                self.workers
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    WorkpoolExecute,
    WorkpoolJoin,
    Phase2,
    Threadpool,
    RustyPool,
    RayonSpawn,
    TokioBlocking,
}

impl Peer {
    const ALL: [Peer; 7] = [
        Peer::WorkpoolExecute,
        Peer::WorkpoolJoin,
        Peer::Phase2,
        Peer::Threadpool,
        Peer::RustyPool,
        Peer::RayonSpawn,
        Peer::TokioBlocking,
    ];

    fn label(self) -> &'static str {
        match self {
            Peer::WorkpoolExecute => "workpool execute + wait_idle",
            Peer::WorkpoolJoin => "workpool submit + join",
            Peer::Phase2 => "phase 2 Pool (the lesson)",
            Peer::Threadpool => "threadpool",
            Peer::RustyPool => "rusty_pool",
            Peer::RayonSpawn => "rayon ThreadPool::spawn",
            Peer::TokioBlocking => "tokio spawn_blocking",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Peer::WorkpoolExecute => "workpool_execute",
            Peer::WorkpoolJoin => "workpool_join",
            Peer::Phase2 => "phase2",
            Peer::Threadpool => "threadpool",
            Peer::RustyPool => "rusty_pool",
            Peer::RayonSpawn => "rayon_spawn",
            Peer::TokioBlocking => "tokio_spawn_blocking",
        }
    }
}

/// The per-task slots: task `i` bumps `seen[i]`.
type Seen = Arc<Vec<AtomicU32>>;

/// Nanoseconds the sleeping tasks of the current round actually slept, summed: the serial time the
/// round is compared with. One cell runs at a time, so one counter serves.
static SLEPT_NS: AtomicU64 = AtomicU64::new(0);
/// How many of the current round's sleeping tasks have finished their sleep.
static SLEPT_TASKS: AtomicUsize = AtomicUsize::new(0);

/// The task every pool runs.
fn task(seen: &Seen, i: usize, sleep: Duration) -> impl FnOnce() + Send + 'static {
    let seen = seen.clone();
    move || {
        seen[i].fetch_add(1, Relaxed); // Relaxed: read after the pool's own completion signal.
        if !sleep.is_zero() {
            let t0 = Instant::now();
            thread::sleep(sleep);
            // Relaxed: read once the round's tasks have all run (checked below).
            SLEPT_NS.fetch_add(t0.elapsed().as_nanos() as u64, Relaxed);
            SLEPT_TASKS.fetch_add(1, Relaxed);
        }
    }
}

/// Submits task ids `0..tasks` from `work.submitters` threads (round-robin split) through `submit`,
/// returning whatever `submit` returned (handles, or nothing).
fn submit_all<H: Send>(work: &Work, submit: impl Fn(usize) -> H + Sync) -> Vec<H> {
    if work.submitters <= 1 {
        return (0..work.tasks).map(&submit).collect();
    }
    let submit = &submit;
    thread::scope(|s| {
        let parts: Vec<_> = (0..work.submitters)
            .map(|k| {
                s.spawn(move || {
                    (k..work.tasks)
                        .step_by(work.submitters)
                        .map(submit)
                        .collect::<Vec<H>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a submitter never panics"))
            .collect()
    })
}

/// One measured round: build the table, run, check it.
struct Round {
    elapsed: Duration,
    /// Tasks not yet run when the pool's completion signal returned (should be 0).
    not_run_at_signal: usize,
    /// Every task ran exactly once (checked after waiting up to 2 s for stragglers).
    exact: bool,
    /// The time the tasks spent sleeping, summed (zero for tasks that do not sleep).
    slept: Duration,
}

fn round(work: &Work, run: &mut dyn FnMut(&Seen)) -> Round {
    let seen: Seen = Arc::new((0..work.tasks).map(|_| AtomicU32::new(0)).collect());
    SLEPT_NS.store(0, Relaxed);
    SLEPT_TASKS.store(0, Relaxed);
    let t0 = Instant::now();
    run(&seen);
    let elapsed = t0.elapsed();
    let not_run_at_signal = seen.iter().filter(|s| s.load(Relaxed) == 0).count();
    // A completion signal that returned early still owes the rest: give them time, then check.
    let end = Instant::now() + Duration::from_secs(2);
    let sleeps = if work.sleep.is_zero() { 0 } else { work.tasks };
    while (seen.iter().any(|s| s.load(Relaxed) == 0) || SLEPT_TASKS.load(Relaxed) < sleeps)
        && Instant::now() < end
    {
        thread::sleep(Duration::from_millis(1));
    }
    Round {
        elapsed,
        not_run_at_signal,
        exact: seen.iter().all(|s| s.load(Relaxed) == 1),
        slept: Duration::from_nanos(SLEPT_NS.load(Relaxed)),
    }
}

/// A cell's result.
#[derive(Debug, Clone, Copy)]
struct CellResult {
    median: Duration,
    exact: bool,
    /// Rounds (warm-up included) whose completion signal returned before every task had run.
    early_rounds: usize,
    /// The most tasks not yet run at such a signal.
    early_worst: usize,
    /// Median over the measured rounds of wall time / time the tasks slept, summed (the serial
    /// time); `None` for tasks that do not sleep.
    overlap: Option<f64>,
}

/// One (peer, workload) cell: the pool built once, one warm-up round, then `rounds` measured.
fn cell(peer: Peer, work: Work, rounds: usize) -> CellResult {
    let w = work.workers;
    let sleep = work.sleep;
    let mut results = Vec::new();
    // The sleeping scenario is cheap (a few ms a round): three rounds even in --quick, so one round
    // slowed by the machine does not decide the overlap check.
    let rounds = if sleep.is_zero() {
        rounds
    } else {
        rounds.max(3)
    };
    let mut measure = |run: &mut dyn FnMut(&Seen)| {
        for _ in 0..=rounds {
            results.push(round(&work, run));
        }
    };
    match peer {
        Peer::WorkpoolExecute | Peer::WorkpoolJoin => {
            let pool = workpool::Pool::builder()
                .name("vs-wp")
                .workers(w)
                .build()
                .expect("build");
            if peer == Peer::WorkpoolExecute {
                measure(&mut |seen| {
                    submit_all(&work, |i| pool.execute(task(seen, i, sleep)).expect("open"));
                    pool.wait_idle();
                });
            } else {
                measure(&mut |seen| {
                    let handles =
                        submit_all(&work, |i| pool.submit(task(seen, i, sleep)).expect("open"));
                    for h in handles {
                        h.join().expect("ran");
                    }
                });
            }
        }
        Peer::Phase2 => {
            // `submit` takes `&mut self` (one submitter: the lesson's lock-free intake is built on
            // it), so several submitters share it behind a Mutex.
            let pool = Mutex::new(phase2::pool::Pool::<()>::new("vs-p2", w, 1024));
            measure(&mut |seen| {
                submit_all(&work, |i| {
                    let t = task(seen, i, sleep);
                    pool.lock()
                        .expect("no panic while held")
                        .submit(move |_| t())
                        .expect("open");
                });
                let mut p = pool.lock().expect("no panic while held");
                for _ in 0..work.tasks {
                    p.recv().expect("workers alive");
                }
            });
        }
        Peer::Threadpool => {
            let pool = threadpool::ThreadPool::with_name("vs-tp".into(), w);
            measure(&mut |seen| {
                submit_all(&work, |i| pool.execute(task(seen, i, sleep)));
                pool.join();
            });
            pool.join();
        }
        Peer::RustyPool => {
            let pool =
                rusty_pool::ThreadPool::new_named("vs-rp".into(), w, w, Duration::from_secs(60));
            measure(&mut |seen| {
                submit_all(&work, |i| pool.execute(task(seen, i, sleep)));
                pool.join();
            });
            pool.shutdown_join();
        }
        Peer::RayonSpawn => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(w)
                .thread_name(|i| format!("vs-ry-{i}"))
                .build()
                .expect("build");
            measure(&mut |seen| {
                // rayon's spawn has no handle: the task that takes the count to zero signals.
                let left = Arc::new(AtomicUsize::new(work.tasks));
                let (done_tx, done_rx) = mpsc::channel::<()>();
                let done_tx = Mutex::new(done_tx);
                submit_all(&work, |i| {
                    let t = task(seen, i, sleep);
                    let left = left.clone();
                    let tx = done_tx.lock().expect("never poisoned").clone();
                    pool.spawn(move || {
                        t();
                        // AcqRel: the task that takes the count to zero sees every other's work.
                        if left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                            let _ = tx.send(());
                        }
                    });
                });
                let _ = done_rx.recv_timeout(Duration::from_secs(30));
            });
        }
        Peer::TokioBlocking => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(w)
                .thread_name("vs-tk")
                .build()
                .expect("runtime");
            let handle = rt.handle().clone();
            measure(&mut |seen| {
                let handles = submit_all(&work, |i| handle.spawn_blocking(task(seen, i, sleep)));
                rt.block_on(async {
                    for h in handles {
                        h.await.expect("ran");
                    }
                });
            });
            drop(rt);
        }
    }
    let mut measured: Vec<Duration> = results.iter().skip(1).map(|r| r.elapsed).collect();
    let mut overlaps: Vec<f64> = results
        .iter()
        .skip(1)
        .filter(|r| !r.slept.is_zero())
        .map(|r| r.elapsed.as_secs_f64() / r.slept.as_secs_f64())
        .collect();
    overlaps.sort_by(f64::total_cmp);
    CellResult {
        overlap: overlaps.get(overlaps.len() / 2).copied(),
        median: Summary::of(&mut measured).p50,
        exact: results.iter().all(|r| r.exact),
        early_rounds: results.iter().filter(|r| r.not_run_at_signal > 0).count(),
        early_worst: results
            .iter()
            .map(|r| r.not_run_at_signal)
            .max()
            .unwrap_or(0),
    }
}

struct Matrix {
    works: Vec<Work>,
    /// `[peer][work]`.
    cells: Vec<Vec<CellResult>>,
    threads_left: usize,
}

pub(crate) fn run(ctx: &mut Ctx) {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let tiny = ctx.pick(20_000, 1_000);
    let rounds = ctx.pick(5, 1);
    let works = vec![
        Work {
            scenario: Scenario::Tiny,
            tasks: tiny,
            submitters: 1,
            workers: cores,
            sleep: Duration::ZERO,
        },
        Work {
            scenario: Scenario::ManySubmitters,
            tasks: tiny,
            submitters: 4,
            workers: cores,
            sleep: Duration::ZERO,
        },
        Work {
            scenario: Scenario::Sleeping,
            tasks: ctx.pick(320, 64),
            submitters: 1,
            workers: 16,
            sleep: Duration::from_millis(1),
        },
    ];
    debug_assert_eq!(works.len(), Scenario::ALL.len());
    ctx.say(format!(
        "Each cell: the pool built once, one warm-up round, median of {rounds} measured round(s). Tiny \
         tasks bump a per-task slot (the exactly-once oracle); {cores} workers for the tiny scenarios \
         (the cores), 16 for the sleeping one. workpool runs its defaults (queue of 1024, Block); phase \
         2's Pool a queue of 1024; the others' queues are unbounded."
    ));
    let ws = works.clone();
    let out = watched("wd-versus", move || {
        let leak = ThreadLeakCheck::named(PREFIX);
        let cells: Vec<Vec<CellResult>> = Peer::ALL
            .iter()
            .map(|&p| ws.iter().map(|&w| cell(p, w, rounds)).collect())
            .collect();
        Matrix {
            works: ws,
            cells,
            threads_left: leak.leaked_after(Duration::from_secs(3)).len(),
        }
    });
    let m = match out {
        Ok(m) => m,
        Err(e) => {
            ctx.check_with("the matrix finished", false, e);
            ctx.takeaway("the matrix did not finish: see the failed check");
            return;
        }
    };

    let mut headers = vec!["pool".to_string()];
    headers.extend(m.works.iter().map(Work::label));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut t = ctx.table(
        "median wall time (× workpool execute, same run; lower is faster)",
        &headers,
    );
    let base = &m.cells[0];
    let ratio = |d: Duration, b: Duration| d.as_secs_f64() / b.as_secs_f64().max(1e-9);
    for (p, row) in Peer::ALL.iter().zip(&m.cells) {
        let mut cells = vec![p.label().to_string()];
        for (j, c) in row.iter().enumerate() {
            let mut mark = String::new();
            if !c.exact {
                mark.push_str(" ✗ NOT EXACTLY ONCE");
            }
            if c.early_rounds > 0 {
                mark.push_str(&format!(" [{}×early]", c.early_rounds));
            }
            cells.push(format!(
                "{} ({:.2}×){mark}",
                fmt_duration(c.median),
                ratio(c.median, base[j].median)
            ));
            ctx.record(
                format!("{}_{:?}_s", p.key(), m.works[j].scenario).to_lowercase(),
                c.median.as_secs_f64(),
            );
        }
        t.row(cells);
    }
    ctx.show(t);
    let mut early = Vec::new();
    for (p, row) in Peer::ALL.iter().zip(&m.cells) {
        for (j, c) in row.iter().enumerate() {
            if c.early_rounds > 0 {
                early.push(format!(
                    "{} ({}): {} round(s), up to {} task(s) not yet run",
                    p.label(),
                    m.works[j].label(),
                    c.early_rounds,
                    c.early_worst
                ));
            }
        }
    }
    if early.is_empty() {
        ctx.say("Every completion signal (wait_idle, join, the last result, the latch) returned after the last task ran.");
    } else {
        ctx.say(format!(
            "[N×early]: the pool's completion signal returned while tasks were still unrun (they ran \
             later; found by the per-task table): {}.",
            early.join("; ")
        ));
    }
    ctx.record("early_signals", early.len());

    let p2 = Peer::ALL
        .iter()
        .position(|&p| p == Peer::Phase2)
        .expect("phase 2 is a peer");
    let vs_lesson: Vec<String> = m
        .works
        .iter()
        .enumerate()
        .map(|(j, w)| {
            let r = ratio(base[j].median, m.cells[p2][j].median);
            let short = match w.scenario {
                Scenario::Tiny => "one submitter",
                Scenario::ManySubmitters => "several submitters",
                Scenario::Sleeping => "sleeping tasks",
            };
            format!("{r:.2}× on {short}")
        })
        .collect();
    for (j, w) in m.works.iter().enumerate() {
        ctx.record(
            format!("workpool_over_phase2_{:?}", w.scenario).to_lowercase(),
            ratio(base[j].median, m.cells[p2][j].median),
        );
    }
    ctx.takeaway(format!(
        "workpool's time ÷ phase 2's Pool (the lesson it grew from): {} — one lock, many submitters, a \
         task cell per submit and per-task metrics against a single submitter's lock-free ring with \
         inline jobs; when tasks sleep, every pool is bound by the sleeps, not by its queue.",
        vs_lesson.join(", ")
    ));
    let all_exact = m.cells.iter().flatten().all(|c| c.exact);
    ctx.check(
        "every pool ran every task exactly once, in every round of every scenario",
        all_exact,
    );
    // Ours and the lesson's signals must be exact; a peer's early `join` is reported above.
    let own_exact = m
        .cells
        .iter()
        .zip(Peer::ALL)
        .filter(|(_, p)| matches!(p, Peer::WorkpoolExecute | Peer::WorkpoolJoin | Peer::Phase2))
        .all(|(row, _)| row.iter().all(|c| c.early_rounds == 0));
    ctx.check(
        "workpool's wait_idle and join (and phase 2's results) never returned before the last task ran",
        own_exact,
    );
    let j = m
        .works
        .iter()
        .position(|w| w.scenario == Scenario::Sleeping)
        .expect("a sleeping scenario");
    let w = m.works[j];
    let serial = w.sleep * w.tasks as u32;
    // Against the time the tasks actually slept, summed, not the nominal sum: on a loaded machine
    // every sleep overruns, serially and overlapped alike.
    let (worst, worst_peer) = m
        .cells
        .iter()
        .zip(Peer::ALL)
        .map(|(r, p)| (r[j].overlap.unwrap_or(f64::INFINITY), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("pools");
    let slowest = m
        .cells
        .iter()
        .map(|r| r[j].median)
        .max()
        .unwrap_or_default();
    ctx.check_with(
        "sleeping tasks overlapped on every pool: wall time under half the time the tasks slept, summed",
        worst < 0.5,
        format!(
            "worst {worst:.2}× ({}); slowest pool {} vs a nominal serial sum of {}",
            worst_peer.key(),
            fmt_duration(slowest),
            fmt_duration(serial)
        ),
    );
    ctx.check_with(
        "no pool thread left behind (vs-* threads, from /proc, after every pool dropped)",
        m.threads_left == 0,
        format!("{} left", m.threads_left),
    );
}
