//! Parking idle workers without losing a wake-up.
//!
//! Go's scheduler keeps idle Ms on a list (`sched.midle`) and a spinning count, and `wakep` starts one
//! when new work appears; tokio's `Idle` does the same. The danger is the classic lost wake-up: a
//! worker finds the queues empty, a producer pushes and sees nobody idle, then the worker sleeps
//! with work queued. The protocol here rules it out:
//!
//! - **worker** ([`Sleepers::sleep_unless`]): register as idle (an RMW on `idle`), *then* look at the
//!   queues once more, and park only if they are still empty;
//! - **producer** ([`Sleepers::notify_one`]): push the work, *then* read `idle` with an RMW, and wake a
//!   registered worker if there is one.
//!
//! Both RMWs hit the one atomic `idle`, so they are totally ordered. If the worker's comes first, the
//! producer sees `idle > 0` and wakes it. If the producer's comes first, the worker's RMW reads from
//! it (AcqRel: the release sequence of the producer's RMW), so the push happened before the worker's
//! second look, which finds the work. (A plain load by the producer would not do: the two sides
//! would form the store-buffering pattern, which only `SeqCst` fences fix, and which loom cannot
//! check.) Each worker parks on its own flag + condvar, so a notification that arrives before the
//! worker parks is kept, not lost.
use phase1::shim::sync::atomic::{AtomicUsize, Ordering::*};
use phase1::shim::sync::{Condvar, Mutex};

/// The idle-worker registry of an executor with a fixed number of workers.
pub struct Sleepers {
    /// Workers registered as idle. Written under `list`'s lock, read by producers with an RMW.
    idle: AtomicUsize,
    /// Ids of the idle workers, most recent last (woken LIFO: its caches are warmest).
    list: Mutex<Vec<usize>>,
    /// One wake-up flag per worker: `true` once notified, cleared by the worker when it wakes.
    parkers: Box<[Parker]>,
}

struct Parker {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Sleepers {
    /// A registry for workers `0..workers`.
    pub fn new(workers: usize) -> Self {
        Sleepers {
            idle: AtomicUsize::new(0),
            list: Mutex::new(Vec::with_capacity(workers)),
            parkers: (0..workers)
                .map(|_| Parker {
                    notified: Mutex::new(false),
                    cv: Condvar::new(),
                })
                .collect(),
        }
    }

    /// Worker `id` announces it is about to sleep. Follow with a last look at the queues, then
    /// [`Sleepers::unregister`] (work found) or [`Sleepers::park`].
    pub fn register(&self, id: usize) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.push(id);
        // AcqRel: Acquire makes every push whose `notify_one` RMW came before this one visible to
        // our last look at the queues; Release lets a later `notify_one` see the registration.
        self.idle.fetch_add(1, AcqRel);
    }

    /// Worker `id` found work after registering. Returns false when a producer had already taken it
    /// off the list (its wake-up flag is then set, and its next `park` returns at once: harmless).
    pub fn unregister(&self, id: usize) -> bool {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        match list.iter().position(|&w| w == id) {
            Some(i) => {
                list.swap_remove(i);
                // Relaxed: the lock orders this with `register` and `notify_one`'s list update.
                self.idle.fetch_sub(1, Relaxed);
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

    /// The whole idle step for worker `id`: register, take a last look with `has_work`, and park
    /// only if it still says false. Returns true if the worker parked.
    pub fn sleep_unless(&self, id: usize, has_work: impl Fn() -> bool) -> bool {
        self.register(id);
        if has_work() {
            self.unregister(id);
            return false;
        }
        self.park(id);
        true
    }

    /// Producer side, after publishing work: wakes one idle worker, if any. Returns true if it woke one.
    pub fn notify_one(&self) -> bool {
        // AcqRel RMW (not a load): see the module docs. Release: the push before this call is
        // visible to a worker whose `register` RMW reads from ours.
        if self.idle.fetch_add(0, AcqRel) == 0 {
            return false;
        }
        let id = {
            let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
            let Some(id) = list.pop() else {
                return false; // it unregistered: it found work and is running
            };
            // Relaxed: under the lock, as in `unregister`.
            self.idle.fetch_sub(1, Relaxed);
            id
        };
        self.unpark(id);
        true
    }

    /// A cheap hint for producers whose work will be run anyway (a worker's own queue): true when
    /// some worker is registered idle. Not part of the no-lost-wake-up protocol.
    pub fn any_idle(&self) -> bool {
        // Relaxed: a hint; a stale answer costs parallelism, never a task.
        self.idle.load(Relaxed) > 0
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
