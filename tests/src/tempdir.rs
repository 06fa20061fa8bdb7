//! Names and directories that no other run uses: an experiment's files live in a [`TempDir`] that
//! removes itself, so a run (or a failed test) leaves nothing behind in the system temp directory, and
//! a resource shared between runs (a Redis topic) gets a [`unique_name`].
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `<label>-<pid>-<nanos>-<n>`: unique in this process (a counter) and practically unique across
/// processes (the pid and the clock's nanoseconds).
pub fn unique_name(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Relaxed: only uniqueness of the returned number matters, no memory hangs on it.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{label}-{}-{nanos}-{n}", std::process::id())
}

/// A fresh directory under [`std::env::temp_dir`], deleted with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/rc-<label>-<pid>-<nanos>-<n>` (see [`unique_name`]).
    pub fn new(label: &str) -> io::Result<TempDir> {
        let path = std::env::temp_dir().join(unique_name(&format!("rc-{label}")));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_within_a_process() {
        assert_ne!(unique_name("t"), unique_name("t"));
    }

    #[test]
    fn the_directory_and_its_contents_go_on_drop_or_close() {
        let (a, b) = (
            TempDir::new("tempdir-test").unwrap(),
            TempDir::new("tempdir-test").unwrap(),
        );
        assert_ne!(a.path(), b.path());
        fs::write(a.path().join("f"), b"x").unwrap();
        fs::create_dir(b.path().join("sub")).unwrap();
        let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());
        assert!(pa.is_dir() && pb.is_dir());
        drop(a);
        assert!(!pa.exists(), "dropped with its file");
        b.close().unwrap();
        assert!(!pb.exists(), "closed with its subdirectory");
    }
}
