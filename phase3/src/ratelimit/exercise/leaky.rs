//! `leaky-bucket`: the meter makes the token bucket's decisions; the queue shapes a burst.

use std::time::Duration;

use harness::Ctx;
use harness::clock::{Clock, VirtualClock};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::accuracy::{self, FROZEN_HEADERS, HEADERS};
use crate::ratelimit::{LeakyBucket, Quota, RateLimiter, ShapingQueue, TokenBucket};

/// Bursty arrivals (ms): 10 at once, a pause, 3 close together, one straggler.
const ARRIVALS_MS: &[u64] = &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1_500, 1_510, 1_520, 3_000];

pub(super) fn run(ctx: &mut Ctx) {
    let quota = Quota::with_interval(Duration::from_millis(100))
        .and_then(|q| q.with_burst(4))
        .expect("a valid quota");

    // 1. The meter is the token bucket upside down: same decisions on the same arrivals.
    let n = ctx.pick(20_000, 2_000);
    let clock = VirtualClock::new();
    let meter = LeakyBucket::new(quota, clock.clone());
    let bucket = TokenBucket::new(quota, clock.clone());
    let mut rng = SmallRng::seed_from_u64(11);
    let (mut same, mut passed) = (0usize, 0usize);
    for _ in 0..n {
        clock.advance(Duration::from_micros(rng.random_range(0..200_000)));
        let (m, b) = (meter.check(), bucket.check());
        same += usize::from(m == b);
        passed += usize::from(m);
    }
    ctx.say(format!(
        "{n} random arrivals (gaps uniform in 0..200 ms) offered to a leaky-bucket meter and to a \
         token bucket (10/s, size 4) on one virtual clock: {passed} passed the meter."
    ));
    ctx.check_with(
        "meter: the same decision as the token bucket on every arrival",
        same == n,
        format!("{same}/{n} equal"),
    );

    // 2. Meter vs queue on a burst.
    let clock = VirtualClock::new();
    let meter = LeakyBucket::new(quota, clock.clone());
    let mut queue = ShapingQueue::new(quota);
    let mut meter_out = Vec::new(); // (arrival index, output time ms)
    let mut queue_out = Vec::new();
    let mut queue_dropped = 0;
    let mut max_waiting = 0;
    for (i, &at) in ARRIVALS_MS.iter().enumerate() {
        let now = Duration::from_millis(at);
        clock.advance(now - clock.now());
        while let Some((item, left)) = queue.pop_due(now) {
            queue_out.push((item, left.as_millis() as u64));
        }
        if meter.check() {
            meter_out.push((i, at));
        }
        if queue.offer(i, now).is_err() {
            queue_dropped += 1;
        }
        max_waiting = max_waiting.max(queue.waiting(now));
    }
    while let Some(at) = queue.next_departure() {
        let (item, left) = queue.pop_due(at).expect("due at its departure");
        queue_out.push((item, left.as_millis() as u64));
    }
    let delays: Vec<u64> = queue_out
        .iter()
        .map(|&(i, left)| left - ARRIVALS_MS[i])
        .collect();
    let mut t = ctx.table(
        "14 arrivals: 10 at 0 ms, 3 at 1500-1520 ms, 1 at 3000 ms (10/s, bucket of 4)",
        &[
            "leaky bucket as",
            "passed",
            "dropped",
            "output times (ms)",
            "max delay",
        ],
    );
    let times = |v: &[(usize, u64)]| {
        v.iter()
            .map(|(_, t)| t.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    t.row([
        "meter (drop)".to_string(),
        meter_out.len().to_string(),
        (ARRIVALS_MS.len() - meter_out.len()).to_string(),
        times(&meter_out),
        "0 ms".to_string(),
    ]);
    t.row([
        "queue (delay)".to_string(),
        queue_out.len().to_string(),
        queue_dropped.to_string(),
        times(&queue_out),
        format!("{} ms", delays.iter().max().copied().unwrap_or(0)),
    ]);
    ctx.show(t);
    let spaced = queue_out.windows(2).all(|w| w[1].1 >= w[0].1 + 100);
    let in_order = queue_out.windows(2).all(|w| w[0].0 < w[1].0);
    ctx.check(
        "queue: departures in arrival order, at least one interval (100 ms) apart",
        spaced && in_order,
    );
    ctx.check_with(
        "queue: every arrival either departed or was dropped; never more than 4 waiting",
        queue_out.len() + queue_dropped == ARRIVALS_MS.len() && max_waiting <= 4,
        format!(
            "{} departed + {queue_dropped} dropped; at most {max_waiting} waiting",
            queue_out.len()
        ),
    );
    // The meter passes bursts of up to 4 at one instant; the queue never two within an interval.
    let meter_burst = meter_out.iter().filter(|(_, t)| *t == 0).count();
    ctx.check_with(
        "meter passes the burst at once (4 at 0 ms), the queue spreads it (1 at 0 ms)",
        meter_burst == 4 && queue_out.iter().filter(|(_, t)| *t == 0).count() == 1,
        format!("meter {meter_burst} at 0 ms"),
    );

    // 3. The meter under threads.
    let q = accuracy::quota();
    let mut t = ctx.table("accuracy and cost under threads", HEADERS);
    let runs = accuracy::rows(ctx, &mut t, "leaky meter (mutex)", move |c| {
        LeakyBucket::new(q, c)
    });
    ctx.show(t);
    let mut t = ctx.table("exact budget at one frozen instant", FROZEN_HEADERS);
    let exact = accuracy::frozen_rows(ctx, &mut t, "leaky meter (mutex)", LeakyBucket::new);
    ctx.show(t);
    accuracy::check_exact(ctx, "leaky meter", &exact);
    accuracy::check_bound(ctx, "leaky meter", &runs);
    ctx.takeaway(format!(
        "As a meter the leaky bucket is the token bucket mirrored (identical decisions); as a queue it \
         trades drops for delay: it passed {} of 14 arrivals against the meter's {}, evenly spaced, \
         each up to {} ms late.",
        queue_out.len(),
        meter_out.len(),
        delays.iter().max().copied().unwrap_or(0)
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_section_passes_its_checks() {
        let mut ctx = harness::Ctx::for_test("leaky-bucket");
        super::run(&mut ctx);
        assert_eq!(ctx.failed(), 0, "{:?}", ctx.checks());
    }
}
