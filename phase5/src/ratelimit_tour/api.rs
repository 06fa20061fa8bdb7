//! `api`: the single-limiter API on a manual clock — checks, reservations (cancel and settle), waiting
//! under a timeout, quota changes at run time and the header snapshot — every number exact.
use std::sync::Arc;
use std::time::Duration;

use harness::Ctx;
use ratelimit::{Denied, Gcra, InsufficientCapacity, ManualClock, Quota, RateLimiter, Reserve};

const MS: Duration = Duration::from_millis(1);

/// `remaining` of the limiter's snapshot.
fn remaining<L: RateLimiter>(l: &L) -> u32 {
    l.snapshot().remaining
}

pub(crate) fn run(ctx: &mut Ctx) {
    // 10/s with a burst of 5: T = 100 ms, and the bucket refills from empty in 500 ms.
    let quota = match Quota::per_second(10).and_then(|q| q.with_burst(5)) {
        Ok(q) => q,
        Err(e) => {
            ctx.check_with("the quota 10/s burst 5 is valid", false, e.to_string());
            return;
        }
    };
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1)));
    let limiter = Gcra::with_clock(quota, clock.clone());
    ctx.say(format!(
        "Gcra at 10/s, burst 5 (T = {:?}) on a ratelimit::ManualClock: time moves only when the tour \
         moves it, so every admission, delay and refund below is exact.",
        quota.interval()
    ));

    // --- check / check_n -----------------------------------------------------------------------
    let burst: Vec<bool> = (0..6).map(|_| limiter.check().is_ok()).collect();
    let sixth = limiter.check();
    ctx.check_with(
        "a full bucket admits the burst (5) at one instant, then denies with retry-after = T",
        burst[..5].iter().all(|&ok| ok)
            && !burst[5]
            && matches!(sixth, Err(Denied::NotUntil(n)) if n.retry_after() == 100 * MS),
        format!("admitted {:?}; next: {sixth:?}", burst),
    );
    let too_big = limiter.check_n(6);
    ctx.check_with(
        "check_n(6) above the burst is InsufficientCapacity (never admissible, no retry-after)",
        too_big
            == Err(Denied::InsufficientCapacity(InsufficientCapacity {
                requested: 6,
                burst: 5,
            }))
            && too_big.is_err_and(|d| d.retry_after().is_none()),
        format!("{too_big:?}"),
    );
    clock.advance(250 * MS);
    let after = (limiter.check_n(2), limiter.check());
    ctx.check_with(
        "250 ms later two permits have accrued (check_n(2) passes) and a third does not, for 50 ms",
        after.0.is_ok()
            && matches!(after.1, Err(Denied::NotUntil(n)) if n.retry_after() == 50 * MS),
        format!("{after:?}"),
    );

    // --- snapshot: what the RateLimit-* headers carry ---------------------------------------------
    let s = limiter.snapshot();
    ctx.check_with(
        "the empty bucket's snapshot: limit 5, remaining 0, retry-after 50 ms, reset after 450 ms",
        s.limit == 5 && s.remaining == 0 && s.retry_after == 50 * MS && s.reset_after == 450 * MS,
        format!("{s:?}"),
    );
    clock.advance(Duration::from_secs(1));
    let s = limiter.snapshot();
    ctx.check_with(
        "a second later the bucket is full again: remaining 5, nothing to wait for",
        s.remaining == 5 && s.retry_after.is_zero() && s.reset_after.is_zero(),
        format!("{s:?}"),
    );

    // --- reservations ------------------------------------------------------------------------------
    let mut table = ctx.table(
        "reservations (10/s, burst 5, starting full)",
        &["step", "ready_at - now", "remaining after"],
    );
    let t0 = clock.now_reading();
    let r1 = limiter.reserve_n(3);
    let r2 = limiter.reserve_n(5);
    match (r1, r2) {
        (Ok(r1), Ok(r2)) => {
            let (d1, d2) = (r1.delay(), r2.delay());
            table.row(["reserve_n(3)".into(), format!("{d1:?}"), "2".to_string()]);
            table.row([
                "reserve_n(5)".into(),
                format!("{d2:?}"),
                remaining(&limiter).to_string(),
            ]);
            ctx.check_with(
                "reserve_n(3) on a full bucket is ready now; reserve_n(5) behind it waits 3 × T = 300 ms",
                d1.is_zero() && d2 == 300 * MS && r2.ready_at() == t0 + 300 * MS,
                format!("delays {d1:?}, {d2:?}"),
            );
            // Cancelling the first (not the top) gives back nothing: r2 was placed behind it.
            r1.cancel();
            let after_r1 = limiter.snapshot();
            table.row([
                "cancel the first (not the top)".into(),
                "-".into(),
                after_r1.remaining.to_string(),
            ]);
            // Cancelling the top gives back all of it.
            r2.cancel();
            let after_r2 = limiter.snapshot();
            table.row([
                "cancel the second (the top)".into(),
                "-".into(),
                after_r2.remaining.to_string(),
            ]);
            ctx.check_with(
                "cancel refunds only from the top: the first reservation (another behind it) gets \
                 nothing back, the last one everything it still held",
                after_r1.remaining == 0
                    && after_r1.reset_after == 800 * MS
                    && after_r2.remaining == 2
                    && after_r2.reset_after == 300 * MS,
                format!(
                    "after cancelling the first: {} remaining, reset after {:?}; after the second: \
                     {} remaining, reset after {:?}",
                    after_r1.remaining,
                    after_r1.reset_after,
                    after_r2.remaining,
                    after_r2.reset_after
                ),
            );
        }
        (r1, r2) => {
            ctx.check_with(
                "reserve_n(3) and reserve_n(5) succeed",
                false,
                format!("{r1:?}, {r2:?}"),
            );
            return;
        }
    }
    // Settle: estimate 2, real cost 1 → one comes back; estimate 1, real cost 3 → two more taken as debt.
    let before = remaining(&limiter);
    let settled_down = limiter
        .reserve_n(2)
        .map(|r| r.settle(1))
        .map(|()| remaining(&limiter));
    let settled_up = limiter
        .reserve_n(1)
        .map(|r| r.settle(3))
        .map(|()| limiter.snapshot());
    table.row([
        "reserve_n(2), settle(1)".into(),
        "0ns".into(),
        format!("{settled_down:?}"),
    ]);
    table.row([
        "reserve_n(1), settle(3)".into(),
        "0ns".into(),
        format!("{:?}", settled_up.map(|s| s.remaining)),
    ]);
    ctx.show(table);
    ctx.check_with(
        "settle(actual) corrects the estimate: 2 reserved, 1 used → 1 back; 1 reserved, 3 used → the \
         2 extra are debt (the next permit waits 3 × T: two owed, one to accrue)",
        before == 2
            && settled_down == Ok(1)
            && settled_up.is_ok_and(|s| s.remaining == 0 && s.retry_after == 300 * MS),
        format!("remaining {before} → {settled_down:?} → {settled_up:?}"),
    );

    // --- wait_n under a timeout ---------------------------------------------------------------------
    let start = clock.now_reading();
    let short = limiter.wait_n(1, 250 * MS);
    let untouched = clock.now_reading() == start && limiter.snapshot().retry_after == 300 * MS;
    let long = limiter.wait_n(1, 400 * MS);
    let waited = clock.now_reading() - start;
    ctx.check_with(
        "wait_n(1) with a 250 ms timeout returns at once, denied (the permit is 300 ms away) and \
         taking nothing; with 400 ms it sleeps exactly 300 ms on the limiter's clock and passes",
        matches!(short, Err(Denied::NotUntil(n)) if n.retry_after() == 300 * MS)
            && untouched
            && long.is_ok()
            && waited == 300 * MS,
        format!("{short:?} (state untouched: {untouched}); then {long:?} after {waited:?}"),
    );

    // --- quota changes at run time -------------------------------------------------------------------
    clock.advance(Duration::from_secs(1)); // full: 5 of 5
    let _ = limiter.check_n(2); // 3 held
    let held = remaining(&limiter);
    let burst_up = limiter.set_burst(10).map(|()| limiter.snapshot());
    let burst_down = limiter.set_burst(2).map(|()| limiter.snapshot());
    // A moment later (a change at the very instant of the previous one loses a nanosecond, and with
    // it a permit: see the report on Gcra::set_quota's "never the frozen value" step).
    clock.advance(MS);
    let rate = limiter.set_rate(20, Duration::from_secs(1)).map(|()| {
        let kept = remaining(&limiter);
        let _ = limiter.check_n(2);
        (kept, limiter.snapshot())
    });
    let mut table = ctx.table(
        "quota changes (3 permits available before)",
        &["change", "limit", "remaining", "retry after empty"],
    );
    for (what, s) in [
        ("set_burst(10)", burst_up.ok()),
        ("set_burst(2)", burst_down.ok()),
    ] {
        table.row(match s {
            Some(s) => [
                what.to_string(),
                s.limit.to_string(),
                s.remaining.to_string(),
                "-".into(),
            ],
            None => [what.to_string(), "error".into(), "-".into(), "-".into()],
        });
    }
    if let Ok((kept, s)) = rate {
        table.row([
            "set_rate(20/s), then check_n(2)".to_string(),
            s.limit.to_string(),
            format!("{kept} → {}", s.remaining),
            format!("{:?}", s.retry_after),
        ]);
    }
    ctx.show(table);
    ctx.check_with(
        "set_burst(10) keeps the 3 permits held (no free refill); set_burst(2) caps them at 2",
        held == 3
            && burst_up.is_ok_and(|s| s.limit == 10 && s.remaining == 3)
            && burst_down.is_ok_and(|s| s.limit == 2 && s.remaining == 2),
        format!("{held} → {burst_up:?} → {burst_down:?}"),
    );
    ctx.check_with(
        "set_rate(20/s) keeps the burst and the permits held, and the next one accrues at the new T = 50 ms",
        rate.is_ok_and(|(kept, s)| {
            kept == 2 && s.limit == 2 && s.remaining == 0 && s.retry_after == 50 * MS
        }),
        format!("{rate:?}"),
    );
    let bad = limiter.set_burst(0);
    ctx.check_with(
        "a bad quota (burst 0) is an error and changes nothing",
        bad.is_err() && limiter.quota().burst() == 2,
        format!("{bad:?}"),
    );
    ctx.record("reserve_behind_delay_ms", 300);
    ctx.takeaway(
        "A check answers now-or-not, a reservation answers when; a refund only ever comes off the top, \
         because permits scheduled behind a reservation were placed on the promise that it was taken.",
    );
}

/// The manual clock's reading (the trait method, named so the tour reads as prose).
trait Reading {
    fn now_reading(&self) -> Duration;
}

impl Reading for ManualClock {
    fn now_reading(&self) -> Duration {
        ratelimit::Clock::now(self)
    }
}
