//! Loom models of the executor's lock-free protocols: the parking of idle workers (no lost wake-up,
//! also when producers skip wake-ups because a worker is searching), the bounded local ring (each
//! item taken exactly once), and the task state word (claim vs wake vs abort vs complete).
//!
//! The parking models use the executor's own pieces: the real [`Sleepers`] and the real lock-free
//! idle check ([`work_hint::has_work`]: the injector's length hint and the rings' lengths, no lock),
//! with the injector built as `Shared` builds it (a locked queue whose length hint is raised with a
//! Relaxed RMW under the lock). No lock orders a producer's push before a worker's last look, so
//! the sleepers' RMWs are all that does, and [`WeakenedSleepers`] (the same code with those RMWs
//! Relaxed, built only under `cfg(loom)`) must lose a wake-up: `weakened_sleepers_lose_the_wakeup`.
#![cfg(loom)]
use std::collections::VecDeque;

use loom::sync::Condvar;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use phase4::runtime::executor::state::{self, AfterPoll, State};
use phase4::runtime::executor::{LocalRing, Sleepers, Slept, WeakenedSleepers, work_hint};

/// The global injector as `Shared` keeps it: the queue under a lock, and beside it a length hint
/// that the idle check reads without the lock.
struct Injector {
    queue: Mutex<VecDeque<u32>>,
    len: AtomicUsize,
}

impl Injector {
    fn new() -> Self {
        Injector {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// `Shared::push_injector`: push, raise the hint under the lock (Relaxed, as there).
    fn push(&self, v: u32) {
        let mut q = self.queue.lock().unwrap();
        q.push_back(v);
        self.len.fetch_add(1, Ordering::Relaxed);
    }

    /// `Shared::pop_injector`: a Relaxed look at the hint, then the queue under the lock.
    fn pop(&self) -> Option<u32> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut q = self.queue.lock().unwrap();
        let v = q.pop_front()?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(v)
    }
}

type Ring = LocalRing<std::sync::Arc<usize>, 2>;

/// What a worker parks against: the injector, every worker's ring (empty here: only workers push
/// to their own ring, and they run what they push), and the shutdown flag (never set here).
struct World {
    injector: Injector,
    rings: Vec<Ring>,
    shutdown: AtomicBool,
}

impl World {
    fn leaked(workers: usize) -> &'static World {
        // Leaked, not in an `Arc`: when loom reports a deadlock it unwinds, and dropping loom
        // objects during that unwind would abort the test process instead of failing the model.
        Box::leak(Box::new(World {
            injector: Injector::new(),
            rings: (0..workers).map(|_| Ring::new()).collect(),
            shutdown: AtomicBool::new(false),
        }))
    }

    /// The executor's last look before parking, exactly.
    fn has_work(&self) -> bool {
        work_hint::has_work(&self.shutdown, &self.injector.len, self.rings.iter())
    }
}

/// The sleepers' API the worker loop uses, for the real type and its weakened twin alike.
trait Park: Send + Sync + 'static {
    fn leaked(workers: usize) -> &'static Self;
    fn start_searching(&self);
    fn stop_searching(&self) -> bool;
    fn sleep_unless(&self, id: usize, searching: bool, has_work: impl Fn() -> bool) -> Slept;
    fn notify_one(&self) -> bool;
}

macro_rules! park_via {
    ($ty:ty, $new:path) => {
        impl Park for $ty {
            fn leaked(workers: usize) -> &'static Self {
                Box::leak(Box::new($new(workers)))
            }
            fn start_searching(&self) {
                <$ty>::start_searching(self)
            }
            fn stop_searching(&self) -> bool {
                <$ty>::stop_searching(self)
            }
            fn sleep_unless(&self, id: usize, searching: bool, f: impl Fn() -> bool) -> Slept {
                <$ty>::sleep_unless(self, id, searching, f)
            }
            fn notify_one(&self) -> bool {
                <$ty>::notify_one(self)
            }
        }
    };
}
park_via!(Sleepers, Sleepers::new);
park_via!(WeakenedSleepers, WeakenedSleepers::new_weakened);

/// `worker_loop` reduced to the injector: take an item (ending a search, and if this was the last
/// searcher passing the wake-up on when `hand_on`), else search, else park unless `has_work`.
fn worker<S: Park>(id: usize, world: &World, sleepers: &S, hand_on: bool) -> u32 {
    let mut searching = false;
    loop {
        if !searching {
            sleepers.start_searching();
            searching = true;
        }
        if let Some(v) = world.injector.pop() {
            if sleepers.stop_searching() && hand_on {
                sleepers.notify_one();
            }
            return v;
        }
        // Woken: a producer counted us as searching; FoundWork: we still are.
        sleepers.sleep_unless(id, searching, || world.has_work());
    }
}

fn lost_wakeup_model<S: Park>() {
    loom::model(|| {
        let world = World::leaked(1);
        let sleepers = S::leaked(1);
        let w = thread::spawn(move || worker(0, world, sleepers, true));
        world.injector.push(7);
        sleepers.notify_one();
        assert_eq!(w.join().unwrap(), 7);
    });
}

/// A worker sleeps until a producer's item arrives: whatever the interleaving, it gets the item.
/// A lost wake-up leaves the worker parked forever, which loom reports as a deadlock.
#[test]
fn no_lost_wakeup() {
    lost_wakeup_model::<Sleepers>();
}

/// The same model with every AcqRel RMW of the sleepers Relaxed: loom finds the run where the
/// worker's register RMW comes after the producer's `notify_one` RMW (so nobody wakes it) but its
/// last look still reads the injector's length hint as 0 (nothing orders the push before it).
#[test]
#[should_panic(expected = "deadlock")]
fn weakened_sleepers_lose_the_wakeup() {
    lost_wakeup_model::<WeakenedSleepers>();
}

/// The broken protocol: the worker registers and parks without a last look at the queue. loom finds
/// the interleaving where the producer's notification came before the registration.
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_no_recheck_loses_the_wakeup() {
    loom::model(|| {
        let world = World::leaked(1);
        let sleepers: &'static Sleepers = Park::leaked(1);
        let w = thread::spawn(move || {
            loop {
                if let Some(v) = world.injector.pop() {
                    return v;
                }
                sleepers.register(0, false);
                sleepers.park(0); // wrong on purpose: no second look after registering
            }
        });
        world.injector.push(7);
        sleepers.notify_one();
        assert_eq!(w.join().unwrap(), 7);
    });
}

/// The owner pushes past capacity (overflow hands items back) and pops while a thief steals:
/// every item is taken exactly once.
#[test]
fn ring_items_taken_exactly_once() {
    loom::model(|| {
        let ring = Arc::new(LocalRing::<std::sync::Arc<usize>, 2>::new());
        let thief_ring = Arc::new(LocalRing::<std::sync::Arc<usize>, 2>::new());
        let taken = Arc::new(AtomicUsize::new(0)); // bit i: item i taken
        let mark = |t: &AtomicUsize, v: usize| {
            let before = t.fetch_or(1 << v, Ordering::Relaxed);
            assert_eq!(before & (1 << v), 0, "item {v} taken twice");
        };
        let thief = {
            let (ring, thief_ring, taken) = (ring.clone(), thief_ring.clone(), taken.clone());
            thread::spawn(move || {
                // SAFETY: this thread owns `thief_ring` and steals from `ring`.
                if let Some(v) = unsafe { ring.steal_into(&thief_ring) } {
                    mark(&taken, *v);
                }
                // SAFETY: as above.
                while let Some(v) = unsafe { thief_ring.pop() } {
                    mark(&taken, *v);
                }
            })
        };
        for i in 0..3 {
            // SAFETY: the main thread is the ring's owner.
            if let Err(spill) = unsafe { ring.push(std::sync::Arc::new(i)) } {
                for v in spill {
                    mark(&taken, *v);
                }
            }
        }
        // SAFETY: owner.
        while let Some(v) = unsafe { ring.pop() } {
            mark(&taken, *v);
        }
        thief.join().unwrap();
        assert_eq!(taken.load(Ordering::Relaxed), 0b111);
    });
}

/// Two items that can only be finished together: whoever takes one waits until both are taken.
struct Pair {
    taken: Mutex<usize>,
    both: Condvar,
}

fn pair_model<S: Park>(hand_on: bool) {
    loom::model(move || {
        let world = World::leaked(2);
        let sleepers = S::leaked(2);
        // Leaked, as `World`: the broken variants deadlock.
        let pair: &'static Pair = Box::leak(Box::new(Pair {
            taken: Mutex::new(0),
            both: Condvar::new(),
        }));
        let workers: Vec<_> = (0..2)
            .map(|id| {
                thread::spawn(move || {
                    worker(id, world, sleepers, hand_on);
                    let mut n = pair.taken.lock().unwrap();
                    *n += 1;
                    pair.both.notify_all();
                    while *n < 2 {
                        n = pair.both.wait(n).unwrap();
                    }
                })
            })
            .collect();
        for v in [1, 2] {
            world.injector.push(v);
            sleepers.notify_one();
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(*pair.taken.lock().unwrap(), 2);
    });
}

/// A producer that sees a searching worker skips its wake-up; the searcher, on finding work, wakes
/// the next worker. Two items that need two workers at once always get them.
#[test]
fn searching_worker_passes_the_wakeup_on() {
    pair_model::<Sleepers>(true);
}

/// Without the hand-on, loom finds the run where one worker searched through both pushes (so both
/// wake-ups were skipped), took the first item and waits for a second worker that sleeps on.
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_searcher_keeps_the_wakeup() {
    pair_model::<Sleepers>(false);
}

// ---- The task state machine: claim vs wake vs abort vs complete ----

/// The future of a modelled task, in a loom `UnsafeCell`: loom reports any two accesses that the
/// state word's transitions do not order (a poll racing a poll or a cancel) as a data race.
#[derive(Default)]
struct ModelFuture {
    polls: u8,
    dropped: bool,
}

const COMPLETED: usize = 1;
const CANCELLED: usize = 2;

/// A task reduced to its state word and its future, driven by the executor's own transitions
/// (`executor::state`). A thread that queues it runs it itself, at once: each thread is its own
/// run queue, so the future moves between threads as it does between workers.
struct ModelTask {
    state: State,
    future: loom::cell::UnsafeCell<ModelFuture>,
    /// `ready_at`: the poll that returns `Ready` (`None`: pending forever).
    ready_at: Option<u8>,
    /// COMPLETED or CANCELLED, set once.
    ended: AtomicUsize,
}

impl ModelTask {
    fn new(ready_at: Option<u8>) -> Self {
        ModelTask {
            state: State::new_scheduled(),
            future: loom::cell::UnsafeCell::new(ModelFuture::default()),
            ready_at,
            ended: AtomicUsize::new(0),
        }
    }

    fn end(&self, how: usize) {
        let before = self.ended.fetch_or(how, Ordering::Relaxed);
        assert_eq!(before, 0, "the task ended twice");
    }

    /// `TaskRef::run`, with the requeue done in place.
    fn run(&self) {
        loop {
            let claimed = self
                .state
                .claim(state::SCHEDULED)
                .expect("a queued task is SCHEDULED: queued exactly once");
            if claimed & state::ABORTED != 0 {
                return self.cancel();
            }
            let ready = self.future.with_mut(|f| {
                // SAFETY: we hold the task RUNNING; loom checks that nobody else touches it.
                let f = unsafe { &mut *f };
                assert!(!f.dropped, "polled after its future was dropped");
                f.polls += 1;
                f.dropped = Some(f.polls) == self.ready_at;
                f.dropped
            });
            if ready {
                self.end(COMPLETED);
                return self.state.complete();
            }
            match self.state.after_poll() {
                AfterPoll::Idle => return,
                AfterPoll::Requeue => continue,
                AfterPoll::Cancel => return self.cancel(),
            }
        }
    }

    /// `finish_cancelled`: drop the future of a task we hold RUNNING.
    fn cancel(&self) {
        self.future.with_mut(|f| {
            // SAFETY: as in `run`.
            let f = unsafe { &mut *f };
            assert!(!f.dropped, "future dropped twice");
            f.dropped = true;
        });
        self.end(CANCELLED);
        self.state.complete();
    }

    /// The waker's `wake_by_ref`: queue it if the transition says so.
    fn wake(&self) {
        if self.state.transition_to_scheduled() {
            self.run();
        }
    }

    /// `task::abort`: the flag, then an ordinary wake-up.
    fn abort(&self) {
        self.state.set_aborted();
        self.wake();
    }
}

/// One task, first polled by the main thread (its spawner's queue), woken by one thread and
/// aborted by another while it runs, waits or is queued. Whatever the interleaving: the future is
/// never touched by two threads unordered, never polled after it is dropped, dropped once; the
/// task ends exactly once; and since it was aborted, it does end (an abort is never lost).
fn task_state_model(ready_at: Option<u8>) {
    loom::model(move || {
        let task = Arc::new(ModelTask::new(ready_at));
        let waker = {
            let t = task.clone();
            thread::spawn(move || t.wake())
        };
        let aborter = {
            let t = task.clone();
            thread::spawn(move || t.abort())
        };
        task.run();
        waker.join().unwrap();
        aborter.join().unwrap();
        assert_eq!(
            task.state.load() & state::LIFECYCLE,
            state::COMPLETE,
            "aborted, yet never ended: the abort was lost"
        );
        let ended = task.ended.load(Ordering::Relaxed);
        task.future.with(|f| {
            // SAFETY: every other thread is joined.
            let f = unsafe { &*f };
            assert!(f.dropped, "ended with its future alive");
            match ended {
                COMPLETED => assert_eq!(Some(f.polls), ready_at, "completed early"),
                CANCELLED => {}
                _ => panic!("ended as {ended}"),
            }
        });
    });
}

/// A future that never finishes: only the abort ends it, through whichever of claim (queued),
/// the post-poll CAS (running) or its own wake-up (waiting) meets the flag.
#[test]
fn task_state_abort_is_never_lost() {
    task_state_model(None);
}

/// A future that finishes on its second poll (it needs the wake-up): the abort races the
/// completion; either wins, once.
#[test]
fn task_state_abort_races_completion() {
    task_state_model(Some(2));
}
