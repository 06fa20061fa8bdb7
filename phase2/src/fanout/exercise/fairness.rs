//! `fairness`: who gets served when two sources are always ready, and who waits longest under overload.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::fmt_duration;

use crate::fanout::discipline::{self, Order};

/// Result of draining a hot and a cold source through one select loop.
struct SelectRun {
    /// Of the first `window` receives, how many came from the cold source.
    cold_in_window: usize,
    /// Receives made before the first cold item was taken (`None`: never within the run).
    first_cold_after: Option<usize>,
    /// Time from the start to the first cold item.
    first_cold_wait: Option<Duration>,
}

/// Both sources prefilled (`hot` with 2×`window` items, `cold` with `window`), then `window` receives
/// through `tokio::select!`, biased (hot listed first, polled first) or random (tokio's default).
fn select_run(biased: bool, window: usize) -> SelectRun {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async move {
        let (hot_tx, mut hot) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let (cold_tx, mut cold) = tokio::sync::mpsc::unbounded_channel::<u32>();
        for i in 0..2 * window as u32 {
            hot_tx.send(i).expect("receiver alive");
        }
        for i in 0..window as u32 {
            cold_tx.send(i).expect("receiver alive");
        }
        let start = Instant::now();
        let mut out = SelectRun {
            cold_in_window: 0,
            first_cold_after: None,
            first_cold_wait: None,
        };
        for n in 0..window {
            let from_cold = if biased {
                tokio::select! {
                    biased;
                    Some(_) = hot.recv() => false,
                    Some(_) = cold.recv() => true,
                }
            } else {
                tokio::select! {
                    Some(_) = hot.recv() => false,
                    Some(_) = cold.recv() => true,
                }
            };
            if from_cold {
                out.cold_in_window += 1;
                if out.first_cold_after.is_none() {
                    out.first_cold_after = Some(n);
                    out.first_cold_wait = Some(start.elapsed());
                }
            }
        }
        out
    })
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn run(ctx: &mut Ctx) {
    // 1. Select fairness.
    let window = ctx.pick(20_000, 4_000);
    let mut t = ctx.table(
        format!("two always-ready sources, {window} receives through tokio::select!"),
        &[
            "select",
            "hot share",
            "cold share",
            "cold first served after",
            "cold first wait",
        ],
    );
    let runs = [
        ("biased; (hot first)", select_run(true, window)),
        ("random (default)", select_run(false, window)),
    ];
    for (name, r) in &runs {
        let cold = r.cold_in_window as f64 / window as f64;
        t.row([
            name.to_string(),
            format!("{:.1}%", (1.0 - cold) * 100.0),
            format!("{:.1}%", cold * 100.0),
            r.first_cold_after
                .map_or("never (starved)".to_string(), |n| format!("{n} receives")),
            r.first_cold_wait.map_or("—".to_string(), fmt_duration),
        ]);
    }
    ctx.show(t);
    let biased_cold = runs[0].1.cold_in_window;
    let fair_cold = runs[1].1.cold_in_window as f64 / window as f64;
    ctx.record("biased_cold_share", biased_cold as f64 / window as f64);
    ctx.record("fair_cold_share", fair_cold);

    // 2. FIFO vs LIFO under overload.
    let ticks = ctx.pick(20_000, 5_000);
    let arrivals = discipline::bursty_arrivals(ticks, 7);
    let items: usize = arrivals.iter().sum();
    let mut t = ctx.table(
        format!(
            "one server, 1 item per tick; {ticks} ticks of overload (mean 1.5 arrivals/tick, {items} items), then drain"
        ),
        &["order", "mean wait", "p50", "p99", "worst wait"],
    );
    let mut stats = Vec::new();
    for order in [Order::Fifo, Order::Lifo] {
        let mut w = discipline::simulate(&arrivals, order);
        let sum: u64 = w.iter().sum();
        w.sort_unstable();
        let s = (
            sum,
            percentile(&w, 0.5),
            percentile(&w, 0.99),
            *w.last().unwrap_or(&0),
        );
        t.row([
            format!("{order:?}"),
            format!("{:.1} ticks", s.0 as f64 / w.len() as f64),
            format!("{} ticks", s.1),
            format!("{} ticks", s.2),
            format!("{} ticks", s.3),
        ]);
        stats.push(s);
    }
    ctx.show(t);
    let (fifo, lifo) = (stats[0], stats[1]);
    ctx.record("fifo_worst_wait_ticks", fifo.3);
    ctx.record("lifo_worst_wait_ticks", lifo.3);
    ctx.takeaway(format!(
        "biased select gave the cold source {biased_cold} of {window} receives — a ready first case \
         starves the rest; random select gave it {:.1}%. FIFO and LIFO have the same mean wait ({:.1} ticks) \
         but LIFO's worst is {} ticks vs FIFO's {}: LIFO serves the newest fast (p50 {} vs {}) and strands the oldest",
        fair_cold * 100.0,
        fifo.0 as f64 / items as f64,
        lifo.3,
        fifo.3,
        lifo.1,
        fifo.1,
    ));
    ctx.check(
        "biased select: the cold source got 0 receives while hot was ready",
        biased_cold == 0,
    );
    ctx.check_with(
        "random select: the cold source's share is within 40%..60%",
        (0.4..=0.6).contains(&fair_cold),
        format!("{:.1}%", fair_cold * 100.0),
    );
    ctx.check(
        "FIFO and LIFO: identical total wait (same service instants)",
        fifo.0 == lifo.0,
    );
    ctx.check_with(
        "LIFO's worst wait > 2× FIFO's under overload",
        lifo.3 > 2 * fifo.3,
        format!("{} vs {} ticks", lifo.3, fifo.3),
    );
}
