//! The one workload the `wheel` section and the `timers/1M` bench share: insert `n` timers with
//! pseudo-random deadlines, cancel every other one, then expire the rest by advancing time in steps,
//! the way a timer driver would.

use harness::contracts::timer::{Tick, TimerQueue};

/// Deadlines are drawn from `1..=SPAN` ticks (about 17 minutes of 1 ms ticks).
pub const SPAN: Tick = 1 << 20;
/// How far time moves per `expire` call.
pub const STEP: Tick = 1024;

/// The deadlines of the workload: `n` values in `1..=SPAN` from a xorshift generator seeded by `seed`.
pub fn deadlines(n: usize, seed: u64) -> Vec<Tick> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % SPAN
        })
        .collect()
}

/// Run the workload on `q`: insert every deadline (id = its index), cancel the odd ids, expire up to
/// `SPAN`. Calls `fired` with every expired id, in order. Returns how many timers fired.
pub fn churn<Q: TimerQueue>(q: &mut Q, deadlines: &[Tick], mut fired: impl FnMut(u64)) -> usize {
    let handles: Vec<Q::Handle> = deadlines
        .iter()
        .enumerate()
        .map(|(id, &d)| q.insert(d, id as u64))
        .collect();
    for h in handles.iter().skip(1).step_by(2) {
        q.cancel(*h);
    }
    let mut out = Vec::with_capacity(256);
    let mut count = 0;
    let mut now = 0;
    while now < SPAN {
        now += STEP;
        out.clear();
        q.expire(now, &mut out);
        count += out.len();
        out.iter().for_each(|&id| fired(id));
    }
    count
}
