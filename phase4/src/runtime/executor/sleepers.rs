//! Parking idle workers without losing a wake-up, and without waking more of them than the work needs.
//!
//! Go's scheduler keeps idle Ms on a list (`sched.midle`) and a count of spinning Ms (`nmspinning`),
//! and `wakep` starts an M only when none is spinning; tokio's `Idle` does the same with
//! `num_searching`. Two dangers:
//!
//! **The lost wake-up.** A worker finds the queues empty, a producer pushes and sees nobody idle, then
//! the worker sleeps with work queued. The protocol rules it out:
//!
//! - **worker** ([`Sleepers::sleep_unless`]): register as idle (an RMW on `state`), *then* look at the
//!   queues once more, and park only if they are still empty;
//! - **producer** ([`Sleepers::notify_one`]): push the work, *then* read `state` with an RMW, and wake a
//!   registered worker if there is one.
//!
//! Both RMWs hit the one atomic `state`, so they are totally ordered. If the worker's comes first, the
//! producer sees it idle and wakes it. If the producer's comes first, the worker's RMW reads from it
//! (AcqRel: the release sequence of the producer's RMW), so the push happened before the worker's
//! second look, which finds the work. (A plain load by the producer would not do: the two sides
//! would form the store-buffering pattern, which only `SeqCst` fences fix, and which loom cannot
//! check.) Each worker parks on its own flag + condvar, so a notification that arrives before the
//! worker parks is kept, not lost.
//!
//! **The wake-up storm.** A spawner that pushes 10 000 tasks would call `notify_one` 10 000 times; each
//! call that finds a sleeper costs a futex wake (about 25 µs on this VM), and the woken worker often
//! finds the queue already drained. So `state` also counts *searching* workers: those out of local
//! work and looking at the injector and the other rings (a woken worker starts as one). A producer
//! that sees a searcher wakes nobody: the searcher will find the work. When a searcher finds work it
//! stops searching, and if it was the last one it calls `notify_one` itself, so a second worker
//! joins while there is work to share. Why this loses nothing: a searcher counted by the producer's
//! RMW later does one of two RMWs on `state`, both after the producer's: it registers to sleep (and
//! its last look sees the push), or it stops searching (and, if last, notifies: the same argument
//! again, one step later). The loom model `searching_worker_passes_the_wakeup_on` fails without that
//! hand-on.
use std::marker::PhantomData;

use phase1::shim::sync::atomic::{AtomicUsize, Ordering::*};
use phase1::shim::sync::{Condvar, Mutex};

use orderings::{Orderings, Real};

/// The ordering of the RMWs on `state`, as a type parameter so that the loom models can build a
/// weakened twin of the very same code ([`WeakenedSleepers`], only under `cfg(loom)`). Sealed: the
/// module is private, so no user can name the trait or pick another policy.
mod orderings {
    use phase1::shim::sync::atomic::Ordering;

    pub trait Orderings: Send + Sync + 'static {
        /// Every RMW on `state` that the no-lost-wake-up argument rests on.
        const RMW: Ordering;
    }

    /// The executor's: AcqRel, as the module docs argue.
    pub struct Real;
    impl Orderings for Real {
        const RMW: Ordering = Ordering::AcqRel;
    }

    /// The loom models' broken twin: every such RMW Relaxed. loom must find the lost wake-up.
    #[cfg(loom)]
    pub struct Weakened;
    #[cfg(loom)]
    impl Orderings for Weakened {
        const RMW: Ordering = Ordering::Relaxed;
    }
}

/// [`Sleepers`] with every AcqRel RMW on its state weakened to Relaxed: compiled only under
/// `cfg(loom)`, for the model that must fail (`tests/loom_executor.rs`).
#[cfg(loom)]
#[doc(hidden)]
pub type WeakenedSleepers = Sleepers<orderings::Weakened>;

/// One searching worker in `state` (the idle count is the low bits).
const SEARCHING: usize = 1 << 16;
const IDLE_MASK: usize = SEARCHING - 1;

/// What [`Sleepers::sleep_unless`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slept {
    /// The last look found work; the worker did not park, and is searching again if it was.
    FoundWork,
    /// The worker parked and was woken: by a producer (which counted it as searching) or by
    /// [`Sleepers::unpark_all`].
    Woken,
}

/// The idle-worker registry of an executor with a fixed number of workers.
pub struct Sleepers<O: Orderings = Real> {
    /// `idle + SEARCHING * searching`. Idle changes under `list`'s lock; producers read with an RMW.
    state: AtomicUsize,
    /// Ids of the idle workers, most recent last (woken LIFO: its caches are warmest).
    list: Mutex<Vec<usize>>,
    /// One wake-up flag per worker: `true` once notified, cleared by the worker when it wakes.
    parkers: Box<[Parker]>,
    _orderings: PhantomData<O>,
}

struct Parker {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Sleepers {
    /// A registry for workers `0..workers` (at most 65 535).
    pub fn new(workers: usize) -> Self {
        Self::with_orderings(workers)
    }
}

#[cfg(loom)]
impl WeakenedSleepers {
    /// The weakened twin of [`Sleepers::new`] (loom only).
    #[doc(hidden)]
    pub fn new_weakened(workers: usize) -> Self {
        Self::with_orderings(workers)
    }
}

impl<O: Orderings> Sleepers<O> {
    fn with_orderings(workers: usize) -> Self {
        assert!(
            workers < SEARCHING,
            "too many workers for the packed state word"
        );
        Sleepers {
            state: AtomicUsize::new(0),
            list: Mutex::new(Vec::with_capacity(workers)),
            parkers: (0..workers)
                .map(|_| Parker {
                    notified: Mutex::new(false),
                    cv: Condvar::new(),
                })
                .collect(),
            _orderings: PhantomData,
        }
    }

    /// A worker ran out of local work and starts looking elsewhere. Follow with
    /// [`Sleepers::stop_searching`] when it finds work, or pass `searching = true` to
    /// [`Sleepers::sleep_unless`] / [`Sleepers::register`].
    pub fn start_searching(&self) {
        // AcqRel: part of the RMW chain on `state` (see the module docs); the count itself is what
        // producers act on.
        self.state.fetch_add(SEARCHING, O::RMW);
    }

    /// A searching worker found work. Returns true when it was the last searcher: the caller must
    /// then call [`Sleepers::notify_one`] (producers skipped their wake-ups while it searched).
    pub fn stop_searching(&self) -> bool {
        // AcqRel: Acquire, so a push whose `notify_one` was skipped because of us is visible to the
        // `notify_one` we make next; Release for the producers that read the count.
        self.state.fetch_sub(SEARCHING, O::RMW) / SEARCHING == 1
    }

    /// Worker `id` announces it is about to sleep (and stops searching, if it was). Follow with a
    /// last look at the queues, then [`Sleepers::unregister`] (work found) or [`Sleepers::park`].
    pub fn register(&self, id: usize, searching: bool) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.push(id);
        let delta = if searching {
            1usize.wrapping_sub(SEARCHING) // idle + 1, searching - 1, in one RMW
        } else {
            1
        };
        // AcqRel: Acquire makes every push whose `notify_one` RMW came before this one visible to
        // our last look at the queues; Release lets a later `notify_one` see the registration.
        self.state.fetch_add(delta, O::RMW);
    }

    /// Worker `id` found work after registering: it leaves the idle list and, if it registered as a
    /// searcher, is one again (it still owes the wake-ups producers skipped because of it). Returns
    /// false when a producer had already taken it off the list: that producer counted it as
    /// searching and sets its wake-up flag.
    pub fn unregister(&self, id: usize, searching: bool) -> bool {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        match list.iter().position(|&w| w == id) {
            Some(i) => {
                list.swap_remove(i);
                let delta = if searching {
                    SEARCHING - 1
                } else {
                    1usize.wrapping_neg()
                };
                // AcqRel: part of the RMW chain on `state`, like `register`.
                self.state.fetch_add(delta, O::RMW);
                true
            }
            None => false,
        }
    }

    /// Worker `id` sleeps until notified (returns at once if a notification is pending).
    pub fn park(&self, id: usize) {
        let p = &self.parkers[id];
        let mut notified = p.notified.lock().unwrap_or_else(|e| e.into_inner());
        while !*notified {
            notified = p.cv.wait(notified).unwrap_or_else(|e| e.into_inner());
        }
        *notified = false;
    }

    /// The whole idle step for worker `id`: register (ending its search, if `searching`), take a
    /// last look with `has_work`, and park only if it still says false. After [`Slept::Woken`] the
    /// worker counts as searching (unless the executor is shutting down); after
    /// [`Slept::FoundWork`] it is searching again if it was.
    ///
    /// That last rule was a bug loom found in the first version, where a searcher whose last look
    /// found work came back as *not* searching: producers had skipped their wake-ups because it
    /// searched, it took one item and never passed the wake-up on, and a second item waited beside
    /// a parked worker (`searching_worker_passes_the_wakeup_on`).
    pub fn sleep_unless(&self, id: usize, searching: bool, has_work: impl Fn() -> bool) -> Slept {
        self.register(id, searching);
        if has_work() && self.unregister(id, searching) {
            return Slept::FoundWork;
        }
        // Parked, or a producer took us off the list first: then its flag is set or about to be
        // (it unparks right after releasing the list lock), and consuming it here keeps one wake-up
        // flag per producer wake-up, so the searching count stays exact.
        self.park(id);
        Slept::Woken
    }

    /// Producer side, after publishing work: wakes one idle worker, unless one is already searching
    /// (or none is idle). Returns true if it woke one.
    pub fn notify_one(&self) -> bool {
        // AcqRel RMW (not a load): see the module docs. Release: the push before this call is
        // visible to a worker whose `register` RMW reads from ours.
        let state = self.state.fetch_add(0, O::RMW);
        if state >= SEARCHING || state & IDLE_MASK == 0 {
            return false;
        }
        let id = {
            let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
            let Some(id) = list.pop() else {
                return false; // it unregistered: it found work and is running
            };
            // The woken worker starts searching: idle - 1, searching + 1. Relaxed: under the lock,
            // as in `unregister`; producers that read it only skip a wake-up, which the searcher
            // covers.
            self.state.fetch_add(SEARCHING - 1, Relaxed);
            id
        };
        self.unpark(id);
        true
    }

    /// A cheap hint for producers whose work will be run anyway (a worker's own queue): true when
    /// some worker is idle and none is searching. Not part of the no-lost-wake-up protocol.
    pub fn any_idle(&self) -> bool {
        // Relaxed: a hint; a stale answer costs parallelism, never a task.
        let state = self.state.load(Relaxed);
        state < SEARCHING && state & IDLE_MASK > 0
    }

    /// Wakes every worker (shutdown): each flag is set, parked or not.
    pub fn unpark_all(&self) {
        for id in 0..self.parkers.len() {
            self.unpark(id);
        }
    }

    fn unpark(&self, id: usize) {
        let p = &self.parkers[id];
        *p.notified.lock().unwrap_or_else(|e| e.into_inner()) = true;
        p.cv.notify_one();
    }
}
