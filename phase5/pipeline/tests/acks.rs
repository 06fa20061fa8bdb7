//! End-to-end acknowledgements: a file → slow stage → file sink pipeline in a child process is
//! killed with SIGKILL mid-run and restarted; the two runs' outputs together hold every input line,
//! and what the second run delivers again is exactly what the first wrote past its last checkpoint,
//! at most the source's unacked window; the same with the slow stage's edge spilling to disk (the
//! killed run's spill directory listed by `pipeline-inspect`). Plus the in-process rules: what counts as finished.
mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::tempdir::TempDir;
use pipeline::{Checkpoint, FileSource, Overflow, Pipeline, Spill, Stage};

/// The child's instructions: `input|checkpoint|output|delay in ms|spill dir or -`.
const CHILD_ENV: &str = "PIPELINE_ACKS_CHILD";
const LINES: usize = 1000;
/// The source's cap on lines read past its durable checkpoint.
const WINDOW: u64 = 32;

/// The child process's entry point: this test binary runs itself with this one test and
/// [`CHILD_ENV`] set (see `kill`). Without the variable it returns at once: it is not a test of its
/// own.
#[test]
fn child_pipeline_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [input, checkpoint, output, delay, spill] = parts[..] else {
        panic!("{CHILD_ENV}: expected input|checkpoint|output|delay|spill, got {spec}");
    };
    // Behind a spilling edge of 1 the slow stage's backlog goes to disk: most of the window's
    // lines wait there.
    let slow = match spill {
        "-" => Stage::new("slow"),
        dir => Stage::new("slow")
            .capacity(1)
            .overflow(Overflow::SpillToDisk(Spill::new::<Vec<u8>>(dir, 1 << 20))),
    };
    let delay = Duration::from_millis(delay.parse().expect("delay in ms"));
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .expect("output");
    let out = Arc::new(Mutex::new(out));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let source = FileSource::new(input, checkpoint)
            .max_unacked(WINDOW)
            .checkpoint_every(Duration::from_millis(5));
        Pipeline::from_file(source)
            .map(
                slow.with_parallelism(4).unordered(),
                move |line| async move {
                    // 1 to 3 times the delay, by line: the four slots finish out of step, so a
                    // kill finds lines at every point of their way.
                    let n = line
                        .iter()
                        .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(b.into()));
                    tokio::time::sleep(delay * (1 + n % 3)).await;
                    line
                },
            )
            .for_each(Stage::new("sink"), move |mut line| {
                line.push(b'\n');
                // One write(2) per line: in the kernel once it returns, so a SIGKILL keeps it.
                out.lock().unwrap().write_all(&line).expect("write");
                async {}
            })
            .run()
            .await
            .expect("the pipeline runs");
    });
}

/// Kills the child if the test ends early, so no process outlives it.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(dir: &Path, delay_ms: u64, spill: Option<&Path>) -> Reaper {
    let spec = format!(
        "{}|{}|{}|{delay_ms}|{}",
        dir.join("in.txt").display(),
        dir.join("in.checkpoint").display(),
        dir.join("out.txt").display(),
        spill.map_or("-".to_string(), |p| p.display().to_string()),
    );
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_pipeline_process", "--exact", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the child");
    Reaper(child)
}

fn output_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    // A line cut by the kill mid-write has no newline yet: it was not written, so not counted.
    let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
    complete.lines().map(str::to_string).collect()
}

fn line_number(line: &str) -> usize {
    line.strip_prefix("line-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an input line: {line:?}"))
}

#[test]
fn kill_9_mid_run_then_restart_loses_nothing_and_duplicates_at_most_the_window() {
    kill_and_restart(false);
}

#[test]
fn kill_9_with_a_spilling_edge_loses_nothing_and_leaves_an_inspectable_spill() {
    kill_and_restart(true);
}

fn kill_and_restart(spilling: bool) {
    let dir = TempDir::new("pipeline-acks").expect("tempdir");
    let spill_dir = spilling.then(|| dir.path().join("spill"));
    let spill = spill_dir.as_deref();
    let input: Vec<String> = (0..LINES).map(|i| format!("line-{i:05}")).collect();
    fs::write(dir.path().join("in.txt"), input.join("\n") + "\n").expect("input");
    let out = dir.path().join("out.txt");

    // Run 1: 4 lines at a time, 10 to 30 ms each; killed once 60 lines are out.
    let mut first = spawn_child(dir.path(), 10, spill);
    let reached =
        harness::wait::poll_until(Duration::from_secs(60), || output_lines(&out).len() >= 60);
    // Not at the instant a line was written: a few ms later, with lines in every place.
    std::thread::sleep(Duration::from_millis(7));
    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");
    assert!(reached, "the child wrote fewer than 60 lines in 60 s");
    let run1 = output_lines(&out);
    let cp = Checkpoint::load(&dir.path().join("in.checkpoint"))
        .expect("a readable checkpoint")
        .unwrap_or_default();
    assert!(
        (cp.line as usize) < LINES && run1.len() < LINES,
        "killed after the end ({} lines out, checkpoint {cp:?}): nothing was in flight",
        run1.len()
    );
    fs::rename(&out, dir.path().join("out1.txt")).expect("keep run 1's output");
    if let Some(spill) = spill {
        inspect_killed_spill(spill);
    }

    // Run 2: from the checkpoint, at full speed, to the end.
    let mut second = spawn_child(dir.path(), 0, spill);
    let status = harness::wait::poll_value(
        Duration::from_secs(60),
        || second.0.try_wait().expect("try_wait"),
        Option::is_some,
    );
    let status = status.expect("the restarted child did not finish within 60 s");
    assert!(status.success(), "the restarted child failed: {status}");
    let run2 = output_lines(&out);

    // Run 2 reads exactly the lines from the checkpoint on, each once.
    let mut expected2: Vec<String> = input[cp.line as usize..].to_vec();
    let mut got2 = run2.clone();
    expected2.sort();
    got2.sort();
    assert_eq!(
        got2, expected2,
        "run 2 is not lines {}.. once each",
        cp.line
    );

    // Nothing lost: every input line is in one output or the other.
    let mut count: HashMap<usize, usize> = HashMap::new();
    for line in run1.iter().chain(&run2) {
        *count.entry(line_number(line)).or_default() += 1;
    }
    let missing: Vec<usize> = (0..LINES).filter(|i| !count.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "lost lines: {missing:?} (checkpoint {cp:?})"
    );

    // Duplicates: exactly run 1's lines past its checkpoint, and no more than the window.
    let duplicates = count.values().filter(|&&n| n > 1).count();
    let past_checkpoint = run1
        .iter()
        .filter(|l| line_number(l) >= cp.line as usize)
        .count();
    assert_eq!(duplicates, past_checkpoint, "checkpoint {cp:?}");
    assert!(
        duplicates as u64 <= WINDOW,
        "{duplicates} duplicates, more than the {WINDOW}-line window"
    );
    assert!(count.values().all(|&n| n <= 2), "a line delivered 3 times");

    // The final checkpoint stands at the end of the input.
    let last = Checkpoint::load(&dir.path().join("in.checkpoint"))
        .expect("checkpoint")
        .expect("written");
    let len = fs::metadata(dir.path().join("in.txt"))
        .expect("input")
        .len();
    assert_eq!(
        last,
        Checkpoint {
            offset: len,
            line: LINES as u64
        }
    );
}

/// The spill directory a killed run left: `pipeline-inspect` lists and verifies it; with its last
/// segment cut short, as a crash mid-write would, it reports the torn tail and one record fewer,
/// never a bad one. Then it is removed, as its user would once they had looked (a new run refuses
/// a directory with segments in it).
fn inspect_killed_spill(spill: &Path) {
    let inspect = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_pipeline-inspect"))
            .arg(dir)
            .output()
            .expect("run pipeline-inspect");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let (code, listing) = inspect(spill);
    assert_eq!(code, Some(0), "{listing}");
    let records = |listing: &str| -> u64 {
        let tail = listing.lines().last().unwrap_or_default();
        tail.split(", ")
            .find_map(|p| p.strip_suffix(" valid records"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no record count in {listing:?}"))
    };
    let before = records(&listing);
    assert!(
        before > 0,
        "the killed run had lines waiting on disk: {listing}"
    );
    let mut segs: Vec<_> = fs::read_dir(spill)
        .expect("spill dir")
        .map(|e| e.expect("entry").path())
        .collect();
    segs.sort();
    let last = segs.last().expect("a segment");
    let bytes = fs::read(last).expect("segment");
    if bytes.len() > 8 + 8 {
        fs::write(last, &bytes[..bytes.len() - 3]).expect("cut");
        let (code, listing) = inspect(spill);
        assert_eq!(code, Some(0), "a torn tail is no corruption: {listing}");
        assert!(listing.contains("torn tail"), "{listing}");
        assert_eq!(records(&listing), before - 1, "{listing}");
    }
    fs::remove_dir_all(spill).expect("remove the inspected spill");
}

/// Runs `build` over a file source of `n` lines `0..n` (one number a line) and returns the report's
/// acks entry.
fn acked_run(
    dir: &Path,
    n: usize,
    build: impl FnOnce(Pipeline<Vec<u8>>) -> pipeline::Runnable + Send + 'static,
) -> pipeline::SourceAcks {
    let text: String = (0..n).map(|i| format!("{i}\n")).collect();
    fs::write(dir.join("in.txt"), text).expect("input");
    let source = FileSource::new(dir.join("in.txt"), dir.join("in.checkpoint")).max_unacked(8);
    let report = common::paused(async move { build(Pipeline::from_file(source)).run().await })
        .expect("the pipeline runs");
    common::assert_accounted(&report);
    report.acks.into_iter().next().expect("one acking source")
}

fn number(line: &[u8]) -> u64 {
    std::str::from_utf8(line).unwrap().parse().unwrap()
}

#[test]
fn filtered_fanned_out_batched_and_dead_lettered_lines_count_as_finished() {
    let dir = TempDir::new("pipeline-acks").expect("tempdir");
    let acks = acked_run(dir.path(), 100, |p| {
        p.filter(Stage::new("odd"), |l| number(l) % 2 == 1)
            .flat_map(Stage::new("twice"), |l| [l.clone(), l])
            .try_map_retry(
                Stage::new("fails-on-7s").with_parallelism(3).unordered(),
                pipeline::Retry::exponential(2, Duration::from_millis(1), Duration::from_millis(1)),
                |l: Vec<u8>| async move {
                    if number(&l) % 10 == 7 {
                        Err("seven")
                    } else {
                        Ok(l)
                    }
                },
                |_| async {},
            )
            .batch(Stage::new("batch"), 7, Duration::from_millis(3))
            .for_each(Stage::new("sink"), |_| async {})
    });
    assert_eq!((acks.read, acks.acked, acks.unacked), (100, 100, 0));
    assert_eq!(acks.checkpoint_line, 100);
    let again = acked_run(dir.path(), 100, |p| {
        p.for_each(Stage::new("sink"), |_| async {})
    });
    assert_eq!(
        (again.resumed_at_line, again.read),
        (100, 0),
        "a rerun reads nothing"
    );
}

#[test]
fn a_refused_line_is_not_acked_and_a_rerun_reads_from_it() {
    let dir = TempDir::new("pipeline-acks").expect("tempdir");
    let acks = acked_run(dir.path(), 20, |p| {
        p.for_each(
            Stage::new("sink").capacity(2).overflow(Overflow::Reject),
            |l| async move {
                if number(&l) == 0 {
                    // Holds line 0 while the source reads on: past the edge's 2 places, lines are
                    // refused.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        )
    });
    assert!(acks.unacked > 0 && acks.stuck, "{acks:?}");
    assert!(acks.checkpoint_line < 20);
    let resumed = acks.checkpoint_line;
    let again = acked_run(dir.path(), 20, |p| {
        p.for_each(Stage::new("sink"), |_| async {})
    });
    assert_eq!(again.resumed_at_line, resumed);
    assert_eq!(again.read, 20 - resumed);
}

#[test]
fn a_bad_checkpoint_is_a_clear_error() {
    let dir = TempDir::new("pipeline-acks").expect("tempdir");
    fs::write(dir.path().join("in.txt"), "a\n").expect("input");
    fs::write(dir.path().join("in.checkpoint"), "offset=3\n").expect("checkpoint");
    let source = FileSource::new(dir.path().join("in.txt"), dir.path().join("in.checkpoint"));
    let err = common::paused(async move {
        Pipeline::from_file(source)
            .for_each(Stage::new("sink"), |_| async {})
            .run()
            .await
    })
    .expect_err("a bad checkpoint");
    assert!(
        matches!(err, pipeline::PipelineError::BadCheckpoint { .. }),
        "{err}"
    );
    Checkpoint { offset: 9, line: 1 }
        .store(&dir.path().join("in.checkpoint"))
        .expect("store");
    let source = FileSource::new(dir.path().join("in.txt"), dir.path().join("in.checkpoint"));
    let err = common::paused(async move {
        Pipeline::from_file(source)
            .for_each(Stage::new("sink"), |_| async {})
            .run()
            .await
    })
    .expect_err("a checkpoint past the end of the input");
    assert!(err.to_string().contains("past the end"), "{err}");
}
