//! `throughput-vs-latency`: a loopback TCP service with 4 slots and a simulated service time, driven
//! closed-loop. Sweep the concurrency (connections, 1 item per request) and the batch size (items
//! per request, fixed cost + per-item cost); measure items/s, p50/p99 per-item latency from an HDR
//! histogram, and the in-flight count sampled at random instants. Little's law `L = λ · W` is computed
//! from the measured throughput and mean latency and compared with the sampled in-flight mean.
use std::time::Duration;

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::{fmt_duration, fmt_rate};

use crate::io::service::{Load, Measured, Model, measure, measure_open};

/// Little's law holds for means over a window; sampling noise and the window's edges stay well
/// inside this.
pub const LITTLE_TOLERANCE: f64 = 0.25;
const WORKERS: usize = 4;
const OPEN_POOL: usize = 64;

struct Point {
    conns: usize,
    batch: u32,
    m: Measured,
}

fn sweep(
    ctx: &mut Ctx,
    title: String,
    model: Model,
    points: &[(usize, u32)],
    warmup: Duration,
    window: Duration,
    failures: &mut Vec<String>,
) -> Vec<Point> {
    let mut t = ctx.table(
        title,
        &[
            "conns",
            "items/req",
            "requests",
            "items/s",
            "p50",
            "p99",
            "mean W",
            "λ·W (Little)",
            "in flight, sampled",
            "rel. error",
        ],
    );
    let mut out = Vec::new();
    for &(conns, batch) in points {
        let load = Load {
            conns,
            batch,
            warmup,
            measure: window,
        };
        match measure(model, load, warmup + window + Duration::from_secs(10)) {
            Ok(m) => {
                let l = m.little();
                t.row([
                    conns.to_string(),
                    batch.to_string(),
                    m.requests.to_string(),
                    fmt_rate(m.throughput()),
                    fmt_duration(m.quantile(0.5)),
                    fmt_duration(m.quantile(0.99)),
                    fmt_duration(m.mean_latency()),
                    format!("{:.2}", l.predicted),
                    format!("{:.2} ({} samples)", l.measured, m.samples),
                    format!("{:.1} %", 100.0 * l.rel_error),
                ]);
                out.push(Point { conns, batch, m });
            }
            Err(e) => {
                failures.push(format!("{conns} conns × {batch}: {e}"));
                t.row([
                    conns.to_string(),
                    batch.to_string(),
                    e,
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
            }
        }
    }
    ctx.show(t);
    out
}

pub(crate) fn run(ctx: &mut Ctx) {
    let leak = ThreadLeakCheck::named("io-tvl");
    let warmup = Duration::from_millis(ctx.pick(100, 30));
    let window = Duration::from_millis(ctx.pick(400, 150));
    let per_request = Duration::from_millis(2);
    let per_item = Duration::from_micros(20);
    ctx.say(format!(
        "The service serves {WORKERS} requests at once; each holds a slot for {} + items × {} (a tokio \
         sleep, so ≥ 1 timer tick). Closed-loop clients send their next request when the answer arrives; \
         open-loop arrivals come at random whatever the service does. Each point: {} of warm-up, then a {} window.",
        fmt_duration(per_request),
        fmt_duration(per_item),
        fmt_duration(warmup),
        fmt_duration(window),
    ));
    let mut failures = Vec::new();
    let conc: Vec<(usize, u32)> = ctx
        .pick(vec![1, 2, 4, 8, 16], vec![1, 4, 16])
        .into_iter()
        .map(|c| (c, 1))
        .collect();
    let by_conc = sweep(
        ctx,
        format!(
            "concurrency sweep: 1 item per request, {WORKERS} slots, {} per request",
            fmt_duration(per_request)
        ),
        Model {
            workers: WORKERS,
            per_request,
            per_item: Duration::ZERO,
        },
        &conc,
        warmup,
        window,
        &mut failures,
    );
    // Open loop: Poisson arrivals at fractions of the capacity the saturated closed loop measured.
    let capacity = by_conc
        .iter()
        .map(|p| p.m.throughput())
        .fold(0.0f64, f64::max);
    let loads: Vec<f64> = ctx.pick(vec![0.25, 0.5, 0.7], vec![0.25, 0.7]);
    // In an open loop in flight varies, and the sampled mean converges with the number of
    // independent snapshots, about window / W: the open-loop points get a longer window.
    let open_window = Duration::from_millis(ctx.pick(1_000, 500));
    let mut o = ctx.table(
        format!(
            "open loop: Poisson arrivals, 1 item per request, {OPEN_POOL} pooled connections, capacity {} (the closed loop's best), {} windows",
            fmt_rate(capacity),
            fmt_duration(open_window)
        ),
        &[
            "offered load",
            "arrivals/s",
            "requests",
            "items/s",
            "p50",
            "p99",
            "mean W",
            "λ·W (Little)",
            "in flight, sampled",
            "rel. error",
        ],
    );
    let mut by_load: Vec<(f64, Measured)> = Vec::new();
    let open_model = Model {
        workers: WORKERS,
        per_request,
        per_item: Duration::ZERO,
    };
    for &rho in &loads {
        let rate = rho * capacity;
        match measure_open(
            open_model,
            rate,
            OPEN_POOL,
            warmup,
            open_window,
            warmup + open_window + Duration::from_secs(10),
        ) {
            Ok(m) => {
                let l = m.little();
                o.row([
                    format!("{:.0} %", 100.0 * rho),
                    fmt_rate(rate),
                    m.requests.to_string(),
                    fmt_rate(m.throughput()),
                    fmt_duration(m.quantile(0.5)),
                    fmt_duration(m.quantile(0.99)),
                    fmt_duration(m.mean_latency()),
                    format!("{:.2}", l.predicted),
                    format!("{:.2} ({} samples)", l.measured, m.samples),
                    format!("{:.1} %", 100.0 * l.rel_error),
                ]);
                by_load.push((rho, m));
            }
            Err(e) => {
                failures.push(format!("open loop at {rho}: {e}"));
                o.row([
                    format!("{:.0} %", 100.0 * rho),
                    fmt_rate(rate),
                    e,
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
            }
        }
    }
    ctx.show(o);
    let batches: Vec<(usize, u32)> = ctx
        .pick(vec![1, 4, 16, 64, 256], vec![1, 16, 256])
        .into_iter()
        .map(|b| (WORKERS, b))
        .collect();
    let by_batch = sweep(
        ctx,
        format!(
            "batch sweep: {WORKERS} connections, {} + items × {} per request",
            fmt_duration(per_request),
            fmt_duration(per_item)
        ),
        Model {
            workers: WORKERS,
            per_request,
            per_item,
        },
        &batches,
        warmup,
        window,
        &mut failures,
    );
    let leaked = leak.leaked_after(Duration::from_secs(2));

    let all: Vec<&Point> = by_conc.iter().chain(&by_batch).collect();
    let measured: Vec<&Measured> = all
        .iter()
        .map(|p| &p.m)
        .chain(by_load.iter().map(|(_, m)| m))
        .collect();
    let bad: u64 = measured.iter().map(|m| m.bad_replies).sum();
    let worst = measured
        .iter()
        .map(|m| m.little().rel_error)
        .fold(0.0f64, f64::max);
    let worst_open = by_load
        .iter()
        .map(|(_, m)| m.little().rel_error)
        .fold(0.0f64, f64::max);
    let get = |v: &[Point], conns: usize, batch: u32| {
        v.iter()
            .find(|p| p.conns == conns && p.batch == batch)
            .map(|p| (p.m.throughput(), p.m.quantile(0.5)))
    };
    let c1 = get(&by_conc, 1, 1);
    let c4 = get(&by_conc, WORKERS, 1);
    let c16 = get(&by_conc, 16, 1);
    let b1 = get(&by_batch, WORKERS, 1);
    let b256 = get(&by_batch, WORKERS, 256);
    for p in &all {
        ctx.record(
            format!("c{}_b{}", p.conns, p.batch),
            serde_json::json!({
                "items_per_s": p.m.throughput(),
                "p50_us": p.m.quantile(0.5).as_micros() as u64,
                "p99_us": p.m.quantile(0.99).as_micros() as u64,
                "little_predicted": p.m.little().predicted,
                "in_flight_sampled": p.m.in_flight,
                "rel_error": p.m.little().rel_error,
            }),
        );
    }
    ctx.check_with(
        "every point ran, every answer matched its request (count and checksum)",
        failures.is_empty() && bad == 0 && measured.iter().all(|m| m.requests > 0),
        if failures.is_empty() {
            format!("{bad} bad answers")
        } else {
            failures.join("; ")
        },
    );
    ctx.check_with(
        format!(
            "Little's law: λ·W within {:.0} % of the sampled in-flight mean at every point",
            100.0 * LITTLE_TOLERANCE
        ),
        !measured.is_empty() && worst <= LITTLE_TOLERANCE,
        format!(
            "worst {:.1} %, open loop {:.1} %",
            100.0 * worst,
            100.0 * worst_open
        ),
    );
    let light = by_load.first().map(|(_, m)| m.mean_latency());
    let heavy = by_load.last().map(|(_, m)| m.mean_latency());
    let open_in_flight = by_load.last().map_or(0.0, |(_, m)| m.in_flight);
    let open_w = heavy.unwrap_or_default();
    if let (Some(light), Some(heavy)) = (light, heavy) {
        let (lo, hi) = (
            by_load.first().map_or(0.0, |(_, m)| m.in_flight),
            by_load.last().map_or(0.0, |(_, m)| m.in_flight),
        );
        ctx.check_with(
            format!(
                "open loop: the same service at {:.1}× the offered load holds ≥ 2× as much in flight",
                loads.last().copied().unwrap_or(0.0) / loads.first().copied().unwrap_or(1.0)
            ),
            hi >= 2.0 * lo && lo > 0.0,
            format!(
                "{hi:.2} vs {lo:.2} in flight; mean W {} vs {}",
                fmt_duration(heavy),
                fmt_duration(light)
            ),
        );
    } else {
        ctx.check("open-loop sweep measured", false);
    }
    for (rho, m) in &by_load {
        ctx.record(
            format!("open_{:.0}", 100.0 * rho),
            serde_json::json!({
                "items_per_s": m.throughput(),
                "p50_us": m.quantile(0.5).as_micros() as u64,
                "p99_us": m.quantile(0.99).as_micros() as u64,
                "little_predicted": m.little().predicted,
                "in_flight_sampled": m.in_flight,
                "rel_error": m.little().rel_error,
            }),
        );
    }
    if let (Some(c1), Some(c4), Some(c16)) = (c1, c4, c16) {
        ctx.check_with(
            format!("concurrency up to the {WORKERS} slots buys throughput (≥ 2× from 1 to {WORKERS} conns)"),
            c4.0 >= 2.0 * c1.0,
            format!("{} vs {}", fmt_rate(c4.0), fmt_rate(c1.0)),
        );
        ctx.check_with(
            format!("past the slots it buys only queueing: 16 conns ≤ 1.5× the throughput of {WORKERS}, p50 ≥ 2× that of 1"),
            c16.0 <= 1.5 * c4.0 && c16.1 >= 2 * c1.1,
            format!(
                "{} vs {}; p50 {} vs {}",
                fmt_rate(c16.0),
                fmt_rate(c4.0),
                fmt_duration(c16.1),
                fmt_duration(c1.1)
            ),
        );
    } else {
        ctx.check("concurrency sweep measured", false);
    }
    if let (Some(b1), Some(b256)) = (b1, b256) {
        ctx.check_with(
            "batching amortises the per-request cost: 256 items/req ≥ 4× the items/s of 1, at a higher p50",
            b256.0 >= 4.0 * b1.0 && b256.1 > b1.1,
            format!(
                "{} vs {}; p50 {} vs {}",
                fmt_rate(b256.0),
                fmt_rate(b1.0),
                fmt_duration(b256.1),
                fmt_duration(b1.1)
            ),
        );
    } else {
        ctx.check("batch sweep measured", false);
    }
    ctx.check_with(
        "no runtime or sampler thread outlives its point",
        leaked.is_empty(),
        format!("{} left", leaked.len()),
    );
    if let (Some(c1), Some(c4), Some(c16), Some(b1), Some(b256)) = (c1, c4, c16, b1, b256) {
        ctx.takeaway(format!(
            "Throughput grows with concurrency only up to the {WORKERS} slots ({} → {} from 1 to {WORKERS} conns, {} at 16), \
             after which each extra request only waits (p50 {} → {}); batching trades latency for throughput \
             (items/s {} → {}, p50 {} → {}). Open loop at {:.0} % of capacity kept {:.1} requests in flight on average at a mean W of {}, and Little's law \
             tied throughput, latency and in flight together within {:.1} % at every point: fixing any two fixes the third.",
            fmt_rate(c1.0),
            fmt_rate(c4.0),
            fmt_rate(c16.0),
            fmt_duration(c1.1),
            fmt_duration(c16.1),
            fmt_rate(b1.0),
            fmt_rate(b256.0),
            fmt_duration(b1.1),
            fmt_duration(b256.1),
            100.0 * loads.last().copied().unwrap_or(0.0),
            open_in_flight,
            fmt_duration(open_w),
            100.0 * worst,
        ));
    }
}
