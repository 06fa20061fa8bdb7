//! Idempotent sinks: where processed messages land, each message id applied at most once.
//!
//! At-least-once delivery plus an idempotent effect is "effectively exactly once": the broker may
//! hand a message over twice (a crash between applying it and committing it), and the sink
//! recognises the id and skips the second application. The id and the effect must be recorded in one
//! atomic step: here one `write` of one line, under the sink's lock.
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

/// An in-memory sink that counts how often each id was *delivered* and applies it once.
#[derive(Default)]
pub struct MemorySink {
    seen: Mutex<HashMap<String, u32>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Applies `id` unless it was applied before; returns true when applied now.
    pub fn apply(&self, id: &str) -> bool {
        let mut seen = self.seen.lock();
        let n = seen.entry(id.to_string()).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Distinct ids applied.
    pub fn applied(&self) -> usize {
        self.seen.lock().len()
    }

    /// Deliveries that the sink skipped as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.seen.lock().values().map(|&n| u64::from(n) - 1).sum()
    }

    /// Whether `id` was applied.
    pub fn contains(&self, id: &str) -> bool {
        self.seen.lock().contains_key(id)
    }
}

/// A sink in a file: one line per applied id, appended with one `write` each. It survives the
/// process being killed (a torn last line, without its newline, is ignored on open).
pub struct FileSink {
    path: PathBuf,
    state: Mutex<(File, std::collections::HashSet<String>, u64)>,
}

impl FileSink {
    /// Opens (or creates) the sink at `path`, loading the ids already applied.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<FileSink> {
        let path = path.as_ref().to_path_buf();
        let ids = read_ids(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(FileSink {
            path,
            state: Mutex::new((file, ids.into_iter().collect(), 0)),
        })
    }

    /// Applies `id` unless already there; returns true when applied now.
    pub fn apply(&self, id: &str) -> std::io::Result<bool> {
        let mut guard = self.state.lock();
        let (file, ids, dups) = &mut *guard;
        if ids.contains(id) {
            *dups += 1;
            return Ok(false);
        }
        file.write_all(format!("{id}\n").as_bytes())?;
        ids.insert(id.to_string());
        Ok(true)
    }

    /// Ids applied (by this process and the ones before it).
    pub fn applied(&self) -> usize {
        self.state.lock().1.len()
    }

    /// Deliveries this process skipped as already applied.
    pub fn duplicates(&self) -> u64 {
        self.state.lock().2
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The ids in a sink file, in the order they were applied, duplicates included (a non-idempotent
/// writer would leave some); a torn last line is ignored.
pub fn read_ids(path: &Path) -> std::io::Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    Ok(complete
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}
