//! The pool conformance suite, written once against [`PoolFlavor`] and run against our `workpool` and
//! the ecosystem's pools (`tests/tests/pool_peers.rs`: threadpool, rusty_pool, rayon, tokio's
//! `spawn_blocking`).
//!
//! Every oracle is outside the pool: atomics the tasks bump (how often each task ran, how many run
//! at once), a [`Gate`] that holds workers busy so "the queue is full" is a fact rather than a race,
//! the submitting thread's id, the clock (only as "at least d"), and the worker threads counted by
//! name in `/proc` ([`crate::leaks::threads_named`]). A pool's own counters are never read.
//!
//! A flavor that lacks a feature is skipped loudly (`SKIP <case> on <flavor>: <reason>` on stderr),
//! never passed silently: [`PoolFlavor::build`] refusing a spec, or an optional method returning
//! [`Unsupported`]. A flavor that has the API but lacks the behaviour declares it
//! ([`PoolFlavor::known_lack`]): the check then runs and must fail, and the failure is printed as a
//! SKIP with both the reason and what the check saw; if it passes, the test fails (the declaration
//! is stale).
//!
//! Every case runs under [`within`], so a deadlock fails fast; sizes are small (a case takes well
//! under a second on two cores, except where it waits for a keep-alive or a timeout on purpose).
//!
//! Use [`pool_conformance!`](crate::pool_conformance) to instantiate the cases as `#[test]`s.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::contracts::pool::{
    ContractPool, GroupError, GroupJob, Job, Lack, Overflow, PoolFlavor, PoolSpec, Priority,
    ShutdownMode, SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};
use crate::exercise::expect_panic;
use crate::leaks::{threads_named, threads_named_until};
use crate::wait::poll_until;
use crate::watchdog::within;

// All atomics in this suite are SeqCst: they are bookkeeping, and the simplest correct ordering keeps
// the suite about the pool, not about the suite.

/// Deadline for one case: generous, since a case only fails by it when something is stuck.
pub const CASE_DEADLINE: Duration = Duration::from_secs(30);

/// How long a helper waits for something that should happen promptly (workers picking up tasks):
/// far above normal (milliseconds), far below the case deadline.
const PROMPTLY: Duration = Duration::from_secs(5);

/// Prints the loud skip line every skipped case or variant leaves on stderr.
pub fn skip(case: &str, flavor: &str, reason: impl std::fmt::Display) {
    eprintln!("SKIP {case} on {flavor}: {reason}");
}

/// Builds `spec` with `F`, or prints a SKIP line and returns `None`.
fn build_or_skip<F: PoolFlavor>(case: &str, spec: &PoolSpec) -> Option<F::Pool> {
    match F::build(spec) {
        Ok(pool) => Some(pool),
        Err(Unsupported(why)) => {
            skip(case, F::NAME, why);
            None
        }
    }
}

/// Runs `check` (the assertions about behaviour `lack`). If `F` declares the lack, the check must
/// fail: its failure is printed as a SKIP, a pass fails the test.
fn expect_unless_lacking<F: PoolFlavor>(case: &str, lack: Lack, check: impl FnOnce()) {
    match F::known_lack(lack) {
        None => check(),
        Some(reason) => match expect_panic(check) {
            Err(seen) => skip(
                case,
                F::NAME,
                format!("known lack ({lack:?}): {reason}; confirmed, the check failed: {seen}"),
            ),
            Ok(()) => panic!(
                "{}: {case}: declared as lacking {lack:?} ({reason}), but the check passed: \
                 the declaration is stale",
                F::NAME
            ),
        },
    }
}

// ---------------------------------------------------------------------------------------------------
// Instruments

/// Holds tasks at a barrier the test opens: "every worker is busy" becomes a fact the test waits for
/// ([`Gate::wait_entered`]), not a sleep. Dropping the [`GateOpener`] opens it, so a failing
/// assertion releases the workers instead of leaving them stuck.
#[derive(Debug, Default)]
pub struct Gate {
    /// (tasks that reached the gate, open)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Gate {
    /// A closed gate and the guard that opens it when dropped.
    pub fn new() -> (Arc<Gate>, GateOpener) {
        let gate = Arc::new(Gate::default());
        (gate.clone(), GateOpener(gate))
    }

    /// Called by a task: counts itself in, then waits until the gate opens.
    pub fn pass(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 += 1;
        self.changed.notify_all();
        while !s.1 {
            s = self.changed.wait(s).unwrap();
        }
    }

    /// Called by a task: counts itself in without waiting (an "I have started" signal).
    pub fn arrive(&self) {
        self.state.lock().unwrap().0 += 1;
        self.changed.notify_all();
    }

    /// How many tasks reached the gate so far.
    pub fn entered(&self) -> usize {
        self.state.lock().unwrap().0
    }

    /// Waits until at least `n` tasks reached the gate; false after `limit`.
    pub fn wait_entered(&self, n: usize, limit: Duration) -> bool {
        let s = self.state.lock().unwrap();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, limit, |s| s.0 < n)
            .unwrap();
        s.0 >= n
    }

    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// Opens its [`Gate`] when dropped (or by [`GateOpener::open`]).
#[derive(Debug)]
pub struct GateOpener(Arc<Gate>);

impl GateOpener {
    /// Opens the gate now.
    pub fn open(self) {}
}

impl Drop for GateOpener {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Tasks meet here: each waits (at most `limit`) until `n` have arrived. A pool running `n` tasks at
/// once passes straight through; one running fewer makes each wait out the limit, and the measured
/// maximum in flight shows it. Never deadlocks a pool (the wait is bounded).
#[derive(Debug)]
pub struct Rendezvous {
    n: usize,
    limit: Duration,
    arrived: Mutex<usize>,
    changed: Condvar,
}

impl Rendezvous {
    /// Meeting of `n`, each waiting at most `limit`.
    pub fn new(n: usize, limit: Duration) -> Arc<Rendezvous> {
        Arc::new(Rendezvous {
            n,
            limit,
            arrived: Mutex::new(0),
            changed: Condvar::new(),
        })
    }

    /// Arrives; waits until `n` arrived in all (ever), or the limit passes.
    pub fn meet(&self) {
        let mut a = self.arrived.lock().unwrap();
        *a += 1;
        self.changed.notify_all();
        let _ = self
            .changed
            .wait_timeout_while(a, self.limit, |a| *a < self.n)
            .unwrap();
    }
}

/// Tasks running right now, and the most ever seen at once, measured by the tasks themselves.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    /// A task starts; the guard marks its end.
    pub fn enter(&self) -> InFlightGuard<'_> {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        InFlightGuard(self)
    }
    /// Most tasks seen running at once.
    pub fn max(&self) -> usize {
        self.max.load(SeqCst)
    }
}

/// Marks the end of a task counted by [`InFlight::enter`].
#[derive(Debug)]
pub struct InFlightGuard<'a>(&'a InFlight);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
    }
}

/// `runs[id]`: how many times task `id` ran.
fn run_counts(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// The value task `id` returns, so a handle reporting another task's value is caught.
fn value_of(id: usize) -> u64 {
    id as u64 * 7 + 1
}

/// A task that counts its run, passes `gate` (if any) and returns [`value_of`]`(id)`.
fn counted(runs: &Arc<Vec<AtomicUsize>>, id: usize, gate: Option<&Arc<Gate>>) -> Job {
    let runs = runs.clone();
    let gate = gate.cloned();
    Box::new(move || {
        runs[id].fetch_add(1, SeqCst);
        if let Some(g) = gate {
            g.pass();
        }
        value_of(id)
    })
}

/// Fills a fixed pool's workers with tasks held at `gate` and waits until all of them run there.
/// Admission is retried for a moment (a just-built hand-off pool may not have its workers waiting
/// yet), since a pool with idle workers must admit them.
fn occupy<P: ContractPool>(
    name: &str,
    pool: &P,
    workers: usize,
    runs: &Arc<Vec<AtomicUsize>>,
    gate: &Arc<Gate>,
) -> Vec<(usize, P::Handle)> {
    let mut handles = Vec::new();
    for id in 0..workers {
        let end = Instant::now() + PROMPTLY;
        loop {
            match pool.submit(counted(runs, id, Some(gate))) {
                Ok(h) => {
                    handles.push((id, h));
                    break;
                }
                Err(_) if Instant::now() < end => thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("{name}: an idle worker did not take task {id}: {e:?}"),
            }
        }
    }
    assert!(
        gate.wait_entered(workers, PROMPTLY),
        "{name}: {workers} workers did not all start a task (only {} did)",
        gate.entered()
    );
    handles
}

fn join_expect_done<H: TaskHandle>(name: &str, handles: Vec<(usize, H)>) {
    for (id, h) in handles {
        assert_eq!(
            h.join(),
            TaskOutcome::Done(value_of(id)),
            "{name}: task {id}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Exactly once

/// Every task runs exactly once, or its handle (or `submit`) says why not: 4 submitter threads, 240
/// tasks, and the executed multiset (counted by the tasks) compared with every outcome; counted again
/// after the pool is dropped, so a late second run is caught too. On an unbounded queue and, when the
/// flavor has one, a bounded `Block` queue of 2 (submitters then block under contention).
pub fn every_task_runs_exactly_once<F: PoolFlavor>() {
    const CASE: &str = "every_task_runs_exactly_once";
    within(CASE_DEADLINE, || {
        let specs = [
            ("unbounded", PoolSpec::fixed(3)),
            (
                "bounded(2, Block)",
                PoolSpec::fixed(3).bounded(2, Overflow::Block),
            ),
        ];
        for (variant, spec) in specs {
            let Some(pool) = build_or_skip::<F>(&format!("{CASE} [{variant}]"), &spec) else {
                continue;
            };
            let name = format!("{} [{variant}]", F::NAME);
            let (submitters, per) = (4, 60);
            let runs = run_counts(submitters * per);
            let pool = Arc::new(pool);
            let outcomes: Vec<(usize, Result<TaskOutcome, SubmitRefused>)> = (0..submitters)
                .map(|s| {
                    let (pool, runs) = (pool.clone(), runs.clone());
                    thread::spawn(move || {
                        let handles: Vec<_> = (s * per..(s + 1) * per)
                            .map(|id| (id, pool.submit(counted(&runs, id, None))))
                            .collect();
                        handles
                            .into_iter()
                            .map(|(id, h)| (id, h.map(TaskHandle::join)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            let check = |when: &str| {
                for (id, outcome) in &outcomes {
                    let ran = runs[*id].load(SeqCst);
                    match outcome {
                        Ok(TaskOutcome::Done(v)) => {
                            assert_eq!(*v, value_of(*id), "{name}: task {id}'s value");
                            assert_eq!(
                                ran, 1,
                                "{name}: task {id} reported Done, ran {ran}x {when}"
                            );
                        }
                        other => panic!(
                            "{name}: task {id}: {other:?} (ran {ran}x) — nothing cancels, drops or \
                             refuses in this case"
                        ),
                    }
                }
            };
            check("after join");
            drop(pool);
            check("after the pool was dropped");
        }
    })
}

// ---------------------------------------------------------------------------------------------------
// 2. Concurrency: bounded by, and reaching, the worker count

/// At most `max_workers` tasks run at once, and that many do (so a pool running one task at a time
/// fails): tasks meet at a [`Rendezvous`] of `max_workers` and count themselves in flight. Each task
/// also checks it runs on a thread carrying the pool's name prefix. Fixed pool of 3, and an elastic
/// one (min 0, max 3) when the flavor has one.
pub fn in_flight_bounded_and_reached<F: PoolFlavor>() {
    const CASE: &str = "in_flight_bounded_and_reached";
    within(CASE_DEADLINE, || {
        let specs = [
            ("fixed(3)", PoolSpec::fixed(3)),
            (
                "elastic(0..=3)",
                PoolSpec::elastic(0, 3, Duration::from_millis(500)),
            ),
        ];
        for (variant, spec) in specs {
            let Some(pool) = build_or_skip::<F>(&format!("{CASE} [{variant}]"), &spec) else {
                continue;
            };
            let name = format!("{} [{variant}]", F::NAME);
            let workers = spec.max_workers;
            let in_flight = Arc::new(InFlight::default());
            let meet = Rendezvous::new(workers, Duration::from_secs(2));
            let prefix: Option<String> = pool.thread_name_prefix().map(str::to_string);
            let misnamed = Arc::new(AtomicUsize::new(0));
            let pool = Arc::new(pool);
            let per = 4 * workers;
            let submitters: Vec<_> = (0..2)
                .map(|s| {
                    let (pool, in_flight, meet, misnamed, prefix) = (
                        pool.clone(),
                        in_flight.clone(),
                        meet.clone(),
                        misnamed.clone(),
                        prefix.clone(),
                    );
                    thread::spawn(move || {
                        let handles: Vec<_> = (0..per)
                            .map(|i| {
                                let (in_flight, meet, misnamed, prefix) = (
                                    in_flight.clone(),
                                    meet.clone(),
                                    misnamed.clone(),
                                    prefix.clone(),
                                );
                                let id = s * per + i;
                                pool.submit(Box::new(move || {
                                    let _running = in_flight.enter();
                                    let named = thread::current()
                                        .name()
                                        .zip(prefix.as_deref())
                                        .is_none_or(|(n, p)| n.starts_with(p));
                                    if !named {
                                        misnamed.fetch_add(1, SeqCst);
                                    }
                                    meet.meet();
                                    thread::sleep(Duration::from_millis(1));
                                    value_of(id)
                                }))
                                .map(|h| (id, h))
                                .expect("unbounded Block pool refused a task")
                            })
                            .collect();
                        for (id, h) in handles {
                            assert_eq!(h.join(), TaskOutcome::Done(value_of(id)));
                        }
                    })
                })
                .collect();
            for s in submitters {
                s.join().unwrap();
            }
            assert_eq!(
                in_flight.max(),
                workers,
                "{name}: most tasks seen running at once (must be exactly the worker count)"
            );
            assert_eq!(
                misnamed.load(SeqCst),
                0,
                "{name}: tasks ran on threads not named {prefix:?}"
            );
        }
    })
}

// ---------------------------------------------------------------------------------------------------
// 3. The queue bound

/// The queue bound holds, counted: a fixed pool of 2 with every worker held at a gate admits exactly
/// `capacity` more tasks under `Reject`, then refuses (and keeps refusing) with `Rejected`; after the
/// gate opens every admitted task runs once and the refused ones never. Capacities 0 (hand-off), 1, 3.
pub fn queue_bound_holds<F: PoolFlavor>() {
    const CASE: &str = "queue_bound_holds";
    within(CASE_DEADLINE, || {
        for cap in [0, 1, 3] {
            let workers = 2;
            let spec = PoolSpec::fixed(workers).bounded(cap, Overflow::Reject);
            let Some(pool) = build_or_skip::<F>(&format!("{CASE} [cap {cap}]"), &spec) else {
                continue;
            };
            let name = format!("{} [cap {cap}]", F::NAME);
            let limit = workers + cap + 10;
            let runs = run_counts(limit + 1);
            let (gate, opener) = Gate::new();
            let mut admitted = occupy(&name, &pool, workers, &runs, &gate);
            let mut refused = None;
            for id in workers..limit {
                match pool.submit(counted(&runs, id, None)) {
                    Ok(h) => admitted.push((id, h)),
                    Err(e) => {
                        refused = Some((id, e));
                        break;
                    }
                }
            }
            let (first_refused, why) =
                refused.unwrap_or_else(|| panic!("{name}: admitted {limit} tasks, never refused"));
            assert_eq!(why, SubmitRefused::Rejected, "{name}: refusal kind");
            assert_eq!(
                admitted.len(),
                workers + cap,
                "{name}: admitted with every worker busy (workers + capacity)"
            );
            assert_eq!(
                pool.submit(counted(&runs, limit, None)).err(),
                Some(SubmitRefused::Rejected),
                "{name}: still full, still refused"
            );
            opener.open();
            join_expect_done(&name, admitted);
            drop(pool);
            for (id, r) in runs.iter().enumerate() {
                let expected = usize::from(id < first_refused);
                assert_eq!(r.load(SeqCst), expected, "{name}: runs of task {id}");
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------------
// 4. Overflow policies, one by one, on a full pool (1 worker held at a gate, queue full)

/// A fixed pool of one worker held at a gate, with its queue of `cap` full: `(pool, gate opener,
/// handles of the held task and the queued ones, runs)`.
///
/// Drop order matters when an assertion fails: locals drop in reverse order, so the opener (declared
/// after the pool) opens the gate before the pool's `Drop` joins the worker held at it. Hence the
/// pool comes already in its `Arc`, never re-bound after the opener.
type Full<P> = (
    Arc<P>,
    GateOpener,
    Vec<(usize, <P as ContractPool>::Handle)>,
    Arc<Vec<AtomicUsize>>,
);

fn full_pool<F: PoolFlavor>(case: &str, cap: usize, policy: Overflow) -> Option<Full<F::Pool>> {
    let spec = PoolSpec::fixed(1).bounded(cap, policy);
    let pool = build_or_skip::<F>(case, &spec)?;
    let runs = run_counts(cap + 3);
    let (gate, opener) = Gate::new();
    let mut handles = occupy(F::NAME, &pool, 1, &runs, &gate);
    for id in 1..=cap {
        let h = pool
            .submit(counted(&runs, id, None))
            .unwrap_or_else(|e| panic!("{}: {case}: queued task {id} refused: {e:?}", F::NAME));
        handles.push((id, h));
    }
    Some((Arc::new(pool), opener, handles, runs))
}

/// `Block`: `submit` on a full queue does not return until a slot frees (checked 100 ms after the
/// call, with the worker still held), then admits the task, which runs.
pub fn overflow_block_waits_for_a_slot<F: PoolFlavor>() {
    const CASE: &str = "overflow_block_waits_for_a_slot";
    within(CASE_DEADLINE, || {
        let Some((pool, opener, mut handles, runs)) = full_pool::<F>(CASE, 1, Overflow::Block)
        else {
            return;
        };
        let returned = Arc::new(AtomicBool::new(false));
        let blocked = {
            let (pool, runs, returned) = (pool.clone(), runs.clone(), returned.clone());
            thread::spawn(move || {
                let h = pool.submit(counted(&runs, 2, None));
                returned.store(true, SeqCst);
                h
            })
        };
        thread::sleep(Duration::from_millis(100));
        assert!(
            !returned.load(SeqCst),
            "{}: submit on a full Block queue returned while every slot was taken",
            F::NAME
        );
        opener.open();
        let h = blocked
            .join()
            .unwrap()
            .expect("Block admits once a slot frees");
        handles.push((2, h));
        join_expect_done(F::NAME, handles);
        assert_eq!(runs[2].load(SeqCst), 1);
    })
}

/// `Reject`: `submit` on a full queue refuses at once (while the worker is still held) with
/// `Rejected`, and the refused task never runs.
pub fn overflow_reject_refuses_at_once<F: PoolFlavor>() {
    const CASE: &str = "overflow_reject_refuses_at_once";
    within(CASE_DEADLINE, || {
        let Some((pool, opener, handles, runs)) = full_pool::<F>(CASE, 1, Overflow::Reject) else {
            return;
        };
        assert_eq!(
            pool.submit(counted(&runs, 2, None)).err(),
            Some(SubmitRefused::Rejected),
            "{}: full queue under Reject",
            F::NAME
        );
        opener.open();
        join_expect_done(F::NAME, handles);
        drop(pool);
        assert_eq!(runs[2].load(SeqCst), 0, "{}: a refused task ran", F::NAME);
    })
}

/// `CallerRuns`: on a full queue the task runs on the submitting thread (its thread id) before
/// `submit` returns, and its handle reports its value; the held and queued tasks are unaffected.
pub fn overflow_caller_runs_on_the_caller<F: PoolFlavor>() {
    const CASE: &str = "overflow_caller_runs_on_the_caller";
    within(CASE_DEADLINE, || {
        let Some((pool, opener, handles, runs)) = full_pool::<F>(CASE, 1, Overflow::CallerRuns)
        else {
            return;
        };
        let ran_on = Arc::new(Mutex::new(None));
        let job: Job = {
            let ran_on = ran_on.clone();
            let inner = counted(&runs, 2, None);
            Box::new(move || {
                *ran_on.lock().unwrap() = Some(thread::current().id());
                inner()
            })
        };
        let h = pool.submit(job).expect("CallerRuns never refuses");
        assert_eq!(
            *ran_on.lock().unwrap(),
            Some(thread::current().id()),
            "{}: under CallerRuns the task must have run on the caller before submit returned",
            F::NAME
        );
        assert_eq!(
            runs[1].load(SeqCst),
            0,
            "{}: the queued task ran early",
            F::NAME
        );
        opener.open();
        assert_eq!(h.join(), TaskOutcome::Done(value_of(2)), "{}", F::NAME);
        join_expect_done(F::NAME, handles);
        drop(pool);
        assert_eq!(runs[2].load(SeqCst), 1, "{}: ran once", F::NAME);
    })
}

/// `DropOldest`: on a full queue (capacity 2) the new task is admitted and exactly the oldest queued
/// one is evicted: its handle reports `Dropped` and it never runs; the others run.
pub fn overflow_drop_oldest_evicts_the_oldest<F: PoolFlavor>() {
    const CASE: &str = "overflow_drop_oldest_evicts_the_oldest";
    within(CASE_DEADLINE, || {
        let Some((pool, opener, mut handles, runs)) = full_pool::<F>(CASE, 2, Overflow::DropOldest)
        else {
            return;
        };
        // handles: task 0 held by the worker, tasks 1 and 2 queued (1 is the oldest).
        let h3 = pool
            .submit(counted(&runs, 3, None))
            .expect("DropOldest admits the new task");
        let (_, oldest) = handles.remove(1);
        opener.open();
        assert_eq!(oldest.join(), TaskOutcome::Dropped, "{}: task 1", F::NAME);
        handles.push((3, h3));
        join_expect_done(F::NAME, handles);
        drop(pool);
        let ran: Vec<usize> = runs.iter().map(|r| r.load(SeqCst)).collect();
        assert_eq!(&ran[..4], &[1, 0, 1, 1], "{}: runs of tasks 0..=3", F::NAME);
    })
}

/// `Timeout(d)`: on a full queue `submit` waits at least `d`, then refuses with `TimedOut` (and
/// returns within `d` + 5 s); the refused task never runs.
pub fn overflow_timeout_waits_then_refuses<F: PoolFlavor>() {
    const CASE: &str = "overflow_timeout_waits_then_refuses";
    within(CASE_DEADLINE, || {
        let d = Duration::from_millis(150);
        let Some((pool, opener, handles, runs)) = full_pool::<F>(CASE, 1, Overflow::Timeout(d))
        else {
            return;
        };
        let start = Instant::now();
        let r = pool.submit(counted(&runs, 2, None)).err();
        let waited = start.elapsed();
        assert_eq!(r, Some(SubmitRefused::TimedOut), "{}", F::NAME);
        assert!(
            waited >= d,
            "{}: refused after {waited:?}, before the timeout {d:?}",
            F::NAME
        );
        assert!(
            waited <= d + Duration::from_secs(5),
            "{}: returned only after {waited:?}",
            F::NAME
        );
        opener.open();
        join_expect_done(F::NAME, handles);
        drop(pool);
        assert_eq!(runs[2].load(SeqCst), 0, "{}: a timed-out task ran", F::NAME);
    })
}

// ---------------------------------------------------------------------------------------------------
// 5. Panics

/// A panicking task is reported by its handle (with its message, when the pool keeps it), and the
/// pool afterwards still runs as many tasks at once as it has workers (measured by a rendezvous, so
/// a worker lost to the panic shows).
pub fn panics_reported_and_contained<F: PoolFlavor>() {
    const CASE: &str = "panics_reported_and_contained";
    within(CASE_DEADLINE, || {
        let workers = 2;
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(workers)) else {
            return;
        };
        expect_unless_lacking::<F>(CASE, Lack::PanicsContained, || {
            let panicking: Vec<_> = (0..workers)
                .map(|i| {
                    pool.submit(Box::new(move || -> u64 {
                        panic!("pool conformance: task {i} panics on purpose")
                    }))
                    .expect("unbounded pool refused")
                })
                .collect();
            for (i, h) in panicking.into_iter().enumerate() {
                match h.join() {
                    TaskOutcome::Panicked(None) => {}
                    TaskOutcome::Panicked(Some(m)) => assert!(
                        m.contains(&format!("task {i} panics on purpose")),
                        "{}: panic message {m:?}",
                        F::NAME
                    ),
                    other => panic!("{}: a panicking task reported {other:?}", F::NAME),
                }
            }
            let in_flight = Arc::new(InFlight::default());
            let meet = Rendezvous::new(workers, Duration::from_secs(2));
            let handles: Vec<_> = (0..2 * workers)
                .map(|id| {
                    let (in_flight, meet) = (in_flight.clone(), meet.clone());
                    let h = pool
                        .submit(Box::new(move || {
                            let _running = in_flight.enter();
                            meet.meet();
                            value_of(id)
                        }))
                        .expect("the pool still admits tasks after a panic");
                    (id, h)
                })
                .collect();
            join_expect_done(F::NAME, handles);
            assert_eq!(
                in_flight.max(),
                workers,
                "{}: tasks running at once after the panics (workers lost?)",
                F::NAME
            );
        });
    })
}

// ---------------------------------------------------------------------------------------------------
// 6. Drop joins

/// `drop(pool)` joins: a running task (sleeping 150 ms, then setting a flag) has finished when drop
/// returns, and no thread carrying the pool's name is left (allowing 50 ms for the kernel to reap a
/// joined thread, far less than the task's sleep). A pool whose `Drop` detaches fails.
pub fn drop_joins_workers<F: PoolFlavor>() {
    const CASE: &str = "drop_joins_workers";
    within(CASE_DEADLINE, || {
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(2)) else {
            return;
        };
        let prefix = pool.thread_name_prefix().map(str::to_string);
        let started = Arc::new(Gate::default());
        let finished = Arc::new(AtomicBool::new(false));
        let handle = {
            let (started, finished) = (started.clone(), finished.clone());
            pool.submit(Box::new(move || {
                started.arrive();
                thread::sleep(Duration::from_millis(150));
                finished.store(true, SeqCst);
                1
            }))
            .expect("unbounded pool refused")
        };
        assert!(
            started.wait_entered(1, PROMPTLY),
            "{}: the task did not start",
            F::NAME
        );
        expect_unless_lacking::<F>(CASE, Lack::DropJoins, move || {
            drop(pool);
            assert!(
                finished.load(SeqCst),
                "{}: drop(pool) returned while a task was still running (Drop detaches)",
                F::NAME
            );
            match &prefix {
                Some(p) => {
                    let left = threads_named_until(p, Duration::from_millis(50), |n| n == 0);
                    assert_eq!(left, 0, "{}: threads named {p:?} alive after drop", F::NAME);
                }
                None => skip(
                    CASE,
                    F::NAME,
                    "unnamed threads: the thread count is not checked",
                ),
            }
        });
        assert_eq!(handle.join(), TaskOutcome::Done(1), "{}", F::NAME);
    })
}

// ---------------------------------------------------------------------------------------------------
// 7. Cancel

/// A queued task that is cancelled never starts and its handle reports `Cancelled`; a task submitted
/// after it runs (so the worker has gone past the cancelled one when the check is made).
pub fn cancel_of_a_queued_task<F: PoolFlavor>() {
    const CASE: &str = "cancel_of_a_queued_task";
    within(CASE_DEADLINE, || {
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(1)) else {
            return;
        };
        let runs = run_counts(3);
        let (gate, opener) = Gate::new();
        let held = occupy(F::NAME, &pool, 1, &runs, &gate);
        let queued = pool.submit(counted(&runs, 1, None)).expect("admitted");
        if let Err(why) = queued.cancel() {
            skip(CASE, F::NAME, why);
            opener.open();
            join_expect_done(F::NAME, held);
            return;
        }
        let after = pool.submit(counted(&runs, 2, None)).expect("admitted");
        opener.open();
        join_expect_done(F::NAME, held);
        assert_eq!(queued.join(), TaskOutcome::Cancelled, "{}", F::NAME);
        assert_eq!(after.join(), TaskOutcome::Done(value_of(2)), "{}", F::NAME);
        drop(pool);
        assert_eq!(
            runs[1].load(SeqCst),
            0,
            "{}: a cancelled queued task ran",
            F::NAME
        );
    })
}

// ---------------------------------------------------------------------------------------------------
// 8. Keep-alive reaping

/// An elastic pool (min 1, or min 0 for a flavor that keeps no minimum; max 4; keep-alive 50 ms)
/// grows to 4 threads for a burst of 4 held tasks, and once they end falls back to exactly `min`
/// threads (polled with a deadline) and stays there (checked again after 4 keep-alives).
pub fn keep_alive_reaps_to_min<F: PoolFlavor>() {
    const CASE: &str = "keep_alive_reaps_to_min";
    within(CASE_DEADLINE, || {
        let keep_alive = Duration::from_millis(50);
        let spec = PoolSpec::elastic(1, 4, keep_alive);
        let (pool, spec) = match F::build(&spec) {
            Ok(p) => (p, spec),
            Err(why) => {
                eprintln!(
                    "NOTE {CASE} on {}: min 1 refused ({why}); trying min 0",
                    F::NAME
                );
                let spec = PoolSpec::elastic(0, 4, keep_alive);
                let Some(p) = build_or_skip::<F>(CASE, &spec) else {
                    return;
                };
                (p, spec)
            }
        };
        let Some(prefix) = pool.thread_name_prefix().map(str::to_string) else {
            skip(CASE, F::NAME, "unnamed threads: cannot count them");
            return;
        };
        let min = spec.min_workers;
        let runs = run_counts(4);
        let (gate, opener) = Gate::new();
        let held: Vec<_> = (0..4)
            .map(|id| {
                (
                    id,
                    pool.submit(counted(&runs, id, Some(&gate)))
                        .expect("admitted"),
                )
            })
            .collect();
        assert!(
            gate.wait_entered(4, PROMPTLY),
            "{}: an elastic pool of max 4 ran only {} of 4 held tasks",
            F::NAME,
            gate.entered()
        );
        let busy = threads_named(&prefix);
        assert!(
            busy >= 4,
            "{}: 4 tasks running, only {busy} threads named {prefix:?}",
            F::NAME
        );
        opener.open();
        join_expect_done(F::NAME, held);
        expect_unless_lacking::<F>(CASE, Lack::KeepAliveReaping, || {
            let settled = threads_named_until(&prefix, PROMPTLY, |n| n <= min);
            assert_eq!(
                settled,
                min,
                "{}: threads after the burst + keep-alive",
                F::NAME
            );
            thread::sleep(4 * keep_alive);
            assert_eq!(
                threads_named(&prefix),
                min,
                "{}: reaped below min (or respawned)",
                F::NAME
            );
        });
    })
}

// ---------------------------------------------------------------------------------------------------
// 9. Resize, scope, groups, shutdown, priority

/// Most tasks running at once in a round of `n` tasks of 3 ms each.
fn round_max_in_flight<P: ContractPool>(pool: &P, n: usize) -> usize {
    let in_flight = Arc::new(InFlight::default());
    let handles: Vec<_> = (0..n)
        .map(|id| {
            let in_flight = in_flight.clone();
            let h = pool
                .submit(Box::new(move || {
                    let _running = in_flight.enter();
                    thread::sleep(Duration::from_millis(3));
                    value_of(id)
                }))
                .expect("admitted");
            (id, h)
        })
        .collect();
    join_expect_done("round", handles);
    in_flight.max()
}

/// Resize of a fixed pool: grown from 2 to 4 workers it runs 4 held tasks at once (promptly);
/// shrunk to 1 it eventually (once running tasks ended: rounds for up to 5 s) runs one task at a
/// time, and then keeps to it for a round of 8.
pub fn resize_grows_and_shrinks<F: PoolFlavor>() {
    const CASE: &str = "resize_grows_and_shrinks";
    within(CASE_DEADLINE, || {
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(2)) else {
            return;
        };
        if let Err(why) = pool.resize(4) {
            skip(CASE, F::NAME, why);
            return;
        }
        let runs = run_counts(4);
        let (gate, opener) = Gate::new();
        let held: Vec<_> = (0..4)
            .map(|id| {
                (
                    id,
                    pool.submit(counted(&runs, id, Some(&gate)))
                        .expect("admitted"),
                )
            })
            .collect();
        assert!(
            gate.wait_entered(4, PROMPTLY),
            "{}: grown to 4, ran only {} held tasks at once",
            F::NAME,
            gate.entered()
        );
        opener.open();
        join_expect_done(F::NAME, held);
        pool.resize(1).expect("resize worked a moment ago");
        assert!(
            poll_until(PROMPTLY, || round_max_in_flight(&pool, 4) <= 1),
            "{}: shrunk to 1 worker, still runs several tasks at once after {PROMPTLY:?}",
            F::NAME
        );
        assert_eq!(
            round_max_in_flight(&pool, 8),
            1,
            "{}: shrunk to 1, a later round ran tasks in parallel",
            F::NAME
        );
    })
}

/// Scoped tasks borrow from the caller's stack: each of 8 tasks writes its own `&mut` chunk of a
/// local array and bumps a local counter; when `scope` returns every write is visible, every task
/// ran on a pool thread (by name) or on the calling thread (which may help while it waits: workpool
/// runs the scope's unstarted tasks itself), never elsewhere; and two ran at once (a rendezvous of
/// 2 on a pool of 2, so a scope that runs everything on the caller fails), three at most (the
/// workers and the helping caller).
pub fn scope_borrows_from_the_stack<F: PoolFlavor>() {
    const CASE: &str = "scope_borrows_from_the_stack";
    within(CASE_DEADLINE, || {
        let workers = 2;
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(workers)) else {
            return;
        };
        let prefix = pool.thread_name_prefix().map(str::to_string);
        let mut cells = vec![0u64; 16];
        let counter = AtomicUsize::new(0);
        let misnamed = AtomicUsize::new(0);
        let in_flight = InFlight::default();
        let meet = Rendezvous::new(workers, Duration::from_secs(2));
        let caller = thread::current().id();
        let result = {
            let jobs: Vec<_> = cells
                .chunks_mut(2)
                .enumerate()
                .map(|(i, chunk)| {
                    let (counter, misnamed, in_flight, meet, prefix) =
                        (&counter, &misnamed, &in_flight, &meet, &prefix);
                    Box::new(move || {
                        let _running = in_flight.enter();
                        for (j, c) in chunk.iter_mut().enumerate() {
                            *c = (2 * i + j) as u64 + 100;
                        }
                        counter.fetch_add(1, SeqCst);
                        let me = thread::current();
                        let named = me
                            .name()
                            .zip(prefix.as_deref())
                            .is_some_and(|(n, p)| n.starts_with(p));
                        if prefix.is_some() && !named && me.id() != caller {
                            misnamed.fetch_add(1, SeqCst);
                        }
                        meet.meet();
                    }) as Box<dyn FnOnce() + Send + '_>
                })
                .collect();
            pool.scope(jobs)
        };
        if let Err(why) = result {
            skip(CASE, F::NAME, why);
            return;
        }
        let expected: Vec<u64> = (100..116).collect();
        assert_eq!(
            cells,
            expected,
            "{}: writes through borrowed chunks",
            F::NAME
        );
        assert_eq!(counter.load(SeqCst), 8, "{}: scoped tasks run", F::NAME);
        assert_eq!(
            misnamed.load(SeqCst),
            0,
            "{}: ran off the pool and the caller",
            F::NAME
        );
        let most = in_flight.max();
        assert!(
            (workers..=workers + 1).contains(&most),
            "{}: {most} scoped tasks at once: want the workers, plus at most the helping caller",
            F::NAME
        );
    })
}

/// Task groups on one worker. All members succeed: the values come back in submission order.
/// Member 0 fails: the group reports `Failed { index: 0 }` with its error; no member starts after
/// the failure was returned (counted by the members); and when member 0 was the first to start (a
/// FIFO pool), no other member ran at all: first-error cancellation.
pub fn group_first_error_cancels_the_rest<F: PoolFlavor>() {
    const CASE: &str = "group_first_error_cancels_the_rest";
    within(CASE_DEADLINE, || {
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(1)) else {
            return;
        };
        let all_ok: Vec<GroupJob> = (0..4)
            .map(|id| Box::new(move || Ok(value_of(id))) as GroupJob)
            .collect();
        match pool.group(all_ok) {
            Err(why) => {
                skip(CASE, F::NAME, why);
                return;
            }
            Ok(r) => assert_eq!(
                r,
                Ok((0..4).map(value_of).collect()),
                "{}: a group that succeeds",
                F::NAME
            ),
        }
        let order = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let start_pos: Arc<Vec<AtomicUsize>> =
            Arc::new((0..6).map(|_| AtomicUsize::new(usize::MAX)).collect());
        let late_starts = Arc::new(AtomicUsize::new(0));
        let mut jobs: Vec<GroupJob> = Vec::new();
        {
            let (order, failed, start_pos) = (order.clone(), failed.clone(), start_pos.clone());
            jobs.push(Box::new(move || {
                start_pos[0].store(order.fetch_add(1, SeqCst), SeqCst);
                failed.store(true, SeqCst);
                Err("task 0 fails on purpose".to_string())
            }));
        }
        for id in 1..6 {
            let (order, failed, start_pos, late) = (
                order.clone(),
                failed.clone(),
                start_pos.clone(),
                late_starts.clone(),
            );
            jobs.push(Box::new(move || {
                start_pos[id].store(order.fetch_add(1, SeqCst), SeqCst);
                if failed.load(SeqCst) {
                    late.fetch_add(1, SeqCst);
                }
                Ok(value_of(id))
            }));
        }
        let result = pool.group(jobs).expect("groups worked a moment ago");
        assert_eq!(
            result,
            Err(GroupError::Failed {
                index: 0,
                error: "task 0 fails on purpose".into()
            }),
            "{}",
            F::NAME
        );
        assert_eq!(
            late_starts.load(SeqCst),
            0,
            "{}: members started after the group had failed (one worker)",
            F::NAME
        );
        if start_pos[0].load(SeqCst) == 0 {
            let started = start_pos
                .iter()
                .filter(|p| p.load(SeqCst) != usize::MAX)
                .count();
            assert_eq!(started, 1, "{}: member 0 failed first; others ran", F::NAME);
        } else {
            eprintln!(
                "NOTE {CASE} on {}: member 0 did not start first; cancellation only checked \
                 as 'no start after the failure'",
                F::NAME
            );
        }
    })
}

/// The shutdown report, on a fresh fixed pool of 1 with a task held at a gate and 3 queued (plus
/// the probes that were admitted while the test waited for the shutdown to begin refusing):
/// - `Abandon`: ran 1, abandoned 3 (+ probes), none still running; the queued tasks never run and
///   their handles say `Cancelled`/`Dropped`;
/// - `Drain`: ran 4 (+ probes), abandoned 0, all `Done`;
/// - a deadline of 100 ms with the held task still held: it returns after at least 100 ms with
///   1 still running and 0 ran.
///
/// The report is checked against what the tasks counted themselves; `submit` afterwards refuses
/// with `ShutDown`.
pub fn shutdown_reports<F: PoolFlavor>() {
    const CASE: &str = "shutdown_reports";
    within(CASE_DEADLINE, || {
        for mode in [ShutdownMode::Abandon, ShutdownMode::Drain] {
            // In its Arc before the gate exists: see `Full` on drop order.
            let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(1)).map(Arc::new) else {
                return;
            };
            let name = format!("{} [{mode:?}]", F::NAME);
            let runs = run_counts(4);
            let (gate, opener) = Gate::new();
            let mut handles = occupy(&name, &*pool, 1, &runs, &gate);
            for id in 1..4 {
                handles.push((id, pool.submit(counted(&runs, id, None)).expect("admitted")));
            }
            let shutting = {
                let pool = pool.clone();
                thread::spawn(move || pool.shutdown(mode, Duration::from_secs(10)))
            };
            // Wait until the shutdown has begun (submit refuses), counting the probes admitted
            // before that: they join the queue and are abandoned or drained like the others.
            let probes_run = Arc::new(AtomicUsize::new(0));
            let mut probes = Vec::new();
            let end = Instant::now() + PROMPTLY;
            loop {
                let probes_run = probes_run.clone();
                match pool.submit(Box::new(move || {
                    probes_run.fetch_add(1, SeqCst);
                    0
                })) {
                    Ok(h) => probes.push(h),
                    Err(SubmitRefused::ShutDown) => break,
                    Err(e) => panic!("{name}: probe refused with {e:?}, not ShutDown"),
                }
                if shutting.is_finished() {
                    break; // no shutdown: reported as Unsupported just below
                }
                assert!(
                    Instant::now() < end,
                    "{name}: shutdown never began refusing"
                );
                thread::sleep(Duration::from_millis(1));
            }
            opener.open();
            let report = match shutting.join().unwrap() {
                Ok(r) => r,
                Err(why) => {
                    skip(CASE, F::NAME, why);
                    join_expect_done(&name, handles);
                    for p in probes {
                        assert_eq!(p.join(), TaskOutcome::Done(0), "{name}: probe");
                    }
                    return;
                }
            };
            let ran: usize = runs.iter().map(|r| r.load(SeqCst)).sum();
            let (n_probes, probes_ran) = (probes.len(), probes_run.load(SeqCst));
            match mode {
                ShutdownMode::Abandon => {
                    assert_eq!(
                        (report.ran, report.abandoned),
                        (1, 3 + n_probes),
                        "{name}: {report:?}"
                    );
                    assert_eq!(
                        ran + probes_ran,
                        1,
                        "{name}: tasks that ran (counted by them)"
                    );
                    for p in probes {
                        let o = p.join();
                        assert!(
                            matches!(o, TaskOutcome::Cancelled | TaskOutcome::Dropped),
                            "{name}: abandoned probe reported {o:?}"
                        );
                    }
                    let mut handles = handles.into_iter();
                    let (id, held) = handles.next().unwrap();
                    assert_eq!(held.join(), TaskOutcome::Done(value_of(id)), "{name}");
                    for (id, h) in handles {
                        let o = h.join();
                        assert!(
                            matches!(o, TaskOutcome::Cancelled | TaskOutcome::Dropped),
                            "{name}: abandoned task {id} reported {o:?}"
                        );
                    }
                }
                ShutdownMode::Drain => {
                    assert_eq!(
                        (report.ran, report.abandoned),
                        (4 + n_probes, 0),
                        "{name}: {report:?}"
                    );
                    assert_eq!(
                        ran + probes_ran,
                        4 + n_probes,
                        "{name}: tasks that ran (counted by them)"
                    );
                    join_expect_done(&name, handles);
                    for p in probes {
                        assert_eq!(p.join(), TaskOutcome::Done(0), "{name}: drained probe");
                    }
                }
            }
            assert_eq!(report.still_running, 0, "{name}: {report:?}");
            assert_eq!(
                pool.submit(Box::new(|| 0)).err(),
                Some(SubmitRefused::ShutDown),
                "{name}: submit after shutdown"
            );
        }
        // The deadline: the held task outlives it.
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(1)) else {
            return;
        };
        let runs = run_counts(1);
        let (gate, opener) = Gate::new();
        let held = occupy(F::NAME, &pool, 1, &runs, &gate);
        let start = Instant::now();
        let report = pool
            .shutdown(ShutdownMode::Drain, Duration::from_millis(100))
            .expect("shutdown worked above");
        assert!(start.elapsed() >= Duration::from_millis(100), "{}", F::NAME);
        assert_eq!(
            (report.ran, report.still_running),
            (0, 1),
            "{}: deadline passed with the task held: {report:?}",
            F::NAME
        );
        opener.open();
        join_expect_done(F::NAME, held);
    })
}

/// Priorities: one worker held at a gate; queued first a low-priority task, then `3 * (bound + 1)`
/// high-priority ones. After the gate opens the first task to start is a high one (if the bound
/// lets any pass), and the low one starts after at most `bound` high ones: starvation is bounded.
pub fn priority_with_starvation_bound<F: PoolFlavor>() {
    const CASE: &str = "priority_with_starvation_bound";
    within(CASE_DEADLINE, || {
        let Some(pool) = build_or_skip::<F>(CASE, &PoolSpec::fixed(1)) else {
            return;
        };
        let bound = match pool.starvation_bound() {
            Ok(b) => b,
            Err(why) => {
                skip(CASE, F::NAME, why);
                return;
            }
        };
        let highs = 3 * (bound + 1);
        let runs = run_counts(1);
        let (gate, opener) = Gate::new();
        let held = occupy(F::NAME, &pool, 1, &runs, &gate);
        let order = Arc::new(Mutex::new(Vec::new()));
        let task = |label: u64| -> Job {
            let order = order.clone();
            Box::new(move || {
                order.lock().unwrap().push(label);
                label
            })
        };
        let mut handles = vec![(
            0u64,
            pool.submit_prioritized(task(0), Priority::Low)
                .expect("starvation_bound() said priorities are supported")
                .expect("admitted"),
        )];
        for i in 1..=highs as u64 {
            handles.push((
                i,
                pool.submit_prioritized(task(i), Priority::High)
                    .unwrap()
                    .expect("admitted"),
            ));
        }
        opener.open();
        join_expect_done(F::NAME, held);
        for (label, h) in handles {
            assert_eq!(h.join(), TaskOutcome::Done(label), "{}", F::NAME);
        }
        let order = order.lock().unwrap().clone();
        let low_at = order
            .iter()
            .position(|&l| l == 0)
            .expect("the low task ran");
        if bound > 0 {
            assert_ne!(
                order[0],
                0,
                "{}: the low task ran first: {order:?}",
                F::NAME
            );
        }
        assert!(
            low_at <= bound,
            "{}: the low task was passed over by {low_at} tasks (bound {bound}): {order:?}",
            F::NAME
        );
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for l in &order {
            *seen.entry(*l).or_default() += 1;
        }
        assert!(seen.values().all(|&c| c == 1), "{}: {order:?}", F::NAME);
        assert_eq!(seen.len(), highs + 1, "{}: every task ran", F::NAME);
    })
}

/// Instantiates every case as a `#[test]` in a module: `pool_conformance!(ours, Workpool);`
#[macro_export]
macro_rules! pool_conformance {
    ($module:ident, $flavor:ty) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::pool as suite;
            #[test]
            fn every_task_runs_exactly_once() {
                suite::every_task_runs_exactly_once::<$flavor>();
            }
            #[test]
            fn in_flight_bounded_and_reached() {
                suite::in_flight_bounded_and_reached::<$flavor>();
            }
            #[test]
            fn queue_bound_holds() {
                suite::queue_bound_holds::<$flavor>();
            }
            #[test]
            fn overflow_block_waits_for_a_slot() {
                suite::overflow_block_waits_for_a_slot::<$flavor>();
            }
            #[test]
            fn overflow_reject_refuses_at_once() {
                suite::overflow_reject_refuses_at_once::<$flavor>();
            }
            #[test]
            fn overflow_caller_runs_on_the_caller() {
                suite::overflow_caller_runs_on_the_caller::<$flavor>();
            }
            #[test]
            fn overflow_drop_oldest_evicts_the_oldest() {
                suite::overflow_drop_oldest_evicts_the_oldest::<$flavor>();
            }
            #[test]
            fn overflow_timeout_waits_then_refuses() {
                suite::overflow_timeout_waits_then_refuses::<$flavor>();
            }
            #[test]
            fn panics_reported_and_contained() {
                suite::panics_reported_and_contained::<$flavor>();
            }
            #[test]
            fn drop_joins_workers() {
                suite::drop_joins_workers::<$flavor>();
            }
            #[test]
            fn cancel_of_a_queued_task() {
                suite::cancel_of_a_queued_task::<$flavor>();
            }
            #[test]
            fn keep_alive_reaps_to_min() {
                suite::keep_alive_reaps_to_min::<$flavor>();
            }
            #[test]
            fn resize_grows_and_shrinks() {
                suite::resize_grows_and_shrinks::<$flavor>();
            }
            #[test]
            fn scope_borrows_from_the_stack() {
                suite::scope_borrows_from_the_stack::<$flavor>();
            }
            #[test]
            fn group_first_error_cancels_the_rest() {
                suite::group_first_error_cancels_the_rest::<$flavor>();
            }
            #[test]
            fn shutdown_reports() {
                suite::shutdown_reports::<$flavor>();
            }
            #[test]
            fn priority_with_starvation_bound() {
                suite::priority_with_starvation_bound::<$flavor>();
            }
        }
    };
}
