//! Word count on a Zipf (s = 1.0) corpus of files, three ways in one group, each ending with the
//! same `word\tcount` lines on disk:
//!
//! - `ours`: the engine on 2 threads (the machine's cores), default splits, 2 reducers;
//! - `rayon`: what a rayon user writes — lines of every file in parallel, folded into per-thread
//!   hash maps, reduced by merging the maps, then sorted and written;
//! - `baseline-sequential`: one thread, one hash map, sorted and written (the COST paper's "one
//!   good thread").
//!
//! Before measuring, the three outputs are checked equal. The output directory of each engine run
//! is removed outside the timed region (`iter_custom`). Sizes shrink under `debug_assertions`.
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use harness::tempdir::TempDir;
use mapreduce::jobs::WordCount;
use mapreduce::{Engine, Input};

mod common;
#[path = "common/wordcount_peers.rs"]
mod peers;
use peers::{sequential, with_rayon};

const THREADS: usize = 2;
const FILES: usize = 4;
const BYTES_EACH: usize = if cfg!(debug_assertions) {
    50_000
} else {
    4_000_000
};
const VOCAB: usize = 100_000;

fn engine() -> Engine {
    Engine::new()
        .threads(THREADS)
        .splits(4 * THREADS)
        .reducers(THREADS)
}

/// The engine's output as one sorted list of lines.
fn engine_lines(report: &mapreduce::JobReport) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = report
        .outputs
        .iter()
        .flat_map(|p| {
            let text = std::fs::read(p).unwrap();
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort_unstable();
    lines
}

fn file_lines(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).unwrap();
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn wordcount(c: &mut Criterion) {
    let dir = TempDir::new("mapreduce-bench-wordcount").expect("a temporary directory");
    let paths = common::zipf_corpus(dir.path(), FILES, BYTES_EACH, VOCAB, 1.0);
    let input = Input::lines(&paths);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("a rayon pool");

    // The three agree before anything is measured.
    let report = engine()
        .run(&WordCount::job(), &input, dir.path().join("check"))
        .expect("the engine runs");
    sequential(&paths, &dir.path().join("sequential.txt"));
    with_rayon(&pool, &paths, &dir.path().join("rayon.txt"));
    let expected = file_lines(&dir.path().join("sequential.txt"));
    assert_eq!(
        engine_lines(&report),
        expected,
        "ours differs from the reference"
    );
    assert_eq!(
        file_lines(&dir.path().join("rayon.txt")),
        expected,
        "rayon differs"
    );

    let mut g = c.benchmark_group("mapreduce/wordcount");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes((FILES * BYTES_EACH) as u64));
    let parameter = format!("{}MB", FILES * BYTES_EACH / 1_000_000);
    g.bench_function(benchkit::id("ours", &parameter), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let out = dir.path().join("ours");
                let started = Instant::now();
                engine()
                    .run(&WordCount::job(), &input, &out)
                    .expect("the engine runs");
                spent += started.elapsed();
                std::fs::remove_dir_all(&out).expect("remove the output");
            }
            spent
        })
    });
    let out = dir.path().join("rayon.txt");
    g.bench_function(benchkit::id("rayon", &parameter), |b| {
        b.iter(|| with_rayon(&pool, &paths, &out))
    });
    let out = dir.path().join("sequential.txt");
    g.bench_function(benchkit::id("baseline-sequential", &parameter), |b| {
        b.iter(|| sequential(&paths, &out))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = wordcount
}
criterion_main!(benches);
