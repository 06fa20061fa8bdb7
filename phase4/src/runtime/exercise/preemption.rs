//! `preemption`: a busy task on a current-thread runtime, and what lets the others run.
//!
//! Go preempts a goroutine that runs too long: since Go 1.14 sysmon sends SIGURG to its M after
//! ~10 ms and the signal handler parks it at a safe point. tokio only switches tasks at `.await`
//! points that return `Pending`; its coop budget (128 units per poll) makes its own resources return
//! `Pending` now and then, but a loop that never awaits a tokio resource is never interrupted.
use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::lateness::heartbeat;
use harness::watchdog::{self, Outcome};

#[derive(Clone, Copy, Debug)]
enum Busy {
    NoAwait,
    ReadyFuture,
    YieldNow,
    CoopChannel,
}

/// Ticks the ticker got while the busy task ran for `busy` (the busy task stops itself at its
/// deadline: the starvation is contained).
fn starve(kind: Busy, busy: Duration) -> std::io::Result<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(async move {
        let count = Arc::new(AtomicU64::new(0));
        let origin = Instant::now();
        let ticker = tokio::spawn(heartbeat(
            Duration::from_millis(1),
            origin,
            origin + busy + Duration::from_millis(20),
            Arc::clone(&count),
        ));
        tokio::time::sleep(Duration::from_millis(3)).await;
        let c = Arc::clone(&count);
        let busy_task = tokio::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
            let start = Instant::now();
            let before = c.load(Relaxed);
            let mut spins = 0u64;
            while start.elapsed() < busy {
                spins += 1;
                match kind {
                    Busy::NoAwait => std::hint::spin_loop(),
                    Busy::ReadyFuture => ready(()).await,
                    Busy::YieldNow => {
                        if spins.is_multiple_of(64) {
                            tokio::task::yield_now().await
                        }
                    }
                    Busy::CoopChannel => {
                        let _ = tx.send(1);
                        let _ = rx.recv().await;
                    }
                }
            }
            c.load(Relaxed) - before
        });
        let got = busy_task.await.expect("busy task does not panic");
        let _ = ticker.await;
        got
    }))
}

/// The same on OS threads: the kernel preempts the busy thread, as Go's runtime preempts a goroutine.
fn os_threads(busy: Duration) -> u64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + busy + Duration::from_millis(20);
    let c = Arc::clone(&count);
    let ticker = std::thread::spawn(move || {
        while Instant::now() < stop {
            std::thread::sleep(Duration::from_millis(1));
            c.fetch_add(1, Relaxed);
        }
    });
    std::thread::sleep(Duration::from_millis(3));
    let before = count.load(Relaxed);
    let start = Instant::now();
    while start.elapsed() < busy {
        std::hint::spin_loop();
    }
    let got = count.load(Relaxed) - before;
    let _ = ticker.join();
    got
}

pub(super) fn run(ctx: &mut Ctx) {
    let busy = ctx.pick(Duration::from_millis(80), Duration::from_millis(40));
    ctx.say(format!(
        "A current-thread tokio runtime runs a 1 ms ticker and a task busy for {busy:?}; we count \
         the ticks the ticker got while the busy task ran."
    ));
    let mut t = ctx.table(
        "ticks during the busy phase",
        &["busy task", "ticks (≈ busy ms if never starved)"],
    );
    let cases = [
        ("spin loop, no .await", Busy::NoAwait),
        (
            "loop awaiting std::future::ready (never Pending)",
            Busy::ReadyFuture,
        ),
        (
            "spin loop + tokio::task::yield_now every 64 turns",
            Busy::YieldNow,
        ),
        (
            "loop on an always-ready tokio mpsc (coop budget)",
            Busy::CoopChannel,
        ),
    ];
    let mut got = Vec::new();
    for (label, kind) in cases {
        match watchdog::run("p4-preempt", Duration::from_secs(10), move || {
            starve(kind, busy)
        }) {
            Outcome::Finished(Ok(n)) => {
                t.row([label.to_string(), n.to_string()]);
                ctx.record(format!("{kind:?}_ticks"), n);
                got.push(n);
            }
            Outcome::Finished(Err(e)) => {
                ctx.check_with("runtime built", false, e.to_string());
                return;
            }
            Outcome::Panicked(m) => {
                ctx.check_with(format!("{label}: ran"), false, m);
                return;
            }
            Outcome::TimedOut(s) => {
                ctx.check_with(format!("{label}: finished within its deadline"), false, "");
                drop(s);
                return;
            }
        }
    }
    let os = os_threads(busy);
    t.row([
        "OS threads: the kernel preempts (what Go does for goroutines)".to_string(),
        os.to_string(),
    ]);
    ctx.show(t);
    ctx.check_with(
        "a loop without .await starves the ticker",
        got[0] == 0,
        format!("{} ticks", got[0]),
    );
    ctx.check_with(
        "awaiting an always-ready non-tokio future starves it too",
        got[1] == 0,
        format!("{} ticks", got[1]),
    );
    ctx.check_with(
        "yield_now lets the ticker run",
        got[2] > 0,
        format!("{} ticks", got[2]),
    );
    ctx.check_with(
        "tokio's coop budget forces the mpsc loop to yield",
        got[3] > 0,
        format!("{} ticks", got[3]),
    );
    ctx.check_with(
        "the preempted OS thread lets the ticker run",
        os > 0,
        format!("{os} ticks"),
    );
    ctx.takeaway(format!(
        "Cooperative means cooperative: no .await, no switch ({} ticks); yield_now ({}) or tokio's \
         budget ({}) are the only way in, where Go (and the kernel, {}) preempt.",
        got[0], got[2], got[3], os
    ));
}
