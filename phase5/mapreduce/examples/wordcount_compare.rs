//! Word count three ways, one per process, so that each can be measured on its own (for example by
//! `perf stat -e instructions:u`, which the machine's load does not change): the engine, idiomatic
//! rayon, or one sequential thread — the same three as `benches/wordcount.rs`, on the same corpus.
//!
//! ```text
//! cargo run --release -p mapreduce --example wordcount_compare -- corpus DIR
//! cargo run --release -p mapreduce --example wordcount_compare -- ours|rayon|sequential OUT FILE...
//! ```
//! `corpus DIR` writes the bench's Zipf corpus (4 files of 4 MB, 100 000 words, s = 1.0) into DIR
//! and prints the paths. `ours` writes `OUT/part-*` (OUT must not hold `part-` files yet) on 2
//! threads, 8 splits and 2 reducers, as the bench does; `rayon` (2 threads) and `sequential` write
//! the file OUT. Bad arguments: a message and exit code 2.
use std::path::PathBuf;
use std::process::ExitCode;

use mapreduce::{Engine, Input, jobs::WordCount};

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/wordcount_peers.rs"]
mod peers;

const THREADS: usize = 2;

fn usage(problem: &str) -> ExitCode {
    eprintln!("wordcount_compare: {problem}");
    eprintln!("usage: wordcount_compare corpus DIR");
    eprintln!("       wordcount_compare ours|rayon|sequential OUT FILE...");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((how, rest)) = args.split_first() else {
        return usage("which path to run is missing");
    };
    if how == "corpus" {
        let [dir] = rest else {
            return usage("corpus takes one directory");
        };
        let dir = PathBuf::from(dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return usage(&format!("{}: {e}", dir.display()));
        }
        for path in common::zipf_corpus(&dir, 4, 4_000_000, 100_000, 1.0) {
            println!("{}", path.display());
        }
        return ExitCode::SUCCESS;
    }
    let Some((out, files)) = rest.split_first().filter(|(_, files)| !files.is_empty()) else {
        return usage("an output path and at least one input file are needed");
    };
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return usage(&format!("{}: not a file", missing.display()));
    }
    let out = PathBuf::from(out);
    match how.as_str() {
        "ours" => {
            let engine = Engine::new()
                .threads(THREADS)
                .splits(4 * THREADS)
                .reducers(THREADS);
            match engine.run(&WordCount::job(), &Input::lines(&paths), &out) {
                Ok(report) => println!("{report}"),
                Err(e) => {
                    eprintln!("wordcount_compare: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        "rayon" => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(THREADS)
                .build()
                .expect("a rayon pool");
            peers::with_rayon(&pool, &paths, &out);
        }
        "sequential" => peers::sequential(&paths, &out),
        other => return usage(&format!("unknown path {other:?}")),
    }
    ExitCode::SUCCESS
}
