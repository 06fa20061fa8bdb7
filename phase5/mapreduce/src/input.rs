//! Inputs: files cut into splits on record boundaries. A split is what one map task reads; its
//! boundaries are placed near `total / M` and moved forward to the next record, so no record is cut
//! in two and none is read twice.
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::error::{InputProblem, JobError, SplitInfo};

/// How records are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// Lines ending in `\n` (the `\n` is not part of the record; a last line without one is read).
    Lines,
    /// Records of exactly this many bytes; a file must hold a whole number of them.
    Fixed(usize),
}

/// The input files of a job and how their records are delimited.
///
/// ```
/// use mapreduce::Input;
///
/// let text = Input::lines(["a.txt", "b.txt"]);
/// let records = Input::fixed(["sort.bin"], 100);
/// assert_eq!(text.paths().len(), 2);
/// # let _ = records;
/// ```
#[derive(Debug, Clone)]
pub struct Input {
    paths: Vec<PathBuf>,
    format: RecordFormat,
}

impl Input {
    /// Files of `\n`-terminated lines.
    pub fn lines<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Input {
        Input {
            paths: paths.into_iter().map(Into::into).collect(),
            format: RecordFormat::Lines,
        }
    }

    /// Files of fixed-size records of `record_len` bytes.
    pub fn fixed<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>, record_len: usize) -> Input {
        Input {
            paths: paths.into_iter().map(Into::into).collect(),
            format: RecordFormat::Fixed(record_len),
        }
    }

    /// The files, in order (a record's `file` is its index here).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// How records are delimited.
    pub fn format(&self) -> RecordFormat {
        self.format
    }

    /// Cuts the files into about `splits` splits on record boundaries (at least one per non-empty
    /// file; empty files give none).
    pub(crate) fn splits(&self, splits: usize) -> Result<Vec<Split>, JobError> {
        if let RecordFormat::Fixed(0) = self.format {
            return Err(JobError::Config("a fixed record size of 0 bytes"));
        }
        let io_error = |path: &PathBuf| {
            let path = path.clone();
            move |e| JobError::Input {
                path,
                reason: InputProblem::Io(e),
            }
        };
        let mut lens = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            let meta = std::fs::metadata(path).map_err(io_error(path))?;
            if meta.is_dir() {
                return Err(JobError::Input {
                    path: path.clone(),
                    reason: InputProblem::Io(std::io::Error::other("is a directory")),
                });
            }
            if let RecordFormat::Fixed(record_len) = self.format
                && meta.len() % record_len as u64 != 0
            {
                return Err(JobError::Input {
                    path: path.clone(),
                    reason: InputProblem::PartialRecord {
                        len: meta.len(),
                        record_len,
                    },
                });
            }
            lens.push(meta.len());
        }
        let total: u64 = lens.iter().sum();
        let target = total.div_ceil(splits.max(1) as u64).max(1);
        let mut out = Vec::new();
        for (file, (path, &len)) in self.paths.iter().zip(&lens).enumerate() {
            let mut start = 0;
            while start < len {
                let nominal = (start + target).min(len);
                let end = match self.format {
                    RecordFormat::Fixed(record_len) => {
                        nominal.next_multiple_of(record_len as u64).min(len)
                    }
                    RecordFormat::Lines => {
                        next_line_start(path, nominal, len).map_err(io_error(path))?
                    }
                };
                out.push(Split {
                    file,
                    path: path.clone(),
                    start,
                    end,
                    format: self.format,
                });
                start = end;
            }
        }
        Ok(out)
    }
}

/// The first line start at or after `at`: `at` itself if the byte before it is `\n`, else one past
/// the next `\n` (or `len`).
fn next_line_start(path: &PathBuf, at: u64, len: u64) -> std::io::Result<u64> {
    if at == 0 || at >= len {
        return Ok(at.min(len));
    }
    let mut file = BufReader::new(File::open(path)?);
    file.seek(SeekFrom::Start(at - 1))?;
    let mut skipped = Vec::new();
    let n = file.read_until(b'\n', &mut skipped)?;
    Ok((at - 1 + n as u64).min(len))
}

/// What one map task reads.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    pub(crate) file: usize,
    pub(crate) path: PathBuf,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) format: RecordFormat,
}

impl Split {
    pub(crate) fn info(&self) -> SplitInfo {
        SplitInfo {
            path: self.path.clone(),
            start: self.start,
            end: self.end,
        }
    }

    /// The split's bytes.
    pub(crate) fn read(&self) -> std::io::Result<Vec<u8>> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.start))?;
        let mut bytes = Vec::with_capacity((self.end - self.start) as usize);
        file.take(self.end - self.start).read_to_end(&mut bytes)?;
        if bytes.len() as u64 != self.end - self.start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while the job ran",
            ));
        }
        Ok(bytes)
    }

    /// Calls `f(offset_in_file, record)` for each record of `bytes` (the split's bytes), in order.
    pub(crate) fn for_each_record<'b, E>(
        &self,
        bytes: &'b [u8],
        mut f: impl FnMut(u64, &'b [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.format {
            RecordFormat::Lines => {
                let mut pos = 0;
                while pos < bytes.len() {
                    let end = bytes[pos..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |i| pos + i);
                    f(self.start + pos as u64, &bytes[pos..end])?;
                    pos = end + 1;
                }
            }
            RecordFormat::Fixed(record_len) => {
                for (i, record) in bytes.chunks_exact(record_len).enumerate() {
                    f(self.start + (i * record_len) as u64, record)?;
                }
            }
        }
        Ok(())
    }
}
