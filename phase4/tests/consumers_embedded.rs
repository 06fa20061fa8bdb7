//! The consumer scenarios against the embedded log (the same tests `consumers_redis.rs` runs on
//! Redis), plus what only the embedded log has: segment files, a torn tail, reopening a directory.
#![cfg(not(loom))]

mod common;

scenario_tests!(common::embedded);

use std::fs::OpenOptions;
use std::io::Write;

use harness::tempdir::TempDir;
use phase4::consumers::{Broker, EmbeddedBroker, OffsetTracker, SEGMENT_BYTES, range_assignment};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};

#[test]
fn segments_roll_and_a_reopened_log_replays_them() {
    let dir = TempDir::new("seg-test").unwrap();
    let payload = vec![7u8; 200];
    let n = (3 * SEGMENT_BYTES / 200) as usize;
    {
        let b = EmbeddedBroker::open(dir.path()).unwrap();
        b.create_topic("t", 1).unwrap();
        for i in 0..n {
            let mut p = payload.clone();
            p[..8].copy_from_slice(&(i as u64).to_le_bytes());
            assert_eq!(b.produce("t", 0, &p).unwrap(), i as u64);
        }
        assert!(b.segment_count("t", 0).unwrap() >= 3);
    }
    let b = EmbeddedBroker::open(dir.path()).unwrap();
    assert_eq!(b.end_offset("t", 0).unwrap(), n as u64);
    b.create_group("t", "g").unwrap();
    let all = b.fetch("t", "g", "c", 0, n).unwrap();
    assert_eq!(all.len(), n);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.offset, i as u64);
        assert_eq!(&r.payload[..8], &(i as u64).to_le_bytes());
    }
}

#[test]
fn a_torn_tail_record_is_dropped_on_reopen() {
    let dir = TempDir::new("torn-test").unwrap();
    {
        let b = EmbeddedBroker::open(dir.path()).unwrap();
        b.create_topic("t", 1).unwrap();
        for i in 0..5u8 {
            b.produce("t", 0, &[i; 10]).unwrap();
        }
    }
    let seg = std::fs::read_dir(dir.path().join("t/p0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    // Half a record: a header promising 100 bytes and only 3 of them, as a crash mid-write leaves.
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&100u32.to_le_bytes()).unwrap();
    f.write_all(&5u64.to_le_bytes()).unwrap();
    f.write_all(&[1, 2, 3]).unwrap();
    drop(f);
    let b = EmbeddedBroker::open(dir.path()).unwrap();
    assert_eq!(b.end_offset("t", 0).unwrap(), 5);
    assert_eq!(b.produce("t", 0, b"next").unwrap(), 5);
    drop(b);
    let b = EmbeddedBroker::open(dir.path()).unwrap();
    b.create_group("t", "g").unwrap();
    let recs = b.fetch("t", "g", "c", 0, 10).unwrap();
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[5].payload, b"next");
}

#[test]
fn after_a_restart_the_group_resumes_from_its_committed_offset() {
    let dir = TempDir::new("resume-test").unwrap();
    {
        let b = EmbeddedBroker::open(dir.path()).unwrap();
        b.create_topic("t", 1).unwrap();
        for i in 0..10u8 {
            b.produce("t", 0, &[i]).unwrap();
        }
        b.create_group("t", "g").unwrap();
        assert_eq!(b.fetch("t", "g", "c", 0, 6).unwrap().len(), 6);
        b.commit("t", "g", 0, &[0, 1, 2]).unwrap();
        // 3..6 delivered, not committed: the process dies here.
    }
    let b = EmbeddedBroker::open(dir.path()).unwrap();
    assert_eq!(b.committed("t", "g", 0).unwrap(), 3);
    let again = b.fetch("t", "g", "c2", 0, 100).unwrap();
    assert_eq!(
        again.first().map(|r| r.offset),
        Some(3),
        "at least once: 3..6 come again"
    );
    assert_eq!(again.len(), 7);
}

#[test]
fn bad_names_and_partitions_are_errors_not_paths() {
    let b = EmbeddedBroker::temporary().unwrap();
    assert!(b.create_topic("../escape", 1).is_err());
    assert!(b.create_topic("t", 0).is_err());
    b.create_topic("t", 2).unwrap();
    assert!(b.produce("t", 2, b"x").is_err());
    assert!(b.create_group("t", "a/b").is_err());
    assert!(b.produce("missing", 0, b"x").is_err());
}

#[test]
fn the_tracker_releases_exactly_the_finished_prefix_in_any_completion_order() {
    let mut rng = SmallRng::seed_from_u64(7);
    for _ in 0..500 {
        let n = 1 + (rand::Rng::random::<u32>(&mut rng) % 20) as u64;
        let mut order: Vec<u64> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut t = OffsetTracker::new();
        for o in 0..n {
            t.dispatched(100 + o);
        }
        let mut done = vec![false; n as usize];
        let mut released = Vec::new();
        for &o in &order {
            t.finished(100 + o).unwrap();
            done[o as usize] = true;
            released.extend(t.take_ready());
            let prefix = done.iter().take_while(|&&d| d).count() as u64;
            assert_eq!(released, (100..100 + prefix).collect::<Vec<_>>());
        }
        assert_eq!(t.window_len(), 0);
        assert!(t.is_idle());
    }
    assert_eq!(OffsetTracker::new().finished(3), None);
}

/// What the engine reads besides the released prefix: `finished` says whether the offset finished
/// ahead of an earlier one still running (the `out_of_order` statistic), `window_len` what counts
/// against `max_in_flight`, and `is_idle` that nothing is running *and* nothing waits for a commit.
#[test]
fn the_tracker_reports_out_of_order_window_and_idleness_exactly() {
    let mut rng = SmallRng::seed_from_u64(11);
    for _ in 0..500 {
        let n = 1 + (rand::Rng::random::<u32>(&mut rng) % 20) as u64;
        let mut order: Vec<u64> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut t = OffsetTracker::new();
        assert!(t.is_idle());
        for o in 0..n {
            t.dispatched(100 + o);
            assert_eq!(t.window_len(), (o + 1) as usize);
            assert!(!t.is_idle(), "offsets are running");
        }
        let mut done = vec![false; n as usize];
        for (k, &o) in order.iter().enumerate() {
            let prefix_before = done.iter().take_while(|&&d| d).count() as u64;
            assert_eq!(
                t.finished(100 + o),
                Some(o != prefix_before),
                "offset {o} finished with {prefix_before} released before it"
            );
            done[o as usize] = true;
            let prefix = done.iter().take_while(|&&d| d).count() as u64;
            assert_eq!(t.window_len(), (n - prefix) as usize);
            if k + 1 < order.len() {
                assert!(!t.is_idle(), "offsets are still running");
            }
        }
        // Everything finished, nothing taken yet: not idle until the prefix is handed over.
        assert_eq!(t.window_len(), 0);
        assert!(
            !t.is_idle(),
            "the finished prefix still waits for its commit"
        );
        assert_eq!(t.take_ready().len() as u64, n);
        assert!(t.is_idle());
    }
}

#[test]
fn range_assignment_is_contiguous_and_balanced() {
    let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let a = range_assignment(&m(&["d", "b", "a", "c"]), 6);
    let got: Vec<(&str, Vec<u32>)> = a.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("a", vec![0, 1]),
            ("b", vec![2, 3]),
            ("c", vec![4]),
            ("d", vec![5])
        ]
    );
    let a = range_assignment(&m(&["x", "y", "z"]), 2);
    assert_eq!(
        a[2].1,
        Vec::<u32>::new(),
        "more members than partitions: one idles"
    );
}
