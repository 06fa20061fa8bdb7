//! An inverted index: for each word, the input files it occurs in.
use crate::error::RecordError;
use crate::job::{Emitter, Job, Output, Record};

/// Maps each word of line records to the index of its file. Output lines:
/// `word\tfile,file,…\n`, the file indices ascending and distinct.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvertedIndex;

fn sorted_distinct(mut files: Vec<u64>) -> Vec<u64> {
    files.sort_unstable();
    files.dedup();
    files
}

impl Job for InvertedIndex {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;

    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        for word in super::words(record.bytes) {
            emit.emit_ref(word, record.file as u64);
        }
        Ok(())
    }

    fn combine(&self, _key: &Vec<u8>, files: Vec<u64>) -> Vec<u64> {
        sorted_distinct(files)
    }

    /// Distinct files, whatever pieces they are cut into: the union of the pieces' sets.
    fn splittable(&self) -> bool {
        true
    }

    fn reduce(&self, key: &Vec<u8>, files: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        let files: Vec<String> = sorted_distinct(files).iter().map(u64::to_string).collect();
        let mut line = key.clone();
        line.push(b'\t');
        line.extend_from_slice(files.join(",").as_bytes());
        line.push(b'\n');
        out.write(&line);
        Ok(())
    }
}
