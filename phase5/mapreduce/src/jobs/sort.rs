//! Sort of fixed-size records (the sort benchmark's 100-byte records with 10-byte keys).
use crate::error::RecordError;
use crate::job::{Emitter, Job, Output, Record, range_partition};

/// Sorts fixed-size records by their first `key_len` bytes, stably (records with equal keys keep
/// their input order). Range-partitioned: the `part-` files concatenated in order are the sorted
/// input. Read the input with [`Input::fixed`](crate::Input::fixed).
#[derive(Debug, Clone, Copy)]
pub struct Sort {
    key_len: usize,
}

impl Sort {
    /// Records keyed on their first `key_len` bytes.
    pub fn new(key_len: usize) -> Sort {
        Sort { key_len }
    }

    /// The sort benchmark's layout: 10-byte keys (of 100-byte records).
    pub fn benchmark() -> Sort {
        Sort::new(10)
    }
}

impl Job for Sort {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = Vec<u8>;

    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, Vec<u8>, [u8]>,
    ) -> Result<(), RecordError> {
        if record.bytes.len() < self.key_len {
            return Err(RecordError::Bad(format!(
                "a {}-byte record is shorter than the {}-byte key",
                record.bytes.len(),
                self.key_len
            )));
        }
        let (key, rest) = record.bytes.split_at(self.key_len);
        emit.emit_ref(key, rest.to_vec());
        Ok(())
    }

    fn partition(&self, key: &Vec<u8>, reducers: usize) -> usize {
        range_partition(key, reducers)
    }

    fn reduce(
        &self,
        key: &Vec<u8>,
        rests: Vec<Vec<u8>>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        for rest in rests {
            let mut record = Vec::with_capacity(key.len() + rest.len());
            record.extend_from_slice(key);
            record.extend_from_slice(&rest);
            out.write(&record);
        }
        Ok(())
    }
}
