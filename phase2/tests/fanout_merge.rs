//! Fan-in: merging N sources delivers exactly the multiset they sent, and the output closes when all
//! inputs are done.
#![cfg(not(loom))]
use std::thread;
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::leaks::within_no_leaks;
use phase1::channels::bounded;
use phase2::fanout::fanin::merge;
use proptest::prelude::*;

/// The leak check filters threads by name prefix; tests spawning forwarders run one at a time so one
/// test's forwarders are never counted by another's check.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn merge_all(sources: Vec<Vec<u32>>, cap: usize) -> (Vec<u32>, Vec<usize>) {
    let mut inputs = Vec::new();
    let mut producers = Vec::new();
    for src in sources {
        let (tx, rx) = bounded(cap);
        inputs.push(rx);
        producers.push(thread::spawn(move || {
            for v in src {
                tx.send(v).expect("the forwarder reads until we close");
            }
        }));
    }
    let merged = merge(inputs, cap);
    let got: Vec<u32> = merged.output.iter().collect();
    for p in producers {
        p.join().expect("producer");
    }
    (got, merged.join())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn merge_delivers_the_exact_multiset(
        sources in proptest::collection::vec(proptest::collection::vec(0u32..50, 0..40), 1..5),
        cap in 0usize..4,
    ) {
        let expected_counts: Vec<usize> = sources.iter().map(Vec::len).collect();
        let mut expected: Vec<u32> = sources.iter().flatten().copied().collect();
        let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let (mut got, counts) = within_no_leaks(Duration::from_secs(30), move || merge_all(sources, cap));
        expected.sort_unstable();
        got.sort_unstable();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(counts, expected_counts);
    }
}

#[test]
fn forwarders_end_when_the_output_is_dropped() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    within_no_leaks(Duration::from_secs(30), || {
        let check = ThreadLeakCheck::named("fan-in-");
        let (tx, rx) = bounded::<u32>(0);
        let merged = merge(vec![rx], 0);
        let producer = thread::spawn(move || {
            // Keeps sending until the forwarder stops reading.
            let mut sent = 0;
            while tx.send_timeout(sent, Duration::from_millis(500)).is_ok() {
                sent += 1;
            }
            sent
        });
        assert_eq!(merged.output.recv(), Ok(0));
        let forwarded = merged.join(); // drops the output, so the forwarder's send fails
        assert!(forwarded[0] >= 1);
        assert!(producer.join().expect("producer") >= 1);
        check.assert_no_leak(Duration::from_secs(2));
    });
}
