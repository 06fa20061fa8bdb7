//! A hierarchical timing wheel: 4 levels × 64 slots, cascading, plus an overflow list.
//!
//! Go keeps timers in a 4-ary heap per P (`runtime/time.go`): O(log n) insert and expire. tokio's
//! timer driver is a hierarchical wheel: O(1) insert and cancel, and expiry touches a timer at most
//! once per level. This is the wheel, from scratch.
//!
//! Level `L` slot `s` holds timers whose deadline agrees with the current time on every bit above
//! `6(L+1)` and whose 6-bit digit `L` is `s`. Level 0 thus covers the next 64 ticks one tick per
//! slot, level 1 the next 4096 ticks 64 per slot, and so on up to 2^24 ticks; beyond that, timers
//! wait in an overflow list. When time reaches a slot of level `L > 0` its timers *cascade*: each
//! is re-inserted relative to the new time and lands on a lower level. A bitmap per level says which
//! slots are occupied, so finding the next event is one `trailing_zeros` per level.
//!
//! Timers live in a slab (a `Vec` with a free list); each slot is an intrusive singly-linked list
//! threaded through the slab by index, pushed at the head, so an insert writes only its own entry and
//! the slot's head. Cancel is lazy and O(1): it marks the entry dead, and the entry is recycled when
//! its slot is next walked (cascade or expiry). The order inside a list does not matter: the timers
//! of one tick are sorted by insertion sequence before they are emitted. (A cancelled timer in the
//! overflow list is recycled only when the overflow is next re-filed: far-future cancels hold their
//! slab entry until then.)

use harness::contracts::timer::{Tick, TimerQueue};

const LEVELS: usize = 4;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Lists `0..LEVELS*SLOTS` are the wheel's slots; then the overflow list and the due list.
const OVERFLOW: usize = LEVELS * SLOTS;
/// Timers whose deadline is `<=` the current time, waiting for the next `expire`.
const DUE: usize = OVERFLOW + 1;
const LISTS: usize = DUE + 1;
/// "No entry" for the links.
const NIL: u32 = u32::MAX;

/// A timer of the wheel: where it sits in the slab and the sequence number it was given, so a stale
/// handle (the timer fired or was cancelled, its slab entry reused) is recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WheelHandle {
    index: u32,
    seq: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline: Tick,
    /// Insertion sequence number: orders equal deadlines and identifies the occupant.
    seq: u64,
    id: u64,
    /// Next entry of the same list, or `NIL`.
    next: u32,
    /// Pending: neither fired nor cancelled. A cancelled entry stays in its list, not live, until
    /// the list is walked; a free entry is never live.
    live: bool,
}

/// The hierarchical timing wheel. See the module docs.
#[derive(Debug)]
pub struct TimingWheel {
    /// Every tick `<= now` has been processed: no pending timer outside `DUE` has a deadline `<= now`.
    now: Tick,
    entries: Vec<Entry>,
    /// Free slab entries, reused last-in first-out (the most recently freed entry is warm in cache).
    free: Vec<u32>,
    /// Head index of each list, `NIL` when empty.
    heads: [u32; LISTS],
    /// Bit `s` of `occupied[L]` is set iff level `L` slot `s` is non-empty.
    occupied: [u64; LEVELS],
    len: usize,
    next_seq: u64,
    /// Scratch buffer for the timers of one tick, sorted by sequence number before they are emitted.
    batch: Vec<(Tick, u64, u32)>,
}

impl Default for TimingWheel {
    fn default() -> Self {
        Self::new()
    }
}

impl TimingWheel {
    /// An empty wheel at time 0.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel with room for `n` timers before the slab grows.
    pub fn with_capacity(n: usize) -> Self {
        TimingWheel {
            now: 0,
            entries: Vec::with_capacity(n),
            free: Vec::new(),
            heads: [NIL; LISTS],
            occupied: [0; LEVELS],
            len: 0,
            next_seq: 0,
            batch: Vec::new(),
        }
    }

    /// The list a deadline belongs to, relative to the current time.
    fn list_for(&self, deadline: Tick) -> usize {
        if deadline <= self.now {
            return DUE;
        }
        let differ = deadline ^ self.now;
        let level = ((63 - differ.leading_zeros()) / SLOT_BITS) as usize;
        if level >= LEVELS {
            return OVERFLOW;
        }
        let slot = (deadline >> (SLOT_BITS as usize * level)) as usize & (SLOTS - 1);
        level * SLOTS + slot
    }

    fn push(&mut self, index: u32) {
        let list = self.list_for(self.entries[index as usize].deadline);
        self.entries[index as usize].next = self.heads[list];
        self.heads[list] = index;
        if list < OVERFLOW {
            self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
        }
    }

    /// Detach a whole list; returns its head (the entries stay linked through `next`).
    fn take(&mut self, list: usize) -> u32 {
        let head = self.heads[list];
        self.heads[list] = NIL;
        if list < OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        head
    }

    /// Return a slab entry to the free list (it is not live any more).
    fn recycle(&mut self, index: u32) {
        self.entries[index as usize].live = false;
        self.free.push(index);
    }

    /// The next time something must happen: the start of the earliest occupied slot, or of the
    /// overflow's earliest 2^24-tick block. Lower levels are always earlier than higher ones (they
    /// lie inside the current slot of every higher level), so the first non-empty level decides.
    fn next_event(&self) -> Option<(Tick, usize)> {
        for level in 0..LEVELS {
            let shift = SLOT_BITS as usize * level;
            let current = (self.now >> shift) as usize & (SLOTS - 1);
            let ahead = self.occupied[level] & (!0u64 << current);
            if ahead != 0 {
                let slot = ahead.trailing_zeros() as usize;
                let span_bits = shift + SLOT_BITS as usize;
                let block = self.now & !((1u64 << span_bits) - 1);
                return Some((block | ((slot as u64) << shift), level * SLOTS + slot));
            }
        }
        let mut index = self.heads[OVERFLOW];
        let mut earliest = None::<Tick>;
        while index != NIL {
            let e = &self.entries[index as usize];
            if e.live {
                earliest = Some(earliest.map_or(e.deadline, |m| m.min(e.deadline)));
            }
            index = e.next;
        }
        let span_bits = SLOT_BITS as usize * LEVELS;
        earliest.map(|d| (d & !((1u64 << span_bits) - 1), OVERFLOW))
    }

    /// Emit the due list, ordered by (deadline, sequence).
    fn flush_due(&mut self, out: &mut Vec<u64>) {
        let mut index = self.take(DUE);
        if index == NIL {
            return;
        }
        self.batch.clear();
        while index != NIL {
            let e = self.entries[index as usize];
            if e.live {
                self.batch.push((e.deadline, e.seq, index));
            } else {
                self.recycle(index);
            }
            index = e.next;
        }
        self.batch.sort_unstable_by_key(|&(d, s, _)| (d, s));
        for k in 0..self.batch.len() {
            let (_, _, index) = self.batch[k];
            out.push(self.entries[index as usize].id);
            self.recycle(index);
        }
        self.len -= self.batch.len();
    }
}

impl TimerQueue for TimingWheel {
    type Handle = WheelHandle;

    fn insert(&mut self, deadline: Tick, id: u64) -> WheelHandle {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            deadline,
            seq,
            id,
            next: NIL,
            live: true,
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = entry;
                i
            }
            None => {
                assert!(
                    self.entries.len() < NIL as usize,
                    "timing wheel: too many timers"
                );
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.len += 1;
        self.push(index);
        WheelHandle { index, seq }
    }

    fn cancel(&mut self, handle: WheelHandle) -> bool {
        match self.entries.get(handle.index as usize) {
            Some(e) if e.live && e.seq == handle.seq => {
                // Lazy: the entry stays in its list, dead, until the list is walked.
                self.entries[handle.index as usize].live = false;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    fn expire(&mut self, now: Tick, out: &mut Vec<u64>) {
        self.flush_due(out);
        while let Some((at, list)) = self.next_event() {
            if at > now {
                break;
            }
            // Move time to the slot's start, then re-file its timers: on level 0 they are all due
            // (their deadline is `at`); on higher levels they cascade to lower ones or become due.
            self.now = self.now.max(at);
            let mut index = self.take(list);
            while index != NIL {
                let Entry { next, live, .. } = self.entries[index as usize];
                if live {
                    self.push(index);
                } else {
                    self.recycle(index);
                }
                index = next;
            }
            self.flush_due(out);
        }
        // No slot starts in (self.now, now]: every pending timer stays valid relative to `now`.
        self.now = self.now.max(now);
    }

    fn now(&self) -> Tick {
        self.now
    }

    fn len(&self) -> usize {
        self.len
    }
}
