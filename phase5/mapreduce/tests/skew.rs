//! Heavy-key detection and per-reducer input: on a Zipf (s = 1.2) corpus, the keys the merged
//! map-side sketches report carry the pairs they claim, every key above `2n / capacity` is
//! reported, the report is the same on any thread count, and the values counted into each reduce
//! task are the pairs its keys received.
mod common;

use std::collections::BTreeMap;

use common::*;
use mapreduce::{Emitter, Engine, Input, Job, Output, Record, RecordError, hash_partition};

/// Word count without a combiner: every pair reaches its reducer.
struct Uncombined;

impl Job for Uncombined {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;
    fn map(
        &self,
        r: &Record<'_>,
        emit: &mut Emitter<'_, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        for word in r
            .bytes
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
        {
            emit.emit(word.to_vec(), 1);
        }
        Ok(())
    }
    fn reduce(&self, key: &Vec<u8>, v: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        out.write(
            &[
                key.as_slice(),
                b"\t",
                v.iter().sum::<u64>().to_string().as_bytes(),
                b"\n",
            ]
            .concat(),
        );
        Ok(())
    }
}

#[test]
fn heavy_keys_and_reducer_inputs_match_exact_counts() {
    guarded(|| {
        let files = zipf_files(61, 3, 40_000, 5_000);
        let (dir, paths) = setup("mr-skew", &files);
        let input = Input::lines(&paths);
        let truth: BTreeMap<Vec<u8>, u64> = wordcount_reference(&files);
        let n: u64 = truth.values().sum();
        let capacity = 32;
        let reducers = 4;
        let mut reports = Vec::new();
        for threads in [1, 3] {
            let report = Engine::new()
                .threads(threads)
                .splits(12)
                .reducers(reducers)
                .detect_heavy_keys(Some(capacity))
                .run(&Uncombined, &input, dir.path().join(format!("t{threads}")))
                .unwrap();
            assert_eq!(report.map_output_pairs, n);
            // Reported keys: their true count lies in the reported bounds, above n / capacity.
            for heavy in &report.heavy_keys {
                let t = truth[&heavy.key];
                assert!(
                    heavy.pairs_at_least <= t && t <= heavy.pairs_at_most,
                    "{heavy:?}: {t}"
                );
                assert!(
                    heavy.pairs_at_least * capacity as u64 >= n,
                    "{heavy:?} below n/k"
                );
                assert_eq!(heavy.partition, hash_partition(&heavy.key, reducers));
            }
            // Every key above 2n / capacity is reported.
            for (key, &t) in &truth {
                if t * capacity as u64 >= 2 * n {
                    assert!(
                        report.heavy_keys.iter().any(|h| &h.key == key),
                        "{:?} ({t} of {n}) not reported",
                        String::from_utf8_lossy(key)
                    );
                }
            }
            // Each reduce task received exactly its keys' pairs.
            let mut per_partition = vec![0u64; reducers];
            for (key, &t) in &truth {
                per_partition[hash_partition(key, reducers)] += t;
            }
            assert_eq!(report.reduce_input_values, per_partition);
            reports.push(report);
        }
        assert!(!reports[0].heavy_keys.is_empty(), "Zipf 1.2 has heavy keys");
        assert_eq!(reports[0].heavy_keys, reports[1].heavy_keys);
    });
}

#[test]
fn a_sketch_of_zero_counters_is_a_config_error() {
    let dir = harness::tempdir::TempDir::new("mr-skew-config").unwrap();
    let result = Engine::new().detect_heavy_keys(Some(0)).run(
        &Uncombined,
        &Input::lines(Vec::<std::path::PathBuf>::new()),
        dir.path().join("out"),
    );
    assert!(matches!(result, Err(mapreduce::JobError::Config(_))));
}
