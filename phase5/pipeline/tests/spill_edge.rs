//! The `SpillToDisk` edge: a fast source in front of a held or slow sink with a small edge. The
//! oracle is what the sink received (every item once, in order through ordered stages) and the spill
//! directory on disk; the report's spill counts must agree with both.
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use harness::tempdir::TempDir;
use pipeline::spill::SpillWriter;
use pipeline::{Overflow, Pipeline, PipelineError, Spill, Stage};
use tokio_util::sync::CancellationToken;

/// A record's frame on disk: 4 bytes of length, 4 of CRC, then the payload (8 for a `u64`).
const U64_FRAME: u64 = 16;
/// A segment's magic.
const SEGMENT_HEADER: u64 = 8;

fn spill_to(dir: &Path, max_bytes: u64) -> Overflow {
    Overflow::SpillToDisk(Spill::new::<u64>(dir, max_bytes))
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// What a held run saw: the sink's items in order, the rows while item 0 was held, the segment
/// files then, and the final report.
type Held = (
    Vec<u64>,
    Vec<pipeline::StageReport>,
    usize,
    pipeline::Report,
);

/// `0..n` into a sink behind an edge of `capacity` spilling to `dir` (at most `max_bytes`): the
/// sink takes item 0 and holds it until the source has offered all it can (on the paused clock, a
/// sleep ends only once every task is idle), then lets everything through.
fn held_run(n: u64, capacity: usize, dir: &Path, max_bytes: u64) -> Held {
    let spill_dir = dir.to_path_buf();
    common::paused(async move {
        let (tx, rx) = tokio::sync::mpsc::channel(n as usize);
        let (gate, held) = common::Gate::new();
        let (seen, keep) = common::collector();
        let sink_gate = Arc::clone(&gate);
        let running = Pipeline::from_receiver(rx)
            .for_each(
                Stage::new("sink")
                    .capacity(capacity)
                    .overflow(spill_to(&spill_dir, max_bytes)),
                move |x| {
                    drop(keep(x)); // it keeps the item on the call; its future is ready
                    let wait = (x == 0).then(|| sink_gate.hold());
                    async move {
                        if let Some(wait) = wait {
                            wait.await;
                        }
                    }
                },
            )
            .spawn(CancellationToken::new(), Duration::from_secs(60));
        tx.send(0).await.unwrap();
        held.await.unwrap(); // item 0 is out of the edge, at the sink
        for i in 1..n {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let during = running.snapshot();
        let files = segment_files(&spill_dir);
        gate.open();
        let report = running.join().await.unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, during, files, report)
    })
}

/// Nothing waits for room: the edge's memory holds the `capacity` items after the held one and the
/// disk the rest; then all of them come out, in order.
#[test]
fn a_held_sink_spills_everything_past_memory_and_gets_it_back_in_order() {
    const N: u64 = 300;
    const CAPACITY: usize = 4;
    let tmp = TempDir::new("spill-edge").unwrap();
    let dir = tmp.path().join("sink-spill");
    let (seen, during, files, report) = held_run(N, CAPACITY, &dir, 1 << 20);
    common::assert_accounted(&report);
    assert_eq!(
        seen,
        (0..N).collect::<Vec<_>>(),
        "every item once, in order"
    );
    let spilled = N - 1 - CAPACITY as u64;
    let (source, sink) = (&during[0], &during[1]);
    assert_eq!(
        source.completed, N,
        "the source produced everything while the sink was held: it never waited"
    );
    assert_eq!(sink.depth, (N - 1) as usize, "the held item's successors");
    assert_eq!(sink.spilled, spilled);
    assert!(files >= 1, "spilled items are in segment files");
    let sink = report.stage("sink").unwrap();
    assert_eq!((sink.spilled, sink.completed), (spilled, N));
    assert_eq!(sink.spilled_bytes, spilled * U64_FRAME);
    assert_eq!((sink.dropped, sink.rejected, sink.spill_errors), (0, 0, 0));
    assert!(
        report
            .to_string()
            .contains(&format!("sink spilled {spilled} items")),
        "{report}"
    );
    assert!(
        !dir.exists(),
        "a clean finish removes the spill directory it made"
    );
}

/// A fast source, a slow ordered stage behind a spilling edge, a slower sink behind another:
/// outputs in input order, every item once, and some of them went through each disk.
#[test]
fn ordered_stages_behind_spilling_edges_keep_the_order() {
    const N: u64 = 400;
    let tmp = TempDir::new("spill-edge").unwrap();
    let (work_dir, sink_dir) = (tmp.path().join("work"), tmp.path().join("sink"));
    let (a, b) = (work_dir.clone(), sink_dir.clone());
    let (seen, report) = common::paused(async move {
        let (seen, keep) = common::collector();
        let report = Pipeline::from_iter(0..N)
            .map(
                Stage::new("work")
                    .with_parallelism(4)
                    .capacity(2)
                    .overflow(spill_to(&a, 1 << 20)),
                |x| async move {
                    // 1 to 7 ms by item: the four slots finish out of order.
                    tokio::time::sleep(Duration::from_millis(1 + x * 5 % 7)).await;
                    x
                },
            )
            .for_each(
                Stage::new("sink")
                    .capacity(3)
                    .overflow(spill_to(&b, 1 << 20)),
                move |x| {
                    drop(keep(x)); // it keeps the item on the call; its future is ready
                    tokio::time::sleep(Duration::from_millis(3))
                },
            )
            .run()
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, report)
    });
    common::assert_accounted(&report);
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    for stage in ["work", "sink"] {
        let s = report.stage(stage).unwrap();
        assert!(s.spilled > 0, "{stage} never spilled: {report}");
        assert_eq!(s.spilled_bytes, s.spilled * U64_FRAME, "{stage}");
    }
    assert!(!work_dir.exists() && !sink_dir.exists());
}

/// With room on disk for 10 items, the 11th waits: the source is blocked (it has produced exactly
/// what the edge and the held sink take, plus the one it holds), nothing is dropped, and the disk
/// never holds more than the cap.
#[test]
fn at_the_disk_cap_the_edge_blocks_and_drops_nothing() {
    const N: u64 = 100;
    const CAPACITY: u64 = 4;
    const ON_DISK: u64 = 10;
    let max_bytes = SEGMENT_HEADER + ON_DISK * U64_FRAME;
    let tmp = TempDir::new("spill-edge").unwrap();
    let dir = tmp.path().join("capped");
    let (seen, during, _, report) = held_run(N, CAPACITY as usize, &dir, max_bytes);
    common::assert_accounted(&report);
    let (source, sink) = (&during[0], &during[1]);
    // Item 0 at the sink, CAPACITY in memory, ON_DISK spilled, and one in the source's hands.
    let taken = 1 + CAPACITY + ON_DISK + 1;
    assert_eq!(
        source.completed, taken,
        "the source is blocked, not running on"
    );
    assert_eq!(sink.offered, taken);
    assert_eq!(
        (sink.spilled, sink.depth as u64),
        (ON_DISK, CAPACITY + ON_DISK)
    );
    assert_eq!(
        sink.max_spill_bytes, max_bytes,
        "the disk filled to its cap"
    );
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "nothing dropped");
    let sink = report.stage("sink").unwrap();
    assert_eq!((sink.dropped, sink.rejected, sink.completed), (0, 0, N));
    assert!(
        sink.max_spill_bytes <= max_bytes,
        "{} bytes on disk, over the {max_bytes} cap",
        sink.max_spill_bytes
    );
    assert!(
        report.stage("source").unwrap().backpressured > 0.0,
        "the source's wait is backpressure: {report}"
    );
    assert!(!dir.exists());
}

#[test]
fn a_spill_for_another_type_or_a_dir_with_leftovers_is_refused_before_running() {
    let tmp = TempDir::new("spill-edge").unwrap();
    let dir = tmp.path().join("typed");
    let wrong = Spill::new::<String>(&dir, 1 << 20);
    let err = common::paused(async move {
        Pipeline::from_iter(0..10u64)
            .for_each(
                Stage::new("sink").overflow(Overflow::SpillToDisk(wrong)),
                |_| async {},
            )
            .run()
            .await
    })
    .expect_err("a String spill on a u64 edge");
    assert!(
        matches!(&err, PipelineError::SpillType { stage, .. } if stage == "sink"),
        "{err}"
    );
    assert!(err.to_string().contains("u64"), "{err}");

    let left = tmp.path().join("left");
    let mut w = SpillWriter::create(&left, 1024).unwrap();
    w.append(&7u64.to_le_bytes()).unwrap();
    drop(w);
    let spill = spill_to(&left, 1 << 20);
    let err = common::paused(async move {
        Pipeline::from_iter(0..10u64)
            .for_each(Stage::new("sink").overflow(spill), |_| async {})
            .run()
            .await
    })
    .expect_err("a directory holding an earlier run's segments");
    assert!(
        matches!(&err, PipelineError::Spill { .. }) && err.to_string().contains("pipeline-inspect"),
        "{err}"
    );
    assert_eq!(segment_files(&left), 1, "the leftovers are not touched");
}

/// A file source through a spilling edge: every line acked, the checkpoint at the end, although
/// most lines waited on disk.
#[test]
fn spilled_lines_are_acked_once_their_sink_has_finished_them() {
    let tmp = TempDir::new("spill-edge").unwrap();
    let input: String = (0..200).map(|i| format!("{i}\n")).collect();
    std::fs::write(tmp.path().join("in.txt"), input).unwrap();
    let source = pipeline::FileSource::new(tmp.path().join("in.txt"), tmp.path().join("in.cp"))
        .max_unacked(64);
    let spill = Overflow::SpillToDisk(Spill::new::<Vec<u8>>(tmp.path().join("spill"), 1 << 20));
    let (seen, report) = common::paused(async move {
        let (seen, keep) = common::collector();
        let report = Pipeline::from_file(source)
            .for_each(Stage::new("sink").capacity(2).overflow(spill), move |l| {
                drop(keep(l)); // it keeps the item on the call; its future is ready
                tokio::time::sleep(Duration::from_millis(1))
            })
            .run()
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, report)
    });
    let expected: Vec<Vec<u8>> = (0..200).map(|i| format!("{i}").into_bytes()).collect();
    assert_eq!(seen, expected);
    assert!(report.stage("sink").unwrap().spilled > 0, "{report}");
    let acks = &report.acks[0];
    assert_eq!(
        (acks.read, acks.acked, acks.checkpoint_line),
        (200, 200, 200)
    );
}
