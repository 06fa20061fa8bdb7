//! The disk side of a [`SpillToDisk`](crate::Overflow::SpillToDisk) edge: a FIFO of records in
//! spill segments, appended at the back and read back one by one from the front.
//!
//! Vector's disk buffer is a queue of checksummed records in files that are deleted once read; this
//! is the same, at the size of one edge. A segment is deleted as soon as every record in it has been
//! read and the writer has moved on, and the whole queue is reset (every file removed) each time it
//! runs empty, so the bytes on disk are those of records still waiting (plus the read part of the
//! two segments at the ends) and never exceed `max_bytes`. Nothing is fsynced: the spill is a
//! buffer that dies with its process; what survives a crash is the source's acks (a spilled item is
//! acked only once its sink has finished it), and a killed run's segments are left for
//! `pipeline-inspect` to list. The I/O is page-cache writes and reads of records written moments
//! before, done under the edge's lock.
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

use crate::ack::Ack;
use crate::codec::{Codec, Spill};
use crate::edge::Item;
use crate::spill::{self, HEADER, MAGIC, SpillError, io_err};

/// One segment of the queue.
#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// Bytes in the file (its header included).
    bytes: u64,
    /// Records written to it and not read yet.
    unread: u64,
    /// Where the next record to read starts (for an error's offset).
    read_at: u64,
    /// A write to it failed: nothing more is appended (a torn frame may end it).
    closed: bool,
}

/// A FIFO of byte records on disk.
#[derive(Debug)]
pub(crate) struct SpillQueue {
    dir: PathBuf,
    /// Whether this queue made `dir` (then it removes it once empty).
    created_dir: bool,
    max_bytes: u64,
    /// A segment is closed once it holds this many bytes.
    segment_bytes: u64,
    /// Oldest first; the back one is being written.
    segments: VecDeque<Segment>,
    writer: Option<File>,
    /// Reads the front segment.
    reader: Option<BufReader<File>>,
    next_index: u64,
    on_disk: u64,
    records: u64,
}

/// Why a record was not spilled.
#[derive(Debug)]
pub(crate) enum NotSpilled {
    /// `max_bytes` would be exceeded: the sender waits (Block).
    Full,
    /// The disk refused: the sender falls back to waiting for room in memory.
    Failed(SpillError),
}

impl SpillQueue {
    /// A queue in `dir` (created if missing), which must hold no segments.
    pub(crate) fn open(dir: PathBuf, max_bytes: u64) -> Result<Self, SpillError> {
        let created_dir = !dir.exists();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let found = spill::segments(&dir)?.len();
        if found > 0 {
            return Err(SpillError::Leftovers {
                dir,
                segments: found,
            });
        }
        Ok(SpillQueue {
            dir,
            created_dir,
            max_bytes,
            // A few segments under the cap, so that reading one frees its bytes well before the
            // cap is reached; never tiny, never huge.
            segment_bytes: (max_bytes / 4).clamp(4 << 10, 8 << 20),
            segments: VecDeque::new(),
            writer: None,
            reader: None,
            next_index: 0,
            on_disk: 0,
            records: 0,
        })
    }

    /// Bytes of segments on disk now.
    pub(crate) fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// Appends one record; returns the bytes written.
    pub(crate) fn push(&mut self, payload: &[u8]) -> Result<u64, NotSpilled> {
        let len = spill::record_len(payload).map_err(NotSpilled::Failed)?;
        let frame = spill::frame(len, payload);
        let new_segment = self
            .segments
            .back()
            .is_none_or(|s| s.closed || s.bytes >= self.segment_bytes);
        let needed = frame.len() as u64 + if new_segment { HEADER as u64 } else { 0 };
        if self.on_disk + needed > self.max_bytes {
            return Err(NotSpilled::Full);
        }
        if new_segment {
            let path = self.dir.join(spill::segment_name(self.next_index));
            let mut f = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(|e| NotSpilled::Failed(io_err(&path)(e)))?;
            if let Err(e) = f.write_all(MAGIC) {
                let _ = fs::remove_file(&path);
                return Err(NotSpilled::Failed(io_err(&path)(e)));
            }
            self.next_index += 1;
            self.writer = Some(f);
            self.on_disk += HEADER as u64;
            self.segments.push_back(Segment {
                path,
                bytes: HEADER as u64,
                unread: 0,
                read_at: HEADER as u64,
                closed: false,
            });
        }
        let seg = self.segments.back_mut().expect("a segment is open");
        let f = self.writer.as_mut().expect("the back segment is open");
        if let Err(e) = f.write_all(&frame) {
            // A partial write leaves a torn frame no read will reach (the count stays), and the
            // segment is closed to writes, so nothing is appended after it.
            seg.closed = true;
            return Err(NotSpilled::Failed(io_err(&seg.path)(e)));
        }
        seg.bytes += frame.len() as u64;
        seg.unread += 1;
        self.on_disk += frame.len() as u64;
        self.records += 1;
        Ok(frame.len() as u64)
    }

    /// Reads the oldest record into `payload`; `Ok(false)` if none is waiting.
    pub(crate) fn pop(&mut self, payload: &mut Vec<u8>) -> Result<bool, SpillError> {
        if self.records == 0 {
            return Ok(false);
        }
        let seg = self
            .segments
            .iter_mut()
            .find(|s| s.unread > 0)
            .expect("a record is waiting");
        if self.reader.is_none() {
            let mut r = BufReader::new(File::open(&seg.path).map_err(io_err(&seg.path))?);
            let mut magic = [0u8; HEADER];
            r.read_exact(&mut magic).map_err(io_err(&seg.path))?;
            if &magic != MAGIC {
                return Err(SpillError::NotASegment {
                    path: seg.path.clone(),
                });
            }
            self.reader = Some(r);
        }
        let r = self.reader.as_mut().expect("opened above");
        if !spill::read_record(r, payload, &seg.path, seg.read_at)? {
            return Err(SpillError::Corrupt {
                path: seg.path.clone(),
                offset: seg.read_at,
            });
        }
        seg.read_at += 8 + payload.len() as u64;
        seg.unread -= 1;
        self.records -= 1;
        self.reclaim();
        Ok(true)
    }

    /// Deletes the front segments that are read through and closed to writes; everything once the
    /// queue is empty.
    fn reclaim(&mut self) {
        if self.records == 0 {
            self.clear();
            return;
        }
        while self
            .segments
            .front()
            .is_some_and(|s| s.unread == 0 && self.segments.len() > 1)
        {
            let seg = self.segments.pop_front().expect("checked");
            let _ = fs::remove_file(&seg.path); // a file that will not go only costs disk
            self.on_disk -= seg.bytes;
            self.reader = None;
        }
    }

    /// Removes every segment: the queue is empty again.
    pub(crate) fn clear(&mut self) {
        self.writer = None;
        self.reader = None;
        for seg in self.segments.drain(..) {
            let _ = fs::remove_file(&seg.path);
        }
        self.on_disk = 0;
        self.records = 0;
    }
}

impl Drop for SpillQueue {
    fn drop(&mut self) {
        self.clear();
        if self.created_dir {
            let _ = fs::remove_dir(&self.dir); // only if empty: nothing of anyone else's goes
        }
    }
}

/// An edge's spilled items: their values on disk, their sequence numbers and ack claims in memory
/// (a claim holds the source's tracker, which has no bytes to write), in the same order.
pub(crate) struct Spilled<T> {
    queue: SpillQueue,
    claims: VecDeque<(u64, Ack)>,
    codec: Codec<T>,
    buf: Vec<u8>,
}

/// What a pop from the spill gave.
pub(crate) enum Unspilled<T> {
    /// The oldest spilled item.
    Item(Item<T>),
    /// The oldest spilled item (or, after a read error, every one) could not be read back: they
    /// are lost, their claims abandoned.
    Lost(u64, SpillError),
}

impl<T: 'static> Spilled<T> {
    /// Opens the spill of `stage`'s edge, whose items are `T`s.
    pub(crate) fn open(spill: &Spill, stage: &str) -> Result<Self, crate::PipelineError> {
        let codec = spill
            .codec::<T>()
            .ok_or_else(|| crate::PipelineError::SpillType {
                stage: stage.to_string(),
                spill_for: spill.item_type(),
                edge_carries: std::any::type_name::<T>(),
            })?;
        let queue =
            SpillQueue::open(spill.dir().to_path_buf(), spill.max_bytes()).map_err(|e| {
                crate::PipelineError::Spill {
                    stage: stage.to_string(),
                    message: e.to_string(),
                }
            })?;
        Ok(Spilled {
            queue,
            claims: VecDeque::new(),
            codec,
            buf: Vec::new(),
        })
    }
}

impl<T> Spilled<T> {
    /// Items spilled and not read back yet.
    pub(crate) fn len(&self) -> usize {
        self.claims.len()
    }

    /// Bytes on disk now.
    pub(crate) fn on_disk(&self) -> u64 {
        self.queue.on_disk()
    }

    /// Spills `item` (its bytes written, in the queue's order); gives it back if it was not.
    pub(crate) fn push(&mut self, item: Item<T>) -> Result<u64, (Item<T>, NotSpilled)> {
        self.buf.clear();
        (self.codec.encode)(&item.value, &mut self.buf);
        match self.queue.push(&self.buf) {
            Ok(bytes) => {
                self.claims.push_back((item.seq, item.ack));
                Ok(bytes)
            }
            Err(why) => Err((item, why)),
        }
    }

    /// The oldest spilled item, if any.
    pub(crate) fn pop(&mut self) -> Option<Unspilled<T>> {
        let (seq, ack) = self.claims.pop_front()?;
        match self.queue.pop(&mut self.buf) {
            Ok(true) => match (self.codec.decode)(&self.buf) {
                Some(value) => Some(Unspilled::Item(Item { seq, value, ack })),
                None => Some(Unspilled::Lost(
                    1,
                    SpillError::Undecodable {
                        dir: self.queue.dir.clone(),
                    },
                )),
            },
            // No record for a queued claim (cannot happen: one is pushed with each record) is a
            // loss like a bad read, not a panic.
            Ok(false) => self.lose_all(SpillError::Undecodable {
                dir: self.queue.dir.clone(),
            }),
            Err(e) => self.lose_all(e),
        }
    }

    /// Past a bad read the queue's framing cannot be trusted: the item being read and every one
    /// after it are lost.
    fn lose_all(&mut self, e: SpillError) -> Option<Unspilled<T>> {
        let lost = 1 + self.claims.len() as u64;
        self.claims.clear();
        self.queue.clear();
        Some(Unspilled::Lost(lost, e))
    }

    /// Removes everything spilled (its files too) and returns how many items that was; their
    /// claims are dropped unfinished (abandoned).
    pub(crate) fn clear(&mut self) -> u64 {
        let n = self.claims.len() as u64;
        self.claims.clear();
        self.queue.clear();
        n
    }
}
