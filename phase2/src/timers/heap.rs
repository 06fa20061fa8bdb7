//! A binary-heap timer queue: the textbook design, and Go's (the runtime keeps each P's timers in
//! a 4-ary min-heap ordered by deadline). Rust's `BinaryHeap` is a max-heap, so entries are wrapped
//! in `Reverse`.
//!
//! Cancel is lazy: it marks the timer's slab entry dead and leaves the heap entry, which `expire`
//! skips when it surfaces (Go's runtime also marks a stopped timer deleted and cleans it out later). Insert and
//! expire are O(log n), cancel O(1).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use harness::contracts::timer::{Tick, TimerQueue};

/// A timer of the heap queue: its slab index and sequence number (stale handles are recognised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapHandle {
    index: u32,
    seq: u64,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Sequence number of the current occupant.
    seq: u64,
    id: u64,
    /// The occupant is pending (neither fired nor cancelled).
    live: bool,
}

/// The binary-heap timer queue. See the module docs.
#[derive(Debug, Default)]
pub struct HeapQueue {
    now: Tick,
    /// (deadline, sequence, slab index); a popped entry whose slab entry no longer holds that
    /// sequence number, or is not live, was cancelled.
    heap: BinaryHeap<Reverse<(Tick, u64, u32)>>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
    next_seq: u64,
}

impl HeapQueue {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty queue with room for `n` timers.
    pub fn with_capacity(n: usize) -> Self {
        HeapQueue {
            heap: BinaryHeap::with_capacity(n),
            slots: Vec::with_capacity(n),
            ..Self::default()
        }
    }
}

impl TimerQueue for HeapQueue {
    type Handle = HeapHandle;

    fn insert(&mut self, deadline: Tick, id: u64) -> HeapHandle {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = Slot {
            seq,
            id,
            live: true,
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((deadline, seq, index)));
        self.len += 1;
        HeapHandle { index, seq }
    }

    fn cancel(&mut self, handle: HeapHandle) -> bool {
        match self.slots.get_mut(handle.index as usize) {
            Some(s) if s.live && s.seq == handle.seq => {
                // The heap entry stays until it surfaces; the slab entry is reused only then, so a
                // newer occupant can never be confused with it (the sequence numbers differ anyway).
                s.live = false;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    fn expire(&mut self, now: Tick, out: &mut Vec<u64>) {
        self.now = self.now.max(now);
        while let Some(&Reverse((deadline, seq, index))) = self.heap.peek() {
            let slot = self.slots[index as usize];
            if slot.seq == seq && !slot.live {
                // Cancelled: drop the heap entry, free the slab entry.
                self.heap.pop();
                self.free.push(index);
                continue;
            }
            if deadline > self.now {
                break;
            }
            self.heap.pop();
            out.push(slot.id);
            self.slots[index as usize].live = false;
            self.free.push(index);
            self.len -= 1;
        }
    }

    fn now(&self) -> Tick {
        self.now
    }

    fn len(&self) -> usize {
        self.len
    }
}
