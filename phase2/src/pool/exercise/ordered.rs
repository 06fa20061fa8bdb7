//! `ordered`: results in submission order through a bounded reorder window, against completion
//! order, on jobs of uneven cost (one in 8 is 15× slower). A slow job at the head of the window
//! holds back every later result and, once the window is full, submission itself: that wait is
//! what order costs, and a wider window buys it back with buffer space.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{fmt_duration, fmt_ratio};

use crate::pool::{Pool, map_window};

/// Uneven cost: job `i` sleeps 3 ms if `i % 8 == 0`, else 200 µs (I/O-like jobs, so 4 workers
/// overlap even on 2 cores). Returns `i`.
pub(crate) fn uneven(i: u64) -> u64 {
    let us = if i.is_multiple_of(8) { 3000 } else { 200 };
    std::thread::sleep(Duration::from_micros(us));
    i
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n: u64 = ctx.pick(240, 80);
    let workers = 4;
    ctx.say(format!(
        "{n} jobs on {workers} workers; emit each result as soon as the order allows."
    ));
    let mut t = ctx.table(
        "ordered vs unordered",
        &[
            "window",
            "mode",
            "wall",
            "vs unordered",
            "max buffered",
            "max outstanding",
            "output in order",
        ],
    );
    let mut pool = Pool::new("p2order", workers, 64);
    let (mut in_order, mut bounded, mut permutation) = (true, true, true);
    let mut costs = Vec::new();
    for window in [4usize, 8, 32] {
        let mut unordered_wall = Duration::ZERO;
        for ordered in [false, true] {
            let mut out = Vec::with_capacity(n as usize);
            let start = Instant::now();
            let stats = map_window(&mut pool, 0..n, window, ordered, uneven, |id, v| {
                out.push((id, v))
            });
            let wall = start.elapsed();
            let sequential = out
                .iter()
                .enumerate()
                .all(|(k, &(id, v))| id == k as u64 && v == k as u64);
            let mut ids: Vec<u64> = out
                .iter()
                .map(|&(id, v)| if id == v { id } else { u64::MAX })
                .collect();
            ids.sort_unstable();
            permutation &= ids == (0..n).collect::<Vec<_>>();
            if ordered {
                in_order &= sequential;
                bounded &= stats.max_buffered < window && stats.max_outstanding <= window;
                costs.push((window, wall.as_secs_f64() / unordered_wall.as_secs_f64()));
            } else {
                unordered_wall = wall;
                bounded &= stats.max_outstanding <= window;
            }
            t.row([
                window.to_string(),
                if ordered { "ordered" } else { "unordered" }.to_string(),
                fmt_duration(wall),
                if ordered {
                    fmt_ratio(wall, unordered_wall)
                } else {
                    "1.00×".into()
                },
                stats.max_buffered.to_string(),
                stats.max_outstanding.to_string(),
                sequential.to_string(),
            ]);
            ctx.record(
                format!(
                    "wall_ns_window_{window}_{}",
                    if ordered { "ordered" } else { "unordered" }
                ),
                wall.as_nanos() as u64,
            );
        }
    }
    ctx.show(t);
    drop(pool);
    let narrow = costs[0].1;
    let wide = costs[costs.len() - 1].1;
    ctx.takeaway(format!(
        "order cost {narrow:.2}× the unordered time with a window of 4 and {wide:.2}× with 32: the \
         window bounds the buffer (≤ window − 1 results) but a slow head job stalls a narrow window."
    ));
    ctx.check("ordered output = input order, every run", in_order);
    ctx.check(
        "reorder buffer < window and outstanding ≤ window, every run",
        bounded,
    );
    ctx.check(
        "unordered output is a permutation of the input (nothing lost or doubled)",
        permutation,
    );
}
