//! The timer-queue conformance suite, written against [`TimerQueue`] and run against the timing
//! wheel and the binary-heap queue alike. It also carries [`Model`], an obviously-correct reference
//! (a sorted list) used by the property tests that compare implementations on random operations.

use crate::contracts::timer::{Tick, TimerQueue};

/// Every check of the suite, in order. Panics (with the check's name) on the first violation.
pub fn run_all<Q: TimerQueue>(make: impl Fn() -> Q) {
    same_expiries(make());
    equal_deadlines_in_insertion_order(make());
    cancel_works(make());
    far_future(make());
    exactly_at_the_deadline_tick(make());
    past_deadline_fires_next(make());
    time_never_goes_back(make());
    spread_over_levels(make());
}

fn expire<Q: TimerQueue>(q: &mut Q, now: Tick) -> Vec<u64> {
    let mut out = Vec::new();
    q.expire(now, &mut out);
    out
}

/// Timers fire exactly once, all of them, ordered by deadline.
pub fn same_expiries<Q: TimerQueue>(mut q: Q) {
    for (deadline, id) in [(30, 3), (10, 1), (20, 2), (5, 0), (1000, 4)] {
        q.insert(deadline, id);
    }
    assert_eq!(q.len(), 5, "same_expiries: len after inserts");
    assert_eq!(
        expire(&mut q, 4),
        Vec::<u64>::new(),
        "same_expiries: nothing before 5"
    );
    assert_eq!(expire(&mut q, 25), vec![0, 1, 2], "same_expiries: up to 25");
    assert_eq!(
        expire(&mut q, 25),
        Vec::<u64>::new(),
        "same_expiries: fires once"
    );
    assert_eq!(expire(&mut q, 2000), vec![3, 4], "same_expiries: the rest");
    assert!(q.is_empty(), "same_expiries: empty at the end");
}

/// Equal deadlines come out in insertion order, even when they were inserted at different times
/// (so at different distances from the deadline).
pub fn equal_deadlines_in_insertion_order<Q: TimerQueue>(mut q: Q) {
    q.insert(5000, 1);
    q.insert(5000, 2);
    expire(&mut q, 4000);
    q.insert(5000, 3);
    expire(&mut q, 4990);
    q.insert(5000, 4);
    q.insert(4999, 0);
    assert_eq!(
        expire(&mut q, 5000),
        vec![0, 1, 2, 3, 4],
        "equal deadlines: insertion order"
    );
}

/// Cancel removes a pending timer once; it is `false` twice, and after the timer fired.
pub fn cancel_works<Q: TimerQueue>(mut q: Q) {
    let a = q.insert(10, 1);
    let b = q.insert(10, 2);
    let c = q.insert(100_000, 3);
    assert!(q.cancel(a), "cancel: pending timer");
    assert!(!q.cancel(a), "cancel: second cancel is false");
    assert!(q.cancel(c), "cancel: far timer");
    assert_eq!(q.len(), 1, "cancel: len");
    assert_eq!(
        expire(&mut q, 10),
        vec![2],
        "cancel: cancelled timer never fires"
    );
    assert!(!q.cancel(b), "cancel: after firing is false");
    // A new timer may reuse the cancelled one's storage: the old handle must not reach it.
    q.insert(20, 4);
    assert!(
        !q.cancel(a),
        "cancel: stale handle does not cancel a newer timer"
    );
    assert_eq!(
        expire(&mut q, 200_000),
        vec![4],
        "cancel: newer timer fires"
    );
}

/// Deadlines far beyond any wheel's span (and `u64::MAX`) still fire, and only when due.
pub fn far_future<Q: TimerQueue>(mut q: Q) {
    let far = 1u64 << 40;
    q.insert(far, 1);
    q.insert(u64::MAX, 2);
    q.insert(far + 1, 3);
    q.insert(3, 0);
    assert_eq!(expire(&mut q, far - 1), vec![0], "far future: not before");
    assert_eq!(expire(&mut q, far), vec![1], "far future: at the tick");
    assert_eq!(expire(&mut q, u64::MAX - 1), vec![3], "far future: next");
    assert_eq!(expire(&mut q, u64::MAX), vec![2], "far future: u64::MAX");
}

/// A timer fires at its tick, not one before, whatever the step size.
pub fn exactly_at_the_deadline_tick<Q: TimerQueue>(mut q: Q) {
    for d in [1u64, 63, 64, 65, 4095, 4096, 4097, 262_144, 16_777_216] {
        q.insert(d, d);
    }
    let mut now = 0;
    for d in [1u64, 63, 64, 65, 4095, 4096, 4097, 262_144, 16_777_216] {
        // Step to one tick before by a large jump, then to the tick itself.
        assert_eq!(
            expire(&mut q, d - 1),
            Vec::<u64>::new(),
            "deadline tick: nothing at {}",
            d - 1
        );
        assert_eq!(expire(&mut q, d), vec![d], "deadline tick: fires at {d}");
        now = d;
    }
    assert_eq!(q.now(), now, "deadline tick: now");
}

/// A deadline already past fires on the next `expire`, ahead of later ones.
pub fn past_deadline_fires_next<Q: TimerQueue>(mut q: Q) {
    q.insert(200, 3);
    expire(&mut q, 100);
    q.insert(100, 0);
    q.insert(50, 1);
    q.insert(100, 2);
    assert_eq!(
        expire(&mut q, 100),
        vec![1, 0, 2],
        "past deadline: next expire, by deadline"
    );
    assert_eq!(expire(&mut q, 200), vec![3], "past deadline: the rest");
}

/// `expire` with an earlier `now` does not move time back.
pub fn time_never_goes_back<Q: TimerQueue>(mut q: Q) {
    expire(&mut q, 1000);
    q.insert(1001, 1);
    assert_eq!(expire(&mut q, 10), Vec::<u64>::new(), "time: earlier now");
    assert_eq!(q.now(), 1000, "time: unchanged");
    assert_eq!(expire(&mut q, 1001), vec![1], "time: fires");
}

/// Many timers spread over every level and the overflow, expired in uneven steps, match the model.
pub fn spread_over_levels<Q: TimerQueue>(mut q: Q) {
    let mut model = Model::default();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut handles = Vec::new();
    for id in 0..2000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let deadline = x % (1 << (6 + (id % 22)));
        handles.push((q.insert(deadline, id), model.insert(deadline, id)));
    }
    for (i, (h, m)) in handles.iter().enumerate() {
        if i % 3 == 0 {
            assert_eq!(q.cancel(*h), model.cancel(*m), "spread: cancel {i}");
        }
    }
    let mut now = 0u64;
    while !model.is_empty() {
        now = now.saturating_add(1 + now / 3);
        assert_eq!(
            expire(&mut q, now),
            expire(&mut model, now),
            "spread: expire({now})"
        );
    }
    assert!(q.is_empty(), "spread: empty");
}

/// The reference: a list kept sorted by (deadline, insertion sequence). O(n) per operation, and
/// plainly right.
#[derive(Debug, Default)]
pub struct Model {
    pending: Vec<(Tick, u64, u64)>,
    seq: u64,
    now: Tick,
}

impl TimerQueue for Model {
    type Handle = u64;

    fn insert(&mut self, deadline: Tick, id: u64) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        let at = self
            .pending
            .partition_point(|&(d, s, _)| (d, s) < (deadline, seq));
        self.pending.insert(at, (deadline, seq, id));
        seq
    }

    fn cancel(&mut self, handle: u64) -> bool {
        match self.pending.iter().position(|&(_, s, _)| s == handle) {
            Some(at) => {
                self.pending.remove(at);
                true
            }
            None => false,
        }
    }

    fn expire(&mut self, now: Tick, out: &mut Vec<u64>) {
        self.now = self.now.max(now);
        let due = self.pending.partition_point(|&(d, _, _)| d <= self.now);
        out.extend(self.pending.drain(..due).map(|(_, _, id)| id));
    }

    fn now(&self) -> Tick {
        self.now
    }

    fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_passes_its_own_suite() {
        run_all(Model::default);
    }
}
