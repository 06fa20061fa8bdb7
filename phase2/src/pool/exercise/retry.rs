//! `retry`: an operation that fails with retryable errors, retried with exponential backoff
//! (capped, seeded jitter) on the virtual clock. The driver advances the clock to 1 ns before each
//! scheduled wake-up (the retrier must still be asleep), then by 1 ns (it must wake): so the delays
//! read back from the virtual clock equal the computed schedule to the nanosecond.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::clock::VirtualClock;
use harness::stats::fmt_duration;

use crate::pool::{Attempt, RetryPolicy, RetryReport};

const NS: Duration = Duration::from_nanos(1);
const LIMIT: Duration = Duration::from_secs(5);

/// Waits (real time) up to `limit` for `attempts` to exceed `seen`.
fn wait_past(attempts: &AtomicU32, seen: u32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    // Acquire: pairs with the retrier's Release increment, so its attempt time is recorded.
    while attempts.load(Ordering::Acquire) <= seen {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// What driving one run on the virtual clock found.
pub(crate) struct Driven {
    pub report: RetryReport<u32, String>,
    /// No wake-up happened 1 ns early.
    pub never_early: bool,
    /// Every wake-up happened exactly at its deadline.
    pub on_time: bool,
}

/// Runs `policy` on a virtual clock against an operation failing (retryably) `failures` times,
/// advancing the clock to each scheduled wake-up as described in the module docs.
pub(crate) fn drive(policy: &RetryPolicy, failures: u32) -> Driven {
    let clock = VirtualClock::new();
    let attempts = Arc::new(AtomicU32::new(0));
    let retrier = {
        let (clock, attempts, policy) = (clock.clone(), attempts.clone(), policy.clone());
        std::thread::Builder::new()
            .name("p2retry".into())
            .spawn(move || {
                policy.run(&*clock, |k| {
                    // Release: publishes this attempt to the driver's Acquire load in `wait_past`.
                    attempts.fetch_add(1, Ordering::Release);
                    if k < failures {
                        Err(Attempt::Retryable(format!("busy #{k}")))
                    } else {
                        Ok(k)
                    }
                })
            })
            .expect("spawn")
    };
    let (mut never_early, mut on_time) = (true, true);
    on_time &= wait_past(&attempts, 0, LIMIT);
    for (seen, d) in (1..).zip(policy.schedule().into_iter().take(failures as usize)) {
        on_time &= clock.wait_for_sleepers(1, LIMIT);
        clock.advance(d - NS);
        // Give an early wake-up the time to show itself (never a false failure: a correct retrier
        // cannot wake before its deadline).
        never_early &= !wait_past(&attempts, seen, Duration::from_millis(5));
        clock.advance(NS);
        on_time &= wait_past(&attempts, seen, LIMIT);
    }
    // Whatever happened, release the retrier so it can be joined.
    while !retrier.is_finished() {
        clock.advance(Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = retrier.join().expect("the retrier does not panic");
    Driven {
        report,
        never_early,
        on_time,
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let policy = RetryPolicy::exponential(Duration::from_millis(100), 2.0, Duration::from_secs(1))
        .with_jitter(0.5, 42)
        .with_max_attempts(8);
    let failures = 6;
    ctx.say(format!(
        "policy: base 100 ms, ×2, cap 1 s, jitter up to 50% (seed 42), 8 attempts; the operation fails \
         {failures} times (retryable), then succeeds."
    ));
    let real = Instant::now();
    let driven = drive(&policy, failures);
    let real = real.elapsed();
    let schedule = policy.schedule();
    let r = &driven.report;
    let measured: Vec<Duration> = r.attempt_times.windows(2).map(|w| w[1] - w[0]).collect();
    let mut t = ctx.table(
        "retry delays (virtual clock)",
        &[
            "retry",
            "ceiling min(cap, base·2^k)",
            "scheduled (jittered)",
            "measured on the clock",
            "equal",
        ],
    );
    let mut exact = measured.len() == failures as usize;
    let mut capped = true;
    for (k, m) in measured.iter().enumerate() {
        let eq = *m == schedule[k] && r.delays[k] == schedule[k];
        exact &= eq;
        capped &= schedule[k] <= policy.ceiling(k as u32) && schedule[k] <= policy.cap;
        t.row([
            k.to_string(),
            fmt_duration(policy.ceiling(k as u32)),
            format!("{:?}", schedule[k]),
            format!("{m:?}"),
            eq.to_string(),
        ]);
    }
    ctx.show(t);
    ctx.record(
        "delays_ns",
        measured
            .iter()
            .map(|d| d.as_nanos() as u64)
            .collect::<Vec<_>>(),
    );

    let same = policy.schedule() == policy.clone().with_jitter(0.5, 42).schedule();
    let other = policy.clone().with_jitter(0.5, 43).schedule();
    let mut t = ctx.table("seeds", &["seed", "first three delays"]);
    for (seed, s) in [(42, &schedule), (43, &other)] {
        t.row([seed.to_string(), format!("{:?}", &s[..3])]);
    }
    ctx.show(t);

    let clock = VirtualClock::new();
    let permanent: RetryReport<(), &str> =
        policy.run(&*clock, |_| Err(Attempt::Permanent("not found")));
    let give_up = drive(&policy.clone().with_max_attempts(3), u32::MAX);
    let mut t = ctx.table("errors", &["case", "attempts", "slept", "result"]);
    t.row([
        "permanent error".to_string(),
        permanent.attempt_times.len().to_string(),
        fmt_duration(permanent.delays.iter().sum()),
        format!("{:?}", permanent.result),
    ]);
    t.row([
        "always retryable, 3 attempts".to_string(),
        give_up.report.attempt_times.len().to_string(),
        fmt_duration(give_up.report.delays.iter().sum()),
        format!("{:?}", give_up.report.result),
    ]);
    ctx.show(t);

    let total: Duration = measured.iter().sum();
    ctx.takeaway(format!(
        "{failures} retries waited {} of virtual time in {} of real time; the delays grow ×2 until the 1 s \
         cap and jitter only ever shortens them, so a crowd of clients retrying together spreads out.",
        fmt_duration(total),
        fmt_duration(real)
    ));
    ctx.check(
        "delays measured on the virtual clock = computed schedule, to the nanosecond",
        exact && driven.never_early && driven.on_time,
    );
    ctx.check(
        "the run succeeded on the attempt after the last failure",
        r.result == Ok(failures),
    );
    ctx.check("every delay ≤ its ceiling ≤ the cap", capped);
    ctx.check(
        "same seed → same delays; another seed → different delays",
        same && other != schedule,
    );
    ctx.check(
        "a permanent error stops at once; retryable errors stop at max attempts",
        permanent.attempt_times.len() == 1
            && permanent.delays.is_empty()
            && give_up.report.attempt_times.len() == 3
            && give_up.report.result.is_err(),
    );
}
