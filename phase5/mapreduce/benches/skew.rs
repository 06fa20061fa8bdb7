//! Skew splitting: the successors job (each word's distinct next words) on a Zipf (s = 1.2)
//! corpus, the reduce side timed (the heavy-key part tasks plus the reduce tasks, as
//! `JobReport::reduce_time` measures it) two ways in one group:
//!
//! - `ours-split`: the engine on 2 threads with its heavy keys split into 2 parts;
//! - `baseline-unsplit`: the same engine and input, nothing split (a reference point: the issue's
//!   target is split ≤ 0.7 × unsplit, in `benches/targets.toml`).
//!
//! Before measuring, the two outputs are checked byte-identical. Each iteration runs the whole job
//! and counts its reduce side only; the output directory is removed outside the timed region.
//! Sizes shrink under `debug_assertions`.
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use harness::tempdir::TempDir;
use mapreduce::jobs::Successors;
use mapreduce::{Engine, Input, JobReport};

mod common;

const THREADS: usize = 2;
const FILES: usize = 4;
const BYTES_EACH: usize = if cfg!(debug_assertions) {
    50_000
} else {
    4_000_000
};
const VOCAB: usize = 100_000;

fn engine(split: bool) -> Engine {
    Engine::new()
        .threads(THREADS)
        .splits(4 * THREADS)
        .reducers(THREADS)
        .split_heavy_keys(split.then_some(THREADS))
}

fn run(split: bool, input: &Input, out: &Path) -> JobReport {
    let report = engine(split)
        .run(&Successors, input, out)
        .expect("the engine runs");
    std::fs::remove_dir_all(out).expect("remove the output");
    report
}

fn parts(report: &JobReport) -> Vec<Vec<u8>> {
    report
        .outputs
        .iter()
        .map(|p| std::fs::read(p).expect("read a part file"))
        .collect()
}

fn skew(c: &mut Criterion) {
    let dir = TempDir::new("mapreduce-bench-skew").expect("a temporary directory");
    let paths = common::zipf_corpus(dir.path(), FILES, BYTES_EACH, VOCAB, 1.2);
    let input = Input::lines(&paths);

    // Both ways agree, and the split run did split, before anything is measured.
    let plain = engine(false)
        .run(&Successors, &input, dir.path().join("check-plain"))
        .expect("the engine runs");
    let split = engine(true)
        .run(&Successors, &input, dir.path().join("check-split"))
        .expect("the engine runs");
    assert_eq!(parts(&plain), parts(&split), "splitting changed the output");
    assert!(!split.split_keys.is_empty(), "no heavy key was split");

    let mut g = c.benchmark_group("mapreduce/skew");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    let parameter = format!("zipf1.2-{}MB", FILES * BYTES_EACH / 1_000_000);
    for (name, split) in [("ours-split", true), ("baseline-unsplit", false)] {
        let out = dir.path().join(name);
        g.bench_function(benchkit::id(name, &parameter), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run(split, &input, &out).reduce_time)
                    .sum::<Duration>()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = skew
}
criterion_main!(benches);
