//! Ordered output: for any job costs and any window, `map_window` in ordered mode emits exactly the
//! input order, the reorder buffer stays below the window and the outstanding jobs at or below it;
//! unordered mode loses and doubles nothing.
#![cfg(not(loom))]
use std::time::Duration;

use harness::watchdog::within;
use phase2::pool::{Pool, map_window};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ordered_output_equals_input_order(
        costs in proptest::collection::vec(0u64..400, 1..60),
        window in 1usize..10,
        workers in 1usize..4,
    ) {
        let input = costs.clone();
        let (ordered, unordered, stats) = within(Duration::from_secs(30), move || {
            let mut pool = Pool::new("t-order", workers, 8);
            let job = |c: u64| { std::thread::sleep(Duration::from_micros(c)); c };
            let mut ordered = Vec::new();
            let stats = map_window(&mut pool, costs.clone(), window, true, job, |id, v| ordered.push((id, v)));
            let mut unordered = Vec::new();
            map_window(&mut pool, costs.clone(), window, false, job, |id, v| unordered.push((id, v)));
            (ordered, unordered, stats)
        });
        // The oracle is the input itself: job k returns its cost, so ordered output is exactly
        // `(k, input[k])` for every k — no result lost, doubled or moved.
        let want: Vec<(u64, u64)> = input.iter().enumerate().map(|(k, &c)| (k as u64, c)).collect();
        prop_assert_eq!(&ordered, &want);
        prop_assert!(stats.max_buffered < window, "buffered {} with window {}", stats.max_buffered, window);
        prop_assert!(stats.max_outstanding <= window);
        let mut unordered = unordered;
        unordered.sort_unstable();
        prop_assert_eq!(&unordered, &want, "unordered: the same pairs, in any order");
    }
}

#[test]
fn a_slow_head_job_fills_the_buffer_up_to_the_window_and_no_further() {
    within(Duration::from_secs(30), || {
        let mut pool = Pool::new("t-head", 4, 8);
        // Job 0 is 200× slower; the others complete behind it and must wait in the buffer.
        let job = |i: u64| {
            std::thread::sleep(Duration::from_millis(if i == 0 { 200 } else { 1 }));
            i
        };
        let mut out = Vec::new();
        let stats = map_window(&mut pool, 0..40u64, 6, true, job, |_, v| out.push(v));
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert_eq!(
            stats.max_buffered, 5,
            "the window lets exactly 5 results pile up behind job 0"
        );
    });
}
