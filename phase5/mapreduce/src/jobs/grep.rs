//! Distributed grep: the lines holding a pattern, with where they were found.
use crate::error::RecordError;
use crate::job::{Emitter, Job, Output, Record};

/// Keeps the line records that contain `pattern` (a byte substring). Output lines:
/// `file:offset:line\n`, ordered by (file, offset) within each partition.
#[derive(Debug, Clone)]
pub struct Grep {
    pattern: Vec<u8>,
}

impl Grep {
    /// Lines containing `pattern`; an empty pattern matches every line.
    pub fn new(pattern: impl Into<Vec<u8>>) -> Grep {
        Grep {
            pattern: pattern.into(),
        }
    }
}

impl Job for Grep {
    type Key = (u64, u64);
    type KeyRef = (u64, u64);
    type Value = Vec<u8>;

    fn map(
        &self,
        record: &Record<'_>,
        emit: &mut Emitter<'_, (u64, u64), Vec<u8>>,
    ) -> Result<(), RecordError> {
        let found = self.pattern.is_empty()
            || record
                .bytes
                .windows(self.pattern.len())
                .any(|w| w == self.pattern.as_slice());
        if found {
            emit.emit((record.file as u64, record.offset), record.bytes.to_vec());
        }
        Ok(())
    }

    fn reduce(
        &self,
        &(file, offset): &(u64, u64),
        lines: Vec<Vec<u8>>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        for line in lines {
            let mut record = format!("{file}:{offset}:").into_bytes();
            record.extend_from_slice(&line);
            record.push(b'\n');
            out.write(&record);
        }
        Ok(())
    }
}
