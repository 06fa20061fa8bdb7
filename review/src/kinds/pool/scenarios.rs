//! The pool scenarios. Each targeted one exposes one catalogued flaw and nothing else: every wait
//! (a handle's `join`, a `shutdown`, a `drop`) runs on a thread joined with a deadline, so a hang is
//! the scenario's finding, and a scenario that needs another property (shutdown refuses new tasks,
//! a bounded queue) skips, naming the scenario that reports it, when the attempt lacks it.
//!
//! The oracles are outside the pool, as in the conformance suite: the tasks count their own runs and
//! return a value derived from their number ([`value_of`]), a [`Gate`] holds a worker busy so "the
//! worker is busy" is a fact, a [`Rendezvous`] measures how many tasks run at once, `/proc` tells
//! whether the workers sleep.
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use harness::conformance::pool::{Gate, InFlight, Rendezvous};
use harness::contracts::pool::{
    ContractPool, Job, Lack, Overflow, PoolFlavor, PoolSpec, ShutdownMode, SubmitRefused,
    TaskHandle, TaskOutcome, Unsupported,
};
use harness::ledger::DropLedger;

use crate::{Verdict, join_within, step};

// Every atomic here is SeqCst: bookkeeping of the scenario, not the subject of the review.

/// How long a call that must return gets before it counts as hung.
const HANG: Duration = Duration::from_secs(2);
/// How long many handles together may take to report, on a loaded machine.
const SLOW: Duration = Duration::from_secs(10);
/// The deadline given to `shutdown`; generous, since a correct pool returns long before it.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// The value task `id` returns, so a handle reporting another task's value is caught.
fn value_of(id: usize) -> u64 {
    id as u64 * 7 + 1
}

/// `runs[id]`: how many times task `id` ran.
fn run_counts(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// Task `id`: counts its run, passes `gate` if any, returns [`value_of`]`(id)`.
fn counted(runs: &Arc<Vec<AtomicUsize>>, id: usize, gate: Option<&Arc<Gate>>) -> Job {
    let (runs, gate) = (runs.clone(), gate.cloned());
    Box::new(move || {
        runs[id].fetch_add(1, SeqCst);
        if let Some(g) = gate {
            g.pass();
        }
        value_of(id)
    })
}

/// The pool for `spec`, or the skip verdict when the attempt cannot build it.
fn build<F: PoolFlavor>(spec: &PoolSpec, scenario: &str) -> Result<Arc<F::Pool>, Verdict> {
    F::build(spec)
        .map(Arc::new)
        .map_err(|Unsupported(why)| Verdict::Skipped {
            why: format!("{scenario}: the attempt cannot build this pool ({why})"),
        })
}

/// Joins every handle on another thread: the outcomes in order, or `None` if they had not all
/// reported within `limit`.
fn join_all<H: TaskHandle>(handles: Vec<H>, limit: Duration) -> Option<Vec<TaskOutcome>> {
    join_within(
        thread::spawn(move || handles.into_iter().map(TaskHandle::join).collect()),
        limit,
    )
}

/// Drops the pool on another thread, waiting at most [`HANG`] (with its workers finished, a drop
/// returns at once); true if it returned. A drop that hangs is `shutdown-hangs`'s finding, not the
/// calling scenario's: the child process ends that thread.
fn dispose<P: Send + Sync + 'static>(pool: Arc<P>) -> bool {
    join_within(thread::spawn(move || drop(pool)), HANG).is_some()
}

/// Fills `workers` workers with tasks held at `gate` (numbers `0..workers`) and waits until each
/// runs there: their handles, or the skip verdict.
fn occupy<P: ContractPool>(
    pool: &P,
    workers: usize,
    runs: &Arc<Vec<AtomicUsize>>,
    gate: &Arc<Gate>,
) -> Result<Vec<P::Handle>, Verdict> {
    let mut held = Vec::new();
    for id in 0..workers {
        let end = Instant::now() + HANG;
        loop {
            match pool.submit(counted(runs, id, Some(gate))) {
                Ok(h) => break held.push(h),
                Err(_) if Instant::now() < end => thread::sleep(Duration::from_millis(1)),
                Err(e) => {
                    return Err(Verdict::Skipped {
                        why: format!(
                            "an idle pool refused task {id} ({e:?}); every-task-runs-once \
                             (conformance) reports that"
                        ),
                    });
                }
            }
        }
    }
    if gate.wait_entered(workers, SLOW) {
        Ok(held)
    } else {
        Err(Verdict::Skipped {
            why: format!(
                "only {} of {workers} workers started a task (panic-keeps-workers or the stress \
                 check reports why)",
                gate.entered()
            ),
        })
    }
}

/// Starts `shutdown(mode)` on another thread and waits until it has begun, seen as `submit`
/// refusing with `ShutDown`. The probe tasks admitted before that (each returns 0) join the queue
/// like the others: their handles, and the shutdown's thread. A skip verdict when the attempt has
/// no shutdown, or its submit never refuses.
#[allow(clippy::type_complexity)]
fn begin_shutdown<P: ContractPool>(
    pool: &Arc<P>,
    mode: ShutdownMode,
) -> Result<
    (
        Vec<P::Handle>,
        thread::JoinHandle<Result<harness::contracts::pool::ShutdownReport, Unsupported>>,
    ),
    Verdict,
> {
    let shutting = {
        let pool = pool.clone();
        thread::spawn(move || pool.shutdown(mode, SHUTDOWN_DEADLINE))
    };
    let mut probes = Vec::new();
    let end = Instant::now() + HANG;
    loop {
        match pool.submit(Box::new(|| 0)) {
            Ok(h) => probes.push(h),
            Err(SubmitRefused::ShutDown) => return Ok((probes, shutting)),
            Err(e) => {
                return Err(Verdict::Skipped {
                    why: format!("a probe submitted during shutdown was refused with {e:?}"),
                });
            }
        }
        if shutting.is_finished() && probes.len() > 1 {
            if let Ok(Err(Unsupported(why))) = shutting.join() {
                return Err(Verdict::Skipped {
                    why: format!("the attempt has no shutdown ({why})"),
                });
            }
            return Err(Verdict::Skipped {
                why: "submit still admitted tasks after shutdown returned \
                      (submit-after-shutdown-refused reports that)"
                    .into(),
            });
        }
        if Instant::now() > end {
            return Err(Verdict::Skipped {
                why: "submit never refused a task during shutdown \
                      (submit-after-shutdown-refused reports that)"
                    .into(),
            });
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// `panic-kills-worker`: after two tasks panicked on a pool of two, both workers still run tasks,
/// two at once.
pub(super) fn panic_keeps_workers<F: PoolFlavor>() -> Verdict {
    step("PoolSpec::fixed(2); submit 2 tasks that panic; join their handles");
    let pool = match build::<F>(&PoolSpec::fixed(2), "panic-keeps-workers") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    let mut panicking = Vec::new();
    for i in 0..2 {
        match pool.submit(Box::new(move || -> u64 {
            panic!("review: task {i} panics on purpose")
        })) {
            Ok(h) => panicking.push(h),
            Err(e) => return Verdict::fail(format!("an idle pool refused a task: {e:?}")),
        }
    }
    let verdict = match join_all(panicking, SLOW) {
        None => Verdict::fail(format!(
            "2 tasks panicked on a pool of 2; their handles had not reported {SLOW:?} later: the \
             panic ended the worker before it reported the outcome"
        )),
        Some(outcomes) => match outcomes
            .iter()
            .find(|o| !matches!(o, TaskOutcome::Panicked(_)))
        {
            Some(other) => Verdict::fail(format!("a task that panicked reported {other:?}")),
            None => after_panics::<F>(&pool),
        },
    };
    dispose(pool);
    verdict
}

fn after_panics<F: PoolFlavor>(pool: &Arc<F::Pool>) -> Verdict {
    step("then 2 tasks that must run at once (a rendezvous of 2, each waiting up to 2 s)");
    let in_flight = Arc::new(InFlight::default());
    let meet = Rendezvous::new(2, HANG);
    let mut handles = Vec::new();
    for id in 0..2 {
        let (in_flight, meet) = (in_flight.clone(), meet.clone());
        match pool.submit(Box::new(move || {
            let _running = in_flight.enter();
            meet.meet();
            value_of(id)
        })) {
            Ok(h) => handles.push(h),
            Err(e) => {
                return Verdict::fail(format!(
                    "after 2 tasks panicked the pool refused a task: {e:?}"
                ));
            }
        }
    }
    match join_all(handles, SLOW + HANG) {
        None => Verdict::fail(format!(
            "after 2 tasks panicked on a pool of 2, 2 new tasks had not run {:?} later: no worker \
             is left",
            SLOW + HANG
        )),
        Some(_) if in_flight.max() < 2 => Verdict::fail(format!(
            "after 2 tasks panicked on a pool of 2, at most {} task ran at a time: a worker died \
             with its task",
            in_flight.max()
        )),
        Some(_) => Verdict::Pass,
    }
}

/// Waits until `n` threads whose name starts with `prefix` are asleep at five looks 1 ms apart
/// (workers waiting for work); false after [`HANG`].
fn workers_asleep(prefix: &str, n: usize) -> bool {
    let p: String = prefix.chars().take(15).collect();
    let mut asleep = 0;
    let end = Instant::now() + HANG;
    while Instant::now() < end {
        let workers: Vec<u32> = harness::leaks::live_threads()
            .into_iter()
            .filter(|t| t.name.starts_with(p.as_str()))
            .map(|t| t.tid)
            .collect();
        let all = workers.len() >= n && workers.iter().all(|&tid| crate::sleeping(tid));
        asleep = if all { asleep + 1 } else { 0 };
        if asleep >= 5 {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    false
}

/// `shutdown-hangs`: a pool whose workers sleep waiting for work stops when shut down and dropped.
pub(super) fn idle_pool_stops<F: PoolFlavor>() -> Verdict {
    let pool = match build::<F>(&PoolSpec::fixed(2), "idle-pool-stops") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    step("PoolSpec::fixed(2), idle: wait until both workers sleep waiting for work");
    match pool.thread_name_prefix() {
        Some(prefix) => {
            let _ = workers_asleep(prefix, 2); // on timeout, the scenario still runs (less sharp)
        }
        None => thread::sleep(Duration::from_millis(100)),
    }
    step(format!(
        "shutdown(Drain, {SHUTDOWN_DEADLINE:?}) of the idle pool, then drop it"
    ));
    let stopping = thread::spawn(move || {
        // An attempt without shutdown (`Unsupported`) is only dropped.
        let _report = pool.shutdown(ShutdownMode::Drain, SHUTDOWN_DEADLINE);
        drop(pool);
    });
    // A correct pool returns at once (no task to drain); a pool whose sleeping workers never see the
    // shutdown waits out its deadline and then hangs in the drop.
    match join_within(stopping, SHUTDOWN_DEADLINE + SLOW) {
        Some(()) => Verdict::Pass,
        None => Verdict::fail(format!(
            "an idle pool of 2 was shut down and dropped; {:?} later that had not returned: the \
             sleeping workers were never woken to see the shutdown",
            SHUTDOWN_DEADLINE + SLOW
        )),
    }
}

/// `shutdown-drops-queued`: `shutdown(Drain)` runs every queued task.
pub(super) fn drain_runs_queued<F: PoolFlavor>() -> Verdict {
    let pool = match build::<F>(&PoolSpec::fixed(1), "drain-runs-queued") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    step("PoolSpec::fixed(1); its worker held busy at a gate; tasks 1, 2, 3 queued");
    let runs = run_counts(4);
    let (gate, opener) = Gate::new();
    let mut handles = match occupy(&*pool, 1, &runs, &gate) {
        Ok(h) => h,
        Err(skip) => return skip,
    };
    for id in 1..4 {
        match pool.submit(counted(&runs, id, None)) {
            Ok(h) => handles.push(h),
            Err(e) => return Verdict::fail(format!("an unbounded pool refused task {id}: {e:?}")),
        }
    }
    step("shutdown(Drain) begins (submit refuses); the gate opens; every handle joined");
    let (probes, shutting) = match begin_shutdown(&pool, ShutdownMode::Drain) {
        Ok(x) => x,
        Err(skip) => return skip,
    };
    opener.open();
    let returned = join_within(shutting, SHUTDOWN_DEADLINE + HANG).is_some();
    let outcomes = join_all(handles, SLOW);
    let probe_outcomes = join_all(probes, SLOW);
    let verdict = match (outcomes, probe_outcomes) {
        (Some(outcomes), Some(probe_outcomes)) => {
            let not_run: Vec<String> = outcomes
                .iter()
                .enumerate()
                .filter(|(id, o)| **o != TaskOutcome::Done(value_of(*id)))
                .map(|(id, o)| format!("task {id}: {o:?}"))
                .chain(
                    probe_outcomes
                        .iter()
                        .filter(|o| **o != TaskOutcome::Done(0))
                        .map(|o| format!("a probe admitted during shutdown: {o:?}")),
                )
                .collect();
            if not_run.is_empty() {
                Verdict::Pass
            } else {
                Verdict::fail(format!(
                    "shutdown(Drain) with 1 task running and 3 queued: {}",
                    not_run.join("; ")
                ))
            }
        }
        _ if !returned => Verdict::Skipped {
            why: "shutdown(Drain) did not return (shutdown-waits-for-tasks or idle-pool-stops \
                  reports why)"
                .into(),
        },
        _ => Verdict::fail(format!(
            "shutdown(Drain) returned, and {SLOW:?} later not every handle of the 4 admitted \
             tasks had reported: a queued task was dropped without telling its handle"
        )),
    };
    dispose(pool);
    verdict
}

/// `tasks-run-after-shutdown`: `shutdown(Drain)` returns only once every admitted task has ended.
pub(super) fn shutdown_waits_for_tasks<F: PoolFlavor>() -> Verdict {
    let pool = match build::<F>(&PoolSpec::fixed(1), "shutdown-waits-for-tasks") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    step("PoolSpec::fixed(1); its worker held busy at a gate; 2 tasks queued");
    let ended = Arc::new(AtomicUsize::new(0));
    let runs = run_counts(3);
    let (gate, opener) = Gate::new();
    let mut handles = match occupy(&*pool, 1, &runs, &gate) {
        Ok(h) => h,
        Err(skip) => return skip,
    };
    for id in 1..3 {
        let ended = ended.clone();
        let job = counted(&runs, id, None);
        match pool.submit(Box::new(move || {
            let v = job();
            ended.fetch_add(1, SeqCst);
            v
        })) {
            Ok(h) => handles.push(h),
            Err(e) => return Verdict::fail(format!("an unbounded pool refused task {id}: {e:?}")),
        }
    }
    step(format!(
        "shutdown(Drain, {SHUTDOWN_DEADLINE:?}) begins; with the gate still closed it must not \
         return within 2 s"
    ));
    let (probes, shutting) = match begin_shutdown(&pool, ShutdownMode::Drain) {
        Ok(x) => x,
        Err(skip) => return skip,
    };
    drop(probes);
    // A correct shutdown cannot return while the held task runs (its deadline is 10 s): if it
    // returns now, it did not wait.
    if harness::wait::poll_until(HANG, || shutting.is_finished()) {
        opener.open();
        let _ = join_all(handles, SLOW);
        dispose(pool);
        return Verdict::fail(format!(
            "shutdown(Drain, {SHUTDOWN_DEADLINE:?}) returned while a task was still running \
             (held at a gate) and 2 were queued: they run after the shutdown returned"
        ));
    }
    step("the gate opens: when shutdown returns, the queued tasks have ended");
    opener.open();
    let verdict = match join_within(shutting, SHUTDOWN_DEADLINE + HANG) {
        None => Verdict::Skipped {
            why: "shutdown(Drain) did not return after the gate opened (idle-pool-stops reports \
                  why)"
                .into(),
        },
        Some(_) => {
            let at_return = ended.load(SeqCst);
            let done = join_all(handles, SLOW).map(|o| {
                o.iter()
                    .skip(1)
                    .filter(|o| matches!(o, TaskOutcome::Done(_)))
                    .count()
            });
            match done {
                Some(done) if done > at_return => Verdict::fail(format!(
                    "when shutdown(Drain) returned, {at_return} of the 2 queued tasks had ended; \
                     {done} ended in all: {} ran after it returned",
                    done - at_return
                )),
                _ => Verdict::Pass,
            }
        }
    };
    dispose(pool);
    verdict
}

/// `submit-after-shutdown-accepted`: once `shutdown` returned, `submit` refuses with `ShutDown`.
pub(super) fn submit_after_shutdown_refused<F: PoolFlavor>() -> Verdict {
    let pool = match build::<F>(&PoolSpec::fixed(1), "submit-after-shutdown-refused") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    step("PoolSpec::fixed(1); shutdown(Drain, 3 s); then submit one task");
    let p = pool.clone();
    let shut = join_within(
        thread::spawn(move || p.shutdown(ShutdownMode::Drain, Duration::from_secs(3))),
        Duration::from_secs(3) + SLOW,
    );
    let verdict = match shut {
        None => Verdict::Skipped {
            why: "shutdown did not return (idle-pool-stops reports why)".into(),
        },
        Some(Err(Unsupported(why))) => Verdict::Skipped {
            why: format!("the attempt has no shutdown ({why})"),
        },
        Some(Ok(_)) => match pool.submit(Box::new(|| 1)) {
            Err(SubmitRefused::ShutDown) => Verdict::Pass,
            Err(other) => Verdict::fail(format!(
                "submit after shutdown was refused with {other:?}, not ShutDown: the caller \
                 cannot tell a shut-down pool from a busy one"
            )),
            Ok(_) => Verdict::fail(
                "submit after shutdown returned Ok: the task was accepted, and no worker is left \
                 to run it (its handle waits forever)",
            ),
        },
    };
    dispose(pool);
    verdict
}

/// `bounded-over-admits`: with its worker busy, a `Bounded(2)` `Reject` pool admits exactly 2 more.
pub(super) fn bounded_admits_exactly<F: PoolFlavor>() -> Verdict {
    const CAP: usize = 2;
    let spec = PoolSpec::fixed(1).bounded(CAP, Overflow::Reject);
    let pool = match build::<F>(&spec, "bounded-admits-exactly") {
        Ok(p) => p,
        Err(skip) => return skip,
    };
    step(format!(
        "PoolSpec::fixed(1).bounded({CAP}, Reject); its worker held at a gate; submit until \
         refused"
    ));
    let runs = run_counts(CAP + 8);
    let (gate, opener) = Gate::new();
    let mut handles = match occupy(&*pool, 1, &runs, &gate) {
        Ok(h) => h,
        Err(skip) => return skip,
    };
    let mut refused = None;
    for id in 1..CAP + 8 {
        match pool.submit(counted(&runs, id, None)) {
            Ok(h) => handles.push(h),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let admitted = handles.len() - 1;
    opener.open();
    let _ = join_all(handles, SLOW);
    dispose(pool);
    match refused {
        Some(SubmitRefused::Rejected) if admitted == CAP => Verdict::Pass,
        Some(SubmitRefused::Rejected) if admitted < CAP => Verdict::Skipped {
            why: format!(
                "the queue of {CAP} refused after {admitted} (queue_bound_holds, conformance, \
                 reports that)"
            ),
        },
        Some(SubmitRefused::Rejected) => Verdict::fail(format!(
            "with its one worker busy, a queue bounded to {CAP} admitted {admitted} tasks before \
             refusing one"
        )),
        Some(other) => Verdict::Skipped {
            why: format!("a full queue refused with {other:?}, not Rejected"),
        },
        None => Verdict::fail(format!(
            "with its one worker busy, a queue bounded to {CAP} admitted {admitted} tasks and \
             never refused"
        )),
    }
}

/// `results-mixed-up`: 4 threads submit 250 tasks each at once; each handle reports its own task's
/// value, and each task ran once.
pub(super) fn results_reach_their_handles<F: PoolFlavor>() -> Verdict {
    const SUBMITTERS: usize = 4;
    const EACH: usize = 250;
    const N: usize = SUBMITTERS * EACH;
    step(format!(
        "PoolSpec::fixed(3); {SUBMITTERS} threads submit {EACH} numbered tasks each, at once; \
         every handle joined (3 rounds)"
    ));
    for round in 1..=3 {
        let pool = match build::<F>(&PoolSpec::fixed(3), "results-reach-their-handles") {
            Ok(p) => p,
            Err(skip) => return skip,
        };
        let runs = run_counts(N);
        let start = Arc::new(Barrier::new(SUBMITTERS));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let (pool, runs, start) = (pool.clone(), runs.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    (s * EACH..(s + 1) * EACH)
                        .map(|id| pool.submit(counted(&runs, id, None)).map(|h| (id, h)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut handles = Vec::new();
        for s in submitters {
            match join_within(s, SLOW) {
                Some(Ok(h)) => handles.extend(h),
                Some(Err(e)) => {
                    return Verdict::Skipped {
                        why: format!("an unbounded pool refused a task ({e:?})"),
                    };
                }
                None => {
                    return Verdict::Skipped {
                        why: "a submit did not return (the stress check reports why)".into(),
                    };
                }
            }
        }
        let ids: Vec<usize> = handles.iter().map(|(id, _)| *id).collect();
        let outcomes = join_all(handles.into_iter().map(|(_, h)| h).collect(), SLOW);
        let verdict = match outcomes {
            None => Some(Verdict::fail(format!(
                "round {round}: {N} tasks submitted by {SUBMITTERS} threads at once; {SLOW:?} \
                 later a handle still had no result: a result was lost"
            ))),
            Some(outcomes) => {
                let wrong: Vec<String> = ids
                    .iter()
                    .zip(&outcomes)
                    .filter(|(id, o)| **o != TaskOutcome::Done(value_of(**id)))
                    .take(3)
                    .map(|(id, o)| format!("task {id} (returns {}) reported {o:?}", value_of(*id)))
                    .collect();
                let twice = runs.iter().filter(|r| r.load(SeqCst) > 1).count();
                if !wrong.is_empty() {
                    Some(Verdict::fail(format!(
                        "round {round}: {N} tasks submitted by {SUBMITTERS} threads at once: {}",
                        wrong.join("; ")
                    )))
                } else if twice > 0 {
                    Some(Verdict::fail(format!(
                        "round {round}: {twice} tasks ran more than once"
                    )))
                } else {
                    None
                }
            }
        };
        dispose(pool);
        if let Some(v) = verdict {
            return v;
        }
    }
    Verdict::Pass
}

/// The stress check: 4 submitters × 500 tasks, each carrying a ledger-tracked value, through a pool
/// of 3 (queue bounded to 8 with `Block` when the attempt has one, else unbounded): each handle
/// reports its own task's value, each task ran once, each carried value dropped once, and no worker
/// thread is left once the pool dropped.
pub(super) fn stress_ledger<F: PoolFlavor>() -> Verdict {
    const SUBMITTERS: usize = 4;
    const EACH: usize = 500;
    const N: usize = SUBMITTERS * EACH;
    let bounded = PoolSpec::fixed(3).bounded(8, Overflow::Block);
    let (pool, shape) = match F::build(&bounded) {
        Ok(p) => (Arc::new(p), "bounded(8, Block)"),
        Err(_) => match build::<F>(&PoolSpec::fixed(3), "stress-ledger") {
            Ok(p) => (p, "unbounded"),
            Err(skip) => return skip,
        },
    };
    step(format!(
        "PoolSpec::fixed(3), {shape}; {SUBMITTERS} submitters x {EACH} tasks carrying tracked values"
    ));
    let prefix = pool.thread_name_prefix().map(str::to_string);
    let ledger = DropLedger::new(N);
    let runs = run_counts(N);
    let submitters: Vec<_> = (0..SUBMITTERS)
        .map(|s| {
            let (pool, runs, ledger) = (pool.clone(), runs.clone(), ledger.clone());
            thread::spawn(move || {
                (s * EACH..(s + 1) * EACH)
                    .map(|id| {
                        let carried = ledger.element(id);
                        let runs = runs.clone();
                        let job: Job = Box::new(move || {
                            runs[carried.id].fetch_add(1, SeqCst);
                            value_of(carried.id)
                        });
                        pool.submit(job).map(|h| (id, h))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .collect();
    let mut handles = Vec::new();
    for s in submitters {
        match join_within(s, SLOW + SLOW) {
            Some(Ok(h)) => handles.extend(h),
            Some(Err(e)) => return Verdict::fail(format!("a submit was refused: {e:?}")),
            None => return Verdict::fail("a submitter was still blocked in submit after 20 s"),
        }
    }
    let ids: Vec<usize> = handles.iter().map(|(id, _)| *id).collect();
    let Some(outcomes) = join_all(handles.into_iter().map(|(_, h)| h).collect(), SLOW) else {
        return Verdict::fail(format!(
            "{N} tasks admitted; some handle had no result 10 s later"
        ));
    };
    let wrong = ids
        .iter()
        .zip(&outcomes)
        .filter(|(id, o)| **o != TaskOutcome::Done(value_of(**id)))
        .count();
    if wrong > 0 {
        return Verdict::fail(format!(
            "{wrong} of {N} handles did not report their task's value"
        ));
    }
    let not_once = runs.iter().filter(|r| r.load(SeqCst) != 1).count();
    if not_once > 0 {
        return Verdict::fail(format!("{not_once} of {N} tasks did not run exactly once"));
    }
    if !dispose(pool) {
        return Verdict::fail("drop(pool) had not returned 2 s after every task ended");
    }
    let wrong = ledger.wrong();
    if !wrong.is_empty() {
        return Verdict::fail(format!(
            "{} values carried by tasks not dropped exactly once (value, times): {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        ));
    }
    if let Some(p) = prefix.filter(|_| F::known_lack(Lack::DropJoins).is_none()) {
        let left = harness::leaks::threads_named_until(&p, HANG, |n| n == 0);
        if left > 0 {
            return Verdict::fail(format!(
                "{left} worker threads named {p:?} still alive after drop(pool) returned"
            ));
        }
    }
    Verdict::Pass
}
