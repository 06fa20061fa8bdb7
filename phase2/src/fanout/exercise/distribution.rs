//! `distribution`: the same heavy-tailed batch over 4 workers, three ways of handing it out.
use std::time::Duration;

use harness::Ctx;
use harness::stats::fmt_duration;

use crate::fanout::distribute::{self, Strategy};

const WORKERS: usize = 4;
const SEED: u64 = 0x5eed_fa11;
/// How far round-robin's floor must exceed the shared queue's ceiling for the batch to be used.
const FACTOR: f64 = 1.4;

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(240, 120);
    // The construction: the first seed from SEED on whose batch round-robin is provably bad, i.e. its
    // floor exceeds the shared queue's guarantee by 40%, so the timing comparison has a wide margin.
    let batch = |seed| {
        distribute::heavy_tailed(
            n,
            Duration::from_micros(300),
            1.2,
            Duration::from_millis(40),
            seed,
        )
    };
    let provably_bad = |c: &[Duration]| {
        distribute::round_robin_lower_bound(c, WORKERS).as_secs_f64()
            > FACTOR * distribute::shared_queue_upper_bound(c, WORKERS).as_secs_f64()
    };
    let seed = (SEED..SEED + 10_000)
        .find(|&s| provably_bad(&batch(s)))
        .unwrap_or(SEED);
    let costs = batch(seed);
    let total: Duration = costs.iter().sum();
    let rr_floor = distribute::round_robin_lower_bound(&costs, WORKERS);
    let shared_ceiling = distribute::shared_queue_upper_bound(&costs, WORKERS);
    ctx.say(format!(
        "{n} tasks (Pareto α=1.2, min 300 µs, cap 40 ms, seed {seed:#x}), total work {}, largest {}; \
         ideal makespan total/4 = {}. Round-robin's assignment is fixed in advance: it cannot beat {} \
         (its heaviest worker's sum). A shared queue is guaranteed ≤ total/4 + largest = {} (plus overhead).",
        fmt_duration(total),
        fmt_duration(costs.iter().max().copied().unwrap_or_default()),
        fmt_duration(total / WORKERS as u32),
        fmt_duration(rr_floor),
        fmt_duration(shared_ceiling),
    ));
    let mut t = ctx.table(
        format!("makespan and utilisation (busy / makespan), {WORKERS} workers"),
        &[
            "strategy",
            "makespan",
            "vs ideal",
            "util per worker",
            "min util",
            "tasks per worker",
        ],
    );
    let mut makespans = Vec::new();
    let expected: Vec<usize> = (0..n).collect();
    let mut exactly_once = true;
    for s in Strategy::ALL {
        let r = distribute::run(&costs, WORKERS, s, seed);
        exactly_once &= r.all_ran_sorted() == expected;
        let util = r.utilisation();
        let min_util = util.iter().copied().fold(f64::INFINITY, f64::min);
        t.row([
            s.name().to_string(),
            fmt_duration(r.makespan),
            format!(
                "{:.2}×",
                r.makespan.as_secs_f64() / (total / WORKERS as u32).as_secs_f64()
            ),
            util.iter()
                .map(|u| format!("{:.0}%", u * 100.0))
                .collect::<Vec<_>>()
                .join(" "),
            format!("{:.0}%", min_util * 100.0),
            r.ran
                .iter()
                .map(|v| v.len().to_string())
                .collect::<Vec<_>>()
                .join("/"),
        ]);
        ctx.record(
            format!("{}_makespan_ms", s.name().replace(' ', "_")),
            r.makespan.as_secs_f64() * 1e3,
        );
        makespans.push(r.makespan);
    }
    ctx.show(t);
    let (shared, lpt, rr, p2c) = (makespans[0], makespans[1], makespans[2], makespans[3]);

    // The same tasks arriving over time at ~90% load: now a queue's length says how much is pending.
    let gap = (total / WORKERS as u32).div_f64(0.9) / n as u32;
    let mut t = ctx.table(
        format!(
            "the same tasks arriving one every {} (≈ 90% load); worst latency = enqueue → done",
            fmt_duration(gap)
        ),
        &[
            "strategy",
            "makespan",
            "worst latency",
            "min util",
            "tasks per worker",
        ],
    );
    let mut paced = Vec::new();
    for s in [Strategy::Shared, Strategy::RoundRobin, Strategy::PowerOfTwo] {
        let r = distribute::run_paced(&costs, WORKERS, s, seed, gap);
        exactly_once &= r.all_ran_sorted() == expected;
        let min_util = r.utilisation().into_iter().fold(f64::INFINITY, f64::min);
        t.row([
            s.name().to_string(),
            fmt_duration(r.makespan),
            fmt_duration(r.worst_latency),
            format!("{:.0}%", min_util * 100.0),
            r.ran
                .iter()
                .map(|v| v.len().to_string())
                .collect::<Vec<_>>()
                .join("/"),
        ]);
        ctx.record(
            format!("paced_{}_worst_latency_ms", s.name().replace(' ', "_")),
            r.worst_latency.as_secs_f64() * 1e3,
        );
        paced.push(r.worst_latency);
    }
    ctx.show(t);

    ctx.takeaway(format!(
        "batch: the shared queue finished in {} vs round-robin {} ({:.2}× slower) — an idle worker pulls, \
         so the split follows cost; fed longest first it took {}; power of two {}: over a batch queued at \
         once, queue length counts tasks, not cost, so it is a random static split. Arriving over time, \
         worst latency: shared {}, round-robin {}, power of two {}",
        fmt_duration(shared),
        fmt_duration(rr),
        rr.as_secs_f64() / shared.as_secs_f64(),
        fmt_duration(lpt),
        fmt_duration(p2c),
        fmt_duration(paced[0]),
        fmt_duration(paced[1]),
        fmt_duration(paced[2]),
    ));
    ctx.check(
        "every strategy ran every task exactly once (multiset of indices), batch and paced",
        exactly_once,
    );
    ctx.check_with(
        "this batch is one round-robin provably handles badly: its floor > 1.4× the shared-queue ceiling",
        rr_floor.as_secs_f64() > FACTOR * shared_ceiling.as_secs_f64(),
        format!("floor {} vs ceiling {}", fmt_duration(rr_floor), fmt_duration(shared_ceiling)),
    );
    ctx.check_with(
        "shared queue makespan ≤ round-robin makespan (batch)",
        shared <= rr,
        format!("{} vs {}", fmt_duration(shared), fmt_duration(rr)),
    );
}
