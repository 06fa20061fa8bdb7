//! A pod's output on disk, bounded: stdout and stderr in one file (as `kubectl logs` shows them),
//! rotated once it reaches its cap so at most two files of `cap` bytes each are kept (the kubelet
//! rotates at `containerLogMaxSize`, 10 MiB by default). A restart appends a marker line, so the
//! runs of a crash loop read one after the other.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// A pod's log file with a size cap.
#[derive(Debug)]
pub(crate) struct PodLog {
    path: PathBuf,
    cap: u64,
    file: File,
    /// Bytes in the current file.
    written: u64,
    /// Whether the last byte written ended a line (or nothing was written yet).
    at_line_start: bool,
}

impl PodLog {
    /// Opens (appending) or creates the log at `path`; each file holds at most `cap` bytes (at
    /// least 1).
    pub(crate) fn open(path: PathBuf, cap: u64) -> io::Result<PodLog> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(PodLog {
            path,
            cap: cap.max(1),
            file,
            written,
            at_line_start: true,
        })
    }

    /// Appends `bytes`, rotating whenever the current file is full.
    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
        while !bytes.is_empty() {
            if self.written >= self.cap {
                self.rotate()?;
            }
            let room = usize::try_from(self.cap - self.written).unwrap_or(usize::MAX);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.file.write_all(now)?;
            self.written += now.len() as u64;
            bytes = rest;
        }
        Ok(())
    }

    /// Appends a line of the supervisor's own (a restart marker), on a line of its own.
    pub(crate) fn marker(&mut self, line: &str) -> io::Result<()> {
        let open = if self.at_line_start { "" } else { "\n" };
        self.write(format!("{open}--- tinykube: {line} ---\n").as_bytes())
    }

    /// `pod.log` becomes `pod.log.1` (replacing the older one); a fresh `pod.log` begins.
    fn rotate(&mut self) -> io::Result<()> {
        fs::rename(&self.path, rotated(&self.path))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// A pod's log as `tkctl logs` prints it: the rotated file (if any), then the current one.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tinykube-doc-logs-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("web.log"), "hello\n")?;
/// assert_eq!(tinykube::agent::read_log(&dir.join("web.log"))?, b"hello\n");
/// # std::fs::remove_dir_all(&dir) }
/// ```
pub fn read_log(path: &Path) -> io::Result<Vec<u8>> {
    let mut all = match fs::read(rotated(path)) {
        Ok(older) => older,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    all.extend(fs::read(path)?);
    Ok(all)
}

/// Copies everything read from `source` (the run's stdout and stderr pipe) into `log` until every
/// writer of the pipe has closed it, which happens once the run's process group is gone.
pub(crate) fn pump(
    mut source: io::PipeReader,
    log: Arc<Mutex<PodLog>>,
    pod: &str,
    done: Sender<()>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("tinykube-log-{pod}"))
        .spawn(move || {
            // Dropped on every return: the supervisor's deadline-bounded join waits for that.
            let _done = done;
            let mut buf = [0u8; 8192];
            loop {
                match source.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                        // A full disk loses output, not the pod: nothing to report it to here.
                        let _ = log.write(&buf[..n]);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::tempdir::TempDir;

    #[test]
    fn markers_sit_on_lines_of_their_own_and_files_stay_under_the_cap() {
        let dir = TempDir::new("podlog").unwrap();
        let path = dir.path().join("p.log");
        let mut log = PodLog::open(path.clone(), 40).unwrap();
        log.write(b"one\n").unwrap();
        log.marker("restart 1").unwrap(); // after a whole line: no blank line
        log.write(b"partial").unwrap();
        log.marker("restart 2").unwrap(); // after a partial line: the line is ended first
        let all = String::from_utf8(read_log(&path).unwrap()).unwrap();
        assert_eq!(
            all,
            "one\n--- tinykube: restart 1 ---\npartial\n--- tinykube: restart 2 ---\n"
        );
        log.write(b"more output, rotating again\n").unwrap();
        for file in [path.clone(), rotated(&path)] {
            assert!(fs::metadata(&file).unwrap().len() <= 40, "{file:?}");
        }
        // Only the newest two files are kept: the first line has rotated away.
        let all = String::from_utf8(read_log(&path).unwrap()).unwrap();
        assert!(
            !all.contains("one") && all.ends_with("rotating again\n"),
            "{all:?}"
        );
    }
}
