//! Under a memory budget of a tenth of the data, map tasks spill sorted runs and reduce tasks merge
//! them: the output is byte-identical to the in-memory run's, and the spills are counted.
mod common;

use common::*;
use mapreduce::jobs::{InvertedIndex, Sort, WordCount};
use mapreduce::{Engine, Input, Job, JobReport};

fn both<J: Job>(
    job: &J,
    input: &Input,
    dir: &std::path::Path,
    budget: usize,
) -> (JobReport, JobReport) {
    let e = Engine::new().threads(2).splits(8).reducers(3);
    let memory = e.clone().run(job, input, dir.join("memory")).unwrap();
    let spilled = e
        .memory_budget(Some(budget))
        .run(job, input, dir.join("spilled"))
        .unwrap();
    (memory, spilled)
}

#[test]
fn a_tenth_of_the_data_gives_the_in_memory_output() {
    guarded(|| {
        let files = text_files(31, 3, 100_000, 20_000);
        let total: usize = files.iter().map(Vec::len).sum();
        let (dir, paths) = setup("mr-spill", &files);
        let input = Input::lines(&paths);
        for (name, (memory, spilled)) in [
            (
                "wordcount",
                both(
                    &WordCount::job(),
                    &input,
                    &dir.path().join("wc"),
                    total / 10,
                ),
            ),
            (
                "index",
                both(
                    &InvertedIndex,
                    &input,
                    &dir.path().join("index"),
                    total / 10,
                ),
            ),
        ] {
            assert_eq!(parts(&memory), parts(&spilled), "{name}");
            assert_eq!(memory.spilled_runs, 0, "{name}");
            // More runs than the last one per map task and partition: the budget made tasks spill.
            assert!(
                spilled.spilled_runs > (spilled.splits * spilled.reducers) as u64,
                "{name}: {} runs",
                spilled.spilled_runs
            );
            assert!(spilled.spilled_bytes > 0);
            assert_eq!(memory.input_records, spilled.input_records);
        }
        assert_eq!(
            parse_counts(&parts(
                &both(
                    &WordCount::job(),
                    &input,
                    &dir.path().join("wc2"),
                    total / 10
                )
                .1
            )),
            wordcount_reference(&files)
        );

        let records = record_files(32, 2, 3_000, 100);
        let (dir, paths) = setup("mr-spill-sort", &records);
        let (memory, spilled) = both(
            &Sort::benchmark(),
            &Input::fixed(&paths, 100),
            dir.path(),
            600_000 / 10,
        );
        assert_eq!(parts(&memory), parts(&spilled));
        assert_eq!(parts(&spilled).concat(), sort_reference(&records, 100));
        assert!(spilled.spilled_runs > (spilled.splits * spilled.reducers) as u64);
    });
}
