//! `spill`: word count with a memory budget of a tenth of the input. Map tasks write sorted runs to
//! disk each time their buffer passes its share, reduce tasks merge every run of their partition
//! k-way, and the output is byte for byte the in-memory run's.
use std::path::Path;

use harness::Ctx;
use harness::rng::XorShift64Star;
use harness::tempdir::TempDir;
use mapreduce::jobs::WordCount;
use mapreduce::{Input, JobReport};

use super::corpus;
use super::jobs::engine;

pub(crate) fn run(ctx: &mut Ctx) {
    let dir = match TempDir::new("phase5-ex2-spill") {
        Ok(d) => d,
        Err(e) => {
            ctx.check_with("a temporary directory", false, e.to_string());
            return;
        }
    };
    if let Err(e) = run_in(ctx, dir.path()) {
        ctx.check_with("the jobs ran", false, e);
    }
}

fn run_in(ctx: &mut Ctx, dir: &Path) -> Result<(), String> {
    let (files, bytes_each, vocab) = (4, ctx.pick(1_500_000, 60_000), ctx.pick(200_000, 20_000));
    let mut rng = XorShift64Star::new(17);
    let words = corpus::vocabulary(&mut rng, vocab);
    let texts = corpus::text_files(
        19,
        files,
        bytes_each,
        &words,
        &corpus::Zipf::new(vocab, 0.8),
    );
    let paths = corpus::write(dir, "text", &texts).map_err(|e| e.to_string())?;
    let input = Input::lines(&paths);
    let total: usize = texts.iter().map(Vec::len).sum();
    let budget = total / 10;
    ctx.say(format!(
        "Word count over {files} files, {:.1} MB in all (Zipf s=0.8 over {vocab} words, so the \
         combiner cannot shrink the pairs to a few keys), in memory and then under a budget of {} \
         KB, a tenth of the input.",
        total as f64 / 1e6,
        budget / 1000
    ));
    let memory = engine()
        .run(&WordCount::job(), &input, dir.join("memory"))
        .map_err(|e| e.to_string())?;
    let spilled = engine()
        .memory_budget(Some(budget))
        .run(&WordCount::job(), &input, dir.join("spilled"))
        .map_err(|e| e.to_string())?;
    let read = |r: &JobReport| corpus::read_parts(&r.outputs).map_err(|e| e.to_string());
    let (a, b) = (read(&memory)?, read(&spilled)?);
    let mut table = ctx.table(
        "word count in memory and under the budget",
        &[
            "mode",
            "time ms",
            "map ms",
            "reduce ms",
            "spilled runs",
            "spilled MB",
            "output bytes",
        ],
    );
    for (mode, r) in [("in memory", &memory), ("budget 1/10", &spilled)] {
        table.row([
            mode.to_owned(),
            format!("{:.1}", r.elapsed.as_secs_f64() * 1e3),
            format!("{:.1}", r.map_time.as_secs_f64() * 1e3),
            format!("{:.1}", r.reduce_time.as_secs_f64() * 1e3),
            r.spilled_runs.to_string(),
            format!("{:.2}", r.spilled_bytes as f64 / 1e6),
            r.output_bytes.to_string(),
        ]);
    }
    ctx.show(table);
    let ratio = spilled.elapsed.as_secs_f64() / memory.elapsed.as_secs_f64().max(1e-9);
    ctx.record("budget_bytes", budget as u64);
    ctx.record("spilled_runs", spilled.spilled_runs);
    ctx.record("spilled_bytes", spilled.spilled_bytes);
    ctx.record("spill_time_ratio", ratio);
    // Each map task's last spill writes one run per partition it holds pairs for; more runs than
    // that means tasks spilled mid-split, so reduce tasks merged several runs from one task.
    let final_runs = (spilled.splits * spilled.reducers) as u64;
    ctx.takeaway(format!(
        "Under the budget the job wrote {} sorted runs ({:.2} MB) and merged them, {ratio:.2}× the \
         in-memory time here; the output did not change by a byte.",
        spilled.spilled_runs,
        spilled.spilled_bytes as f64 / 1e6
    ));
    ctx.check(
        "the output under the budget is byte-identical to the in-memory run",
        a == b,
    );
    ctx.check(
        "and both equal the sequential reference",
        corpus::output_lines(&a) == corpus::wordcount(&texts),
    );
    ctx.check_with(
        "map tasks spilled mid-split (more runs than one per task and partition)",
        spilled.spilled_runs > final_runs,
        format!("{} runs, {final_runs} final ones", spilled.spilled_runs),
    );
    ctx.check_with(
        "the in-memory run spilled nothing",
        memory.spilled_runs == 0,
        memory.spilled_runs.to_string(),
    );
    Ok(())
}
