//! The embedded backend: a partitioned log in segment files on disk, with consumer groups.
//!
//! Layout under the root directory:
//! ```text
//! <topic>/meta                       the partition count
//! <topic>/p<N>/<first offset>.seg    records: u32 length | u64 offset | payload (little endian)
//! <topic>/groups/<group>.p<N>        the group's committed offset on partition N (written by rename)
//! <topic>/dlq.jsonl                  the dead-letter stream, one JSON object a line
//! ```
//! A segment rolls at [`SEGMENT_BYTES`]. Opening a directory replays the segments; a record cut short
//! by a crash at the tail is dropped (and the file truncated to the last whole record). The pending
//! lists live in memory: after a restart a group resumes from its committed offset, so what was
//! delivered but not committed is delivered again — at least once, the reason the sink must be
//! idempotent. Writes reach the page cache (they survive a killed process, not a power cut: no fsync).
//! One process writes a directory at a time.
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::tempdir::TempDir;
use parking_lot::Mutex;
use serde_json::json;

use super::broker::{Broker, BrokerError, BrokerResult, DeadLetter, Offset, Record};

/// A segment file is closed and a new one started once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 64 * 1024;

const FRAME_HEADER: usize = 12;

fn err(context: &str, e: impl std::fmt::Display) -> BrokerError {
    BrokerError(format!("{context}: {e}"))
}

struct PartitionLog {
    dir: PathBuf,
    records: Vec<Vec<u8>>,
    segment: Option<File>,
    segment_bytes: u64,
    segments: usize,
}

struct Pending {
    consumer: String,
    since: Instant,
}

struct GroupPartition {
    /// The next offset never delivered to this group.
    delivered: Offset,
    /// Delivered, not acknowledged: offset → who holds it, since when.
    pending: BTreeMap<Offset, Pending>,
    /// Everything below is acknowledged (persisted).
    committed: Offset,
}

struct Topic {
    dir: PathBuf,
    parts: Vec<PartitionLog>,
    groups: HashMap<String, Vec<GroupPartition>>,
}

/// The embedded partitioned log (see the module docs).
pub struct EmbeddedBroker {
    root: PathBuf,
    _scratch: Option<TempDir>,
    topics: Mutex<HashMap<String, Topic>>,
}

fn check_name(what: &str, name: &str) -> BrokerResult<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(BrokerError(format!(
            "bad {what} name {name:?}: use letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

impl PartitionLog {
    fn open(dir: PathBuf) -> BrokerResult<PartitionLog> {
        fs::create_dir_all(&dir).map_err(|e| err("create partition dir", e))?;
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| err("read partition dir", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        names.sort();
        let mut log = PartitionLog {
            dir,
            records: Vec::new(),
            segment: None,
            segment_bytes: 0,
            segments: names.len(),
        };
        for (i, path) in names.iter().enumerate() {
            let bytes = fs::read(path).map_err(|e| err("read segment", e))?;
            let mut pos = 0usize;
            while pos + FRAME_HEADER <= bytes.len() {
                let len =
                    u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
                let offset =
                    u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().expect("8 bytes"));
                if pos + FRAME_HEADER + len > bytes.len() {
                    break;
                }
                if offset != log.records.len() as u64 {
                    return Err(BrokerError(format!(
                        "{}: record at byte {pos} has offset {offset}, expected {}",
                        path.display(),
                        log.records.len()
                    )));
                }
                log.records
                    .push(bytes[pos + FRAME_HEADER..pos + FRAME_HEADER + len].to_vec());
                pos += FRAME_HEADER + len;
            }
            if pos < bytes.len() {
                if i + 1 != names.len() {
                    return Err(BrokerError(format!(
                        "{}: torn record before the tail segment",
                        path.display()
                    )));
                }
                // A record cut short by a crash: drop it, as a log must.
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| err("open segment", e))?;
                f.set_len(pos as u64)
                    .map_err(|e| err("truncate torn tail", e))?;
            }
            if i + 1 == names.len() {
                log.segment_bytes = pos as u64;
                log.segment = Some(
                    OpenOptions::new()
                        .append(true)
                        .open(path)
                        .map_err(|e| err("open segment", e))?,
                );
            }
        }
        Ok(log)
    }

    fn append(&mut self, payload: &[u8]) -> BrokerResult<Offset> {
        let offset = self.records.len() as u64;
        if self.segment.is_none() || self.segment_bytes >= SEGMENT_BYTES {
            let path = self.dir.join(format!("{offset:020}.seg"));
            self.segment = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| err("create segment", e))?,
            );
            self.segment_bytes = 0;
            self.segments += 1;
        }
        let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&offset.to_le_bytes());
        frame.extend_from_slice(payload);
        // One write call per record: a killed process leaves whole records (or a torn tail that
        // `open` drops), never a record in the middle of another one.
        self.segment
            .as_mut()
            .expect("segment opened above")
            .write_all(&frame)
            .map_err(|e| err("append to segment", e))?;
        self.segment_bytes += frame.len() as u64;
        self.records.push(payload.to_vec());
        Ok(offset)
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> BrokerResult<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, contents).map_err(|e| err("write", e))?;
    fs::rename(&tmp, path).map_err(|e| err("rename", e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Topic {
    fn group_path(&self, group: &str, p: usize) -> PathBuf {
        self.dir.join("groups").join(format!("{group}.p{p}"))
    }

    fn group(&mut self, group: &str) -> BrokerResult<&mut Vec<GroupPartition>> {
        check_name("group", group)?;
        if !self.groups.contains_key(group) {
            let mut parts = Vec::new();
            for p in 0..self.parts.len() {
                let committed = match fs::read_to_string(self.group_path(group, p)) {
                    Ok(s) => s
                        .trim()
                        .parse::<u64>()
                        .map_err(|e| err("parse committed offset", e))?,
                    Err(_) => 0,
                };
                parts.push(GroupPartition {
                    delivered: committed,
                    pending: BTreeMap::new(),
                    committed,
                });
            }
            self.groups.insert(group.to_string(), parts);
        }
        Ok(self.groups.get_mut(group).expect("inserted above"))
    }

    fn dlq_path(&self) -> PathBuf {
        self.dir.join("dlq.jsonl")
    }

    fn read_dlq(&self) -> BrokerResult<Vec<DeadLetter>> {
        let text = match fs::read_to_string(self.dlq_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err("read dead letters", e)),
        };
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| err("parse dead letter", e))?;
            let bad = || BrokerError(format!("malformed dead letter: {line}"));
            out.push(DeadLetter {
                id: v["id"].as_str().ok_or_else(bad)?.to_string(),
                partition: v["partition"].as_u64().ok_or_else(bad)? as u32,
                offset: v["offset"].as_u64().ok_or_else(bad)?,
                attempts: v["attempts"].as_u64().ok_or_else(bad)? as u32,
                error: v["error"].as_str().ok_or_else(bad)?.to_string(),
                payload: unhex(v["payload_hex"].as_str().ok_or_else(bad)?).ok_or_else(bad)?,
            });
        }
        Ok(out)
    }

    fn write_dlq(&self, letters: &[DeadLetter]) -> BrokerResult<()> {
        let mut text = String::new();
        for d in letters {
            text.push_str(&dlq_line(d));
        }
        write_atomically(&self.dlq_path(), text.as_bytes())
    }
}

fn dlq_line(d: &DeadLetter) -> String {
    let mut s = json!({
        "id": d.id, "partition": d.partition, "offset": d.offset, "attempts": d.attempts,
        "error": d.error, "payload_hex": hex(&d.payload),
    })
    .to_string();
    s.push('\n');
    s
}

impl EmbeddedBroker {
    /// Opens (creating it if needed) an embedded log in `root`.
    pub fn open(root: impl AsRef<Path>) -> BrokerResult<EmbeddedBroker> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|e| err(&format!("create {}", root.display()), e))?;
        Ok(EmbeddedBroker {
            root,
            _scratch: None,
            topics: Mutex::new(HashMap::new()),
        })
    }

    /// An embedded log in a fresh temporary directory, removed when the broker drops.
    pub fn temporary() -> BrokerResult<EmbeddedBroker> {
        let scratch = TempDir::new("log").map_err(|e| err("create temp dir", e))?;
        let mut b = EmbeddedBroker::open(scratch.path())?;
        b._scratch = Some(scratch);
        Ok(b)
    }

    /// The directory holding the log.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many segment files partition `partition` of `topic` has.
    pub fn segment_count(&self, topic: &str, partition: u32) -> BrokerResult<usize> {
        self.with_topic(topic, |t| {
            Ok(t.parts.get(partition as usize).map_or(0, |p| p.segments))
        })
    }

    fn with_topic<R>(
        &self,
        topic: &str,
        f: impl FnOnce(&mut Topic) -> BrokerResult<R>,
    ) -> BrokerResult<R> {
        check_name("topic", topic)?;
        let mut topics = self.topics.lock();
        if !topics.contains_key(topic) {
            let dir = self.root.join(topic);
            let meta = fs::read_to_string(dir.join("meta")).map_err(|_| {
                BrokerError(format!("no topic {topic:?} in {}", self.root.display()))
            })?;
            let n: u32 = meta
                .trim()
                .parse()
                .map_err(|e| err("parse topic meta", e))?;
            let mut parts = Vec::new();
            for p in 0..n {
                parts.push(PartitionLog::open(dir.join(format!("p{p}")))?);
            }
            topics.insert(
                topic.to_string(),
                Topic {
                    dir,
                    parts,
                    groups: HashMap::new(),
                },
            );
        }
        f(topics.get_mut(topic).expect("inserted above"))
    }
}

fn part<T>(v: &mut [T], partition: u32) -> BrokerResult<&mut T> {
    let n = v.len();
    v.get_mut(partition as usize)
        .ok_or_else(|| BrokerError(format!("no partition {partition} (the topic has {n})")))
}

impl Broker for EmbeddedBroker {
    fn describe(&self) -> String {
        format!("embedded log in {}", self.root.display())
    }

    fn create_topic(&self, topic: &str, partitions: u32) -> BrokerResult<()> {
        check_name("topic", topic)?;
        if partitions == 0 {
            return Err(BrokerError("a topic needs at least one partition".into()));
        }
        let dir = self.root.join(topic);
        let meta = dir.join("meta");
        if let Ok(existing) = fs::read_to_string(&meta) {
            return if existing.trim() == partitions.to_string() {
                Ok(())
            } else {
                Err(BrokerError(format!(
                    "topic {topic:?} exists with {} partitions",
                    existing.trim()
                )))
            };
        }
        fs::create_dir_all(dir.join("groups")).map_err(|e| err("create topic", e))?;
        write_atomically(&meta, partitions.to_string().as_bytes())
    }

    fn partitions(&self, topic: &str) -> BrokerResult<u32> {
        self.with_topic(topic, |t| Ok(t.parts.len() as u32))
    }

    fn produce(&self, topic: &str, partition: u32, payload: &[u8]) -> BrokerResult<Offset> {
        self.with_topic(topic, |t| part(&mut t.parts, partition)?.append(payload))
    }

    fn end_offset(&self, topic: &str, partition: u32) -> BrokerResult<Offset> {
        self.with_topic(topic, |t| {
            Ok(part(&mut t.parts, partition)?.records.len() as u64)
        })
    }

    fn create_group(&self, topic: &str, group: &str) -> BrokerResult<()> {
        self.with_topic(topic, |t| t.group(group).map(|_| ()))
    }

    fn fetch(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        max: usize,
    ) -> BrokerResult<Vec<Record>> {
        self.with_topic(topic, |t| {
            let end = part(&mut t.parts, partition)?.records.len() as u64;
            let g = part(t.group(group)?, partition)?;
            let from = g.delivered;
            let to = end.min(from.saturating_add(max as u64));
            let now = Instant::now();
            for o in from..to {
                g.pending.insert(
                    o,
                    Pending {
                        consumer: consumer.to_string(),
                        since: now,
                    },
                );
            }
            g.delivered = to;
            let log = &t.parts[partition as usize];
            Ok((from..to)
                .map(|o| Record {
                    partition,
                    offset: o,
                    payload: log.records[o as usize].clone(),
                })
                .collect())
        })
    }

    fn reclaim(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        min_idle: Duration,
    ) -> BrokerResult<Vec<Record>> {
        self.with_topic(topic, |t| {
            part(&mut t.parts, partition)?;
            let g = part(t.group(group)?, partition)?;
            let now = Instant::now();
            let mut claimed = Vec::new();
            for (o, p) in g.pending.iter_mut() {
                if now.duration_since(p.since) >= min_idle {
                    p.consumer = consumer.to_string();
                    p.since = now;
                    claimed.push(*o);
                }
            }
            let log = &t.parts[partition as usize];
            Ok(claimed
                .into_iter()
                .map(|o| Record {
                    partition,
                    offset: o,
                    payload: log.records[o as usize].clone(),
                })
                .collect())
        })
    }

    fn commit(
        &self,
        topic: &str,
        group: &str,
        partition: u32,
        offsets: &[Offset],
    ) -> BrokerResult<()> {
        self.with_topic(topic, |t| {
            part(&mut t.parts, partition)?;
            let path = t.group_path(group, partition as usize);
            let g = part(t.group(group)?, partition)?;
            for o in offsets {
                g.pending.remove(o);
            }
            let committed = g.pending.keys().next().copied().unwrap_or(g.delivered);
            if committed != g.committed {
                g.committed = committed;
                write_atomically(&path, committed.to_string().as_bytes())?;
            }
            Ok(())
        })
    }

    fn committed(&self, topic: &str, group: &str, partition: u32) -> BrokerResult<Offset> {
        self.with_topic(topic, |t| {
            part(&mut t.parts, partition)?;
            Ok(part(t.group(group)?, partition)?.committed)
        })
    }

    fn dead_letter(
        &self,
        topic: &str,
        record: &Record,
        attempts: u32,
        error: &str,
    ) -> BrokerResult<()> {
        self.with_topic(topic, |t| {
            let existing = t.read_dlq()?;
            let next = existing
                .iter()
                .filter_map(|d| d.id.strip_prefix("dl-")?.parse::<u64>().ok())
                .max()
                .map_or(1, |m| m + 1);
            let d = DeadLetter {
                id: format!("dl-{next}"),
                partition: record.partition,
                offset: record.offset,
                attempts,
                error: error.to_string(),
                payload: record.payload.clone(),
            };
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(t.dlq_path())
                .map_err(|e| err("open dead letters", e))?;
            f.write_all(dlq_line(&d).as_bytes())
                .map_err(|e| err("append dead letter", e))
        })
    }

    fn dead_letters(&self, topic: &str) -> BrokerResult<Vec<DeadLetter>> {
        self.with_topic(topic, |t| t.read_dlq())
    }

    fn remove_dead_letter(&self, topic: &str, id: &str) -> BrokerResult<()> {
        self.with_topic(topic, |t| {
            let mut letters = t.read_dlq()?;
            let before = letters.len();
            letters.retain(|d| d.id != id);
            if letters.len() == before {
                return Err(BrokerError(format!("no dead letter {id:?}")));
            }
            t.write_dlq(&letters)
        })
    }

    fn delete_topic(&self, topic: &str) -> BrokerResult<()> {
        check_name("topic", topic)?;
        self.topics.lock().remove(topic);
        match fs::remove_dir_all(self.root.join(topic)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err("delete topic", e)),
        }
    }
}
