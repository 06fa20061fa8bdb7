//! A scratch directory that removes itself: every file an experiment writes lives in one, so a run
//! (or a failed test) leaves nothing behind in the system temp directory.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under [`std::env::temp_dir`], deleted with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/rc-io-<label>-<pid>-<nanos>-<n>`; the name is unique in this process and
    /// practically unique across processes.
    pub fn new(label: &str) -> io::Result<TempDir> {
        // Relaxed: only uniqueness of the returned number matters, no memory hangs on it.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("rc-io-{label}-{}-{nanos}-{n}", std::process::id()));
        fs::create_dir(&path)?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory now and reports whether that worked (drop does the same silently).
    pub fn close(mut self) -> io::Result<()> {
        let path = std::mem::take(&mut self.path);
        fs::remove_dir_all(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
