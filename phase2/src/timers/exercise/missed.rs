//! `missed-ticks`: tokio's `interval` behind a slow handler, with each `MissedTickBehavior`.

use std::time::Duration;

use harness::Ctx;
use harness::stats::fmt_ms;
use tokio::time::{self, Instant, MissedTickBehavior};

const PERIOD: Duration = Duration::from_millis(20);
/// The second tick's handler takes this long: 3.5 periods.
const SLOW: Duration = Duration::from_millis(70);
const TICKS: usize = 8;

/// One tick: when it was scheduled for and when the handler actually got it (both from the start).
struct Tick {
    scheduled: Duration,
    actual: Duration,
}

async fn measure(behavior: MissedTickBehavior) -> Vec<Tick> {
    let mut interval = time::interval(PERIOD);
    interval.set_missed_tick_behavior(behavior);
    // The first tick completes at once; its instant is the origin of the grid.
    let start: Instant = interval.tick().await;
    let mut ticks = Vec::with_capacity(TICKS);
    for k in 0..TICKS {
        let scheduled = if k == 0 { start } else { interval.tick().await };
        ticks.push(Tick {
            scheduled: scheduled.saturating_duration_since(start),
            actual: start.elapsed(),
        });
        if k == 1 {
            time::sleep(SLOW).await;
        }
    }
    ticks
}

pub(super) fn run(ctx: &mut Ctx) {
    ctx.say(format!(
        "tokio::time::interval({PERIOD:?}); the handler of tick #1 takes {SLOW:?} (3.5 periods), every \
         other one returns at once. Times from the first tick: scheduled = the Instant tick() \
         returned, actual = when the handler ran."
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let behaviors = [
        ("Burst", MissedTickBehavior::Burst),
        ("Delay", MissedTickBehavior::Delay),
        ("Skip", MissedTickBehavior::Skip),
    ];
    let runs: Vec<(&str, Vec<Tick>)> = behaviors
        .iter()
        .map(|&(name, b)| (name, rt.block_on(measure(b))))
        .collect();

    let mut headers = vec!["tick"];
    for (name, _) in &runs {
        headers.push(name);
    }
    let mut t = ctx.table("scheduled / actual tick times", &headers);
    for k in 0..TICKS {
        let mut row = vec![format!("#{k}")];
        for (_, ticks) in &runs {
            row.push(format!(
                "{} / {}",
                fmt_ms(ticks[k].scheduled),
                fmt_ms(ticks[k].actual)
            ));
        }
        t.row(row);
    }
    ctx.show(t);

    let period = PERIOD.as_nanos();
    let gaps = |ticks: &[Tick]| -> Vec<Duration> {
        ticks
            .windows(2)
            .map(|w| w[1].actual.saturating_sub(w[0].actual))
            .collect()
    };
    let (burst, delay, skip) = (&runs[0].1, &runs[1].1, &runs[2].1);
    // Burst: every scheduled instant is on the grid and none is missing; the late ones arrive back to back.
    let burst_on_grid = burst
        .iter()
        .enumerate()
        .all(|(k, t)| t.scheduled.as_nanos().abs_diff(k as u128 * period) < 1_000_000);
    let burst_quick = gaps(burst).iter().filter(|g| **g < PERIOD / 4).count();
    // Delay: the grid restarts after the late tick, so no two *scheduled* ticks are ever less than a
    // period apart, and after the slow handler the grid has moved. The guarantee is about the
    // instants `tick()` returns: tokio treats a tick polled up to 5 ms late as on time and keeps the
    // grid (`Interval::poll_tick`, tokio 1.x), so the *actual* gap after a handler that started late
    // can be up to 5 ms (plus any scheduling delay) short of a period. Both are shown.
    let scheduled_gaps = |ticks: &[Tick]| -> Vec<Duration> {
        ticks
            .windows(2)
            .map(|w| w[1].scheduled.saturating_sub(w[0].scheduled))
            .collect()
    };
    let delay_min_gap = scheduled_gaps(delay).into_iter().min().unwrap_or_default();
    let delay_min_actual_gap = gaps(delay).into_iter().min().unwrap_or_default();
    // The tick after the slow handler is due a period after tokio saw it late, not on the old grid.
    let delay_pushed = scheduled_gaps(delay).get(2).copied().unwrap_or_default();
    // Skip: scheduled instants stay on the original grid but some grid points are skipped.
    let skip_on_grid = skip.iter().all(|t| {
        let r = t.scheduled.as_nanos() % period;
        r.min(period - r) < 1_000_000
    });
    let skipped = skip
        .windows(2)
        .filter(|w| w[1].scheduled.saturating_sub(w[0].scheduled) > PERIOD + PERIOD / 2)
        .count();
    let span = |ticks: &[Tick]| ticks[TICKS - 1].actual;
    ctx.record("burst_back_to_back", burst_quick);
    ctx.record("delay_min_gap_ms", delay_min_gap.as_secs_f64() * 1e3);
    ctx.record(
        "delay_min_actual_gap_ms",
        delay_min_actual_gap.as_secs_f64() * 1e3,
    );
    ctx.record("skip_skipped_gaps", skipped);
    ctx.takeaway(format!(
        "After one slow handler: Burst fired {burst_quick} catch-up ticks back to back and kept the \
         grid; Delay moved the grid (scheduled ticks at least {} apart, never below the period; \
         the handlers ran at least {} apart, since tokio lets a tick be up to 5 ms late before it \
         counts as missed); Skip stayed on the grid but dropped periods. {TICKS} ticks took {} / {} / {}.",
        fmt_ms(delay_min_gap),
        fmt_ms(delay_min_actual_gap),
        fmt_ms(span(burst)),
        fmt_ms(span(delay)),
        fmt_ms(span(skip))
    ));
    ctx.check(
        "Burst: all ticks scheduled on the original grid, none dropped",
        burst_on_grid,
    );
    ctx.check_with(
        "Burst: missed ticks delivered back to back (≥ 2 gaps < period/4)",
        burst_quick >= 2,
        format!("{burst_quick}"),
    );
    ctx.check_with(
        "Delay: no two scheduled ticks closer than one period",
        delay_min_gap >= PERIOD,
        format!("min scheduled gap {}", fmt_ms(delay_min_gap)),
    );
    ctx.check_with(
        "Delay: the tick after the slow handler is pushed off the grid (#2 → #3 > 1.5 periods)",
        delay_pushed > PERIOD + PERIOD / 2,
        fmt_ms(delay_pushed),
    );
    ctx.check(
        "Skip: scheduled ticks stay on the original grid",
        skip_on_grid,
    );
    ctx.check_with(
        "Skip: missed periods are dropped (a scheduled gap > 1.5 periods)",
        skipped >= 1,
        format!("{skipped}"),
    );
    ctx.check(
        "Burst reaches tick #7 before Delay does",
        span(burst) < span(delay),
    );
}
