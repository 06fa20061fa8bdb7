//! `skew`: a Zipf (s = 1.2) corpus through word count without its combiner, so every pair reaches
//! its reducer. The map tasks' Space-Saving sketches, merged, name the hot keys; the per-reducer
//! input shows the reducer a hot key makes the straggler. Then the same corpus through the
//! successors job (each word's distinct next words: a combiner that keeps every distinct value),
//! unsplit and with its heavy keys split: the largest reduce-side task's share of the input drops,
//! the output is byte-identical, and a job that does not declare itself splittable is refused.
use std::collections::HashMap;
use std::path::Path;

use harness::Ctx;
use harness::rng::XorShift64Star;
use harness::tempdir::TempDir;
use mapreduce::jobs::Successors;
use mapreduce::{Emitter, Input, Job, JobError, JobReport, Output, Record, RecordError};

use super::corpus;
use super::jobs::{engine, threads};

/// Word count with no combiner: the shape of any job whose values cannot be folded on the map side
/// (a join, a posting list), where a hot key's every pair lands on one reducer.
struct Uncombined;

impl Job for Uncombined {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;

    fn map<'r>(
        &self,
        r: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        for word in r
            .bytes
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
        {
            emit.emit_ref(word, 1);
        }
        Ok(())
    }

    fn reduce(&self, key: &Vec<u8>, v: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        let count = v.iter().sum::<u64>().to_string();
        out.write(&[key.as_slice(), b"\t", count.as_bytes(), b"\n"].concat());
        Ok(())
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let dir = match TempDir::new("phase5-ex2-skew") {
        Ok(d) => d,
        Err(e) => {
            ctx.check_with("a temporary directory", false, e.to_string());
            return;
        }
    };
    if let Err(e) = run_in(ctx, dir.path()) {
        ctx.check_with("the job ran", false, e);
    }
}

fn run_in(ctx: &mut Ctx, dir: &Path) -> Result<(), String> {
    let (files, bytes_each, vocab, capacity) = (4, ctx.pick(600_000, 50_000), 20_000, 64);
    let mut rng = XorShift64Star::new(31);
    let words = corpus::vocabulary(&mut rng, vocab);
    let texts = corpus::text_files(
        37,
        files,
        bytes_each,
        &words,
        &corpus::Zipf::new(vocab, 1.2),
    );
    let paths = corpus::write(dir, "text", &texts).map_err(|e| e.to_string())?;
    let reducers = 4;
    let report = engine()
        .reducers(reducers)
        .detect_heavy_keys(Some(capacity))
        .run(&Uncombined, &Input::lines(&paths), dir.join("out"))
        .map_err(|e| e.to_string())?;
    let mut truth: HashMap<&[u8], u64> = HashMap::new();
    for text in &texts {
        for word in text
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
        {
            *truth.entry(word).or_default() += 1;
        }
    }
    let n = report.map_output_pairs;
    ctx.say(format!(
        "Word count without a combiner over {files} files (Zipf s=1.2 over {vocab} words): {n} \
         pairs into {reducers} reducers. Each map task counts its keys in a Space-Saving sketch of \
         {capacity} counters; the sketches are merged after the map phase."
    ));
    let mut table = ctx.table(
        format!("the heavy keys (surely ≥ 1/{capacity} of the pairs), from the merged sketches"),
        &["key", "pairs ≥", "pairs ≤", "exact", "share", "partition"],
    );
    let mut bounds_hold = true;
    for heavy in report.heavy_keys.iter().take(8) {
        let exact = truth.get(heavy.key.as_slice()).copied().unwrap_or(0);
        bounds_hold &= heavy.pairs_at_least <= exact && exact <= heavy.pairs_at_most;
        table.row([
            String::from_utf8_lossy(&heavy.key).into_owned(),
            heavy.pairs_at_least.to_string(),
            heavy.pairs_at_most.to_string(),
            exact.to_string(),
            format!("{:.1}%", 100.0 * exact as f64 / n.max(1) as f64),
            heavy.partition.to_string(),
        ]);
    }
    ctx.show(table);
    let inputs = &report.reduce_input_values;
    let mean = inputs.iter().sum::<u64>() as f64 / inputs.len().max(1) as f64;
    let mut table = ctx.table(
        "values into each reduce task (hash partitioning, no splitting)",
        &["reducer", "values", "× mean", "heavy keys"],
    );
    for (p, values) in inputs.iter().enumerate() {
        let hot: Vec<String> = report
            .heavy_keys
            .iter()
            .filter(|h| h.partition == p)
            .take(3)
            .map(|h| String::from_utf8_lossy(&h.key).into_owned())
            .collect();
        table.row([
            p.to_string(),
            values.to_string(),
            format!("{:.2}", *values as f64 / mean.max(1.0)),
            hot.join(" "),
        ]);
    }
    ctx.show(table);
    let hottest = truth
        .iter()
        .max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k)));
    let top = report.heavy_keys.first();
    let max = inputs.iter().copied().max().unwrap_or(0);
    ctx.record("heavy_keys", report.heavy_keys.len() as u64);
    ctx.record("max_over_mean_reducer_input", max as f64 / mean.max(1.0));
    ctx.takeaway(format!(
        "One key's pairs all go to one reducer: the busiest gets {:.2}× the mean input. Word count \
         itself does not suffer (its combiner folds a key to one value per map task); a job whose \
         combiner keeps many values does, and splitting is for that one (below).",
        max as f64 / mean.max(1.0)
    ));
    ctx.check(
        "the sketches report the truly most frequent key first",
        matches!((hottest, top), (Some((k, _)), Some(h)) if *k == h.key.as_slice()),
    );
    ctx.check(
        "every reported key's exact count lies within its bounds",
        bounds_hold && !report.heavy_keys.is_empty(),
    );
    ctx.check_with(
        "each reducer's input adds up to the map output (no pair lost or counted twice)",
        inputs.iter().sum::<u64>() == n,
        format!("{} of {n}", inputs.iter().sum::<u64>()),
    );
    ctx.check(
        "the hottest key's reducer has the largest input",
        top.is_some_and(|h| inputs.get(h.partition) == Some(&max)),
    );
    let input = Input::lines(&paths);
    let refused = engine()
        .split_heavy_keys(Some(2))
        .run(&Uncombined, &input, dir.join("refused"));
    ctx.check_with(
        "splitting a job that does not declare it valid (Job::splittable) is refused",
        matches!(refused, Err(JobError::NotSplittable)),
        format!("{:?}", refused.err()),
    );
    split(ctx, dir, &input, reducers, capacity)
}

/// The successors job unsplit and split: per reduce-side task, the bytes of values it combined or
/// reduced; the output of both runs compared byte for byte.
fn split(
    ctx: &mut Ctx,
    dir: &Path,
    input: &Input,
    reducers: usize,
    capacity: usize,
) -> Result<(), String> {
    let parts = threads();
    let engine = engine()
        .reducers(reducers)
        .detect_heavy_keys(Some(capacity));
    let plain = engine
        .run(&Successors, input, dir.join("plain"))
        .map_err(|e| e.to_string())?;
    let split = engine
        .clone()
        .split_heavy_keys(Some(parts))
        .run(&Successors, input, dir.join("split"))
        .map_err(|e| e.to_string())?;
    let same = corpus::read_parts(&plain.outputs).map_err(|e| e.to_string())?
        == corpus::read_parts(&split.outputs).map_err(|e| e.to_string())?;
    ctx.say(format!(
        "The successors job (each word → its distinct next words) on the same corpus: its combiner \
         drops duplicates but keeps every distinct successor, so a hot word reaches its reducer as \
         a long list from each of the {} map tasks. Split, each heavy key's values are cut into \
         {} parts by map task, each part combined by a task of its own, and the key's reducer \
         merges the parts' lists.",
        split.splits,
        split.split_keys.first().map_or(0, |k| k.parts())
    ));
    let mut table = ctx.table(
        "bytes of values into each reduce-side task (KiB)",
        &["task", "unsplit", "split"],
    );
    let kib = |b: u64| format!("{:.0}", b as f64 / 1024.0);
    for p in 0..reducers {
        table.row([
            format!("reducer {p}"),
            kib(plain.reduce_input_bytes[p]),
            kib(split.reduce_input_bytes[p]),
        ]);
    }
    let part_bytes = part_task_bytes(&split);
    for (i, bytes) in part_bytes.iter().enumerate() {
        table.row([format!("heavy part {i}"), "–".into(), kib(*bytes)]);
    }
    ctx.show(table);
    let share = |loads: &[u64]| {
        let total = loads.iter().sum::<u64>().max(1);
        loads.iter().copied().max().unwrap_or(0) as f64 / total as f64
    };
    let plain_share = share(&plain.reduce_input_bytes);
    let split_loads: Vec<u64> = split
        .reduce_input_bytes
        .iter()
        .chain(&part_bytes)
        .copied()
        .collect();
    let split_share = share(&split_loads);
    let mut table = ctx.table(
        "the reduce side, both ways (times shown, not checked: a loaded machine moves them)",
        &[
            "run",
            "largest task's share",
            "reduce side",
            "of which part tasks",
            "keys split",
        ],
    );
    for (name, report, share) in [
        ("unsplit", &plain, plain_share),
        ("split", &split, split_share),
    ] {
        table.row([
            name.to_string(),
            format!("{:.1}%", 100.0 * share),
            format!("{:.3?}", report.reduce_time),
            format!("{:.3?}", report.split_time),
            report.split_keys.len().to_string(),
        ]);
    }
    ctx.show(table);
    ctx.record("largest_share_unsplit", plain_share);
    ctx.record("largest_share_split", split_share);
    ctx.record("reduce_ms_unsplit", plain.reduce_time.as_secs_f64() * 1e3);
    ctx.record("reduce_ms_split", split.reduce_time.as_secs_f64() * 1e3);
    ctx.takeaway(format!(
        "Splitting {} heavy keys cut the largest reduce-side task's share of the input from \
         {:.1}% to {:.1}%, with the output unchanged.",
        split.split_keys.len(),
        100.0 * plain_share,
        100.0 * split_share
    ));
    ctx.check(
        "the split run's part files are byte-identical to the unsplit run's",
        same,
    );
    ctx.check(
        "the hottest key is among the split keys",
        split
            .heavy_keys
            .first()
            .is_some_and(|h| split.split_keys.iter().any(|k| k.key == h.key)),
    );
    ctx.check_with(
        "the largest reduce-side task's share of the input drops",
        split_share < plain_share,
        format!("{:.1}% → {:.1}%", 100.0 * plain_share, 100.0 * split_share),
    );
    Ok(())
}

/// Bytes of values each heavy-key part task combined (over every split key).
fn part_task_bytes(report: &JobReport) -> Vec<u64> {
    let parts = report.split_keys.first().map_or(0, |k| k.parts());
    (0..parts)
        .map(|i| {
            report
                .split_keys
                .iter()
                .map(|k| k.part_input_bytes[i])
                .sum()
        })
        .collect()
}
