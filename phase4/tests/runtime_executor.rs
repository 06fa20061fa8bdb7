//! The from-scratch executor: many tasks, yield-heavy work, cross-thread wake-ups, panics, shutdown.
#![cfg(not(loom))]
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::ledger::{DropLedger, Tracked};
use harness::wait::poll_until;
use harness::watchdog::within;
use phase4::runtime::executor::{Builder, Executor, JoinError, JoinHandle, block_on, yield_now};

const DEADLINE: Duration = Duration::from_secs(60);

/// The leak checker reads `/proc/self/task`, which Miri's isolation refuses (an error, not an
/// `Err`); under Miri the check is Miri's own instead: it fails a run whose main thread exits while
/// another thread still runs.
struct NoThreadLeft(Option<ThreadLeakCheck>);

impl NoThreadLeft {
    fn named(prefix: &str) -> Self {
        NoThreadLeft((!cfg!(miri)).then(|| ThreadLeakCheck::named(prefix)))
    }

    #[track_caller]
    fn assert_no_leak(&self, grace: Duration) {
        if let Some(check) = &self.0 {
            check.assert_no_leak(grace);
        }
    }
}

/// `full` normally, `miri` under Miri (which runs these a few thousand times slower).
const fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

#[test]
fn runs_100k_spawned_tasks_with_correct_results() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-many").build().unwrap();
        let h = ex.handle();
        let n = size(100_000, 300) as u64;
        let sum = ex.block_on(async {
            let hs: Vec<_> = (0..n).map(|i| h.spawn(async move { i * 2 })).collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        });
        assert_eq!(sum, n * (n - 1));
        let polls: u64 = ex.stats().iter().map(|s| s.polls).sum();
        assert!(polls >= n, "every task polled at least once: {polls}");
    });
}

#[test]
fn tasks_spawned_from_tasks_all_complete() {
    const N: u64 = size(2_000, 50) as u64;
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-nest").build().unwrap();
        let h = ex.handle();
        let total = ex.block_on(h.clone().spawn(async move {
            let hs: Vec<_> = (0..N)
                .map(|i| {
                    let h2 = h.clone();
                    h.spawn(async move { h2.spawn(async move { i }).await.unwrap() })
                })
                .collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        }));
        assert_eq!(total, Ok((0..N).sum()));
    });
}

#[test]
fn yield_heavy_workload_completes() {
    const TASKS: usize = size(200, 8);
    const YIELDS: usize = size(500, 20);
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-yield")
            .build()
            .unwrap();
        let h = ex.handle();
        let count = Arc::new(AtomicU64::new(0));
        ex.block_on(async {
            let hs: Vec<_> = (0..TASKS)
                .map(|_| {
                    let c = count.clone();
                    h.spawn(async move {
                        for _ in 0..YIELDS {
                            yield_now().await;
                            c.fetch_add(1, Relaxed);
                        }
                    })
                })
                .collect();
            for j in hs {
                j.await.unwrap();
            }
        });
        assert_eq!(count.load(Relaxed), (TASKS * YIELDS) as u64);
    });
}

/// A future that completes once another thread sets its flag and wakes it.
struct Flag(Arc<Mutex<(bool, Option<Waker>)>>);

impl Future for Flag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.lock().unwrap();
        if s.0 {
            Poll::Ready(())
        } else {
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn a_task_woken_from_another_thread_runs() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-wake").build().unwrap();
        for _ in 0..size(200, 10) {
            let cell = Arc::new(Mutex::new((false, None::<Waker>)));
            let j = ex.spawn(Flag(cell.clone()));
            let c = cell.clone();
            let t = std::thread::spawn(move || {
                std::thread::yield_now();
                let w = {
                    let mut s = c.lock().unwrap();
                    s.0 = true;
                    s.1.take()
                };
                if let Some(w) = w {
                    w.wake();
                }
            });
            ex.block_on(j).unwrap();
            t.join().unwrap();
        }
    });
}

#[test]
fn a_panicking_task_is_reported_and_workers_survive() {
    const M: u64 = size(1000, 20) as u64;
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-panic")
            .build()
            .unwrap();
        for i in 0..size(10, 2) as i32 {
            let r = ex.block_on(ex.spawn(async move {
                if i >= 0 {
                    panic!("task {i} failed");
                }
            }));
            assert_eq!(r, Err(JoinError::Panicked(format!("task {i} failed"))));
        }
        // Both workers are still there and working.
        assert_eq!(ex.block_on(ex.spawn(async { 42 })), Ok(42));
        let h = ex.handle();
        let s = ex.block_on(async {
            let hs: Vec<_> = (0..M).map(|i| h.spawn(async move { i })).collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        });
        assert_eq!(s, M * (M - 1) / 2);
    });
}

#[test]
fn shutdown_joins_every_worker_and_cancels_waiting_tasks() {
    let leak = NoThreadLeft::named("rt-t-down");
    let pending = within(DEADLINE, || {
        let ex = Builder::new().workers(3).name("rt-t-down").build().unwrap();
        let cell = Arc::new(Mutex::new((false, None::<Waker>)));
        let j = ex.spawn(Flag(cell.clone()));
        assert_eq!(ex.block_on(ex.spawn(async { 1 })), Ok(1));
        drop(ex);
        // The waiting task is cancelled when it is next woken.
        let w = cell.lock().unwrap().1.take();
        if let Some(w) = w {
            w.wake();
        }
        j
    });
    leak.assert_no_leak(Duration::from_secs(5));
    let r = within(DEADLINE, move || {
        phase4::runtime::executor::block_on(pending)
    });
    assert_eq!(r, Err(JoinError::Cancelled));
}

#[test]
fn spawn_after_shutdown_is_cancelled_not_lost() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(1).name("rt-t-late").build().unwrap();
        let h = ex.handle();
        drop(ex);
        let j = h.spawn(async { 5 });
        assert_eq!(
            phase4::runtime::executor::block_on(j),
            Err(JoinError::Cancelled)
        );
    });
}

/// Stores its waker in `parked`, then stays pending forever.
struct Forever {
    _probe: Tracked,
    parked: Arc<Mutex<Vec<Waker>>>,
}

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.parked.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Spawns one [`Forever`] per probe and returns once every one of them has been polled and parked
/// its waker in `parked`.
fn spawn_forever(
    ex: &Executor,
    probes: impl IntoIterator<Item = Tracked>,
    parked: &Arc<Mutex<Vec<Waker>>>,
) -> Vec<JoinHandle<()>> {
    let already = parked.lock().unwrap().len();
    let handles: Vec<_> = probes
        .into_iter()
        .map(|probe| {
            ex.spawn(Forever {
                _probe: probe,
                parked: parked.clone(),
            })
        })
        .collect();
    while parked.lock().unwrap().len() < already + handles.len() {
        std::thread::yield_now();
    }
    handles
}

#[test]
fn every_future_and_output_is_dropped_exactly_once() {
    const N: usize = size(500, 12);
    const PANICKY: usize = size(10, 3);
    // ids: [0, N) futures awaited; [N, 2N) their outputs; [2N, 3N) detached futures;
    // [3N, 4N) their outputs (never taken); [4N, 5N) futures of which `PANICKY` panic; [5N, 6N) forever-pending.
    // Every future and every output must be dropped exactly once, whether the task completed, was
    // detached, panicked, or waited forever until the executor shut down.
    let ledger = DropLedger::new(6 * N);
    let probe = {
        let ledger = ledger.clone();
        move |id| ledger.element(id)
    };
    let parked = Arc::new(Mutex::new(Vec::new()));
    within(DEADLINE, move || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-drops")
            .build()
            .unwrap();
        let awaited: Vec<_> = (0..N)
            .map(|i| {
                let (f, out) = (probe(i), probe(N + i));
                ex.spawn(async move {
                    let _f = f;
                    yield_now().await;
                    out
                })
            })
            .collect();
        for i in 0..N {
            let (f, out) = (probe(2 * N + i), probe(3 * N + i));
            drop(ex.spawn(async move {
                let _f = f;
                out
            }));
        }
        let panicking: Vec<_> = (0..N)
            .map(|i| {
                let f = probe(4 * N + i);
                ex.spawn(async move {
                    let _f = f;
                    yield_now().await;
                    // A few only: each prints its message on the worker's stderr.
                    if i < PANICKY {
                        panic!("task {i} panics on purpose");
                    }
                })
            })
            .collect();
        let forever = spawn_forever(&ex, (0..N).map(|i| probe(5 * N + i)), &parked);
        ex.block_on(async {
            for j in awaited {
                drop(j.await.expect("completes"));
            }
            for (i, j) in panicking.into_iter().enumerate() {
                assert_eq!(j.await.is_err(), i < PANICKY, "task {i}");
            }
        });
        // Shutdown cancels the waiting tasks (futures dropped now); the handles and wakers free them.
        drop(ex);
        drop(forever);
        parked.lock().unwrap().clear();
    });
    let wrong = ledger.wrong();
    assert!(
        wrong.is_empty(),
        "(id, drops) not dropped exactly once: {:?}",
        &wrong[..wrong.len().min(10)]
    );
}

/// Waiting tasks whose wakers are kept and never woken do not outlive the executor: shutdown
/// cancels them through the owned-task list, their futures are dropped at once (while the wakers
/// are still held), their handles report `Cancelled`, and a wake-up after that is ignored.
#[test]
fn shutdown_cancels_waiting_tasks_whose_wakers_are_kept() {
    const N: usize = size(300, 12);
    let ledger = DropLedger::new(N);
    let parked = Arc::new(Mutex::new(Vec::new()));
    within(DEADLINE, {
        let (ledger, parked) = (ledger.clone(), parked.clone());
        move || {
            let ex = Builder::new()
                .workers(2)
                .name("rt-t-owned")
                .build()
                .unwrap();
            let handles = spawn_forever(&ex, (0..N).map(|i| ledger.element(i)), &parked);
            assert_eq!(
                ledger.total(),
                0,
                "no future dropped while the executor runs"
            );
            drop(ex);
            assert!(
                ledger.wrong().is_empty(),
                "every waiting future dropped exactly once at shutdown, wakers still held: {:?}",
                &ledger.wrong()[..ledger.wrong().len().min(10)]
            );
            for h in handles {
                assert_eq!(block_on(h), Err(JoinError::Cancelled));
            }
            // Waking a cancelled task does nothing: no poll, no second drop.
            for w in parked.lock().unwrap().drain(..) {
                w.wake();
            }
        }
    });
    assert!(ledger.wrong().is_empty(), "{:?}", ledger.wrong());
}

/// `abort` on a task that waits (its waker kept, never woken): a worker drops its future while
/// the executor runs on, its handle reports `Cancelled`, and a later wake-up is ignored.
#[test]
fn abort_cancels_a_waiting_task() {
    let ledger = DropLedger::new(1);
    let parked = Arc::new(Mutex::new(Vec::new()));
    within(DEADLINE, {
        let (ledger, parked) = (ledger.clone(), parked.clone());
        move || {
            let ex = Builder::new()
                .workers(2)
                .name("rt-t-abort")
                .build()
                .unwrap();
            let j = spawn_forever(&ex, [ledger.element(0)], &parked).remove(0);
            j.abort();
            assert_eq!(ex.block_on(j), Err(JoinError::Cancelled));
            assert_eq!(ledger.wrong(), vec![], "the future dropped once, on abort");
            for w in parked.lock().unwrap().drain(..) {
                w.wake();
            }
            // The executor still works.
            assert_eq!(ex.block_on(ex.spawn(async { 7 })), Ok(7));
        }
    });
    assert!(ledger.wrong().is_empty());
}

/// `abort` on tasks that never stop yielding (always queued or running): each is cancelled between
/// two polls and polled no more after its handle said `Cancelled`. Each poll spins ~100 µs before it
/// wakes itself, so the abort nearly always lands while the task runs and before that wake-up: the
/// window where a wake-up that dropped the abort flag would lose the abort (and hang this test).
#[test]
fn abort_stops_busy_tasks_between_polls() {
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-abort-busy")
            .build()
            .unwrap();
        for _ in 0..size(20, 2) {
            let polls = Arc::new(AtomicU64::new(0));
            let p = polls.clone();
            let j = ex.spawn(async move {
                loop {
                    p.fetch_add(1, Relaxed);
                    let t0 = std::time::Instant::now();
                    while t0.elapsed() < Duration::from_micros(100) {
                        std::hint::spin_loop();
                    }
                    yield_now().await;
                }
            });
            while polls.load(Relaxed) < 3 {
                std::thread::yield_now();
            }
            j.abort();
            let r: Result<(), JoinError> = ex.block_on(j);
            assert_eq!(r, Err(JoinError::Cancelled));
            let after = polls.load(Relaxed);
            std::thread::sleep(Duration::from_millis(2));
            assert_eq!(polls.load(Relaxed), after, "polled after it was cancelled");
        }
    });
}

/// A task that finished keeps its output when aborted afterwards.
#[test]
fn abort_after_completion_keeps_the_output() {
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-abort-done")
            .build()
            .unwrap();
        let j = ex.spawn(async { 42 });
        while !j.is_finished() {
            std::thread::yield_now();
        }
        j.abort();
        assert_eq!(ex.block_on(j), Ok(42));
    });
}

/// `abort` racing a wake-up from another thread, 2 000 times: every task ends exactly once, as
/// completed or cancelled, its future dropped exactly once, and nothing hangs. The handle's verdict
/// is checked against what the task itself did: `Ok` only if its body ran to the end, `Cancelled`
/// only if it never got past its await.
#[test]
fn abort_racing_a_wakeup_ends_every_task_once() {
    const N: usize = size(2000, 20);
    let ledger = DropLedger::new(N);
    within(DEADLINE, {
        let ledger = ledger.clone();
        move || {
            let ex = Builder::new()
                .workers(2)
                .name("rt-t-abort-race")
                .build()
                .unwrap();
            let (mut done, mut cancelled) = (0, 0);
            for i in 0..N {
                let cell = Arc::new(Mutex::new((false, None::<Waker>)));
                let probe = ledger.element(i);
                let flag = Flag(cell.clone());
                let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let f = finished.clone();
                let j = ex.spawn(async move {
                    let _probe = probe;
                    flag.await;
                    f.store(true, Relaxed); // ordered for the test by the handle's mutex
                    i
                });
                while cell.lock().unwrap().1.is_none() {
                    std::thread::yield_now();
                }
                let waker = std::thread::spawn(move || {
                    let w = {
                        let mut s = cell.lock().unwrap();
                        s.0 = true;
                        s.1.take()
                    };
                    if let Some(w) = w {
                        w.wake();
                    }
                });
                if i % 2 == 0 {
                    std::thread::yield_now();
                }
                j.abort();
                match ex.block_on(j) {
                    Ok(v) => {
                        assert_eq!(v, i);
                        assert!(
                            finished.load(Relaxed),
                            "task {i}: Ok, but its body never ended"
                        );
                        done += 1;
                    }
                    Err(JoinError::Cancelled) => {
                        // Its future is dropped by now, so the body can no longer run on.
                        assert!(
                            !finished.load(Relaxed),
                            "task {i}: ran to the end, yet Cancelled"
                        );
                        cancelled += 1;
                    }
                    Err(e) => panic!("task {i}: {e}"),
                }
                waker.join().unwrap();
            }
            eprintln!("abort vs wake-up: {done} completed first, {cancelled} cancelled");
        }
    });
    let wrong = ledger.wrong();
    assert!(wrong.is_empty(), "{:?}", &wrong[..wrong.len().min(10)]);
}

/// Two tasks that block until both are running need both workers at once. Producers skip wake-ups
/// while a worker searches, so this hangs (and the deadline fails it) if a searcher that finds work
/// does not wake the next worker. Repeated, spawned from outside and from a task, to vary who is
/// idle, searching or running when the second task arrives.
#[test]
fn two_blocking_tasks_get_two_workers() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-pair").build().unwrap();
        let h = ex.handle();
        for round in 0..size(300, 6) {
            let barrier = Arc::new(std::sync::Barrier::new(2));
            let spawn_pair = {
                let h = h.clone();
                move || {
                    let (b1, b2) = (barrier.clone(), barrier.clone());
                    let j1 = h.spawn(async move {
                        b1.wait();
                    });
                    let j2 = h.spawn(async move {
                        b2.wait();
                    });
                    (j1, j2)
                }
            };
            let (j1, j2) = if round % 2 == 0 {
                spawn_pair()
            } else {
                ex.block_on(h.spawn(async move { spawn_pair() })).unwrap()
            };
            ex.block_on(async {
                j1.await.unwrap();
                j2.await.unwrap();
            });
            if round % 3 == 0 {
                // Let both workers go idle before the next pair.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
}

// ---- Panic safety: no user code may kill a worker ----
//
// Each case runs on a one-worker executor: a worker killed by a panic strands its ring, so the
// next task never runs and the watchdog fails the test (instead of a hang). The deliberate panics
// use `resume_unwind`, which unwinds like `panic!` but skips the panic hook (no noise on stderr).

/// Short: the executor either keeps running or is dead, and then it hangs for good.
const PANIC_DEADLINE: Duration = Duration::from_secs(10);

/// A value whose `Drop` panics (after counting itself in `ran` and, through its probe, the ledger).
struct PanicsOnDrop {
    _probe: Tracked,
    ran: Arc<AtomicU64>,
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        self.ran.fetch_add(1, Relaxed);
        std::panic::resume_unwind(Box::new("a Drop panics on purpose"));
    }
}

/// The executor still runs new tasks: 100 spawned from outside, each result checked.
fn assert_still_runs(ex: &Executor) {
    const M: u64 = size(100, 10) as u64;
    let h = ex.handle();
    let sum = ex.block_on(async move {
        let hs: Vec<_> = (0..M).map(|i| h.spawn(async move { i })).collect();
        let mut s = 0;
        for j in hs {
            s += j.await.expect("a later task completes");
        }
        s
    });
    assert_eq!(sum, M * (M - 1) / 2);
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    assert!(poll_until(PANIC_DEADLINE, done), "{what}: never happened");
}

/// The scaffold of every panic-safety case: `body` runs under the watchdog on a fresh one-worker
/// executor named `name`, with a ledger of `elements` drop probes. Afterwards no thread of the
/// executor may be left and every probe must have been dropped exactly once. `body` gets the
/// executor by value, so it can drop it (shutdown) and check what happens after.
fn on_one_worker(
    name: &'static str,
    elements: usize,
    body: impl FnOnce(Executor, &Arc<DropLedger>) + Send + 'static,
) {
    let ledger = DropLedger::new(elements);
    let leak = NoThreadLeft::named(name);
    within(PANIC_DEADLINE, {
        let ledger = ledger.clone();
        move || {
            let ex = Builder::new().workers(1).name(name).build().unwrap();
            body(ex, &ledger);
        }
    });
    leak.assert_no_leak(Duration::from_secs(5));
    assert_eq!(
        ledger.wrong(),
        vec![],
        "(id, drops) not dropped exactly once"
    );
}

/// A detached task's output is dropped by whoever drops the task's last reference: here the
/// worker, right after the task completes. Its `Drop` panics; the worker survives it, later tasks
/// run, shutdown joins the worker, and every future and output is dropped exactly once.
#[test]
fn a_detached_outputs_panicking_drop_does_not_kill_the_worker() {
    const N: usize = 3;
    // ids: [0, N) the futures, [N, 2N) their outputs.
    on_one_worker("rt-t-odrop", 2 * N, |ex, ledger| {
        let h = ex.handle();
        let ran = Arc::new(AtomicU64::new(0));
        for i in 0..N {
            let (f, out) = (ledger.element(i), ledger.element(N + i));
            let (h2, ran) = (h.clone(), ran.clone());
            // Spawned from a task and detached there, before it can run: it runs on the
            // worker afterwards, and the worker holds its last reference.
            let outer = h.spawn(async move {
                drop(h2.spawn(async move {
                    let _f = f;
                    PanicsOnDrop { _probe: out, ran }
                }));
            });
            ex.block_on(outer).unwrap();
        }
        wait_until("every output dropped", || ran.load(Relaxed) == N as u64);
        assert_still_runs(&ex);
        drop(ex);
    });
}

/// Counts its wake-ups, then panics in `wake`.
struct PanickyWaker {
    _probe: Tracked,
    wakes: AtomicU64,
}

impl std::task::Wake for PanickyWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Relaxed);
        std::panic::resume_unwind(Box::new("a waker panics on purpose"));
    }
}

/// A `JoinHandle` polled with a custom waker whose `wake` panics (any waker may poll a handle):
/// the worker that completes the task calls that `wake`, survives it, and runs on; the handle
/// still yields the output, and the task, its future and the waker are each dropped once.
#[test]
fn a_join_waiters_panicking_wake_does_not_kill_the_worker() {
    // ids: 0 the task's future, 1 the custom waker.
    on_one_worker("rt-t-jwake", 2, |ex, ledger| {
        let cell = Arc::new(Mutex::new((false, None::<Waker>)));
        let (probe, flag) = (ledger.element(0), Flag(cell.clone()));
        let mut j = ex.spawn(async move {
            let _probe = probe;
            flag.await;
            5
        });
        wait_until("the task parks", || cell.lock().unwrap().1.is_some());
        // The hand-written poll: the handle registers our waker as its waiter.
        let custom = Arc::new(PanickyWaker {
            _probe: ledger.element(1),
            wakes: AtomicU64::new(0),
        });
        let waker = Waker::from(custom.clone());
        let first = Pin::new(&mut j).poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending(), "the task is still waiting");
        drop(waker);
        // Let the task finish: the worker completes it and wakes our waker, which panics.
        let w = {
            let mut s = cell.lock().unwrap();
            s.0 = true;
            s.1.take().unwrap()
        };
        w.wake();
        wait_until("the waiter woken", || custom.wakes.load(Relaxed) == 1);
        assert_still_runs(&ex);
        assert_eq!(block_on(j), Ok(5));
        drop(ex);
        drop(custom);
    });
}

/// A task that panics with a payload whose own `Drop` panics: the worker catches the first
/// panic, and dropping the payload (on the worker) must not unwind either.
#[test]
fn a_panic_payloads_panicking_drop_does_not_kill_the_worker() {
    // 0: the future, 1: the payload
    on_one_worker("rt-t-payload", 2, |ex, ledger| {
        let ran = Arc::new(AtomicU64::new(0));
        let (f, payload) = (ledger.element(0), ledger.element(1));
        let r = ex.block_on(ex.spawn({
            let ran = ran.clone();
            async move {
                let _f = f;
                std::panic::resume_unwind(Box::new(PanicsOnDrop {
                    _probe: payload,
                    ran,
                }));
            }
        }));
        assert_eq!(
            r,
            Err(JoinError::Panicked("non-string panic payload".into()))
        );
        assert_eq!(ran.load(Relaxed), 1, "the payload was dropped");
        assert_still_runs(&ex);
        drop(ex);
    });
}

/// A future whose `Drop` panics, dropped unfinished: on a worker by `abort`, and on the thread
/// that drops the executor by shutdown. Neither unwinds: the worker runs on, shutdown completes.
#[test]
fn a_cancelled_futures_panicking_drop_is_contained() {
    // 0: aborted future, 1: future cancelled at shutdown
    on_one_worker("rt-t-fdrop", 2, |ex, ledger| {
        let ran = Arc::new(AtomicU64::new(0));
        let parked = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for id in 0..2 {
            let bomb = PanicsOnDrop {
                _probe: ledger.element(id),
                ran: ran.clone(),
            };
            let parked = parked.clone();
            handles.push(ex.spawn(std::future::poll_fn(move |cx| {
                let _bomb = &bomb;
                parked.lock().unwrap().push(cx.waker().clone());
                Poll::<()>::Pending
            })));
        }
        wait_until("both tasks park", || parked.lock().unwrap().len() == 2);
        let aborted = handles.remove(0);
        aborted.abort();
        assert_eq!(block_on(aborted), Err(JoinError::Cancelled));
        assert_eq!(ran.load(Relaxed), 1, "the aborted future was dropped");
        assert_still_runs(&ex);
        drop(ex);
        assert_eq!(ran.load(Relaxed), 2, "shutdown dropped the waiting future");
        assert_eq!(block_on(handles.remove(0)), Err(JoinError::Cancelled));
        parked.lock().unwrap().clear();
    });
}
