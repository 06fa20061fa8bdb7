//! `leaks`: the ticker nobody stops, counted, then contained; the ticker that stops on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;

use crate::timers::{LeakyTicker, Ticker};

const PERIOD: Duration = Duration::from_millis(5);

pub(super) fn run(ctx: &mut Ctx) {
    let watch = ctx.pick(Duration::from_millis(200), Duration::from_millis(100));
    ctx.say(format!(
        "Two tickers (period {PERIOD:?}) run 50 ms, then their owner is dropped; we count ticks \
         for {watch:?} after the drop."
    ));

    // The mistake: the owner goes away, the thread does not.
    let leak_check = ThreadLeakCheck::named("tmr-leaky");
    let (owner, containment) = LeakyTicker::spawn("tmr-leaky", PERIOD);
    thread::sleep(Duration::from_millis(50));
    let at_drop = owner.ticks();
    drop(owner);
    thread::sleep(watch);
    let leaky_after = containment.ticks() - at_drop;
    let leaky_threads = leak_check.alive_now().len();
    // Contain it: stop and join the leaked thread, so the process stays clean.
    containment.stop();
    let leaky_left = leak_check.leaked_after(Duration::from_millis(500)).len();

    // The right form: dropping the ticker stops and joins its thread.
    let ok_check = ThreadLeakCheck::named("tmr-ok");
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    let ticker = Ticker::spawn("tmr-ok", PERIOD, move || {
        // Relaxed: a statistic; `drop(ticker)` joins the thread before the reads below.
        c.fetch_add(1, Ordering::Relaxed);
    });
    thread::sleep(Duration::from_millis(50));
    drop(ticker);
    // Relaxed: the join in drop ordered every increment before this read.
    let ok_at_drop = count.load(Ordering::Relaxed);
    thread::sleep(watch);
    let ok_after = count.load(Ordering::Relaxed) - ok_at_drop;
    let ok_threads = ok_check.alive_now().len();

    let mut t = ctx.table(
        "ticks after the owner was dropped",
        &[
            "ticker",
            "ticks before drop",
            "ticks after drop",
            "its thread alive after drop",
        ],
    );
    t.row([
        "never stopped (LeakyTicker)",
        &at_drop.to_string(),
        &leaky_after.to_string(),
        &leaky_threads.to_string(),
    ]);
    t.row([
        "stops on drop (Ticker)",
        &ok_at_drop.to_string(),
        &ok_after.to_string(),
        &ok_threads.to_string(),
    ]);
    ctx.show(t);
    ctx.record("leaky_ticks_after_drop", leaky_after);
    ctx.record("ok_ticks_after_drop", ok_after);
    ctx.takeaway(format!(
        "The unstopped ticker fired {leaky_after} more times with nobody listening and kept its thread; \
         the one that owns its stop signal fired {ok_after} times after drop and left no thread."
    ));
    ctx.check_with(
        "the never-stopped ticker keeps ticking after its owner is gone",
        leaky_after > 0,
        format!("{leaky_after} ticks"),
    );
    ctx.check(
        "its thread is still alive after the drop (1 leaked)",
        leaky_threads == 1,
    );
    ctx.check(
        "contained: stopped and joined afterwards, no thread left",
        leaky_left == 0,
    );
    ctx.check_with(
        "the drop-stopped ticker ticks 0 times after drop",
        ok_after == 0,
        format!("{ok_after} ticks"),
    );
    ctx.check("the drop-stopped ticker leaves no thread", ok_threads == 0);
}
