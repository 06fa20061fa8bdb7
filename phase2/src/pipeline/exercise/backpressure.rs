//! `backpressure`: a producer twice as fast as the sink. With bounded channels a full channel blocks the stage
//! before it, so the queue (and the memory it holds) stays at most `bound` per channel; with unbounded
//! channels nothing pushes back, and the whole input piles up in front of the sink. The depth of every
//! channel is sampled (`len()`) from a sampler thread while the pipeline runs.
use std::mem::size_of;
use std::time::Duration;

use harness::Ctx;
use harness::stats::{fmt_bytes, fmt_duration};

use crate::pipeline::corpus;
use crate::pipeline::{Plan, Run, tasks, threads};

const BOUND: usize = 8;

/// Average bytes one queued item holds in each channel (inline tuple + heap), from the corpus itself.
fn item_bytes(lines: &[String]) -> [f64; 3] {
    let n = lines.len().max(1) as f64;
    let vec_bytes = |ws: &[String]| {
        (size_of::<(u64, Vec<String>)>()
            + std::mem::size_of_val(ws)
            + ws.iter().map(String::len).sum::<usize>()) as f64
    };
    let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
    for l in lines {
        a += (size_of::<(u64, String)>() + l.len()) as f64;
        let tokens = corpus::parse(l);
        b += vec_bytes(&tokens);
        c += vec_bytes(&corpus::transform(tokens));
    }
    [a / n, b / n, c / n]
}

fn peak_bytes(r: &Run, per_item: [f64; 3]) -> u64 {
    r.samples
        .iter()
        .map(|s| (0..3).map(|i| s.depth[i] as f64 * per_item[i]).sum::<f64>() as u64)
        .max()
        .unwrap_or(0)
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(400, 150);
    let pace = Duration::from_millis(1);
    let delay = Duration::from_millis(2);
    let every = Duration::from_millis(3);
    let lines = corpus::corpus(n, 7);
    let per_item = item_bytes(&lines);
    ctx.say(format!(
        "{n} lines produced one per {}, a sink that sleeps {} per item (half the producer's rate); \
         depth of the three channels sampled every {}.",
        fmt_duration(pace),
        fmt_duration(delay),
        fmt_duration(every)
    ));
    let plan = |bound| Plan {
        source_delay: pace,
        sink_delay: delay,
        sample_every: Some(every),
        ..Plan::new(lines.clone(), bound)
    };
    let bounded = threads::run(plan(Some(BOUND)));
    let unbounded = threads::run(plan(None));
    let rt = tasks::runtime();
    let async_bounded = rt.block_on(tasks::run(plan(Some(BOUND))));
    drop(rt);

    // Depth over time: eight evenly spaced samples of each run.
    let mut t = ctx.table(
        format!("queue depth over time (gen→parse / parse→xform / xform→agg), bound = {BOUND}"),
        &[
            "sample",
            "bounded: t",
            "bounded: depths",
            "unbounded: t",
            "unbounded: depths",
        ],
    );
    let rows = 8;
    let pick = |r: &Run, k: usize| {
        let len = r.samples.len();
        (len > 0).then(|| r.samples[k * (len - 1) / (rows - 1)])
    };
    for k in 0..rows {
        let cell = |s: Option<crate::pipeline::DepthSample>| match s {
            Some(s) => (
                fmt_duration(s.at),
                format!("{} / {} / {}", s.depth[0], s.depth[1], s.depth[2]),
            ),
            None => ("-".into(), "-".into()),
        };
        let (bt, bd) = cell(pick(&bounded, k));
        let (ut, ud) = cell(pick(&unbounded, k));
        t.row([format!("{}", k + 1), bt, bd, ut, ud]);
    }
    ctx.show(t);

    let mut s = ctx.table(
        "peaks over all samples",
        &[
            "channels",
            "samples",
            "peak depth per channel",
            "peak memory queued (est.)",
            "time",
            "all lines counted",
        ],
    );
    let reference = corpus::sequential(&lines);
    for (name, r) in [
        ("threads, bounded", &bounded),
        ("threads, unbounded", &unbounded),
        ("tokio tasks, bounded", &async_bounded),
    ] {
        s.row([
            name.to_string(),
            r.samples.len().to_string(),
            format!(
                "{} / {} / {}",
                r.peak_depth(0),
                r.peak_depth(1),
                r.peak_depth(2)
            ),
            fmt_bytes(peak_bytes(r, per_item)),
            fmt_duration(r.elapsed),
            if r.counts == reference && r.delivered.len() == n {
                "yes"
            } else {
                "NO"
            }
            .to_string(),
        ]);
    }
    ctx.show(s);

    let bounded_ok = bounded
        .samples
        .iter()
        .all(|s| s.depth.iter().all(|&d| d <= BOUND));
    let unbounded_peak = (0..3).map(|i| unbounded.peak_depth(i)).max().unwrap_or(0);
    let first_total: usize = unbounded
        .samples
        .first()
        .map_or(0, |s| s.depth.iter().sum());
    ctx.record("bound", BOUND);
    ctx.record("bounded_samples", bounded.samples.len());
    ctx.record(
        "bounded_peak_depth",
        (0..3).map(|i| bounded.peak_depth(i)).max().unwrap_or(0),
    );
    ctx.record("unbounded_peak_depth", unbounded_peak);
    ctx.record("bounded_peak_bytes", peak_bytes(&bounded, per_item));
    ctx.record("unbounded_peak_bytes", peak_bytes(&unbounded, per_item));
    ctx.record("bounded_s", bounded.elapsed.as_secs_f64());
    ctx.record("unbounded_s", unbounded.elapsed.as_secs_f64());
    ctx.check_with(
        format!("threads, bounded: every channel's depth ≤ {BOUND} at every one of the samples"),
        bounded_ok && bounded.samples.len() >= 10,
        format!("{} samples", bounded.samples.len()),
    );
    let async_ok = async_bounded
        .samples
        .iter()
        .all(|s| s.depth.iter().all(|&d| d <= BOUND));
    ctx.check_with(
        format!("tokio tasks, bounded: every channel's depth ≤ {BOUND} at every sample, and the bound is reached"),
        async_ok && async_bounded.samples.len() >= 10 && async_bounded.peak_depth(2) == BOUND,
        format!("{} samples", async_bounded.samples.len()),
    );
    ctx.check_with(
        format!(
            "threads, unbounded: the queue in front of the slow sink grows over the run, past 4 × {BOUND}"
        ),
        unbounded_peak > 4 * BOUND && unbounded_peak > first_total + 2 * BOUND,
        format!("peak {unbounded_peak}, first sample {first_total}"),
    );
    ctx.check(
        "every run counted every line (backpressure slows the producer, loses nothing)",
        bounded.counts == reference
            && unbounded.counts == reference
            && async_bounded.counts == reference
            && bounded.delivered.len() == n
            && unbounded.delivered.len() == n
            && async_bounded.delivered.len() == n,
    );
    ctx.check_with(
        "unbounded buys no throughput behind a slow sink (its time ≥ half the bounded one's)",
        unbounded.elapsed * 2 >= bounded.elapsed,
        format!(
            "{} vs {}",
            fmt_duration(unbounded.elapsed),
            fmt_duration(bounded.elapsed)
        ),
    );
    ctx.takeaway(format!(
        "Behind a sink that takes {} per item both runs took the sink's time ({} bounded, {} unbounded), but \
         the unbounded one queued up to {unbounded_peak} items (~{}) where the bounded one never held more \
         than {BOUND} per channel (~{}): the bound is the memory budget, and it costs no throughput.",
        fmt_duration(delay),
        fmt_duration(bounded.elapsed),
        fmt_duration(unbounded.elapsed),
        fmt_bytes(peak_bytes(&unbounded, per_item)),
        fmt_bytes(peak_bytes(&bounded, per_item)),
    ));
}
