//! `jobs`: the four built-in jobs on generated files, each checked against a sequential reference,
//! with three times side by side: the reference loop, the engine on one thread, the engine on all
//! threads. Speed-up is the engine against itself on one thread; COST (McSherry et al., HotOS 2015)
//! is how many threads the engine needs to beat the plain loop.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::rng::XorShift64Star;
use harness::tempdir::TempDir;
use mapreduce::jobs::{Grep, InvertedIndex, Sort, WordCount};
use mapreduce::{Engine, Input, Job, JobReport};

use super::corpus;

/// The engine every section uses: all cores (at least 2), default splits and reducers.
pub(crate) fn engine() -> Engine {
    let threads = threads();
    Engine::new()
        .threads(threads)
        .splits(4 * threads)
        .reducers(threads)
}

/// Worker threads: the cores, at least 2.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(2)
}

/// One job's outcome: the report (with its one-thread baseline), the output, the reference's time.
struct Measured {
    report: JobReport,
    parts: Vec<Vec<u8>>,
    reference: Duration,
}

fn measure<J: Job, R>(
    job: &J,
    input: &Input,
    out: &Path,
    reference: impl FnOnce() -> R,
) -> Result<(Measured, R), String> {
    let started = Instant::now();
    let expected = reference();
    let reference = started.elapsed();
    let report = engine()
        .run_with_baseline(job, input, out)
        .map_err(|e| e.to_string())?;
    let parts = corpus::read_parts(&report.outputs).map_err(|e| e.to_string())?;
    Ok((
        Measured {
            report,
            parts,
            reference,
        },
        expected,
    ))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

pub(crate) fn run(ctx: &mut Ctx) {
    let dir = match TempDir::new("phase5-ex2-jobs") {
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
    let io = |e: std::io::Error| e.to_string();
    let (files, bytes_each, vocab) = (4, ctx.pick(2_000_000, 60_000), ctx.pick(50_000, 5_000));
    let record_count = ctx.pick(120_000, 4_000);
    let mut rng = XorShift64Star::new(7);
    let words = corpus::vocabulary(&mut rng, vocab);
    let texts = corpus::text_files(
        11,
        files,
        bytes_each,
        &words,
        &corpus::Zipf::new(vocab, 1.0),
    );
    let text_paths = corpus::write(dir, "text", &texts).map_err(io)?;
    let records = corpus::records(13, record_count, 100);
    let record_paths: Vec<PathBuf> =
        corpus::write(dir, "records", std::slice::from_ref(&records)).map_err(io)?;
    let pattern = words[40].clone().into_bytes();
    ctx.say(format!(
        "{files} text files of {} KB (Zipf s=1.0 over {vocab} words) and {record_count} records of \
         100 bytes, in a temporary directory. Each job runs on {} threads after a run on one; the \
         reference is a plain loop over the same bytes.",
        bytes_each / 1000,
        threads(),
    ));

    let lines = Input::lines(&text_paths);
    let mut table = ctx.table(
        "each job: sequential reference, engine on 1 thread, engine on all threads (ms)",
        &[
            "job",
            "input MB",
            "output records",
            "reference",
            "1 thread",
            "N threads",
            "speed-up",
            "COST",
            "= reference",
        ],
    );
    let mut all_equal = true;
    let mut sorted_within = true;
    let mut add = |ctx: &mut Ctx, name: &str, m: &Measured, equal: bool| {
        let r = &m.report;
        let baseline = r.baseline.unwrap_or_default();
        let cost = if baseline < m.reference {
            "1".to_owned()
        } else if r.elapsed < m.reference {
            r.threads.to_string()
        } else {
            format!("> {}", r.threads)
        };
        let speedup = r.speedup().unwrap_or(0.0);
        table.row([
            name.to_owned(),
            format!("{:.1}", r.input_bytes as f64 / 1e6),
            r.output_records.to_string(),
            ms(m.reference),
            ms(baseline),
            ms(r.elapsed),
            format!("{speedup:.2}×"),
            cost,
            if equal { "✓" } else { "✗" }.to_owned(),
        ]);
        ctx.record(format!("{name}_speedup"), speedup);
        ctx.record(format!("{name}_ms"), r.elapsed.as_secs_f64() * 1e3);
        ctx.record(
            format!("{name}_one_thread_ms"),
            baseline.as_secs_f64() * 1e3,
        );
        ctx.record(
            format!("{name}_reference_ms"),
            m.reference.as_secs_f64() * 1e3,
        );
        all_equal &= equal;
    };

    let (m, expected) = measure(&WordCount::job(), &lines, &dir.join("wc"), || {
        corpus::wordcount(&texts)
    })?;
    sorted_within &= corpus::each_sorted(&m.parts, b'\t');
    add(
        ctx,
        "wordcount",
        &m,
        corpus::output_lines(&m.parts) == expected,
    );

    let (m, expected) = measure(&InvertedIndex, &lines, &dir.join("index"), || {
        corpus::index(&texts)
    })?;
    sorted_within &= corpus::each_sorted(&m.parts, b'\t');
    add(ctx, "index", &m, corpus::output_lines(&m.parts) == expected);

    let (m, expected) = measure(
        &Grep::new(pattern.clone()),
        &lines,
        &dir.join("grep"),
        || corpus::grep(&texts, &pattern),
    )?;
    add(ctx, "grep", &m, corpus::output_lines(&m.parts) == expected);
    let grep_hits = expected.len();

    let fixed = Input::fixed(&record_paths, 100);
    let (m, expected) = measure(&Sort::benchmark(), &fixed, &dir.join("sort"), || {
        corpus::sort(&records, 100)
    })?;
    add(ctx, "sort", &m, m.parts.concat() == expected);
    ctx.show(table);

    ctx.say(format!(
        "grep's pattern {:?} matched {grep_hits} lines. Speed-up: the engine on one thread over the \
         engine on N (measured live; on a loaded machine it shrinks, so it is shown, not checked). \
         COST: threads the engine needs to beat the plain loop (\"> N\": it did not within N).",
        String::from_utf8_lossy(&pattern)
    ));
    ctx.takeaway(
        "Every job's output is the reference's, record for record. The engine pays for its \
         generality (encoding, sorting, files) against a plain loop: judge its threads against \
         that loop, not only against itself on one thread.",
    );
    ctx.check(
        "word count, index, grep and sort equal their sequential references",
        all_equal,
    );
    ctx.check(
        "each word count and index part file is sorted by key",
        sorted_within,
    );
    ctx.check_with(
        "grep's pattern matched some lines (the comparison is not vacuous)",
        grep_hits > 0,
        format!("{grep_hits} lines"),
    );
    Ok(())
}
