//! `acks`: a file source whose checkpoint follows what the sink has finished. Run 1 is killed in
//! the middle — its run future dropped, which aborts every task at once, with items in every place —
//! and run 2 starts from the checkpoint it left. The oracle is what the sink received in the two
//! runs, against the input's lines: nothing lost, and the lines delivered twice are exactly those run
//! 1 delivered past its last checkpoint.
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::Ctx;
use pipeline::{Checkpoint, FileSource, Pipeline, SourceAcks, Stage};

/// Lines the source may read past its durable checkpoint.
const WINDOW: u64 = 64;

/// One run over `dir/in.txt`; with `crash_after = Some(k)`, the run future is dropped (every task
/// aborted, nothing drained, no last checkpoint) once the sink has `k` lines. Returns the line
/// numbers the sink received, and the report's acks when the run ended by itself.
async fn one_run(
    dir: &Path,
    crash_after: Option<usize>,
) -> Option<(Vec<usize>, Option<SourceAcks>)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let crash = Arc::new(tokio::sync::Notify::new());
    let fire = Arc::clone(&crash);
    let source = FileSource::new(dir.join("in.txt"), dir.join("in.checkpoint"))
        .max_unacked(WINDOW)
        .checkpoint_every(Duration::from_millis(20));
    let pipeline = Pipeline::from_file(source)
        .map(Stage::new("parse"), |line| async move {
            std::str::from_utf8(&line)
                .ok()
                .and_then(|l| l.parse::<usize>().ok())
        })
        .map(
            Stage::new("work").with_parallelism(4).unordered(),
            |n| async move {
                // 1 to 3 ms (virtual) by line: the four slots finish out of step.
                let n = n.unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(1 + (n % 3) as u64)).await;
                n
            },
        )
        .for_each(Stage::new("sink"), move |n| {
            let mut seen = sink.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(n);
            if Some(seen.len()) == crash_after {
                fire.notify_one();
            }
            async {}
        })
        .run();
    let acks = tokio::select! {
        report = pipeline => Some(report.ok()?.acks.into_iter().next()?),
        _ = crash.notified() => None, // the run future is dropped here: the crash
    };
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    Some((seen, acks))
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n: usize = ctx.pick(2000, 400);
    let crash_at = n / 2;
    ctx.say(format!(
        "{n} lines from a file → parse → work (4 at once, unordered) → sink; the source reads at \
         most {WINDOW} lines past its durable checkpoint. Run 1 is killed (its future dropped) once \
         the sink has {crash_at} lines; run 2 resumes from the checkpoint file."
    ));
    let dir = match harness::tempdir::TempDir::new("pipeline-acks") {
        Ok(d) => d,
        Err(e) => {
            ctx.check_with("a temporary directory", false, e.to_string());
            return;
        }
    };
    let text: String = (0..n).map(|i| format!("{i}\n")).collect();
    if let Err(e) = std::fs::write(dir.path().join("in.txt"), text) {
        ctx.check_with("the input file is written", false, e.to_string());
        return;
    }
    let path = dir.path().to_path_buf();
    // Each run on a runtime of its own: dropping it waits for a checkpoint write in progress.
    let Some((run1, _)) =
        super::paused(async move { one_run(&path, Some(crash_at)).await }).flatten()
    else {
        ctx.check_with("run 1 runs until it is killed", false, "watchdog or error");
        return;
    };
    let cp = match Checkpoint::load(&dir.path().join("in.checkpoint")) {
        Ok(cp) => cp.unwrap_or_default(),
        Err(e) => {
            ctx.check_with("run 1 left a readable checkpoint", false, e.to_string());
            return;
        }
    };
    let path = dir.path().to_path_buf();
    let Some((run2, Some(acks))) =
        super::paused(async move { one_run(&path, None).await }).flatten()
    else {
        ctx.check_with("run 2 runs to its end", false, "watchdog or error");
        return;
    };

    let mut count: HashMap<usize, usize> = HashMap::new();
    for &line in run1.iter().chain(&run2) {
        *count.entry(line).or_default() += 1;
    }
    let lost = (0..n).filter(|i| !count.contains_key(i)).count();
    let duplicates = count.values().filter(|&&c| c > 1).count();
    let past_checkpoint = run1.iter().filter(|&&l| l >= cp.line as usize).count();

    let mut table = ctx.table(
        "a crash, then a restart from the checkpoint",
        &[
            "run",
            "lines delivered",
            "resumed at line",
            "read",
            "acked",
            "checkpoint after",
        ],
    );
    table.row([
        "1 (killed)".to_string(),
        run1.len().to_string(),
        "0".to_string(),
        "—".to_string(),
        "—".to_string(),
        cp.line.to_string(),
    ]);
    table.row([
        "2".to_string(),
        run2.len().to_string(),
        acks.resumed_at_line.to_string(),
        acks.read.to_string(),
        acks.acked.to_string(),
        acks.checkpoint_line.to_string(),
    ]);
    ctx.show(table);
    ctx.record("checkpoint_at_crash", cp.line);
    ctx.record("duplicates", duplicates as u64);
    ctx.record("lost", lost as u64);

    ctx.check_with(
        "run 1 was killed mid-stream: its checkpoint is short of the end",
        (cp.line as usize) < n && run1.len() < n,
        format!(
            "checkpoint at line {}, {} lines delivered",
            cp.line,
            run1.len()
        ),
    );
    ctx.check_with(
        "nothing lost: every input line reached the sink in run 1 or run 2",
        lost == 0,
        format!("{lost} lines missing"),
    );
    ctx.check_with(
        format!(
            "the lines delivered twice are exactly run 1's past its checkpoint, at most the {WINDOW}-line window"
        ),
        duplicates == past_checkpoint && duplicates as u64 <= WINDOW,
        format!("{duplicates} duplicates, {past_checkpoint} lines of run 1 past line {}", cp.line),
    );
    ctx.check_with(
        "run 2 resumed at the checkpoint, read the rest once, and acked all of it",
        acks.resumed_at_line == cp.line
            && acks.read == (n as u64 - cp.line)
            && acks.acked == acks.read
            && acks.unacked == 0
            && acks.checkpoint_line == n as u64
            && run2.len() as u64 == acks.read,
        format!(
            "resumed at {}, read {}, acked {}, unacked {}, checkpoint at {}",
            acks.resumed_at_line, acks.read, acks.acked, acks.unacked, acks.checkpoint_line
        ),
    );
    ctx.takeaway(
        "Ack what the sink finished, not what the source sent: the checkpoint trails the sink, so a \
         crash repeats at most the window read past it and never loses a line.",
    );
}
