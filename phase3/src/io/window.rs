//! Tumbling-window aggregation, streaming and in memory.
//!
//! A tumbling window of width `w` owns the timestamps `[k·w, (k+1)·w)`. Per window and service the
//! aggregate is the request count, the error count (status ≥ 500), the latency sum and maximum.
//!
//! The streaming [`Tumbling`] aggregator holds only the windows still *open*. Lines arrive out of
//! order by less than `lateness_ms`, so after seeing timestamp `t` no later line can be older than
//! the watermark `t - lateness_ms`: every window that ends at or before the watermark is final and
//! is emitted and forgotten. Memory is bounded by `⌈lateness / width⌉ + 1` open windows, however
//! long the log. A line older than a window already emitted is *late*: counted, never silently merged
//! (with an honest lateness bound there are none).
//!
//! [`reference()`] groups everything in one `BTreeMap` after the fact: the oracle the stream must equal.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::log::{Event, Record, SERVICES, parse};

/// Per window and service: what was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agg {
    /// Requests.
    pub count: u64,
    /// Requests with status ≥ 500.
    pub errors: u64,
    /// Sum of latencies, µs.
    pub latency_sum_us: u64,
    /// Largest latency, µs.
    pub latency_max_us: u32,
}

impl Agg {
    fn add(&mut self, r: &Record) {
        self.count += 1;
        self.errors += u64::from(r.status >= 500);
        self.latency_sum_us += u64::from(r.latency_us);
        self.latency_max_us = self.latency_max_us.max(r.latency_us);
    }
}

/// One output row: a window's aggregate for one service (rows with no request are not emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRow {
    /// First millisecond of the window.
    pub start_ms: u64,
    /// Index into [`SERVICES`].
    pub service: u8,
    /// The aggregate.
    pub agg: Agg,
}

/// The result of an aggregation: rows in `(start_ms, service)` order plus line counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregated {
    /// Rows, ordered by window then service.
    pub rows: Vec<WindowRow>,
    /// Well-formed lines aggregated.
    pub records: u64,
    /// Lines rejected by the parser.
    pub malformed: u64,
    /// Lines older than an already emitted window (dropped and counted).
    pub late: u64,
}

type Open = [Agg; SERVICES.len()];

/// The streaming aggregator: a bounded set of open windows behind a watermark.
#[derive(Debug, Clone)]
pub struct Tumbling {
    width: u64,
    lateness: u64,
    /// Window start → per-service aggregates, for the windows not yet final.
    open: BTreeMap<u64, Open>,
    /// Newest timestamp seen.
    max_ts: u64,
    /// Every window starting before this was emitted; a record that falls into one is late.
    closed_before: u64,
    out: Aggregated,
    peak_open: usize,
}

impl Tumbling {
    /// Windows of `width_ms` (≥ 1); records may arrive up to `lateness_ms` behind the newest one.
    pub fn new(width_ms: u64, lateness_ms: u64) -> Self {
        Tumbling {
            width: width_ms.max(1),
            lateness: lateness_ms,
            open: BTreeMap::new(),
            max_ts: 0,
            closed_before: 0,
            out: Aggregated::default(),
            peak_open: 0,
        }
    }

    fn emit(&mut self, start: u64, aggs: Open) {
        for (service, agg) in aggs.into_iter().enumerate() {
            if agg.count > 0 {
                self.out.rows.push(WindowRow {
                    start_ms: start,
                    service: service as u8,
                    agg,
                });
            }
        }
    }

    /// Adds one record, then emits every window the watermark has passed.
    pub fn push(&mut self, r: &Record) {
        let start = r.ts_ms - r.ts_ms % self.width;
        if start < self.closed_before {
            self.out.late += 1;
            return;
        }
        self.open.entry(start).or_default()[r.service as usize].add(r);
        self.out.records += 1;
        self.max_ts = self.max_ts.max(r.ts_ms);
        let watermark = self.max_ts.saturating_sub(self.lateness);
        // Windows ending at or before the watermark can receive nothing more.
        let boundary = watermark - watermark % self.width;
        self.closed_before = self.closed_before.max(boundary);
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() + self.width > watermark {
                break;
            }
            let (start, aggs) = entry.remove_entry();
            self.emit(start, aggs);
        }
        // Counted once the watermark has done its work: what the aggregator keeps between records.
        self.peak_open = self.peak_open.max(self.open.len());
    }

    /// The most windows that can stay open between records: every open window starts in
    /// `(watermark - width, newest]`, an interval `lateness + width` long.
    pub fn max_open(width_ms: u64, lateness_ms: u64) -> usize {
        lateness_ms.div_ceil(width_ms.max(1)) as usize + 1
    }

    /// Counts a line the parser rejected.
    pub fn malformed(&mut self) {
        self.out.malformed += 1;
    }

    /// Windows open right now.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }

    /// The most windows that were open at once.
    pub fn peak_open(&self) -> usize {
        self.peak_open
    }

    /// Bytes one open window holds (its key and aggregates; the map's node overhead aside).
    pub fn window_bytes() -> usize {
        std::mem::size_of::<(u64, Open)>()
    }

    /// End of input: every open window is final.
    pub fn finish(mut self) -> Aggregated {
        let open = std::mem::take(&mut self.open);
        for (start, aggs) in open {
            self.emit(start, aggs);
        }
        self.out
    }
}

/// The oracle: every record grouped at once (all of them held), from the generator's events.
pub fn reference(events: impl IntoIterator<Item = Event>, width_ms: u64) -> Aggregated {
    let width = width_ms.max(1);
    let mut groups: BTreeMap<(u64, u8), Agg> = BTreeMap::new();
    let mut out = Aggregated::default();
    for e in events {
        match e {
            Event::Record(r) => {
                groups
                    .entry((r.ts_ms - r.ts_ms % width, r.service))
                    .or_default()
                    .add(&r);
                out.records += 1;
            }
            Event::Garbage(..) => out.malformed += 1,
        }
    }
    out.rows = groups
        .into_iter()
        .map(|((start_ms, service), agg)| WindowRow {
            start_ms,
            service,
            agg,
        })
        .collect();
    out
}

/// What the streaming read held and saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Capacity of the read buffer.
    pub buffer_bytes: usize,
    /// Capacity the reused line buffer reached (the longest line).
    pub line_bytes: usize,
    /// Most windows open at once.
    pub peak_open: usize,
}

impl StreamStats {
    /// Everything the reader held at its peak: read buffer + line buffer + open windows.
    pub fn held_bytes(&self) -> usize {
        self.buffer_bytes + self.line_bytes + self.peak_open * Tumbling::window_bytes()
    }
}

/// Streams `r` line by line (one reused buffer) through a [`Tumbling`] aggregator.
pub fn stream<R: BufRead>(
    mut r: R,
    buffer_bytes: usize,
    width_ms: u64,
    lateness_ms: u64,
) -> io::Result<(Aggregated, StreamStats)> {
    let mut agg = Tumbling::new(width_ms, lateness_ms);
    let mut stats = StreamStats {
        buffer_bytes,
        ..StreamStats::default()
    };
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        stats.bytes += n as u64;
        stats.lines += 1;
        match parse(&line) {
            Ok(rec) => agg.push(&rec),
            Err(_) => agg.malformed(),
        }
    }
    stats.line_bytes = line.capacity();
    stats.peak_open = agg.peak_open();
    Ok((agg.finish(), stats))
}

/// [`stream`] over a file, through a `BufReader` of `buffer_bytes`.
pub fn stream_file(
    path: &Path,
    buffer_bytes: usize,
    width_ms: u64,
    lateness_ms: u64,
) -> io::Result<(Aggregated, StreamStats)> {
    let r = BufReader::with_capacity(buffer_bytes, File::open(path)?);
    stream(r, buffer_bytes, width_ms, lateness_ms)
}

/// The naive way: read the whole file, parse every line into a `Vec`, group. Returns the result
/// and the bytes it held at its peak (file text + parsed records).
pub fn whole_file(path: &Path, width_ms: u64) -> io::Result<(Aggregated, usize)> {
    let text = std::fs::read(path)?;
    let mut events = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        events.push(match parse(line) {
            Ok(r) => Event::Record(r),
            Err(_) => Event::Garbage(
                0,
                Record {
                    ts_ms: 0,
                    service: 0,
                    status: 0,
                    latency_us: 0,
                },
            ),
        });
    }
    let held = text.capacity() + events.capacity() * std::mem::size_of::<Event>();
    Ok((reference(events, width_ms), held))
}
