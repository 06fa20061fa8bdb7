//! `faults`: word count with faults injected through a job wrapper — map and reduce attempts that
//! panic, a split whose every attempt fails, bad records, and a map task whose first copy stalls —
//! each checked against the clean output and the exact counts.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::rng::XorShift64Star;
use harness::tempdir::TempDir;
use mapreduce::jobs::WordCount;
use mapreduce::{
    Emitter, Input, Job, JobError, JobReport, Output, Record, RecordError, TaskFailure, TaskId,
};

use super::corpus;
use super::jobs::engine;

/// The word whose line makes a map attempt panic, and whose reduce call panics.
const BOOM: &[u8] = b"@boom";
/// A line starting with this is a bad record.
const BAD: &[u8] = b"!!";
/// How many times each injected panic fires before the task is let through.
const PANICS: u32 = 2;

/// Word count with faults. Panics are raised with `resume_unwind`, which skips the panic hook: the
/// engine catches them like any panic, and the terminal stays quiet.
struct Faulty {
    /// Per input file, panics left for the map attempt that reads the file's `@boom` line.
    map_panics: Vec<AtomicU32>,
    /// Panics left for the reduce call of `@boom`.
    reduce_panics: AtomicU32,
    /// Lines starting `!!` are bad records.
    bad_records: bool,
    /// Every attempt reading this file fails.
    failing_file: Option<usize>,
    /// The primary copy of this map task stalls until this path (the task's committed runs) exists.
    straggler: Option<(usize, PathBuf)>,
    stalled: AtomicBool,
}

impl Faulty {
    fn new(files: usize) -> Faulty {
        Faulty {
            map_panics: (0..files).map(|_| AtomicU32::new(0)).collect(),
            reduce_panics: AtomicU32::new(0),
            bad_records: false,
            failing_file: None,
            straggler: None,
            stalled: AtomicBool::new(false),
        }
    }
}

/// Takes one from `left` if it is not zero; whether it did.
fn take(left: &AtomicU32) -> bool {
    // Relaxed: a counter of faults still to inject; its atomicity alone makes the count exact.
    left.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

impl Job for Faulty {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;

    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        if self.bad_records && record.bytes.starts_with(BAD) {
            return Err(RecordError::Bad("a line starting with !!".into()));
        }
        if self.failing_file == Some(record.file) {
            return Err(RecordError::Fail("sector 7 unreadable".into()));
        }
        WordCount::job().map(record, emit)?;
        if record.bytes.starts_with(BOOM) && take(&self.map_panics[record.file]) {
            std::panic::resume_unwind(Box::new("injected panic in map"));
        }
        if let Some((split, committed)) = &self.straggler {
            // Relaxed: only the first caller may see `false`.
            if record.split == *split && !record.backup && !self.stalled.swap(true, Relaxed) {
                let deadline = Instant::now() + Duration::from_secs(5);
                while !committed.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        Ok(())
    }

    fn combine(&self, key: &Vec<u8>, values: Vec<u64>) -> Vec<u64> {
        WordCount::job().combine(key, values)
    }

    fn reduce(&self, key: &Vec<u8>, values: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        if key == BOOM && take(&self.reduce_panics) {
            std::panic::resume_unwind(Box::new("injected panic in reduce"));
        }
        WordCount::job().reduce(key, values, out)
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let dir = match TempDir::new("phase5-ex2-faults") {
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

/// Clean texts (each with a `@boom` line in the middle) and the same with bad lines inserted.
fn inputs(files: usize, bytes_each: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, u64) {
    let mut rng = XorShift64Star::new(23);
    let words = corpus::vocabulary(&mut rng, 5_000);
    let mut clean = corpus::text_files(
        29,
        files,
        bytes_each,
        &words,
        &corpus::Zipf::new(5_000, 1.0),
    );
    for text in &mut clean {
        let middle = text[..text.len() / 2]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        text.splice(middle..middle, [BOOM, b" x\n"].concat());
    }
    let mut bad = 0;
    let dirty = clean
        .iter()
        .map(|text| {
            let mut out = Vec::with_capacity(text.len() + 1024);
            for line in text.split_inclusive(|&b| b == b'\n') {
                if rng.below(100) == 0 {
                    out.extend_from_slice(b"!!corrupt 0xdeadbeef\n");
                    bad += 1;
                }
                out.extend_from_slice(line);
            }
            out
        })
        .collect();
    (clean, dirty, bad)
}

fn run_in(ctx: &mut Ctx, dir: &Path) -> Result<(), String> {
    let files = 4;
    let (clean, dirty, bad) = inputs(files, ctx.pick(400_000, 40_000));
    let paths = corpus::write(dir, "text", &dirty).map_err(|e| e.to_string())?;
    let input = Input::lines(&paths);
    let expected = corpus::wordcount(&clean);
    let output = |r: &JobReport| -> Result<Vec<Vec<u8>>, String> {
        corpus::read_parts(&r.outputs).map_err(|e| e.to_string())
    };
    ctx.say(format!(
        "Word count over {files} files with {bad} bad lines (starting \"!!\") among them and a \
         \"@boom\" line in each. Attempts per task: 4."
    ));
    let mut table = ctx.table(
        "each fault and what the engine made of it",
        &[
            "fault injected",
            "outcome",
            "retries",
            "skipped",
            "backups won",
        ],
    );

    // 1. Panics (map tasks reading a @boom line, and the reduce call of @boom), each PANICS times,
    //    over the bad records, skipped up to exactly their number.
    let job = Faulty {
        bad_records: true,
        ..Faulty::new(files)
    };
    for left in &job.map_panics {
        left.store(PANICS, Relaxed);
    }
    job.reduce_panics.store(PANICS, Relaxed);
    let panicked = engine()
        .max_skipped(bad)
        .run(&job, &input, dir.join("panics"))
        .map_err(|e| format!("with panics: {e}"))?;
    let injected = u64::from(PANICS) * (files as u64 + 1);
    table.row([
        format!(
            "{injected} panics ({PANICS} per @boom map task, {PANICS} in reduce) + {bad} bad lines"
        ),
        "finished".to_owned(),
        panicked.retries.to_string(),
        panicked.skipped.to_string(),
        "-".to_owned(),
    ]);
    let panics_ok = output(&panicked)?.iter().flatten().count() > 0
        && corpus::output_lines(&output(&panicked)?) == expected;

    // 2. One bad record too many.
    let job = Faulty {
        bad_records: true,
        ..Faulty::new(files)
    };
    let strict = engine()
        .max_skipped(bad - 1)
        .run(&job, &input, dir.join("strict"));
    let strict_ok =
        matches!(&strict, Err(JobError::TooManyBadRecords { cap, .. }) if *cap == bad - 1);
    table.row([
        format!("the same bad lines, cap {}", bad - 1),
        strict
            .as_ref()
            .err()
            .map_or("finished".to_owned(), ToString::to_string),
        "-".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
    ]);

    // 3. Every attempt at file 1's first split fails.
    let job = Faulty {
        bad_records: true,
        failing_file: Some(1),
        ..Faulty::new(files)
    };
    let failed = engine()
        .max_skipped(bad)
        .run(&job, &input, dir.join("failing"));
    let failed_ok = match &failed {
        Err(JobError::TaskFailed {
            task: TaskId::Map(_),
            split: Some(split),
            attempts: 4,
            cause: TaskFailure::Failed(message),
        }) => split.path == paths[1] && message == "sector 7 unreadable",
        _ => false,
    };
    table.row([
        "every attempt on file 1 fails".to_owned(),
        failed.as_ref().err().map_or("finished".to_owned(), |e| {
            // The temporary directory's path says nothing; the file's name does.
            e.to_string().replace(&format!("{}/", dir.display()), "")
        }),
        "-".to_owned(),
        "-".to_owned(),
        "-".to_owned(),
    ]);

    // 4. A straggler: map task 1's first copy stalls until a copy of it has committed.
    let out = dir.join("straggler");
    let job = Faulty {
        bad_records: true,
        straggler: Some((1, out.join("_temporary/map-00001"))),
        ..Faulty::new(files)
    };
    let started = Instant::now();
    let straggled = engine()
        .max_skipped(bad)
        .memory_budget(Some(1 << 30))
        .backup_tasks(true)
        .run(&job, &input, &out)
        .map_err(|e| format!("with a straggler: {e}"))?;
    let took = started.elapsed();
    table.row([
        "map task 1's first copy stalls (up to 5 s)".to_owned(),
        format!("finished in {:.0} ms", took.as_secs_f64() * 1e3),
        straggled.retries.to_string(),
        straggled.skipped.to_string(),
        straggled.backups_won.to_string(),
    ]);
    ctx.show(table);
    ctx.record("retries", panicked.retries);
    ctx.record("skipped", panicked.skipped);
    ctx.record("backups_won", straggled.backups_won);
    ctx.takeaway(
        "A task attempt is all or nothing: a panicked or superseded attempt leaves no pairs, no \
         counts and no files, so retries and backups change nothing but the time.",
    );
    ctx.check(
        "panicking attempts were retried to the exact output",
        panics_ok,
    );
    ctx.check_with(
        "retries counted exactly (one per injected panic)",
        panicked.retries == injected,
        format!("{} retries, {injected} panics", panicked.retries),
    );
    ctx.check_with(
        "bad records skipped and counted exactly, across the retried splits",
        panicked.skipped == bad,
        format!("{} skipped, {bad} bad", panicked.skipped),
    );
    ctx.check(
        "one bad record over the cap fails the job with TooManyBadRecords",
        strict_ok,
    );
    ctx.check(
        "a task failing every attempt fails the job naming the map task, its split (file 1) and the cause",
        failed_ok,
    );
    ctx.check_with(
        "the straggler's backup copy won",
        straggled.backups_won >= 1,
        format!("{} won", straggled.backups_won),
    );
    ctx.check(
        "with the straggler and its backup, the output is unchanged",
        corpus::output_lines(&output(&straggled)?) == expected,
    );
    Ok(())
}
