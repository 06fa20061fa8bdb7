//! **Broken on purpose.** One queue with a switch per catalogued flaw: `Flawed<BUG>` is a correct
//! bounded ring (slots of `Option<T>`, a head and a tail position, all behind one `Mutex`) except for
//! the one mistake `BUG` names, so the review of each must name exactly that flaw
//! (`review/tests/diagnosis_queue.rs`). Each mistake is one a reader makes writing a queue for the
//! first time; the lines that make it are marked `BUG`.
//!
//! The two races ([`LOST_ON_CONCURRENT_PUSH`], [`SPURIOUS_EMPTY`]) split one operation into two
//! critical sections — read the position, then use it — which is what a lock-free queue does when it
//! loads an index and writes the slot without claiming the index by a compare-and-swap. A race that
//! shows once in a million runs cannot be reviewed, so until the first collision each holds its gap
//! open: once more than one thread has used that side of the queue, a thread in the gap yields (so a
//! time-sliced partner gets to run inside it) and, while another operation is in progress, waits
//! up to 10 ms for a second thread to reach the gap. With two threads in the gap at once a
//! collision is certain (the position moves only when some thread that read it finishes). A queue
//! used by one producer and one consumer never waits. The mistake is the split, not the wait. Safe
//! code throughout: a race here loses or misplaces values, it is not UB.
//!
//! `Flawed<CORRECT>` has no mistake: its clean review shows that the switches, off, leave a queue
//! the reviewer accepts. Never use any of these for anything else.
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::queue::{ConcurrentQueue, QueueFlavor};

/// No mistake.
pub const CORRECT: u8 = 0;
/// The fullness check is off by one: the queue takes `capacity + 1` values.
pub const CAPACITY_EXCEEDED: u8 = 1;
/// A push to a full queue makes room by taking the oldest value out, and hands that one back.
pub const FAILED_PUSH_CHANGES_QUEUE: u8 = 2;
/// `try_pop` takes the newest value (a stack, not a queue).
pub const FIFO_VIOLATED: u8 = 3;
/// `try_push` reads the tail, then writes the slot and the tail in a second critical section.
pub const LOST_ON_CONCURRENT_PUSH: u8 = 4;
/// `try_pop` reads the head, then takes the slot in a second critical section, and returns `None`
/// when another consumer emptied that slot in between.
pub const SPURIOUS_EMPTY: u8 = 5;
/// The queue's drop forgets the values still inside.
pub const VALUES_LEAK_ON_DROP: u8 = 6;
/// `try_push` on a full queue waits for room, as a blocking `send` would.
pub const TRY_PUSH_BLOCKS: u8 = 7;

/// Each switch and the catalogue id its review must name (`None` for [`CORRECT`]).
pub const SWITCHES: [(u8, Option<&str>); 8] = [
    (CORRECT, None),
    (CAPACITY_EXCEEDED, Some("capacity-exceeded")),
    (FAILED_PUSH_CHANGES_QUEUE, Some("failed-push-changes-queue")),
    (FIFO_VIOLATED, Some("fifo-violated")),
    (LOST_ON_CONCURRENT_PUSH, Some("lost-on-concurrent-push")),
    (SPURIOUS_EMPTY, Some("spurious-empty")),
    (VALUES_LEAK_ON_DROP, Some("values-leak-on-drop")),
    (TRY_PUSH_BLOCKS, Some("try-push-blocks")),
];

const NAMES: [&str; 8] = [
    "flawed: none",
    "flawed: capacity-exceeded",
    "flawed: failed-push-changes-queue",
    "flawed: fifo-violated",
    "flawed: lost-on-concurrent-push",
    "flawed: spurious-empty",
    "flawed: values-leak-on-drop",
    "flawed: try-push-blocks",
];

/// The factory of the queue with mistake `BUG` (one of the constants above).
#[derive(Debug)]
pub struct Flawed<const BUG: u8>;

/// The ring: `slots[pos % slots.len()]` holds position `pos`'s value for `head <= pos < tail`.
#[derive(Debug)]
struct Ring<T> {
    slots: Vec<Option<T>>,
    head: usize,
    tail: usize,
}

/// The queue of [`Flawed`].
#[derive(Debug)]
pub struct FlawedQueue<const BUG: u8, T> {
    ring: Mutex<Ring<T>>,
    capacity: usize,
    /// Signalled by every pop: where [`TRY_PUSH_BLOCKS`] waits.
    popped: Condvar,
    /// The two races' windows (see the module documentation).
    pushing: Gap,
    popping: Gap,
}

/// One side's race window: operations in progress, threads in the gap, and whether the race has
/// shown (a collision seen) so the gap need not be held open any more.
#[derive(Debug, Default)]
struct Gap {
    in_progress: AtomicUsize,
    in_gap: AtomicUsize,
    shown: AtomicBool,
    /// A hash of the thread that entered last, and whether two different threads have entered.
    last_thread: AtomicU64,
    shared: AtomicBool,
}

impl Gap {
    /// Called in the gap, between reading the position and using it: until the race has shown, and
    /// once two threads have used this side, yields, then waits (yielding, at most 10 ms) for
    /// another thread of the same side to reach the gap while others are in progress. The caller is
    /// counted in progress by [`Gap::enter`].
    fn hold_open(&self) {
        // SeqCst throughout: bookkeeping of a deliberately broken queue, where the simplest
        // ordering keeps the argument about the mistake, not the counters.
        self.in_gap.fetch_add(1, SeqCst);
        if self.shown.load(SeqCst) || !self.shared.load(SeqCst) {
            return;
        }
        thread::yield_now();
        let deadline = Instant::now() + Duration::from_millis(10);
        while !self.shown.load(SeqCst)
            && self.in_gap.load(SeqCst) < 2
            && self.in_progress.load(SeqCst) > 1
            && Instant::now() < deadline
        {
            thread::yield_now();
        }
    }

    fn enter(&self) -> GapGuard<'_> {
        self.in_progress.fetch_add(1, SeqCst);
        let me = {
            let mut h = std::hash::DefaultHasher::new();
            thread::current().id().hash(&mut h);
            h.finish() | 1 // never 0, the "nobody yet" value
        };
        let before = self.last_thread.swap(me, SeqCst);
        if before != 0 && before != me {
            self.shared.store(true, SeqCst);
        }
        GapGuard { gap: self }
    }
}

/// Counts one operation in progress; leaving also leaves the gap.
struct GapGuard<'a> {
    gap: &'a Gap,
}

impl Drop for GapGuard<'_> {
    fn drop(&mut self) {
        self.gap.in_progress.fetch_sub(1, SeqCst);
        // Only called for operations that reached the gap (see the two racing paths).
        self.gap.in_gap.fetch_sub(1, SeqCst);
    }
}

impl<const BUG: u8, T> FlawedQueue<BUG, T> {
    fn ring(&self) -> MutexGuard<'_, Ring<T>> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn full(&self, ring: &Ring<T>) -> bool {
        let len = ring.tail - ring.head;
        if BUG == CAPACITY_EXCEEDED {
            len > self.capacity // BUG: `>` where `>=` belongs
        } else {
            len >= self.capacity
        }
    }
}

impl<T> Ring<T> {
    fn put(&mut self, pos: usize, value: T) {
        let n = self.slots.len();
        self.slots[pos % n] = Some(value);
    }

    fn take(&mut self, pos: usize) -> Option<T> {
        let n = self.slots.len();
        self.slots[pos % n].take()
    }
}

impl<const BUG: u8, T: Send> ConcurrentQueue<T> for FlawedQueue<BUG, T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        let mut ring = self.ring();
        if BUG == LOST_ON_CONCURRENT_PUSH {
            if self.full(&ring) {
                return Err(value);
            }
            let in_progress = self.pushing.enter();
            let pos = ring.tail;
            drop(ring); // BUG: the position is not claimed; another producer may read it too
            self.pushing.hold_open();
            let mut ring = self.ring();
            let n = ring.slots.len();
            if ring.slots[pos % n].is_some() {
                self.pushing.shown.store(true, SeqCst); // about to overwrite: the race has shown
            }
            ring.put(pos, value);
            ring.tail = pos + 1;
            drop(in_progress);
            return Ok(());
        }
        if BUG == TRY_PUSH_BLOCKS {
            while self.full(&ring) {
                ring = self.popped.wait(ring).unwrap_or_else(|p| p.into_inner()); // BUG: waits
            }
        }
        if self.full(&ring) {
            if BUG == FAILED_PUSH_CHANGES_QUEUE {
                // BUG: makes room by evicting the oldest, and hands back that one instead
                let head = ring.head;
                let oldest = ring.take(head).expect("head holds a value");
                ring.head += 1;
                let tail = ring.tail;
                ring.put(tail, value);
                ring.tail += 1;
                return Err(oldest);
            }
            return Err(value);
        }
        let tail = ring.tail;
        ring.put(tail, value);
        ring.tail += 1;
        Ok(())
    }

    fn try_pop(&self) -> Option<T> {
        let mut ring = self.ring();
        if ring.head == ring.tail {
            return None;
        }
        let value = if BUG == FIFO_VIOLATED {
            ring.tail -= 1; // BUG: the newest, not the oldest
            let tail = ring.tail;
            ring.take(tail)
        } else if BUG == SPURIOUS_EMPTY {
            let in_progress = self.popping.enter();
            let pos = ring.head;
            drop(ring); // BUG: the position is not claimed; another consumer may take it first
            self.popping.hold_open();
            ring = self.ring();
            let value = ring.take(pos);
            match value {
                Some(_) => ring.head = pos + 1,
                None => self.popping.shown.store(true, SeqCst), // the race has shown
            }
            drop(in_progress);
            value
        } else {
            let head = ring.head;
            ring.head += 1;
            ring.take(head)
        };
        drop(ring);
        self.popped.notify_all();
        value
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.capacity)
    }
}

impl<const BUG: u8, T> Drop for FlawedQueue<BUG, T> {
    fn drop(&mut self) {
        if BUG == VALUES_LEAK_ON_DROP {
            let ring = self.ring.get_mut().unwrap_or_else(|p| p.into_inner());
            for slot in ring.slots.drain(..) {
                std::mem::forget(slot); // BUG: the values inside are never dropped
            }
        }
    }
}

impl<const BUG: u8> QueueFlavor for Flawed<BUG> {
    const NAME: &'static str = NAMES[BUG as usize];
    type Queue<T: Send + 'static> = FlawedQueue<BUG, T>;

    fn with_capacity<T: Send + 'static>(cap: usize) -> FlawedQueue<BUG, T> {
        // One slot more than the capacity, so the off-by-one switch has its extra place.
        FlawedQueue {
            ring: Mutex::new(Ring {
                slots: (0..=cap).map(|_| None).collect(),
                head: 0,
                tail: 0,
            }),
            capacity: cap,
            popped: Condvar::new(),
            pushing: Gap::default(),
            popping: Gap::default(),
        }
    }
}
