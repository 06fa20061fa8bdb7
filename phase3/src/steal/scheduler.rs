//! A fork-join work-stealing pool on a [`WorkDeque`] (ours by default, crossbeam-deque for comparison).
//!
//! - Every worker owns a deque. [`WorkerCtx::join`] pushes `b` on the caller's deque, runs `a`, then
//!   pops `b` back and runs it inline, unless a thief took it; while a stolen `b` is still running
//!   the caller does not block: it runs other work (its own, or stolen) until `b`'s latch is set.
//! - An idle worker steals from victims picked at random (the oldest job of a deque: in
//!   divide-and-conquer, the biggest). Finding nothing, it spins briefly, then parks.
//! - [`StealingPool::install`] hands a closure to the pool from outside (an injector queue) and blocks until
//!   it returns; panics inside jobs are caught and re-raised in the caller of `join` / `install`.
//! - Dropping the pool stops and joins every worker: no thread outlives it.
//!
//! Jobs are never boxed: a job lives in the stack frame of the `join` (or `install`) that created it,
//! and the deque carries a [`JobRef`] (a data pointer plus the function that runs it). That frame
//! cannot return before the job's latch is set, which is what makes the raw pointer sound.
//!
//! ## Parking without lost wake-ups (`super::sleep`, loom-checked in `tests/loom_sleep.rs`)
//! A worker about to park: takes the sleep lock, increments `sleeping`, SeqCst fence, re-checks
//! for work (every deque, the injector, its latch, shutdown), and only then waits on the condvar
//! (which releases the lock atomically). Whoever makes work (a push, a latch set, an injection):
//! publishes it, SeqCst fence, reads `sleeping`, and if non-zero takes the lock and notifies. The two
//! fences make this a store-buffering pair: at least one side sees the other's write. If the parker's
//! re-check misses the work, the notifier sees `sleeping > 0`, and its lock acquisition waits until
//! the parker is inside `wait`, so the notification cannot fall between check and wait.
//!
//! A push does not wake anyone while a worker is `searching` (awake, spinning before it parks): that
//! worker stops counting itself as searching before its fenced re-check, so either it sees the job
//! or the pusher sees it gone and wakes a sleeper. Without this, every push of a fine-grained `join`
//! woke a parked thief (a futex wake, ~25 µs here) that found nothing and parked again: the first
//! version of this pool was 6× *slower* than sequential on the tree sum. A push wakes one worker; a
//! latch set or an injection wakes all of them, since the one waiting on it may be any.
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_utils::CachePadded;
use harness::contracts::deque::{DequeOwner, DequeStealer, Steal, WorkDeque};

use super::ChaseLev;
use super::sleep::Sleep;

/// A type-erased pointer to a job living in some `join` or `install` frame.
pub struct JobRef<D: WorkDeque> {
    data: *const (),
    execute: unsafe fn(*const (), &WorkerCtx<D>),
}

// SAFETY: a `JobRef` is only created for jobs whose closure and result are `Send`, and the frame it
// points to outlives its execution (the frame waits for the job's latch).
unsafe impl<D: WorkDeque> Send for JobRef<D> {}

impl<D: WorkDeque> JobRef<D> {
    /// Runs the job on `ctx`'s worker.
    ///
    /// # Safety
    /// Each `JobRef` is executed at most once, while its frame is alive.
    unsafe fn run(self, ctx: &WorkerCtx<D>) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.execute)(self.data, ctx) }
    }
}

/// The outcome of a job: its value, or the panic it raised.
type Outcome<R> = Result<R, Box<dyn Any + Send>>;

/// How a job's creator learns that it finished.
trait Latch {
    /// Marks the job finished and wakes its waiter.
    ///
    /// # Safety
    /// `this` must be alive on entry; it may be freed the moment the latch is observed set, so the
    /// implementation must not touch `*this` after setting it.
    unsafe fn set(this: *const Self, sleep: &Sleep);
}

/// The latch of a `join`: its waiter is a worker, which keeps working and probes it.
struct SpinLatch {
    /// false: `b` still running; true: `b`'s result is written.
    done: AtomicBool,
}

impl SpinLatch {
    fn probe(&self) -> bool {
        // Acquire: pairs with the Release in `set`, so `b`'s result is visible once this is true.
        self.done.load(Ordering::Acquire)
    }
}

impl Latch for SpinLatch {
    unsafe fn set(this: *const Self, sleep: &Sleep) {
        // Release: publishes the job's result (written before) to the waiter's Acquire probe.
        // SAFETY: `this` is alive until this store is seen; we never touch it afterwards.
        unsafe { (*this).done.store(true, Ordering::Release) };
        sleep.notify_all_parked(); // the waiter may be parked; `sleep` belongs to the pool, not the frame
    }
}

/// The latch of an `install`: its waiter is an outside thread, blocked on a condvar. Shared through
/// an `Arc` so the setter never touches memory of a frame that may already be gone.
struct LockLatch {
    state: Arc<(Mutex<bool>, Condvar)>,
}

impl LockLatch {
    fn new() -> Self {
        LockLatch {
            state: Arc::new((Mutex::new(false), Condvar::new())),
        }
    }
    fn wait(&self) {
        let (lock, cv) = &*self.state;
        let mut done = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            done = cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Latch for LockLatch {
    unsafe fn set(this: *const Self, _sleep: &Sleep) {
        // SAFETY: `this` is alive until `done` is seen true, which needs the lock we take below.
        let state = unsafe { (*this).state.clone() };
        let (lock, cv) = &*state;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
}

/// A job in its creator's stack frame.
struct StackJob<D: WorkDeque, F, R, L> {
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<Outcome<R>>>,
    latch: L,
    _pool: PhantomData<fn(&WorkerCtx<D>)>,
}

impl<D, F, R, L> StackJob<D, F, R, L>
where
    D: WorkDeque,
    F: FnOnce(&WorkerCtx<D>) -> R + Send,
    R: Send,
    L: Latch,
{
    fn new(func: F, latch: L) -> Self {
        StackJob {
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            latch,
            _pool: PhantomData,
        }
    }

    fn as_job_ref(&self) -> JobRef<D> {
        JobRef {
            data: self as *const Self as *const (),
            execute: Self::execute,
        }
    }

    /// Runs the job on a worker (the thief's or the creator's).
    unsafe fn execute(data: *const (), ctx: &WorkerCtx<D>) {
        let this = data as *const Self;
        // SAFETY: the frame is alive (it waits for the latch) and this `JobRef` runs once, so no one
        // else touches `func` or `result` until the latch is set.
        let func = unsafe { (*(*this).func.get()).take() }.expect("a job runs once");
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| func(ctx)));
        // SAFETY: as above; the creator reads `result` only after the latch's Acquire.
        unsafe { *(*this).result.get() = Some(outcome) };
        // SAFETY: `latch` is alive; `set` does not touch it after setting it.
        unsafe { L::set(&(*this).latch, &ctx.shared.sleep) };
    }

    /// Runs the job here, in its creator, after popping it back (no thief got it).
    fn run_inline(&self, ctx: &WorkerCtx<D>) -> Outcome<R> {
        // SAFETY: we popped our own JobRef back, so no one else can run it; we are its only user.
        let func = unsafe { (*self.func.get()).take() }.expect("a job runs once");
        panic::catch_unwind(AssertUnwindSafe(|| func(ctx)))
    }

    /// The outcome, once the latch is set.
    fn take_result(&self) -> Outcome<R> {
        // SAFETY: called after the latch was observed set (Acquire): the executor is done with it.
        unsafe { (*self.result.get()).take() }.expect("the latch is set after the result")
    }
}

/// What the workers share.
struct Shared<D: WorkDeque> {
    stealers: Vec<D::Stealer<JobRef<D>>>,
    /// Jobs handed in from outside the pool (by `install`).
    injector: Mutex<VecDeque<JobRef<D>>>,
    /// `injector.len()`, readable without the lock.
    injected: AtomicUsize,
    sleep: Sleep,
    /// Set once, by `StealingPool::drop`.
    shutdown: AtomicBool,
    /// Successful steals per worker (each written by its worker only).
    steals: Vec<CachePadded<AtomicU64>>,
}

impl<D: WorkDeque> Shared<D> {
    /// True if some deque or the injector looks non-empty.
    fn has_work(&self) -> bool {
        // Acquire (inside `is_empty`) and SeqCst-fenced by the caller: see `Sleep`.
        self.injected.load(Ordering::Relaxed) > 0 || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn pop_injected(&self) -> Option<JobRef<D>> {
        // Relaxed: a hint; the lock below orders the queue itself.
        if self.injected.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut q = self.injector.lock().unwrap_or_else(|p| p.into_inner());
        let job = q.pop_front();
        self.injected.store(q.len(), Ordering::Relaxed);
        job
    }
}

/// A worker's view of the pool, handed to every closure that runs on it.
pub struct WorkerCtx<D: WorkDeque = ChaseLev> {
    index: usize,
    local: D::Owner<JobRef<D>>,
    shared: Arc<Shared<D>>,
    /// xorshift state for picking victims.
    rng: Cell<u64>,
}

impl<D: WorkDeque> WorkerCtx<D> {
    /// This worker's index in `0..threads`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Runs `a` and `b`, potentially in parallel: `b` is offered to thieves while this worker runs
    /// `a`. Returns both results; if either panics, the panic is re-raised here after both finished.
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(&Self) -> RA,
        B: FnOnce(&Self) -> RB + Send,
        RB: Send,
    {
        let job_b = StackJob::new(
            b,
            SpinLatch {
                done: AtomicBool::new(false),
            },
        );
        let job_b_ref = job_b.as_job_ref();
        let b_data = job_b_ref.data;
        self.push(job_b_ref);
        let ra = panic::catch_unwind(AssertUnwindSafe(|| a(self)));
        // Take `b` back, or wait for the thief that has it. Never leave while it may run: it lives in
        // this frame.
        let rb = loop {
            if job_b.latch.probe() {
                break job_b.take_result();
            }
            match self.local.pop() {
                Some(job) if job.data == b_data => break job_b.run_inline(self),
                // SAFETY: a job popped from our deque runs once, here; its frame waits for it.
                Some(job) => unsafe { job.run(self) },
                None => {
                    self.work_until(|| job_b.latch.probe());
                    break job_b.take_result();
                }
            }
        };
        match (ra, rb) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (Err(p), _) | (_, Err(p)) => panic::resume_unwind(p),
        }
    }

    fn push(&self, job: JobRef<D>) {
        self.local.push(job);
        self.shared.sleep.notify_work();
    }

    /// Our own newest job, else the injector's oldest, else a random victim's oldest.
    fn find_work(&self) -> Option<JobRef<D>> {
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        if let Some(job) = self.shared.pop_injected() {
            return Some(job);
        }
        self.steal()
    }

    fn steal(&self) -> Option<JobRef<D>> {
        let n = self.shared.stealers.len();
        if n <= 1 {
            return None;
        }
        loop {
            let mut retry = false;
            let start = self.next_random() as usize % n;
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == self.index {
                    continue;
                }
                match self.shared.stealers[victim].steal() {
                    Steal::Success(job) => {
                        // Relaxed: a statistic, read after the work it counts has been joined.
                        self.shared.steals[self.index].fetch_add(1, Ordering::Relaxed);
                        return Some(job);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    fn next_random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    /// Runs jobs until `done()`; spins a little, then parks, when there is nothing to run.
    fn work_until(&self, done: impl Fn() -> bool) {
        let sleep = &self.shared.sleep;
        // 0: busy; k > 0: k rounds without finding work (counted in `searching` meanwhile).
        let mut idle_rounds = 0u32;
        while !done() {
            if let Some(job) = self.find_work() {
                if idle_rounds > 0 {
                    sleep.stop_searching();
                    idle_rounds = 0;
                }
                // SAFETY: a job taken from a deque or the injector runs once; its frame waits for it.
                unsafe { job.run(self) };
                continue;
            }
            if idle_rounds == 0 {
                sleep.start_searching();
            }
            idle_rounds += 1;
            if idle_rounds < 64 {
                std::hint::spin_loop();
            } else if idle_rounds < 96 {
                thread::yield_now();
            } else {
                sleep.park(|| done() || self.shared.has_work());
                idle_rounds = 1;
            }
        }
        if idle_rounds > 0 {
            sleep.stop_searching();
        }
    }
}

/// A fork-join pool of `threads` workers, each with its own work-stealing deque of type `D`.
pub struct StealingPool<D: WorkDeque = ChaseLev> {
    shared: Arc<Shared<D>>,
    workers: Vec<JoinHandle<()>>,
}

impl<D: WorkDeque> StealingPool<D> {
    /// Starts `threads` workers (at least 1), named `steal-worker-<i>`.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let owners: Vec<D::Owner<JobRef<D>>> = (0..threads).map(|_| D::new()).collect();
        let shared = Arc::new(Shared {
            stealers: owners.iter().map(|o| o.stealer()).collect(),
            injector: Mutex::new(VecDeque::new()),
            injected: AtomicUsize::new(0),
            sleep: Sleep::new(),
            shutdown: AtomicBool::new(false),
            steals: (0..threads)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        });
        let workers = owners
            .into_iter()
            .enumerate()
            .map(|(index, local)| {
                let shared = shared.clone();
                thread::Builder::new()
                    .name(format!("steal-worker-{index}"))
                    .spawn(move || {
                        let ctx = WorkerCtx {
                            index,
                            local,
                            shared,
                            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1) << 17),
                        };
                        // Acquire: pairs with the Release store in `drop`.
                        ctx.work_until(|| ctx.shared.shutdown.load(Ordering::Acquire));
                    })
                    .expect("spawn a worker thread")
            })
            .collect();
        StealingPool { shared, workers }
    }

    /// The number of workers.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Successful steals so far, over every worker.
    pub fn steals(&self) -> u64 {
        // Relaxed: statistics; the `install` that did the work ordered them before our read.
        self.shared
            .steals
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .sum()
    }

    /// Runs `f` on a worker and returns its result, blocking this thread meanwhile; a panic in `f`
    /// is re-raised here. Do not call it from inside the pool's own jobs (use [`WorkerCtx::join`]):
    /// a worker blocked here is a worker lost.
    pub fn install<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&WorkerCtx<D>) -> R + Send,
        R: Send,
    {
        let job = StackJob::new(f, LockLatch::new());
        {
            let mut q = self
                .shared
                .injector
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            q.push_back(job.as_job_ref());
            self.shared.injected.store(q.len(), Ordering::Relaxed);
        }
        self.shared.sleep.notify_all_parked();
        job.latch.wait();
        match job.take_result() {
            Ok(r) => r,
            Err(p) => panic::resume_unwind(p),
        }
    }
}

impl<D: WorkDeque> Drop for StealingPool<D> {
    fn drop(&mut self) {
        // Release: pairs with the workers' Acquire load. No job is in flight: `install` blocks until
        // its job is done, and `drop` needs the pool exclusively.
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.sleep.notify_all();
        for w in self.workers.drain(..) {
            // A worker never panics outside a job (jobs' panics are caught), so this only fails if
            // the runtime itself is broken.
            w.join().expect("a worker thread panicked outside a job");
        }
    }
}
