//! `stages`: the same word count four ways — one sequential loop, threads with bounded and unbounded
//! crossbeam channels, tokio tasks with bounded `mpsc` — must give the same aggregate, and every item
//! must reach the sink exactly once, in order.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{fmt_duration, fmt_rate};

use crate::pipeline::corpus::{self, Counts};
use crate::pipeline::{Plan, Run, tasks, threads};

const BOUND: usize = 64;
const SEED: u64 = 0x5EED;

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(20_000, 4_000);
    let lines = corpus::corpus(n, SEED);
    let bytes: usize = lines.iter().map(String::len).sum();
    ctx.say(format!(
        "Corpus: {n} generated lines ({} KiB, seed {SEED:#x}); each stage is one thread or task.",
        bytes / 1024
    ));

    let t0 = Instant::now();
    let reference = corpus::sequential(&lines);
    let seq_time = t0.elapsed();

    let rt = tasks::runtime();
    let runs: Vec<(&str, String, Run)> = vec![
        (
            "threads",
            BOUND.to_string(),
            threads::run(Plan::new(lines.clone(), Some(BOUND))),
        ),
        (
            "threads",
            "unbounded".into(),
            threads::run(Plan::new(lines.clone(), None)),
        ),
        (
            "tokio tasks",
            BOUND.to_string(),
            rt.block_on(tasks::run(Plan::new(lines.clone(), Some(BOUND)))),
        ),
    ];
    drop(rt);

    let total: u64 = reference.values().sum();
    let mut t = ctx.table(
        "word count over the corpus",
        &[
            "version",
            "bound",
            "time",
            "lines/s",
            "distinct words",
            "words counted",
            "= sequential",
            "delivered once, in order",
        ],
    );
    let rate = |d: Duration| fmt_rate(n as f64 / d.as_secs_f64().max(1e-9));
    t.row([
        "sequential loop".to_string(),
        "-".into(),
        fmt_duration(seq_time),
        rate(seq_time),
        reference.len().to_string(),
        total.to_string(),
        "-".into(),
        "-".into(),
    ]);
    let mut all_equal = true;
    let mut all_once = true;
    for (version, bound, r) in &runs {
        let equal = r.counts == reference;
        let once = exactly_once_in_order(r, n);
        all_equal &= equal;
        all_once &= once;
        t.row([
            version.to_string(),
            bound.clone(),
            fmt_duration(r.elapsed),
            rate(r.elapsed),
            r.counts.len().to_string(),
            r.counts.values().sum::<u64>().to_string(),
            mark(equal),
            mark(once),
        ]);
    }
    ctx.show(t);
    top_words(ctx, &reference);

    let thr = runs[0].2.elapsed;
    let tok = runs[2].2.elapsed;
    ctx.record("lines", n);
    ctx.record("sequential_s", seq_time.as_secs_f64());
    ctx.record("threads_bounded_s", thr.as_secs_f64());
    ctx.record("threads_unbounded_s", runs[1].2.elapsed.as_secs_f64());
    ctx.record("tasks_bounded_s", tok.as_secs_f64());
    ctx.check(
        "threads (bounded and unbounded) and tokio tasks all equal the sequential word count",
        all_equal,
    );
    ctx.check(
        "every line reached the sink exactly once and in input order, in every version",
        all_once,
    );
    let slowest = thr.max(tok);
    let verdict = if slowest > seq_time {
        "per-line work is tiny, so the hand-offs between stages cost more than running stages side by side \
         gains; a pipeline pays off when its stages are slow or wait on I/O"
    } else {
        "the stages overlapped enough to beat the single loop"
    };
    ctx.takeaway(format!(
        "Same answer every way. The 4-stage pipeline took {} (threads) and {} (tasks) against {} for one \
         loop: {verdict}.",
        fmt_duration(thr),
        fmt_duration(tok),
        fmt_duration(seq_time)
    ));
}

fn exactly_once_in_order(r: &Run, n: usize) -> bool {
    r.error.is_none() && r.delivered.len() == n && r.delivered.iter().copied().eq(0..n as u64)
}

fn mark(ok: bool) -> String {
    if ok { "yes" } else { "NO" }.to_string()
}

fn top_words(ctx: &mut Ctx, counts: &Counts) {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut t = ctx.table(
        "the five most frequent words (the aggregate)",
        &["word", "count"],
    );
    for (w, c) in v.into_iter().take(5) {
        t.row([w.clone(), c.to_string()]);
    }
    ctx.show(t);
}
