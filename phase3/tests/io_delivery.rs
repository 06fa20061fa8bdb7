//! Exactly-once delivery over real IO: loopback TCP through the broker and files through the spool,
//! under several N × M shapes, checked as multisets; the check itself is shown to catch a missing,
//! a duplicated and an invented item; no runtime or worker thread outlives a run.
#![cfg(not(loom))]
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::tempdir::TempDir;
use harness::watchdog::within;
use phase3::io::delivery::{Tally, item, verify};
use phase3::io::{broker, spool};

const DEADLINE: Duration = Duration::from_secs(60);
const GRACE: Duration = Duration::from_secs(5);

#[test]
fn verify_catches_missing_duplicated_and_unexpected_items() {
    let good: Vec<u64> = (0..2)
        .flat_map(|p| (0..5).map(move |s| item(p, s)))
        .collect();
    let d = verify(2, 5, [good.as_slice()]);
    assert!(d.exactly_once(), "{d:?}");

    let mut dup = good.clone();
    dup[3] = dup[4]; // one lost, one twice
    let d = verify(2, 5, [dup.as_slice()]);
    assert_eq!((d.missing, d.duplicated, d.unexpected), (1, 1, 0));
    assert!(!d.checksum_ok && !d.exactly_once());

    let mut extra = good.clone();
    extra.push(item(7, 0));
    let d = verify(2, 5, [extra.as_slice()]);
    assert_eq!((d.missing, d.duplicated, d.unexpected), (0, 0, 1));
    assert!(!d.exactly_once());

    let short = &good[..9];
    assert!(!verify(2, 5, [short]).exactly_once());
    // Split across consumers in any order is still exactly once.
    let (a, b) = good.split_at(4);
    let mut b = b.to_vec();
    b.reverse();
    assert!(verify(2, 5, [b.as_slice(), a]).exactly_once());
    assert_eq!(Tally::of(&good), Tally::expected(2, 5));
}

#[test]
fn tcp_delivers_every_item_exactly_once_under_several_shapes() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("io-pc-tcp");
        for (n, m, per, batch, queue) in [
            (1, 1, 5_000, 1, 1),
            (3, 2, 4_001, 7, 4),
            (2, 5, 6_000, 64, 64),
            (4, 4, 3_000, 1, 2),
            (8, 1, 1_000, 33, 8),
            (1, 8, 2_000, 5, 1),
        ] {
            let shape = broker::Shape {
                producers: n,
                consumers: m,
                per_producer: per,
                batch,
                queue,
            };
            let run = broker::run(shape, Duration::from_secs(20)).expect("tcp run");
            assert_eq!(run.per_consumer.len(), m as usize);
            let d = verify(n, per, run.per_consumer.iter().map(Vec::as_slice));
            assert!(d.exactly_once(), "{n} × {m}, batch {batch}: {d:?}");
        }
        leak.assert_no_leak(GRACE);
    });
}

#[test]
fn tcp_items_of_one_producer_reach_one_consumer_in_order() {
    // With one consumer, FIFO queue and TCP ordering keep each producer's items in sequence.
    within(DEADLINE, || {
        let shape = broker::Shape {
            producers: 3,
            consumers: 1,
            per_producer: 3_000,
            batch: 10,
            queue: 4,
        };
        let run = broker::run(shape, Duration::from_secs(20)).expect("tcp run");
        let mut next = [0u32; 3];
        for &it in &run.per_consumer[0] {
            let (p, s) = ((it >> 32) as usize, it as u32);
            assert_eq!(s, next[p], "producer {p} out of order");
            next[p] += 1;
        }
        assert_eq!(next, [3_000; 3]);
    });
}

#[test]
fn files_deliver_every_item_exactly_once_under_several_shapes() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("io-spool");
        for (n, m, per, segment) in [
            (1, 1, 2_000, 100),
            (2, 2, 3_000, 7),
            (3, 1, 1_000, 64),
            (1, 3, 5_000, 1),
        ] {
            let dir = TempDir::new("test-spool").expect("temp dir");
            let path = dir.path().to_path_buf();
            let run = spool::run(&path, n, m, per, segment).expect("spool run");
            let d = verify(n, per, run.per_consumer.iter().map(Vec::as_slice));
            assert!(d.exactly_once(), "{n} × {m}, segment {segment}: {d:?}");
            assert_eq!(run.leftover, 0, "files left in the spool");
            assert_eq!(
                run.segments,
                u64::from(n) * u64::from(per.div_ceil(segment))
            );
            dir.close().expect("remove spool");
            assert!(!path.exists(), "temp dir removed");
        }
        leak.assert_no_leak(GRACE);
    });
}

#[test]
fn temp_dir_is_removed_on_drop_with_its_contents() {
    let dir = TempDir::new("test-drop").expect("temp dir");
    let path = dir.path().to_path_buf();
    std::fs::create_dir(path.join("sub")).unwrap();
    std::fs::write(path.join("sub/f"), b"x").unwrap();
    drop(dir);
    assert!(!path.exists());
}

#[test]
fn without_the_claim_items_may_repeat_but_none_is_lost() {
    // Read-then-delete: a segment is deleted only by a consumer that has read it, so nothing is
    // lost; two consumers listing it at once may both read it (how often is up to the scheduler).
    within(DEADLINE, || {
        const SEGMENT: u32 = 16;
        for _ in 0..3 {
            let dir = TempDir::new("test-naive").expect("temp dir");
            let run = spool::run_with(
                dir.path(),
                1,
                3,
                4_000,
                SEGMENT,
                spool::Claim::ReadThenDelete,
            )
            .expect("spool run");
            let d = verify(1, 4_000, run.per_consumer.iter().map(Vec::as_slice));
            assert_eq!((d.missing, d.unexpected), (0, 0), "{d:?}");
            // A repeat is a whole segment read again, never part of one: every consumer's items are
            // runs of SEGMENT consecutive items starting at a segment boundary, and the segments the
            // consumers counted are the copies found in the items.
            for (c, got) in run.per_consumer.iter().enumerate() {
                assert_eq!(
                    got.len() % SEGMENT as usize,
                    0,
                    "consumer {c}: a partial segment"
                );
                for copy in got.chunks(SEGMENT as usize) {
                    let first = copy[0] as u32;
                    assert_eq!(first % SEGMENT, 0, "consumer {c}: a copy not at a boundary");
                    let whole = (0..SEGMENT).map(|k| item(0, first + k));
                    assert!(
                        copy.iter().copied().eq(whole),
                        "consumer {c}: segment at {first} read torn or out of order"
                    );
                }
            }
            assert_eq!(
                run.segments,
                d.received / u64::from(SEGMENT),
                "segments counted"
            );
            assert_eq!(run.leftover, 0);
        }
    });
}
