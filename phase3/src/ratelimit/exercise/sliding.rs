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

/// Every attempt of the boundary trace, in order, as (instant in ns, admitted): 10 attempts at
/// 900 ms, then one every 10 ms from 1000 ms to 2990 ms.
fn replay(limiter: &dyn RateLimiter, clock: &VirtualClock) -> Vec<(u64, bool)> {
    let mut attempts: Vec<u64> = vec![900; 10];
    attempts.extend((1_000..3_000).step_by(10));
    let mut events = Vec::new();
    for ms in attempts {
        let now = Duration::from_millis(ms);
        clock.advance(now - clock.now());
        events.push((ms * 1_000_000, limiter.check()));
    }
    events
}

/// The admission instants of a replay.
fn admitted(events: &[(u64, bool)]) -> Vec<u64> {
    events.iter().filter(|e| e.1).map(|e| e.0).collect()
}

/// Refusals the log's rule does not justify: a refusal at `t` needs `burst` admissions in
/// `(t − W, t]` before it. A log that forgets too late (or never) refuses with room in the window.
pub(crate) fn unjustified_log_refusals(events: &[(u64, bool)], quota: Quota) -> usize {
    let w = quota.window_ns();
    (0..events.len())
        .filter(|&j| !events[j].1)
        .filter(|&j| {
            let t = events[j].0;
            let in_window = events[..j]
                .iter()
                .filter(|&&(s, ok)| ok && s + w > t)
                .count();
            in_window < quota.burst() as usize
        })
        .count()
}

/// Refusals the counter's rule does not justify, computed from the admissions seen (not from the
/// counter's state): at `t = kW + x` it refuses only when `prev·(W − x) + (cur + 1)·W > L·W`, with
/// `prev` the admissions in `[(k−1)W, kW)` and `cur` those in `[kW, t]` before this attempt.
pub(crate) fn unjustified_counter_refusals(events: &[(u64, bool)], quota: Quota) -> usize {
    let w = quota.window_ns();
    (0..events.len())
        .filter(|&j| !events[j].1)
        .filter(|&j| {
            let t = events[j].0;
            let start = t / w * w;
            let count = |from: u64, to: u64| {
                events[..j]
                    .iter()
                    .filter(|&&(s, ok)| ok && from <= s && s < to)
                    .count() as u128
            };
            let prev = count(start.saturating_sub(w), start);
            let cur = count(start, t + 1);
            let (w, x) = (u128::from(w), u128::from(t - start));
            prev * (w - x) + (cur + 1) * w <= u128::from(quota.burst()) * w
        })
        .count()
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
    let quota = Quota::with_interval(Duration::from_millis(100))
        .and_then(|q| q.with_burst(10))
        .expect("a valid quota"); // 10 per 1 s window
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
    let mut traces = Vec::new();
    for (limiter, clock, memory) in &limiters {
        let events = replay(limiter.as_ref(), clock);
        let admitted = admitted(&events);
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
        traces.push(events);
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
    // The upper bounds above pass for a limiter that refuses too much (one that never forgets an
    // admission refuses everything after the first 10); these check each refusal against the rule.
    let refusals = |k: usize| traces[k].iter().filter(|e| !e.1).count();
    let (log_bad, counter_bad) = (
        unjustified_log_refusals(&traces[0], quota),
        unjustified_counter_refusals(&traces[1], quota),
    );
    ctx.check_with(
        "sliding log: forgets on time (every refusal had 10 admissions in the window before it)",
        log_bad == 0,
        format!(
            "{log_bad} of {} refusals without a full window",
            refusals(0)
        ),
    );
    ctx.check_with(
        "sliding counter: every refusal is one its estimate prev·(W − x)/W + cur + 1 > L requires, \
         counting the admissions it made",
        counter_bad == 0,
        format!("{counter_bad} of {} refusals unjustified", refusals(1)),
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
    use super::*;

    #[test]
    fn the_section_passes_its_checks() {
        let mut ctx = harness::Ctx::for_test("sliding-window");
        super::run(&mut ctx);
        assert_eq!(ctx.failed(), 0, "{:?}", ctx.checks());
    }

    /// The refusal checks fail for a limiter that never forgets: 10 admitted at 900 ms, then every
    /// attempt refused, though the window has emptied by 1900 ms.
    #[test]
    fn a_limiter_that_never_forgets_fails_the_refusal_checks() {
        let quota = Quota::with_interval(Duration::from_millis(100))
            .and_then(|q| q.with_burst(10))
            .expect("a valid quota");
        let ms = 1_000_000;
        let mut events: Vec<(u64, bool)> = vec![(900 * ms, true); 10];
        events.extend((1_000..3_000).step_by(10).map(|t| (t * ms, false)));
        assert_eq!(max_in_window(&admitted(&events), quota.window_ns()), 10);
        // (t − 1 s, t] no longer holds the 900 ms admissions from t = 1900 ms on: 110 attempts.
        assert_eq!(unjustified_log_refusals(&events, quota), 110);
        assert!(unjustified_counter_refusals(&events, quota) > 0);
        // The real limiters' traces pass.
        let clock = VirtualClock::new();
        let log = replay(&SlidingLog::new(quota, clock.clone()), &clock);
        assert_eq!(unjustified_log_refusals(&log, quota), 0);
        let clock = VirtualClock::new();
        let counter = replay(&SlidingCounter::new(quota, clock.clone()), &clock);
        assert_eq!(unjustified_counter_refusals(&counter, quota), 0);
    }
}
