//! Word count, the map-reduce hello world, as an [`Aggregate`]: each word emits 1, sums merge.
use crate::job::{Aggregate, AggregateJob, Emitter, Record};

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
    type KeyRef = [u8];
    type Acc = u64;

    /// Each word borrowed from the line: a map task allocates a key once per distinct word.
    fn map<'r>(&self, record: &Record<'r>, emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>) {
        for word in super::words(record.bytes) {
            emit.emit_ref(word, 1);
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
