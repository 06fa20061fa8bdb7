//! The tiny-task scenarios of `benches/tiny.rs`, every contender measured in interleaved rounds.
//!
//! ```text
//! cargo run --release -p workpool --example interleaved [-- --rounds 9] [--scenario bursts] [--only ours,rusty_pool]
//! ```
//!
//! Criterion measures one contender after another, each for a few seconds. On a shared virtual
//! machine whose speed drifts by a third from one minute to the next (seen on the 2-core VM these
//! figures come from: the same contender at 450 and 650 ns a task ten seconds apart), a slow minute
//! lands on one contender and the ratio carries it. Here each round runs every contender once, one
//! after the other, so a drift hits all of them alike, and the table gives each contender's fastest
//! and median round, and the median CPU time per task of the whole process (every thread, from
//! `/proc/self/task/*/schedstat`: what the machine paid, less sensitive to other load than wall
//! time). The ratios compare fastest rounds (the least disturbed: a disturbance only
//! ever adds time) and are checked against the same bounds `make bench-check` reads, from
//! `benches/targets.toml`. Exit status 1 when a bound is missed, 2 on a bad flag.
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

// Shared with the benches; this binary uses the contenders and workloads, not the bench helpers.
#[allow(dead_code)]
#[path = "../benches/contenders/mod.rs"]
mod contenders;
use contenders::{Contender, LABELS, bursts, from_many, one_submitter};

use benchkit::report::TargetFile;

const WORKERS: usize = 2;
const TASKS: usize = 100_000;
const SUBMITTERS: usize = 100;
const BURSTS: usize = 20;

/// The scenarios, by the parameter names of the bench groups.
const SCENARIOS: [(&str, &str); 3] = [
    ("workpool/tiny", "1x100k"),
    ("workpool/tiny", "100x1k"),
    ("workpool/bursts", "20x5k"),
];

struct Args {
    rounds: usize,
    scenario: Option<String>,
    only: Option<Vec<String>>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rounds: 9,
        scenario: None,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => {
                let v = value()?;
                args.rounds = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--rounds: '{v}' is not a positive number"))?;
            }
            "--scenario" => {
                let v = value()?;
                if !SCENARIOS
                    .iter()
                    .any(|(g, p)| v == *p || g.ends_with(&format!("/{v}")))
                {
                    return Err(format!(
                        "--scenario: '{v}' is none of 1x100k, 100x1k, bursts"
                    ));
                }
                args.scenario = Some(v);
            }
            "--only" => {
                let v = value()?;
                let labels: Vec<String> = v.split(',').map(str::to_owned).collect();
                if let Some(bad) = labels.iter().find(|l| !LABELS.contains(&l.as_str())) {
                    return Err(format!(
                        "--only: '{bad}' is not a contender (one of {})",
                        LABELS.join(", ")
                    ));
                }
                args.only = Some(labels);
            }
            "-h" | "--help" => {
                println!(
                    "usage: interleaved [--rounds N] [--scenario 1x100k|100x1k|bursts] [--only LABEL,...]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag '{other}' (try --help)")),
        }
    }
    Ok(args)
}

/// CPU time of the whole process so far (every thread's, from `/proc/self/task/*/schedstat`, in
/// ns), or `None` where that is not readable.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path().join("schedstat");
        // A thread that exited between the listing and the read is simply not counted.
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(Duration::from_nanos(total))
}

/// One iteration of a scenario on one pool: its wall time and CPU time (all threads) per task.
fn measure(group: &str, param: &str, pool: &Contender) -> (Duration, Option<Duration>) {
    let cpu0 = process_cpu();
    let wall = measure_wall(group, param, pool);
    let cpu = cpu0
        .zip(process_cpu())
        .map(|(a, b)| b.saturating_sub(a) / TASKS as u32);
    (wall, cpu)
}

fn measure_wall(group: &str, param: &str, pool: &Contender) -> Duration {
    let elapsed = match (group, param) {
        ("workpool/tiny", "1x100k") => {
            let start = Instant::now();
            one_submitter(pool, TASKS);
            start.elapsed()
        }
        ("workpool/tiny", _) => from_many(pool, SUBMITTERS, TASKS / SUBMITTERS),
        _ => {
            let start = Instant::now();
            bursts(pool, BURSTS, TASKS / BURSTS);
            start.elapsed()
        }
    };
    elapsed / TASKS as u32
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let targets_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/targets.toml");
    let targets = match std::fs::read_to_string(&targets_path)
        .map_err(|e| format!("{}: {e}", targets_path.display()))
        .and_then(|text| TargetFile::parse(&text, &targets_path))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let labels: Vec<&str> = LABELS
        .iter()
        .copied()
        .filter(|l| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == l)))
        .collect();
    let pools: Vec<Contender> = labels.iter().map(|l| Contender::new(l, WORKERS)).collect();
    let mut missed = 0;
    for (group, param) in SCENARIOS {
        if let Some(s) = &args.scenario
            && s != param
            && !group.ends_with(&format!("/{s}"))
        {
            continue;
        }
        println!(
            "{group} [{param}], {} interleaved rounds, {WORKERS} workers",
            args.rounds
        );
        // One warm-up round: queues grown, threads started, caches warm.
        for pool in &pools {
            measure(group, param, pool);
        }
        // CPU time is every thread's, the pool's and the submitters': what the machine paid.
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); pools.len()];
        let mut cpus: Vec<Vec<Duration>> = vec![Vec::new(); pools.len()];
        for _ in 0..args.rounds {
            for (k, pool) in pools.iter().enumerate() {
                let (wall, cpu) = measure(group, param, pool);
                times[k].push(wall);
                cpus[k].extend(cpu);
            }
        }
        let mut fastest = Vec::new();
        println!(
            "  {:<22} {:>12} {:>12} {:>14}",
            "contender", "fastest/task", "median/task", "CPU/task (med)"
        );
        for ((label, t), c) in labels.iter().zip(&mut times).zip(&mut cpus) {
            t.sort();
            c.sort();
            let (min, median) = (t[0], t[t.len() / 2]);
            let cpu = c
                .get(c.len() / 2)
                .map_or_else(|| "-".to_owned(), |d| format!("{d:?}"));
            println!("  {label:<22} {:>12?} {:>12?} {cpu:>14}", min, median);
            fastest.push((*label, min));
        }
        let min_of = |l: &str| fastest.iter().find(|(x, _)| *x == l).map(|&(_, d)| d);
        for t in targets.target.iter().chain(&targets.pair) {
            if t.group != group || t.parameter != param {
                continue;
            }
            let (Some(ours), Some(peer)) = (min_of(&t.ours), min_of(&t.peer)) else {
                continue;
            };
            let ratio = ours.as_secs_f64() / peer.as_secs_f64();
            let verdict = if t.max_ratio.is_finite() {
                let ok = ratio <= t.max_ratio;
                missed += usize::from(!ok);
                format!("≤ {:.2}× {}", t.max_ratio, if ok { "✓" } else { "✗" })
            } else {
                "(no bound)".to_owned()
            };
            println!("  {} / {}: {ratio:.3}×  {verdict}", t.ours, t.peer);
        }
        println!();
    }
    for pool in pools {
        pool.shutdown();
    }
    if missed > 0 {
        println!("{missed} bound(s) missed");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
