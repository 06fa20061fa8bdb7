//! The Space-Saving sketch against exact counts: every key above `n / capacity` is monitored, each
//! count overestimates by at most its error, errors are at most `n / capacity` — for one sketch
//! and for sketches of parts of the stream merged.
use std::collections::HashMap;

use mapreduce::SpaceSaving;
use proptest::prelude::*;

fn exact(stream: &[u16]) -> HashMap<u16, u64> {
    let mut counts = HashMap::new();
    for &k in stream {
        *counts.entry(k).or_insert(0) += 1;
    }
    counts
}

fn check(sketch: &SpaceSaving<u16>, stream: &[u16], capacity: usize) {
    let truth = exact(stream);
    let n = stream.len() as u64;
    assert_eq!(sketch.total(), n);
    let top = sketch.top();
    for (key, count, error) in &top {
        let t = truth[key];
        assert!(*count >= t, "{key}: count {count} below the truth {t}");
        assert!(
            count - error <= t,
            "{key}: count {count} − error {error} above {t}"
        );
        assert!(*error <= n / capacity as u64, "error {error} above n/k");
    }
    for (key, &t) in &truth {
        if t > n / capacity as u64 {
            assert!(
                top.iter().any(|(k, ..)| k == key),
                "{key} ({t} of {n}) is not monitored"
            );
        }
    }
}

/// Skewed streams: most keys from a few, the rest spread.
fn stream() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(prop_oneof![3 => 0u16..4, 1 => 0u16..500], 0..600)
}

proptest! {
    #[test]
    fn one_sketch_keeps_its_guarantees(stream in stream(), capacity in 1usize..20) {
        let mut sketch = SpaceSaving::new(capacity);
        for &k in &stream {
            sketch.insert(k, 1);
        }
        prop_assert!(sketch.top().len() <= capacity);
        check(&sketch, &stream, capacity);
    }

    #[test]
    fn merged_sketches_keep_the_guarantees(stream in stream(), capacity in 1usize..20, parts in 1usize..6) {
        let chunk = stream.len().div_ceil(parts).max(1);
        let mut merged = SpaceSaving::new(capacity);
        for part in stream.chunks(chunk) {
            let mut sketch = SpaceSaving::new(capacity);
            for &k in part {
                sketch.insert(k, 1);
            }
            merged.merge(&sketch);
        }
        check(&merged, &stream, capacity);
        // Inserting after a merge keeps them too.
        for &k in &stream[..stream.len() / 2] {
            merged.insert(k, 1);
        }
        let twice: Vec<u16> = stream.iter().chain(&stream[..stream.len() / 2]).copied().collect();
        check(&merged, &twice, capacity);
    }
}
