//! Word count over text files, with the one-thread baseline beside the parallel time.
//!
//! ```text
//! cargo run --release -p mapreduce --example wordcount -- OUT_DIR FILE... [--threads N]
//!     [--reducers R] [--memory-budget BYTES] [--backups]
//! ```
//! OUT_DIR must not hold `part-` files yet. Bad arguments: a message and exit code 2.
use std::process::ExitCode;

use mapreduce::{Engine, Input, jobs::WordCount};

fn usage(problem: &str) -> ExitCode {
    eprintln!("wordcount: {problem}");
    eprintln!(
        "usage: wordcount OUT_DIR FILE... [--threads N] [--reducers R] [--memory-budget BYTES] [--backups]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut engine = Engine::new();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: {value:?} is not a whole number"))
        };
        let parsed = match arg.as_str() {
            "--threads" => number("--threads").map(|n| engine = engine.clone().threads(n)),
            "--reducers" => number("--reducers").map(|n| engine = engine.clone().reducers(n)),
            "--memory-budget" => {
                number("--memory-budget").map(|n| engine = engine.clone().memory_budget(Some(n)))
            }
            "--backups" => {
                engine = engine.clone().backup_tasks(true);
                Ok(())
            }
            flag if flag.starts_with("--") => Err(format!("unknown option {flag}")),
            path => {
                paths.push(path.to_string());
                Ok(())
            }
        };
        if let Err(problem) = parsed {
            return usage(&problem);
        }
    }
    if paths.len() < 2 {
        return usage("an output directory and at least one input file are needed");
    }
    let output = paths.remove(0);
    match engine.run_with_baseline(&WordCount::job(), &Input::lines(&paths), &output) {
        Ok(report) => {
            println!("{report}");
            for part in &report.outputs {
                println!("{}", part.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wordcount: {e}");
            ExitCode::from(if matches!(e, mapreduce::JobError::TaskFailed { .. }) {
                1
            } else {
                2
            })
        }
    }
}
