//! The pools under comparison behind one type, so that every scenario drives ours and the peers with
//! the same code: `execute` a closure, then `wait_idle` until everything submitted so far has run.
//! Shared by the benches (`mod contenders;`) and the measuring examples (`#[path]`).
//!
//! | label | pool | "wait until idle" |
//! |---|---|---|
//! | `ours` | `Pool`, `Queue::Unbounded` (the peers' contract) | `wait_idle` |
//! | `ours-bounded` | `Pool` with the defaults: `Queue::Bounded(1024)`, `Overflow::Block` | `wait_idle` |
//! | `threadpool` | `threadpool::ThreadPool::new(n)` | `join` |
//! | `rusty_pool` | `rusty_pool::ThreadPool::new(n, n, 60 s)`, core threads started | `join` |
//! | `rayon-spawn` | `rayon::ThreadPool` of n threads, `spawn` | a [`Latch`] |
//! | `tokio-spawn-blocking` | a current-thread runtime, `max_blocking_threads(n)`, `spawn_blocking` | a [`Latch`] |
//!
//! rayon and tokio have no "wait until idle", so each task of theirs counts itself out of a
//! [`Latch`] (one atomic decrement; a lock and a notify only for the task that empties it while
//! someone waits). The JoinHandles tokio returns are dropped (detached), as `execute` does.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use workpool::{Pool, Queue};

/// Every contender, ours first.
pub const LABELS: [&str; 6] = [
    "ours",
    "ours-bounded",
    "threadpool",
    "rusty_pool",
    "rayon-spawn",
    "tokio-spawn-blocking",
];

/// One pool under test.
pub struct Contender {
    kind: Kind,
}

enum Kind {
    Ours(Pool),
    Threadpool(threadpool::ThreadPool),
    RustyPool(rusty_pool::ThreadPool),
    Rayon(rayon::ThreadPool, &'static Latch),
    Tokio(tokio::runtime::Runtime, &'static Latch),
}

impl Contender {
    /// Builds the pool `label` names (one of [`LABELS`]) with `workers` threads; every pool that
    /// starts its threads lazily is asked to start them now, so a measurement never pays for it.
    pub fn new(label: &str, workers: usize) -> Contender {
        // Leaked once per pool (a few bytes): each task then captures a plain reference, where an
        // `Arc` would cost every task two more atomic operations on a shared line.
        let latch = || &*Box::leak(Box::new(Latch::default()));
        let kind = match label {
            "ours" => Kind::Ours(
                Pool::builder()
                    .name("bench-ours")
                    .workers(workers)
                    .queue(Queue::Unbounded)
                    .build()
                    .expect("pool"),
            ),
            "ours-bounded" => Kind::Ours(
                Pool::builder()
                    .name("bench-bounded")
                    .workers(workers)
                    .build()
                    .expect("pool"),
            ),
            "threadpool" => Kind::Threadpool(threadpool::ThreadPool::new(workers)),
            "rusty_pool" => {
                let pool = rusty_pool::ThreadPool::new(workers, workers, Duration::from_secs(60));
                pool.start_core_threads();
                Kind::RustyPool(pool)
            }
            "rayon-spawn" => Kind::Rayon(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .expect("rayon pool"),
                latch(),
            ),
            // A current-thread runtime: no async worker thread, only the blocking pool, which
            // starts its threads on demand (up to `workers`) and keeps them 10 s when idle.
            "tokio-spawn-blocking" => Kind::Tokio(
                tokio::runtime::Builder::new_current_thread()
                    .max_blocking_threads(workers)
                    .build()
                    .expect("tokio runtime"),
                latch(),
            ),
            other => panic!("unknown contender {other}"),
        };
        Contender { kind }
    }

    /// Submits `f` without a handle (fire and forget).
    #[inline]
    pub fn execute<F: FnOnce() + Send + 'static>(&self, f: F) {
        match &self.kind {
            Kind::Ours(pool) => pool.execute(f).expect("the pool is open"),
            Kind::Threadpool(pool) => pool.execute(f),
            Kind::RustyPool(pool) => pool.execute(f),
            Kind::Rayon(pool, latch) => {
                let latch: &'static Latch = latch;
                latch.add();
                pool.spawn(move || {
                    f();
                    latch.done();
                });
            }
            Kind::Tokio(rt, latch) => {
                let latch: &'static Latch = latch;
                latch.add();
                drop(rt.spawn_blocking(move || {
                    f();
                    latch.done();
                }));
            }
        }
    }

    /// Waits until every task submitted before the call has finished.
    pub fn wait_idle(&self) {
        match &self.kind {
            Kind::Ours(pool) => pool.wait_idle(),
            Kind::Threadpool(pool) => pool.join(),
            Kind::RustyPool(pool) => pool.join(),
            Kind::Rayon(_, latch) | Kind::Tokio(_, latch) => latch.wait(),
        }
    }

    /// Stops the pool and joins its threads where the pool offers a way to (threadpool's threads
    /// exit on their own once its channel closes).
    pub fn shutdown(self) {
        match self.kind {
            Kind::Ours(pool) => drop(pool),
            Kind::Threadpool(pool) => {
                pool.join();
                drop(pool);
            }
            Kind::RustyPool(pool) => pool.shutdown_join(),
            Kind::Rayon(pool, _) => drop(pool),
            Kind::Tokio(rt, _) => rt.shutdown_timeout(Duration::from_secs(5)),
        }
    }
}

/// Counts tasks in (`add`) and out (`done`); `wait` blocks until the count is zero.
#[derive(Default)]
pub struct Latch {
    pending: AtomicUsize,
    /// Someone is in `wait`: only then does the task that empties the latch take the lock and notify.
    waiting: AtomicBool,
    lock: Mutex<()>,
    empty: Condvar,
}

impl Latch {
    fn add(&self) {
        self.pending.fetch_add(1, SeqCst);
    }

    fn done(&self) {
        // SeqCst pairs with `wait`: either this load sees `waiting == true`, or the waiter's load
        // of `pending` (after its store of `waiting`) sees this decrement's zero. Taking the lock
        // before notifying means the waiter is either not yet checking or already asleep.
        if self.pending.fetch_sub(1, SeqCst) == 1 && self.waiting.load(SeqCst) {
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.empty.notify_all();
        }
    }

    fn wait(&self) {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.store(true, SeqCst);
        while self.pending.load(SeqCst) != 0 {
            guard = self.empty.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        self.waiting.store(false, SeqCst);
    }
}

/// How many rounds of [`tiny_task`]'s mixing loop: about 1 µs of one core's time on the 2-core
/// machine the figures were recorded on (`baseline-inline` in the `workpool/tiny` group measures
/// it live: the whole workload run on the caller, no pool).
pub const TINY_ROUNDS: u32 = 320;

/// The tiny task: a short hash-like computation (xorshift and a multiply per round), about 1 µs,
/// identical for every contender. Its result goes through `black_box` so it is not optimised out.
#[inline(never)]
pub fn tiny_task(seed: u64) {
    let mut x = seed | 1;
    for _ in 0..std::hint::black_box(TINY_ROUNDS) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    std::hint::black_box(x);
}

/// The `tiny [1x…]` workload: one submitter `execute`s `tasks` tiny tasks, then waits until all ran.
pub fn one_submitter(pool: &Contender, tasks: usize) {
    for i in 0..tasks {
        pool.execute(move || tiny_task(i as u64));
    }
    pool.wait_idle();
}

/// The `tiny [N×…]` workload: `submitters` threads each `execute` `per` tasks; the time from their
/// release (all spawned and parked first) until the pool is idle again.
pub fn from_many(pool: &Contender, submitters: usize, per: usize) -> Duration {
    let parked = AtomicUsize::new(0);
    let gate = (Mutex::new(false), Condvar::new());
    thread::scope(|s| {
        let handles: Vec<_> = (0..submitters)
            .map(|t| {
                let (parked, gate) = (&parked, &gate);
                s.spawn(move || {
                    let mut open = gate.0.lock().unwrap();
                    // Counted under the gate's lock, so the release below cannot slip in between.
                    parked.fetch_add(1, SeqCst);
                    while !*open {
                        open = gate.1.wait(open).unwrap();
                    }
                    drop(open);
                    for i in 0..per {
                        pool.execute(move || tiny_task((t * per + i) as u64));
                    }
                })
            })
            .collect();
        while parked.load(SeqCst) < submitters {
            thread::yield_now();
        }
        let start = Instant::now();
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        for h in handles {
            h.join().expect("a submitter panicked");
        }
        pool.wait_idle();
        start.elapsed()
    })
}

/// The `bursts` workload: `bursts` bursts of `per` tasks, each followed by a wait until idle (the
/// workers fall asleep and are woken once per burst).
pub fn bursts(pool: &Contender, bursts: usize, per: usize) {
    for burst in 0..bursts {
        for i in 0..per {
            pool.execute(move || tiny_task((burst * per + i) as u64));
        }
        pool.wait_idle();
    }
}
