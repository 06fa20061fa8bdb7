//! Successors: for each word, the distinct words that follow it on a line (the vocabulary of a
//! bigram model). Its combiner removes duplicates but keeps every distinct successor, so a frequent
//! word reaches its reducer as a long list from every map task: the shape heavy-key splitting is
//! for ([`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys)).
use crate::error::RecordError;
use crate::job::{Emitter, Job, Output, Record};

/// Maps each pair of adjacent words of a line record to `(word, next word)`. Output lines:
/// `word\tnext next …\n`, the successors distinct and in byte order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Successors;

fn sorted_distinct(mut words: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    words.sort_unstable();
    words.dedup();
    words
}

impl Job for Successors {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = Vec<u8>;

    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, Vec<u8>, [u8]>,
    ) -> Result<(), RecordError> {
        let mut words = super::words(record.bytes);
        let Some(mut previous) = words.next() else {
            return Ok(());
        };
        for word in words {
            emit.emit_ref(previous, word.to_vec());
            previous = word;
        }
        Ok(())
    }

    fn combine(&self, _key: &Vec<u8>, words: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        sorted_distinct(words)
    }

    /// Distinct successors, whatever pieces they are cut into: the union of the pieces' sets.
    fn splittable(&self) -> bool {
        true
    }

    fn reduce(
        &self,
        key: &Vec<u8>,
        words: Vec<Vec<u8>>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        let words = sorted_distinct(words);
        let mut line = key.clone();
        line.push(b'\t');
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            line.extend_from_slice(word);
        }
        line.push(b'\n');
        out.write(&line);
        Ok(())
    }
}
