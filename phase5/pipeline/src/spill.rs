//! Spill segments: records appended to checksummed files in a directory, read back in order.
//!
//! Vector's disk buffer and Kafka's log both frame each record with its length and a checksum, so
//! that a crash in the middle of a write leaves a tail that is recognised and cut, never a record
//! that reads back wrong. A segment here is `seg-NNNNNNNN.spill`: the 8-byte magic `PLSPILL1`, then
//! records `len: u32 LE | crc32(len bytes ‖ payload): u32 LE | payload`. The checksum covers the
//! length too, so a tail of zeros (a file extended by a crash before its data landed) is no valid
//! empty record. A bad record whose frame reaches the end of the last segment (or runs past it) is
//! a *torn tail*: ignored, and reported. A bad record with data after it, or in an earlier segment,
//! is *corruption*: an error, and nothing after it is read.
//!
//! This is the storage under an [`Overflow::SpillToDisk`](crate::Overflow::SpillToDisk) edge,
//! which appends with the same framing and reads its records back one by one (`spill_queue.rs`).
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub(crate) const MAGIC: &[u8; 8] = b"PLSPILL1";
pub(crate) const HEADER: usize = 8;

/// CRC-32 (IEEE 802.3, reflected, the one zlib and Ethernet use), table-driven.
fn crc32(chunks: &[&[u8]]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for chunk in chunks {
        for &b in *chunk {
            crc = TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

/// What went wrong with a spill directory.
#[derive(Debug)]
pub enum SpillError {
    /// An I/O error on a file of the directory.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file named like a segment that does not start with the segment magic.
    NotASegment {
        /// The file.
        path: PathBuf,
    },
    /// A record whose length or checksum is wrong, with more data after it.
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// The byte offset of the bad record in it.
        offset: u64,
    },
    /// A record longer than `u32::MAX` bytes.
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// A record read back from a spilling edge that its item type's codec did not accept.
    Undecodable {
        /// The spill directory.
        dir: PathBuf,
    },
    /// A spill directory that still holds segments (of a run that was killed): a new run does not
    /// mix its records with them. List them with `pipeline-inspect DIR`, then remove them.
    Leftovers {
        /// The directory.
        dir: PathBuf,
        /// How many segments it holds.
        segments: usize,
    },
}

impl fmt::Display for SpillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpillError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SpillError::NotASegment { path } => {
                write!(
                    f,
                    "{}: not a spill segment (no PLSPILL1 magic)",
                    path.display()
                )
            }
            SpillError::Corrupt { path, offset } => write!(
                f,
                "{}: corrupt record at byte {offset} (bad length or checksum, data follows)",
                path.display()
            ),
            SpillError::TooLarge { len } => write!(f, "a record of {len} bytes exceeds 4 GiB"),
            SpillError::Undecodable { dir } => write!(
                f,
                "{}: a spilled record was not accepted by its item type's decode",
                dir.display()
            ),
            SpillError::Leftovers { dir, segments } => write!(
                f,
                "{}: holds {segments} spill segment(s) of an earlier run; list them with \
                 `pipeline-inspect {}`, then remove them",
                dir.display(),
                dir.display()
            ),
        }
    }
}

impl std::error::Error for SpillError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpillError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpillError + '_ {
    move |source| SpillError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn segment_name(index: u64) -> String {
    format!("seg-{index:08}.spill")
}

/// The segments of `dir`, in order: `(index, path)`.
pub(crate) fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SpillError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let index = name
            .strip_prefix("seg-")
            .and_then(|r| r.strip_suffix(".spill"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(index) = index {
            found.push((index, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The length field of a record holding `payload`, or [`SpillError::TooLarge`].
pub(crate) fn record_len(payload: &[u8]) -> Result<u32, SpillError> {
    u32::try_from(payload.len()).map_err(|_| SpillError::TooLarge { len: payload.len() })
}

/// One record's frame: `len | crc32(len ‖ payload) | payload`, written with one `write` call.
pub(crate) fn frame(len: u32, payload: &[u8]) -> Vec<u8> {
    let len_bytes = len.to_le_bytes();
    let crc = crc32(&[&len_bytes, payload]);
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&len_bytes);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Reads the next record's frame from `r` (positioned at a record), verifying its checksum; the
/// payload goes to `payload`. `Ok(false)` at a clean end of the data.
pub(crate) fn read_record(
    r: &mut impl Read,
    payload: &mut Vec<u8>,
    path: &Path,
    offset: u64,
) -> Result<bool, SpillError> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(io_err(path)(e)),
    }
    let len_bytes: [u8; 4] = head[..4].try_into().expect("4 bytes");
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    payload.clear();
    payload.resize(u32::from_le_bytes(len_bytes) as usize, 0);
    r.read_exact(payload).map_err(io_err(path))?;
    if crc32(&[&len_bytes, payload]) != crc {
        return Err(SpillError::Corrupt {
            path: path.to_path_buf(),
            offset,
        });
    }
    Ok(true)
}

/// Appends records to the segments of a directory, starting a new segment past `segment_bytes`.
#[derive(Debug)]
pub struct SpillWriter {
    dir: PathBuf,
    segment_bytes: u64,
    next_index: u64,
    current: Option<(File, u64)>,
}

impl SpillWriter {
    /// Writes into `dir` (created if missing), after any segments already there; a segment is
    /// closed once it holds `segment_bytes` or more.
    pub fn create(dir: impl Into<PathBuf>, segment_bytes: u64) -> Result<Self, SpillError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let next_index = segments(&dir)?.last().map_or(0, |(i, _)| i + 1);
        Ok(SpillWriter {
            dir,
            segment_bytes: segment_bytes.max(1),
            next_index,
            current: None,
        })
    }

    /// Appends one record (one `write` call for its frame).
    pub fn append(&mut self, payload: &[u8]) -> Result<(), SpillError> {
        let len = record_len(payload)?;
        if self
            .current
            .as_ref()
            .is_none_or(|(_, size)| *size >= self.segment_bytes)
        {
            let path = self.dir.join(segment_name(self.next_index));
            let mut f = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            f.write_all(MAGIC).map_err(io_err(&path))?;
            self.next_index += 1;
            self.current = Some((f, HEADER as u64));
        }
        let (file, size) = self.current.as_mut().expect("a segment is open");
        let frame = frame(len, payload);
        file.write_all(&frame)
            .map_err(io_err(&self.dir.join(segment_name(self.next_index - 1))))?;
        *size += frame.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable (fsync of the open segment).
    pub fn sync(&mut self) -> Result<(), SpillError> {
        if let Some((f, _)) = &self.current {
            f.sync_all().map_err(io_err(&self.dir))?;
        }
        Ok(())
    }
}

/// How a segment ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Every byte belongs to a valid record.
    Clean,
    /// The last segment ends in an incomplete or bad record from this byte offset on (a write cut
    /// by a crash): those bytes are ignored.
    TornTail {
        /// Where the ignored bytes start.
        offset: u64,
        /// How many bytes are ignored.
        bytes: u64,
    },
}

/// One segment, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// Valid records in it.
    pub records: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// How it ends.
    pub end: SegmentEnd,
}

/// Parses one segment's bytes: its valid records, and where a bad one starts (if any) with whether
/// its frame reaches the end of the data (a cut write) or has data after it (corruption).
fn parse(data: &[u8]) -> (Vec<&[u8]>, Option<(u64, bool)>) {
    let mut records = Vec::new();
    let mut at = HEADER;
    while at < data.len() {
        let Some(head) = data.get(at..at + 8) else {
            return (records, Some((at as u64, true)));
        };
        let len_bytes: [u8; 4] = head[..4].try_into().expect("4 bytes");
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(len_bytes) as usize;
        let end = at + 8 + len;
        let Some(payload) = data.get(at + 8..end) else {
            return (records, Some((at as u64, true)));
        };
        if crc32(&[&len_bytes, payload]) != crc {
            return (records, Some((at as u64, end == data.len())));
        }
        records.push(payload);
        at = end;
    }
    (records, None)
}

/// Reads every record of `dir`, in order, verifying each; calls `each` with every valid record.
/// Returns the directory's segments as verified. A torn tail of the last segment is reported in
/// its [`SegmentInfo::end`]; a bad record anywhere else is [`SpillError::Corrupt`].
pub fn read_all(dir: &Path, mut each: impl FnMut(&[u8])) -> Result<Vec<SegmentInfo>, SpillError> {
    let segs = segments(dir)?;
    let mut infos = Vec::with_capacity(segs.len());
    for (i, (_, path)) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let data = fs::read(path).map_err(io_err(path))?;
        if data.len() < HEADER {
            if last && MAGIC.starts_with(&data) {
                // Cut before its header was complete: an empty torn segment.
                infos.push(SegmentInfo {
                    path: path.clone(),
                    records: 0,
                    bytes: data.len() as u64,
                    end: SegmentEnd::TornTail {
                        offset: 0,
                        bytes: data.len() as u64,
                    },
                });
                continue;
            }
            return Err(SpillError::NotASegment { path: path.clone() });
        }
        if &data[..HEADER] != MAGIC {
            return Err(SpillError::NotASegment { path: path.clone() });
        }
        let (records, bad) = parse(&data);
        let end = match bad {
            None => SegmentEnd::Clean,
            Some((offset, true)) if last => SegmentEnd::TornTail {
                offset,
                bytes: data.len() as u64 - offset,
            },
            Some((offset, _)) => {
                return Err(SpillError::Corrupt {
                    path: path.clone(),
                    offset,
                });
            }
        };
        for r in &records {
            each(r);
        }
        infos.push(SegmentInfo {
            path: path.clone(),
            records: records.len() as u64,
            bytes: data.len() as u64,
            end,
        });
    }
    Ok(infos)
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
    }
}
