//! `make bench-report`: reads criterion's estimates, prints the ratio table, writes BENCHMARKS.md.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Ours vs the best peer, from criterion's estimates.
#[derive(Parser)]
#[command(about = "Ours vs the best peer per scenario, read from criterion's estimates")]
struct Args {
    /// criterion's output directory.
    #[arg(long, default_value = "target/criterion")]
    criterion_dir: PathBuf,
    /// Where to look for the crates' `benches/targets.toml` files (the workspace root).
    #[arg(long, default_value = ".")]
    targets_root: PathBuf,
    /// Where to write the Markdown report ("-" for stdout only).
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
    /// Exit 1 when a measured target is missed (for people rerunning the numbers; not in CI, where
    /// no bench runs).
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let ms = match benchkit::report::load(&args.criterion_dir) {
        Ok(ms) if ms.is_empty() => {
            eprintln!(
                "error: no benchmark results under {} — run `make bench` first",
                args.criterion_dir.display()
            );
            return ExitCode::from(2);
        }
        Ok(ms) => ms,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let targets = match benchkit::report::load_targets(&args.targets_root) {
        Ok(t) if t.target.is_empty() => {
            eprintln!(
                "error: no benches/targets.toml with a [[target]] under {}",
                args.targets_root.display()
            );
            return ExitCode::from(2);
        }
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let header = format!(
        "Machine: {} ({} cores). {}. Report written {} UTC.",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        harness::exercise::build_line().replace("build: ", "report tool built with: "),
        utc_now()
    );
    let md = benchkit::report::markdown(&ms, &targets, &header);
    print!("{md}");
    if args.out != "-" {
        if let Err(e) = std::fs::write(&args.out, &md) {
            eprintln!("error: cannot write {}: {e}", args.out);
            return ExitCode::from(2);
        }
        eprintln!("(written to {})", args.out);
    }
    if args.check {
        let missed = benchkit::report::missed(&targets.target, &ms);
        for (t, r) in &missed {
            eprintln!(
                "missed: {} — {} / {} = {r:.2}×, bound {:.2}×",
                t.label, t.ours, t.peer, t.max_ratio
            );
        }
        if !missed.is_empty() {
            eprintln!("check: {} target(s) missed", missed.len());
            return ExitCode::from(1);
        }
        eprintln!("check: every measured target met");
    }
    ExitCode::SUCCESS
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// `YYYY-MM-DD HH:MM` from the system clock (civil-from-days, proleptic Gregorian).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}
