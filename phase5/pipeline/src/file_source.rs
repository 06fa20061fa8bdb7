//! A source that acks: the lines of a file, with the acked prefix checkpointed durably.
//!
//! A Go service reading a log would remember its offset in a file and hope it wrote it at the right
//! moment; Kafka consumers commit an offset only below every unfinished record. This source reads
//! lines, hands each one to the pipeline with a claim in an [`AckTracker`], and writes a checkpoint
//! (`offset`, `line`) of the contiguous prefix every sink has finished: to a temporary file, fsynced,
//! renamed over the old one, and the directory fsynced, so a crash leaves the old checkpoint or the
//! new one, never a torn one. A restart resumes at the checkpoint: nothing finished is lost, and what
//! is delivered twice is at most what was read past the durable checkpoint — which the source caps
//! at [`FileSource::max_unacked`] lines.
//!
//! The lines are read with `std`'s buffered reader on the source's task: a local file's reads are
//! served from the page cache and return quickly. The checkpoint's fsyncs, which take milliseconds,
//! run on tokio's blocking pool.
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ack::{AckTracker, Acked};
use crate::edge::{Item, Pushed, Sender};
use crate::error::PipelineError;
use crate::stats::{SourceAcks, StageStats};
use crate::workers::{Tokens, record_end, source_tally};

/// The lines of a file as a pipeline source, acked end to end and checkpointed:
/// [`Pipeline::from_file`](crate::Pipeline::from_file).
///
/// ```
/// use pipeline::{FileSource, Pipeline, Stage};
///
/// # let dir = std::env::temp_dir().join(format!("pipeline-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("in.txt"), "a\nb\nc\n")?;
/// let source = FileSource::new(dir.join("in.txt"), dir.join("in.checkpoint")).max_unacked(64);
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let report = Pipeline::from_file(source)
///     .for_each(Stage::new("sink"), |line| async move { assert_eq!(line.len(), 1) })
///     .run()
///     .await?;
/// assert_eq!((report.acks[0].read, report.acks[0].checkpoint_line), (3, 3));
/// # Ok::<(), pipeline::PipelineError>(())
/// # }).unwrap();
/// // Run again: it resumes after line 3, and reads nothing.
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSource {
    input: PathBuf,
    checkpoint: PathBuf,
    max_unacked: u64,
    checkpoint_every: Duration,
}

impl FileSource {
    /// Lines of `input` (each without its `\n` or `\r\n`), resuming at the checkpoint in
    /// `checkpoint` if that file exists. At most 1024 lines unacked at once, a checkpoint at most
    /// every 50 ms while lines are acked.
    pub fn new(input: impl Into<PathBuf>, checkpoint: impl Into<PathBuf>) -> Self {
        FileSource {
            input: input.into(),
            checkpoint: checkpoint.into(),
            max_unacked: 1024,
            checkpoint_every: Duration::from_millis(50),
        }
    }

    /// At most `n` lines (at least 1) read past the durable checkpoint: the source waits for acks
    /// (and a checkpoint) beyond that. This bounds both the work in flight and what a restart
    /// delivers twice.
    #[must_use]
    pub fn max_unacked(mut self, n: u64) -> Self {
        self.max_unacked = n.max(1);
        self
    }

    /// Writes a checkpoint at most this often while lines are being acked (and at once when the
    /// source waits for one).
    #[must_use]
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.checkpoint_every = every;
        self
    }
}

/// Where a restart resumes: the byte offset in the input after the last acked line, and how many
/// lines precede it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Bytes of the input before the first unacked line.
    pub offset: u64,
    /// Lines before it (the first unacked line's number, from 0).
    pub line: u64,
}

const MAGIC: &str = "pipeline-checkpoint v1";

impl Checkpoint {
    /// The checkpoint stored at `path`, or `None` if there is no file there.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, PipelineError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, "reading the checkpoint", &e)),
        };
        Checkpoint::parse(&text)
            .map(Some)
            .map_err(|message| PipelineError::BadCheckpoint {
                path: path.to_path_buf(),
                message,
            })
    }

    fn parse(text: &str) -> Result<Checkpoint, String> {
        let line = text.strip_suffix('\n').ok_or("no final newline")?;
        let rest = line
            .strip_prefix(MAGIC)
            .ok_or_else(|| format!("does not start with `{MAGIC}`"))?;
        let mut offset = None;
        let mut lines = None;
        for field in rest.split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("field `{field}` is not key=value"))?;
            let n: u64 = value
                .parse()
                .map_err(|_| format!("field `{key}`: `{value}` is not a number"))?;
            match key {
                "offset" => offset = Some(n),
                "line" => lines = Some(n),
                _ => return Err(format!("unknown field `{key}`")),
            }
        }
        Ok(Checkpoint {
            offset: offset.ok_or("no `offset` field")?,
            line: lines.ok_or("no `line` field")?,
        })
    }

    /// Replaces the checkpoint at `path` atomically and durably: a temporary file beside it is
    /// written and fsynced, renamed over `path`, and the directory fsynced (so the rename survives a
    /// power cut too). A crash at any point leaves the old checkpoint or this one.
    pub fn store(&self, path: &Path) -> Result<(), PipelineError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            writeln!(f, "{MAGIC} offset={} line={}", self.offset, self.line)?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(dir)?.sync_all()
        };
        write().map_err(|e| io_error(path, "writing the checkpoint", &e))
    }
}

fn io_error(path: &Path, doing: &str, e: &io::Error) -> PipelineError {
    PipelineError::SourceIo {
        path: path.to_path_buf(),
        message: format!("{doing}: {e}"),
    }
}

/// An opened file source: the input positioned at the checkpoint.
pub(crate) struct Opened {
    reader: BufReader<File>,
    from: Checkpoint,
    cfg: FileSource,
}

impl FileSource {
    /// Reads the checkpoint and positions the input after it.
    pub(crate) fn open(self) -> Result<Opened, PipelineError> {
        let from = Checkpoint::load(&self.checkpoint)?.unwrap_or_default();
        let mut file =
            File::open(&self.input).map_err(|e| io_error(&self.input, "opening the input", &e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error(&self.input, "reading the input's size", &e))?
            .len();
        if from.offset > len {
            return Err(PipelineError::BadCheckpoint {
                path: self.checkpoint.clone(),
                message: format!(
                    "offset {} is past the end of {} ({len} bytes): the input was truncated or replaced",
                    from.offset,
                    self.input.display()
                ),
            });
        }
        file.seek(SeekFrom::Start(from.offset))
            .map_err(|e| io_error(&self.input, "seeking to the checkpoint", &e))?;
        Ok(Opened {
            reader: BufReader::new(file),
            from,
            cfg: self,
        })
    }
}

/// What the running source shares with the end of the run: the durable checkpoint, the lines read,
/// and the first I/O error.
#[derive(Debug)]
pub(crate) struct Shared {
    tracker: Arc<AckTracker>,
    cfg: FileSource,
    from: Checkpoint,
    state: Mutex<SharedState>,
}

#[derive(Debug, Default)]
struct SharedState {
    durable: Checkpoint,
    read: u64,
    error: Option<PipelineError>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the acked prefix if it is past the durable checkpoint. Blocking (fsync).
    fn persist(&self, acked: Acked) -> Result<(), PipelineError> {
        let mut st = self.lock();
        if acked.next <= st.durable.line {
            return Ok(());
        }
        let cp = Checkpoint {
            offset: acked.position,
            line: acked.next,
        };
        cp.store(&self.cfg.checkpoint)?;
        st.durable = cp;
        Ok(())
    }

    fn durable_line(&self) -> u64 {
        self.lock().durable.line
    }

    fn fail(&self, e: PipelineError) {
        self.lock().error.get_or_insert(e);
    }

    /// Once every task has ended: the last checkpoint, and what this run read and acked.
    pub(crate) fn finish(&self) -> Result<SourceAcks, PipelineError> {
        let acked = self.tracker.acked();
        if let Err(e) = self.persist(acked) {
            self.fail(e);
        }
        let st = self.lock();
        if let Some(e) = &st.error {
            return Err(e.clone());
        }
        Ok(SourceAcks {
            input: self.cfg.input.clone(),
            checkpoint: self.cfg.checkpoint.clone(),
            resumed_at_line: self.from.line,
            read: st.read,
            acked: acked.next - self.from.line,
            unacked: st.read - (acked.next - self.from.line),
            checkpoint_line: st.durable.line,
            stuck: acked.stuck,
        })
    }
}

impl Opened {
    /// The tracker and the state shared with the end of the run.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::new(Shared {
            tracker: Arc::new(AckTracker::new(self.from.line, self.from.offset)),
            cfg: self.cfg.clone(),
            from: self.from,
            state: Mutex::new(SharedState {
                durable: self.from,
                ..SharedState::default()
            }),
        })
    }
}

/// Persists off the runtime's threads (an fsync takes milliseconds).
async fn persist(shared: &Arc<Shared>, acked: Acked) -> bool {
    let s = Arc::clone(shared);
    match tokio::task::spawn_blocking(move || s.persist(acked)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            shared.fail(e);
            false
        }
        Err(e) => {
            shared.fail(PipelineError::SourceIo {
                path: shared.cfg.checkpoint.clone(),
                message: format!("the checkpoint writer failed: {e}"),
            });
            false
        }
    }
}

/// What the reader and the checkpointer of one source task tell each other.
#[derive(Debug, Default)]
struct Signals {
    /// The checkpointer has work: the reader waits on a full window, or has ended.
    poke: Notify,
    /// The durable checkpoint moved, or the checkpointer gave up (an I/O error).
    durable_changed: Notify,
    /// The reader waits for the window to open: checkpoint now, not at the next interval. A hint
    /// (missing it costs one interval), hence `Relaxed`.
    reader_waiting: AtomicBool,
    /// The reader has ended. `Release` before the `poke` that announces it, `Acquire` where the
    /// checkpointer reads it, so the checkpointer that sees it also sees the reader's last
    /// registrations in the tracker.
    reader_done: AtomicBool,
    /// The checkpointer failed: the reader stops too.
    failed: AtomicBool,
}

/// The source task: a reader, which reads lines while fewer than `max_unacked` are past the durable
/// checkpoint, and a checkpointer, which writes the acked prefix as it grows (at most every
/// `checkpoint_every`, at once when the reader waits) and, once the reader has ended, until every
/// line read is acked (or cannot be: one was abandoned) or the pipeline stops hard. The two run
/// concurrently in the task, so a reader blocked by backpressure does not hold the checkpoint back.
pub(crate) async fn run(
    opened: Opened,
    shared: Arc<Shared>,
    out: Sender<Vec<u8>>,
    stats: Arc<StageStats>,
    tokens: Tokens,
    start: Instant,
) {
    let signals = Signals::default();
    tokio::join!(
        read(opened, &shared, &signals, out, &stats, &tokens),
        checkpoint(&shared, &signals, &tokens.hard),
    );
    record_end(&stats, start);
}

async fn read(
    opened: Opened,
    shared: &Shared,
    signals: &Signals,
    out: Sender<Vec<u8>>,
    stats: &StageStats,
    tokens: &Tokens,
) {
    let Opened {
        mut reader, from, ..
    } = opened;
    let (stop, hard) = (&tokens.source_stop, &tokens.hard);
    let cap = shared.cfg.max_unacked;
    let tracker = &shared.tracker;
    let mut offset = from.offset;
    let mut next_line = from.line;
    'read: loop {
        // Room in the window: fewer than `cap` lines read past the durable checkpoint.
        loop {
            let mut durable_changed = pin!(signals.durable_changed.notified());
            durable_changed.as_mut().enable(); // before the checks: no change is missed
            if signals.failed.load(Relaxed) {
                break 'read; // a flag with no data behind it: `Relaxed`
            }
            let durable = shared.durable_line();
            if next_line - durable < cap {
                break;
            }
            let acked = tracker.acked();
            if acked.stuck && acked.next <= durable {
                break 'read; // the window can never open again in this run
            }
            signals.reader_waiting.store(true, Relaxed);
            signals.poke.notify_one();
            tokio::select! {
                biased;
                _ = stop.cancelled() => break 'read,
                _ = durable_changed => {}
                _ = tracker.changed_since(acked) => {}
            }
            signals.reader_waiting.store(false, Relaxed);
        }
        if stop.is_cancelled() {
            break;
        }
        let mut line = Vec::new();
        let n = match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => n as u64,
            Err(e) => {
                shared.fail(io_error(&shared.cfg.input, "reading the input", &e));
                break;
            }
        };
        offset += n;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        let (seq, ack) = tracker.register(offset);
        next_line += 1;
        shared.lock().read += 1;
        source_tally(stats);
        let item = Item {
            seq,
            value: line,
            ack,
        };
        // An item already read drains like any other: only the deadline stops its push.
        if out.push(item, hard).await == Pushed::Stopped {
            break;
        }
    }
    drop(out); // the end of the stream for the next stage
    signals.reader_done.store(true, Release);
    signals.poke.notify_one();
}

async fn checkpoint(shared: &Arc<Shared>, signals: &Signals, hard: &CancellationToken) {
    let every = shared.cfg.checkpoint_every;
    let tracker = &shared.tracker;
    let mut last_write = Instant::now();
    loop {
        let acked = tracker.acked();
        let done = signals.reader_done.load(Acquire);
        if acked.next > shared.durable_line() {
            let urgent = done || signals.reader_waiting.load(Relaxed);
            let due = last_write + every;
            if !urgent && Instant::now() < due {
                tokio::select! {
                    biased;
                    _ = hard.cancelled() => break,
                    _ = signals.poke.notified() => {}
                    _ = tokio::time::sleep_until(due) => {}
                }
                continue;
            }
            let ok = persist(shared, acked).await;
            last_write = Instant::now();
            if !ok {
                signals.failed.store(true, Relaxed);
            }
            signals.durable_changed.notify_waiters();
            if !ok {
                break;
            }
            continue;
        }
        if done && (acked.unacked == 0 || acked.stuck) {
            break; // the rest is written once every task has ended (`Shared::finish`)
        }
        tokio::select! {
            biased;
            _ = hard.cancelled() => break,
            _ = signals.poke.notified() => {}
            _ = tracker.changed_since(acked) => {}
        }
    }
}
