//! `sliding-window`: log vs counter vs a fixed window on a trace aimed at the window boundary.

use std::sync::Arc;
use std::time::Duration;

use harness::Ctx;
use harness::clock::{Clock, VirtualClock};
use parking_lot::Mutex;

use super::accuracy::{self, FROZEN_HEADERS, HEADERS};
use crate::ratelimit::{Quota, RateLimiter, SlidingCounter, SlidingLog};

/// The naive fixed window, for contrast: at most `burst` per aligned window `[kW, (k+1)W)`.
struct FixedWindow<C> {
    /// (window index, admissions in it).
    state: Mutex<(u64, u64)>,
    quota: Quota,
    clock: C,
}

impl<C: Clock> RateLimiter for FixedWindow<C> {
    fn check(&self) -> bool {
        let mut s = self.state.lock();
        let index = crate::ratelimit::now_ns(&self.clock) / self.quota.window_ns();
        if index != s.0 {
            *s = (index, 0);
        }
        if s.1 < u64::from(self.quota.burst()) {
            s.1 += 1;
            true
        } else {
            false
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "fixed window"
    }
}

/// Admission instants (ns) of `limiter` on the boundary trace: 10 attempts at 900 ms, then one
/// every 10 ms from 1000 ms to 2990 ms.
fn replay(limiter: &dyn RateLimiter, clock: &VirtualClock) -> Vec<u64> {
    let mut attempts: Vec<u64> = vec![900; 10];
    attempts.extend((1_000..3_000).step_by(10));
    let mut admitted = Vec::new();
    for ms in attempts {
        let now = Duration::from_millis(ms);
        clock.advance(now - clock.now());
        if limiter.check() {
            admitted.push(ms * 1_000_000);
        }
    }
    admitted
}

/// Most admissions in any window `(t − W, t]`.
pub(crate) fn max_in_window(admitted: &[u64], window: u64) -> usize {
    (0..admitted.len())
        .map(|j| {
            let t = admitted[j];
            admitted[..=j].iter().filter(|&&s| s + window > t).count()
        })
        .max()
        .unwrap_or(0)
}

/// Largest excess over `floor(e / interval) + burst` of any closed interval between two admissions.
pub(crate) fn worst_excess(admitted: &[u64], quota: Quota) -> i64 {
    let mut worst = i64::MIN;
    for i in 0..admitted.len() {
        for j in i..admitted.len() {
            let count = (j - i + 1) as i64;
            let allowed = ((admitted[j] - admitted[i]) / quota.interval_ns()) as i64
                + i64::from(quota.burst());
            worst = worst.max(count - allowed);
        }
    }
    worst
}

pub(super) fn run(ctx: &mut Ctx) {
    let quota = Quota::new(Duration::from_millis(100), 10).expect("non-zero"); // 10 per 1 s window
    ctx.say(
        "Limit: 10 per 1 s window. Trace: 10 attempts at 900 ms (just before the 1 s boundary), then \
         one every 10 ms until 3 s, on a virtual clock.",
    );
    let (a, b, c) = (
        VirtualClock::new(),
        VirtualClock::new(),
        VirtualClock::new(),
    );
    let limiters: Vec<(Box<dyn RateLimiter>, Arc<VirtualClock>, &str)> = vec![
        (
            Box::new(SlidingLog::new(quota, a.clone())),
            a,
            "10 timestamps (80 B)",
        ),
        (
            Box::new(SlidingCounter::new(quota, b.clone())),
            b,
            "3 counters (24 B)",
        ),
        (
            Box::new(FixedWindow {
                state: Mutex::new((0, 0)),
                quota,
                clock: c.clone(),
            }),
            c,
            "2 counters (16 B)",
        ),
    ];
    let mut t = ctx.table(
        "boundary trace",
        &[
            "limiter",
            "admitted",
            "max in any 1 s window",
            "worst excess over rate × e + burst",
            "state",
        ],
    );
    let mut results = Vec::new();
    for (limiter, clock, memory) in &limiters {
        let admitted = replay(limiter.as_ref(), clock);
        let max = max_in_window(&admitted, quota.window_ns());
        let excess = worst_excess(&admitted, quota);
        t.row([
            limiter.name().to_string(),
            admitted.len().to_string(),
            max.to_string(),
            excess.max(0).to_string(),
            memory.to_string(),
        ]);
        results.push((max, excess));
    }
    ctx.show(t);
    let l = quota.burst() as usize;
    ctx.check_with(
        "sliding log: never more than 10 in any 1 s window (exact)",
        results[0].0 <= l,
        format!("max {}", results[0].0),
    );
    ctx.check_with(
        "sliding counter: within its documented bound, at most 2L − 1 = 19 in any 1 s window",
        results[1].0 < 2 * l,
        format!("max {}", results[1].0),
    );
    ctx.check(
        "log and counter: no interval exceeds rate × elapsed + burst",
        results[0].1 <= 0 && results[1].1 <= 0,
    );
    ctx.check_with(
        "fixed window: lets 2 × 10 through across the boundary (the flaw the sliding windows fix)",
        results[2].0 == 2 * l,
        format!("max {}", results[2].0),
    );

    let q = accuracy::quota();
    let mut t = ctx.table("accuracy and cost under threads", HEADERS);
    let log = accuracy::rows(ctx, &mut t, "sliding log", move |c| SlidingLog::new(q, c));
    let counter = accuracy::rows(ctx, &mut t, "sliding counter", move |c| {
        SlidingCounter::new(q, c)
    });
    ctx.show(t);
    let mut t = ctx.table("exact budget at one frozen instant", FROZEN_HEADERS);
    let log_exact = accuracy::frozen_rows(ctx, &mut t, "sliding log", SlidingLog::new);
    let counter_exact = accuracy::frozen_rows(ctx, &mut t, "sliding counter", SlidingCounter::new);
    ctx.show(t);
    accuracy::check_exact(ctx, "sliding log", &log_exact);
    accuracy::check_exact(ctx, "sliding counter", &counter_exact);
    accuracy::check_bound(ctx, "sliding log", &log);
    accuracy::check_bound(ctx, "sliding counter", &counter);
    ctx.takeaway(format!(
        "The log is exact (max {} per window) for one timestamp per permit; the counter keeps three \
         numbers and stays within its bound (max {} < 2L) but is stricter after a full window; the fixed \
         window lets {} through across one boundary.",
        results[0].0, results[1].0, results[2].0
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_section_passes_its_checks() {
        let mut ctx = harness::Ctx::for_test("sliding-window");
        super::run(&mut ctx);
        assert_eq!(ctx.failed(), 0, "{:?}", ctx.checks());
    }
}
