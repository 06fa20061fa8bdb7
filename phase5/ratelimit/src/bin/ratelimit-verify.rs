//! `ratelimit-verify TRACE.csv --rate 100/s [--burst 10] [--algorithm gcra|all] [--json]`: replays a
//! request trace (CSV `time,key,cost`) through a limiter on a virtual clock and reports the worst
//! window, the largest burst admitted, and the false rejects against the ideal limiter
//! (`ratelimit::verify` says how each is defined). Bad input: a message naming the line, exit 2.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ratelimit::Quota;
use ratelimit::verify::{Algorithm, Report, parse_trace, replay};

#[derive(Parser, Debug)]
#[command(
    name = "ratelimit-verify",
    about = "Replay a request trace (CSV: time,key,cost) through a rate limiter on a virtual clock"
)]
struct Args {
    /// The trace: one `time,key[,cost]` per line, time in seconds (`-` reads standard input).
    trace: PathBuf,
    /// The rate: COUNT/UNIT with UNIT one of ms, s, min, h (e.g. 100/s, 5/min).
    #[arg(long, value_parser = parse_rate)]
    rate: Quota,
    /// The burst (default: the rate's count).
    #[arg(long)]
    burst: Option<u32>,
    /// The algorithm to replay, or `all`.
    #[arg(long, default_value = "all")]
    algorithm: String,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_rate(s: &str) -> Result<Quota, String> {
    let (count, unit) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not COUNT/UNIT (e.g. 100/s)"))?;
    let count: u32 = count
        .parse()
        .map_err(|_| format!("`{count}` is not a whole number of permits"))?;
    let period = match unit {
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => return Err(format!("unit `{other}` is not one of ms, s, min, h")),
    };
    Quota::new(count, period).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ratelimit-verify: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let quota = match args.burst {
        None => args.rate,
        Some(b) => args
            .rate
            .with_burst(b)
            .map_err(|e| format!("--burst: {e}"))?,
    };
    let algorithms: Vec<Algorithm> = if args.algorithm == "all" {
        Algorithm::ALL.to_vec()
    } else {
        vec![Algorithm::from_cli_name(&args.algorithm).ok_or_else(|| {
            let names: Vec<_> = Algorithm::ALL.iter().map(|a| a.cli_name()).collect();
            format!(
                "--algorithm: unknown `{}` (one of: {}, all)",
                args.algorithm,
                names.join(", ")
            )
        })?]
    };
    let name = args.trace.display();
    let text = if args.trace.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(&args.trace).map_err(|e| format!("{name}: {e}"))?
    };
    let trace = parse_trace(&text).map_err(|e| format!("{name}: {e}"))?;
    let reports: Vec<Report> = algorithms
        .iter()
        .map(|&a| replay(&trace, quota, a))
        .collect();
    if args.json {
        let list: Vec<_> = reports.iter().map(to_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).expect("JSON of plain values")
        );
    } else {
        println!(
            "{} requests, {} keys; quota: one permit every {:?}, burst {}",
            trace.len(),
            reports.first().map_or(0, |r| r.keys),
            quota.interval(),
            quota.burst()
        );
        for r in &reports {
            print_report(r);
        }
    }
    Ok(())
}

fn print_report(r: &Report) {
    println!("\n{} ({})", r.name, r.algorithm.cli_name());
    println!(
        "  admitted {}  denied {}  never admissible (cost > burst) {}",
        r.admitted, r.denied, r.never
    );
    match &r.worst_window {
        Some(w) => println!(
            "  worst window: key {:?}, {:?} long from {:.6} s: {} admitted, bound {} ({})",
            w.key,
            w.length(),
            w.from_ns as f64 / 1e9,
            w.admitted,
            w.allowed,
            if w.excess() > 0 {
                format!("OVER by {}", w.excess())
            } else {
                "within".to_string()
            }
        ),
        None => println!("  worst window: nothing admitted"),
    }
    println!(
        "  largest burst in under one interval: {} (burst {})",
        r.largest_burst,
        r.quota.burst()
    );
    println!(
        "  against the ideal (GCRA): {} false rejects, {} over-admits",
        r.false_rejects, r.over_admits
    );
}

fn to_json(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "algorithm": r.algorithm.cli_name(),
        "name": r.name,
        "interval_ns": r.quota.interval_ns(),
        "burst": r.quota.burst(),
        "requests": r.requests,
        "keys": r.keys,
        "admitted": r.admitted,
        "denied": r.denied,
        "never": r.never,
        "worst_window": r.worst_window.as_ref().map(|w| serde_json::json!({
            "key": w.key,
            "from_ns": w.from_ns,
            "to_ns": w.to_ns,
            "admitted": w.admitted,
            "allowed": w.allowed,
            "excess": w.excess(),
        })),
        "largest_burst": r.largest_burst,
        "false_rejects": r.false_rejects,
        "over_admits": r.over_admits,
    })
}
