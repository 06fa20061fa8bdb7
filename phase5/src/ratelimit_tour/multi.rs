//! `multi-quota`: one request charged to several quotas at once (per user ∧ per org ∧ global), all or
//! nothing — single-threaded on a manual clock, then under threads hammering overlapping combinations.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use harness::Ctx;
use ratelimit::{ManualClock, MultiLimiter, Quota, QuotaCell, Snapshot};

const MS: Duration = Duration::from_millis(1);

fn quota(per_second: u32, burst: u32) -> Quota {
    Quota::per_second(per_second)
        .and_then(|q| q.with_burst(burst))
        .expect("the tour's quotas are valid")
}

pub(crate) fn run(ctx: &mut Ctx) {
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1)));
    let limiter = MultiLimiter::with_clock(clock.clone());
    let (user, org, global) = (
        QuotaCell::new(quota(2, 2)),
        QuotaCell::new(quota(3, 3)),
        QuotaCell::new(quota(1000, 1000)),
    );
    let other_user = QuotaCell::new(quota(2, 2));
    ctx.say(
        "MultiLimiter::check_all over three QuotaCells — user 2/s (burst 2), org 3/s (burst 3), \
         global 1000/s — on a ManualClock: a request passes only if every quota has room, and then \
         takes from all of them.",
    );
    let snaps = |cells: &[&QuotaCell]| -> Vec<Snapshot> {
        cells.iter().map(|c| limiter.snapshot(c)).collect()
    };
    let a = limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]);
    let b = limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]);
    let before = snaps(&[&org, &global]);
    let c = limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]);
    let after = snaps(&[&org, &global]);
    ctx.check_with(
        "the user's third request is denied by the user quota (part 0), and the org and global \
         quotas keep every permit they had",
        a.is_ok()
            && b.is_ok()
            && c.is_err_and(|d| d.part == 0 && d.denied.retry_after() == Some(500 * MS))
            && before == after
            && after[0].remaining == 1
            && after[1].remaining == 998,
        format!(
            "{a:?}, {b:?}, {c:?}; org remaining {} → {}, global {} → {}",
            before[0].remaining, after[0].remaining, before[1].remaining, after[1].remaining
        ),
    );
    // Another user of the same org: the org's last permit goes, then the org denies.
    let d = limiter.check_all(&[(&other_user, 1), (&org, 1), (&global, 1)]);
    let before = snaps(&[&other_user, &global]);
    let e = limiter.check_all(&[(&other_user, 1), (&org, 1), (&global, 1)]);
    let after = snaps(&[&other_user, &global]);
    ctx.check_with(
        "a second user of the same org takes the org's last permit; its next request is denied by \
         the org (part 1) and its own quota and the global one are untouched",
        d.is_ok() && e.is_err_and(|d| d.part == 1) && before == after && after[0].remaining == 1,
        format!(
            "{d:?}, {e:?}; user remaining {} → {}, global {} → {}",
            before[0].remaining, after[0].remaining, before[1].remaining, after[1].remaining
        ),
    );

    // Threads: 3 users, 2 orgs, 1 global; each thread cycles through overlapping combinations while
    // the main thread moves the shared manual clock on. Every quota's admissions are counted from the
    // admitted requests, and must stay within floor(elapsed / T) + burst.
    let threads = ctx.pick(4, 2);
    let steps: u64 = ctx.pick(200, 60);
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1)));
    let limiter = Arc::new(MultiLimiter::with_clock(clock.clone()));
    let cells: Arc<Vec<QuotaCell>> = Arc::new(vec![
        QuotaCell::new(quota(100, 5)),  // user 0
        QuotaCell::new(quota(100, 5)),  // user 1
        QuotaCell::new(quota(100, 5)),  // user 2
        QuotaCell::new(quota(150, 8)),  // org 0
        QuotaCell::new(quota(150, 8)),  // org 1
        QuotaCell::new(quota(200, 10)), // global
    ]);
    let names = ["user 0", "user 1", "user 2", "org 0", "org 1", "global"];
    // (user, org) combinations, overlapping in users and orgs; every request also charges global.
    let combos: [(usize, usize); 4] = [(0, 3), (1, 3), (2, 4), (0, 4)];
    let counts: Arc<Vec<AtomicU64>> =
        Arc::new((0..cells.len()).map(|_| AtomicU64::new(0)).collect());
    let denied = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Checks made so far (Relaxed: a progress count; the clock's own atomic carries its readings).
    let attempts = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let start = clock.as_ref().now_reading();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (limiter, cells, counts, denied, stop, attempts) =
                (&limiter, &cells, &counts, &denied, &stop, &attempts);
            s.spawn(move || {
                let mut i = t;
                // Relaxed: a stop flag; the counts are read after the scope joins these threads.
                while !stop.load(Relaxed) && Instant::now() < deadline {
                    let (u, o) = combos[i % combos.len()];
                    i += 1;
                    attempts.fetch_add(1, Relaxed);
                    match limiter.check_all(&[(&cells[u], 1), (&cells[o], 1), (&cells[5], 1)]) {
                        Ok(()) => {
                            for q in [u, o, 5] {
                                counts[q].fetch_add(1, Relaxed);
                            }
                        }
                        Err(_) => {
                            denied.fetch_add(1, Relaxed);
                        }
                    }
                }
            });
        }
        // Each step waits for the workers to make a few attempts on the current reading (they may
        // not even have started yet), so the clock never outruns them; the deadline bounds the wait.
        for _ in 0..steps {
            let seen = attempts.load(Relaxed);
            while attempts.load(Relaxed) < seen + 2 * threads as u64 && Instant::now() < deadline {
                std::thread::yield_now();
            }
            clock.advance(5 * MS);
        }
        stop.store(true, Relaxed);
    });
    let elapsed = clock.as_ref().now_reading() - start;
    let mut table = ctx.table(
        format!("{threads} threads over {elapsed:?} of virtual time"),
        &[
            "quota",
            "rate/s, burst",
            "admitted (counted)",
            "bound floor(e/T)+burst",
        ],
    );
    let mut within = true;
    let mut detail = Vec::new();
    for (q, cell) in cells.iter().enumerate() {
        let quota = cell.quota();
        let bound = elapsed.as_nanos() as u64 / quota.interval_ns() + u64::from(quota.burst());
        let n = counts[q].load(Relaxed);
        within &= n <= bound;
        detail.push(format!("{}: {n}/{bound}", names[q]));
        table.row([
            names[q].to_string(),
            format!("{}, {}", 1_000_000_000 / quota.interval_ns(), quota.burst()),
            n.to_string(),
            bound.to_string(),
        ]);
    }
    ctx.show(table);
    let global = counts[5].load(Relaxed);
    ctx.record("threads_admitted", global);
    ctx.record("threads_denied", denied.load(Relaxed));
    ctx.check_with(
        "no quota admits more than its bound, counted from the requests admitted",
        within,
        detail.join(", "),
    );
    let users: u64 = (0..3).map(|q| counts[q].load(Relaxed)).sum();
    let orgs: u64 = (3..5).map(|q| counts[q].load(Relaxed)).sum();
    ctx.check_with(
        "every admitted request took from exactly one user, one org and the global quota (the counts \
         agree), and the run ended before its deadline",
        users == global && orgs == global && global > 0 && Instant::now() < deadline,
        format!(
            "users {users}, orgs {orgs}, global {global}; {} denied",
            denied.load(Relaxed)
        ),
    );
    ctx.takeaway(
        "Several quotas on one request must be all-or-nothing: a request denied by one quota that still \
         charged the others would spend their permits on work that never happened.",
    );
}

/// The manual clock's reading.
trait Reading {
    fn now_reading(&self) -> Duration;
}

impl Reading for ManualClock {
    fn now_reading(&self) -> Duration {
        ratelimit::Clock::now(self)
    }
}
