//! `syscalls`: a blocking call (`nanosleep` through `std::thread::sleep`) inside async code, four ways.
//!
//! Go: a goroutine in a blocking syscall keeps its M, and sysmon hands the P to another M, so the
//! other goroutines keep running. tokio cannot see the syscall: a task that blocks holds its worker.
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use harness::Ctx;
use harness::stats::fmt_ms;
use harness::watchdog::{self, Outcome};

use super::ticker::tick;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Inline,
    SpawnBlocking,
    BlockInPlace,
    Thread,
}

fn measure(mode: Mode, block: Duration) -> std::io::Result<harness::stats::Summary> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("p4-sys")
        .enable_all()
        .build()?;
    let out = rt.block_on(async move {
        let ticker = tokio::spawn(tick(
            Duration::from_millis(1),
            block * 2 + Duration::from_millis(20),
            Arc::new(AtomicU64::new(0)),
        ));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut jobs = Vec::new();
        // Two blocking jobs: one per worker, so the inline case blocks the whole runtime.
        for _ in 0..2 {
            jobs.push(match mode {
                Mode::Inline => tokio::spawn(async move { std::thread::sleep(block) }),
                Mode::SpawnBlocking => {
                    tokio::task::spawn_blocking(move || std::thread::sleep(block))
                }
                Mode::BlockInPlace => tokio::spawn(async move {
                    tokio::task::block_in_place(|| std::thread::sleep(block))
                }),
                Mode::Thread => tokio::spawn(async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let t = std::thread::spawn(move || {
                        std::thread::sleep(block);
                        let _ = tx.send(());
                    });
                    let _ = rx.await;
                    let _ = t.join();
                }),
            });
        }
        for j in jobs {
            let _ = j.await;
        }
        ticker.await.expect("ticker does not panic")
    });
    drop(rt);
    Ok(out)
}

pub(super) fn run(ctx: &mut Ctx) {
    let block = ctx.pick(Duration::from_millis(60), Duration::from_millis(30));
    ctx.say(format!(
        "A 2-worker tokio runtime runs a 1 ms ticker; two jobs each block for {} in a syscall. \
         We measure how late the ticker's ticks fire.",
        fmt_ms(block)
    ));
    let modes = [
        ("std::thread::sleep in a task", Mode::Inline),
        ("spawn_blocking (blocking pool)", Mode::SpawnBlocking),
        ("block_in_place (worker hands off)", Mode::BlockInPlace),
        ("dedicated std::thread + oneshot", Mode::Thread),
    ];
    let mut t = ctx.table(
        "ticker lateness while two jobs block",
        &[
            "blocking call made with",
            "ticks",
            "p50 late",
            "p99 late",
            "max late",
        ],
    );
    let mut max = Vec::new();
    for (label, mode) in modes {
        let out = watchdog::run("p4-sys-exp", Duration::from_secs(10), move || {
            measure(mode, block)
        });
        match out {
            Outcome::Finished(Ok(s)) => {
                t.row([
                    label.to_string(),
                    s.n.to_string(),
                    fmt_ms(s.p50),
                    fmt_ms(s.p99),
                    fmt_ms(s.max),
                ]);
                ctx.record(format!("{mode:?}_max_late_ms"), s.max.as_secs_f64() * 1e3);
                max.push(s.max);
            }
            Outcome::Finished(Err(e)) => {
                ctx.check_with(format!("{label}: runtime built"), false, e.to_string());
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
    ctx.show(t);
    let inline = max[0];
    ctx.check_with(
        "blocking inline stalls the ticker for at least half the blocking call",
        inline >= block / 2,
        format!("max late {} vs call {}", fmt_ms(inline), fmt_ms(block)),
    );
    for (i, name) in ["spawn_blocking", "block_in_place", "a dedicated thread"]
        .iter()
        .enumerate()
    {
        let m = max[i + 1];
        ctx.check_with(
            format!("with {name} the ticker is less late than with the inline call"),
            m < inline,
            format!("{} < {}", fmt_ms(m), fmt_ms(inline)),
        );
    }
    ctx.takeaway(format!(
        "A blocking call inside a task holds its worker (max lateness {} for a {} call); move it to \
         spawn_blocking, block_in_place or a thread of its own, which Go's runtime does for you.",
        fmt_ms(inline),
        fmt_ms(block)
    ));
}
