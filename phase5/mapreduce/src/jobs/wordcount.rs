//! Word count, the map-reduce hello world, as an [`Aggregate`]: each word emits 1, sums merge.
use crate::job::{Aggregate, AggregateJob, Record};

/// Counts the words (runs of non-whitespace bytes) of line records. Output lines: `word\tcount\n`,
/// in byte order of the words within each partition.
#[derive(Debug, Clone, Copy, Default)]
pub struct WordCount;

impl WordCount {
    /// The job to hand to [`Engine::run`](crate::Engine::run).
    pub fn job() -> AggregateJob<WordCount> {
        AggregateJob(WordCount)
    }
}

impl Aggregate for WordCount {
    type Key = Vec<u8>;
    type Acc = u64;

    fn map(&self, record: &Record<'_>, emit: &mut dyn FnMut(Vec<u8>, u64)) {
        for word in super::words(record.bytes) {
            emit(word.to_vec(), 1);
        }
    }

    fn merge(&self, acc: &mut u64, other: u64) {
        *acc += other;
    }

    fn write(&self, key: &Vec<u8>, acc: &u64, out: &mut Vec<u8>) {
        out.extend_from_slice(key);
        out.push(b'\t');
        out.extend_from_slice(acc.to_string().as_bytes());
        out.push(b'\n');
    }
}
