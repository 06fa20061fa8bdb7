//! `priority`: one worker, a flood of `High` tasks and a few `Low` ones, all queued behind a held
//! worker, then released. Each task records its start; from the start order alone we measure how
//! many `High` starts each `Low` head waited. With aging `k` that is at most `k` (the bound is in
//! starts, not time, so it holds whatever the tasks' run times); with strict priority
//! (`aging(usize::MAX)`) the first `Low` task waits for every `High` one.
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;
use workpool::{Pool, Priority, Queue, TaskOptions};

use super::watched;

const NAME: &str = "tour-prio";
const AGING: usize = 4;

#[derive(Debug, Default, Clone)]
struct Run {
    /// The lane of each start, in start order ('H' / 'L').
    order: Vec<char>,
    /// The most `High` starts between a `Low` task reaching the head of its lane and its start.
    max_high_before_low: usize,
    /// Position (in starts) of each `Low` task.
    low_positions: Vec<usize>,
    low_wait_mean: Duration,
    high_wait_mean: Duration,
    ran: usize,
    submitted: usize,
}

fn one(aging: usize, highs: usize, lows: usize) -> Run {
    let pool = Pool::builder()
        .name(NAME)
        .workers(1)
        .queue(Queue::Unbounded)
        .aging(aging)
        .build()
        .expect("build");
    let order = Arc::new(Mutex::new(Vec::with_capacity(highs + lows)));
    // Hold the only worker until everything is queued.
    let (open, gate) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = pool
        .submit(move || {
            let _ = started_tx.send(());
            let _ = gate.recv_timeout(Duration::from_secs(10));
        })
        .expect("admitted");
    let _ = started_rx.recv_timeout(Duration::from_secs(5));
    let mut handles = Vec::new();
    // Lows are spread through the flood, in submit order.
    let every = highs / lows.max(1);
    for i in 0..highs {
        if every > 0 && i % every == every / 2 {
            handles.push(submit(&pool, &order, Priority::Low));
        }
        handles.push(submit(&pool, &order, Priority::High));
    }
    let mut r = Run {
        submitted: handles.len(),
        ..Run::default()
    };
    let _ = open.send(());
    let _ = blocker.join();
    let (mut lw, mut ln, mut hw, mut hn) = (Duration::ZERO, 0u32, Duration::ZERO, 0u32);
    for h in handles {
        if let Ok((lane, waited)) = h.join() {
            r.ran += 1;
            if lane == 'L' {
                lw += waited;
                ln += 1;
            } else {
                hw += waited;
                hn += 1;
            }
        }
    }
    r.low_wait_mean = lw / ln.max(1);
    r.high_wait_mean = hw / hn.max(1);
    r.order = order.lock().map(|v| v.clone()).unwrap_or_default();
    // Every Low task is queued before the worker starts, so each Low head reaches the front when
    // the previous Low started (the first at the release): count the Highs in between.
    let mut highs_since = 0;
    for (pos, &lane) in r.order.iter().enumerate() {
        if lane == 'H' {
            highs_since += 1;
        } else {
            r.max_high_before_low = r.max_high_before_low.max(highs_since);
            r.low_positions.push(pos);
            highs_since = 0;
        }
    }
    r
}

type Start = (char, Duration);

fn submit(
    pool: &Pool,
    order: &Arc<Mutex<Vec<char>>>,
    priority: Priority,
) -> workpool::TaskHandle<Start> {
    let order = order.clone();
    let lane = if priority == Priority::Low { 'L' } else { 'H' };
    let submitted = Instant::now();
    pool.submit_with(TaskOptions::new().priority(priority), move |_| {
        let waited = submitted.elapsed();
        order.lock().map(|mut v| v.push(lane)).ok();
        // A little work, so a start is a start.
        std::hint::black_box((0..200u64).sum::<u64>());
        (lane, waited)
    })
    .expect("admitted (unbounded queue)")
}

pub(crate) fn run(ctx: &mut Ctx) {
    let highs = ctx.pick(2000, 200);
    let lows = ctx.pick(8, 4);
    ctx.say(format!(
        "One worker, held while {highs} High and {lows} Low tasks are queued (Lows spread through the \
         flood), then released. From the recorded start order: the most High starts any Low head \
         waited. aging({AGING}) vs strict priority (aging(usize::MAX))."
    ));
    let out = watched("wd-priority", move || {
        let leak = ThreadLeakCheck::named(NAME);
        let aged = one(AGING, highs, lows);
        let strict = one(usize::MAX, highs, lows);
        (
            aged,
            strict,
            leak.leaked_after(Duration::from_secs(2)).len(),
        )
    });
    let (aged, strict, threads_left) = match out {
        Ok(v) => v,
        Err(e) => {
            ctx.check_with("the priority runs finished", false, e);
            ctx.takeaway("the runs did not finish: see the failed check");
            return;
        }
    };
    let mut t = ctx.table(
        "start order of one worker",
        &[
            "aging",
            "first 24 starts",
            "Low tasks started at",
            "max High starts a Low head waited",
            "mean queue wait Low / High",
        ],
    );
    for (label, r) in [
        (format!("{AGING}"), &aged),
        ("usize::MAX (strict)".into(), &strict),
    ] {
        let first: String = r.order.iter().take(24).collect();
        let positions: Vec<String> = r.low_positions.iter().map(|p| p.to_string()).collect();
        t.row([
            label,
            first,
            positions.join(", "),
            r.max_high_before_low.to_string(),
            format!(
                "{} / {}",
                fmt_duration(r.low_wait_mean),
                fmt_duration(r.high_wait_mean)
            ),
        ]);
    }
    ctx.show(t);
    ctx.record("aged_max_high_before_low", aged.max_high_before_low);
    ctx.record("strict_max_high_before_low", strict.max_high_before_low);
    ctx.takeaway(format!(
        "with aging({AGING}) no Low head waited more than {} High starts; strict priority made the \
         first Low wait for all {highs} — the bound is counted in starts, so it holds whatever the \
         tasks' run times.",
        aged.max_high_before_low
    ));
    let all_ran = |r: &Run| r.ran == r.submitted && r.order.len() == r.submitted;
    ctx.check_with(
        "every task started exactly once, in both runs",
        all_ran(&aged) && all_ran(&strict),
        format!("{} + {} starts", aged.order.len(), strict.order.len()),
    );
    ctx.check_with(
        format!("aging({AGING}): no Low head waited more than {AGING} High starts"),
        aged.max_high_before_low <= AGING && aged.low_positions.len() == lows,
        format!("max {}", aged.max_high_before_low),
    );
    ctx.check_with(
        "strict priority: Low waited for every High (all Lows started last)",
        strict.max_high_before_low == highs
            && strict
                .low_positions
                .iter()
                .enumerate()
                .all(|(i, &p)| p == highs + i),
        format!("max {}", strict.max_high_before_low),
    );
    ctx.check_with(
        "no tour-prio thread left after the pools dropped",
        threads_left == 0,
        format!("{threads_left} left"),
    );
}
