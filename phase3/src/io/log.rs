//! A deterministic access log: generated from a seed, written as text, parsed back.
//!
//! Every line is `ts=<ms> level=<L> svc=<name> status=<code> latency_us=<n> path=<p> trace=<hex>`.
//! Timestamps wander forward (0–3 ms per line) with a bounded disorder: a line's timestamp is its
//! base time plus up to `jitter_ms - 1` ms, so no line is older than the newest one seen by more
//! than `jitter_ms - 1` ms — the promise a streaming reader's watermark relies on. About one line
//! in a thousand is garbage (a torn write, an unknown service, a rotation marker) and must be
//! counted, not crash the parser.
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The services a line can name; a record stores the index.
pub const SERVICES: [&str; 5] = ["api", "auth", "billing", "search", "static"];

/// A small deterministic generator (SplitMix64): the same seed gives the same log on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let z = self.0;
        self.0 = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        super::delivery::mix(z) // mix adds the increment itself: SplitMix64's output for the new state
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// One parsed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds since the epoch.
    pub ts_ms: u64,
    /// Index into [`SERVICES`].
    pub service: u8,
    /// HTTP status.
    pub status: u16,
    /// Service latency in microseconds.
    pub latency_us: u32,
}

/// One generated line: a record, or garbage of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A well-formed line.
    Record(Record),
    /// A line the parser must reject: 0 torn, 1 unknown service, 2 rotation marker.
    Garbage(u8, Record),
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSpec {
    /// Seed of the generator.
    pub seed: u64,
    /// Lines to generate.
    pub lines: u64,
    /// Timestamps are out of order by less than this many ms (0 or 1: in order).
    pub jitter_ms: u64,
}

/// The first timestamp of every log (2023-11-14T22:13:20Z).
pub const START_MS: u64 = 1_700_000_000_000;

/// The lines of a [`LogSpec`], as an iterator: nothing is held but the generator's state.
#[derive(Debug, Clone)]
pub struct LogGen {
    rng: SplitMix,
    base: u64,
    left: u64,
    jitter: u64,
}

impl LogGen {
    /// The generator for `spec`.
    pub fn new(spec: LogSpec) -> Self {
        LogGen {
            rng: SplitMix::new(spec.seed),
            base: START_MS,
            left: spec.lines,
            jitter: spec.jitter_ms.max(1),
        }
    }
}

impl Iterator for LogGen {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = &mut self.rng;
        self.base += r.below(4);
        let service = r.below(SERVICES.len() as u64) as u8;
        let roll = r.below(1000);
        // Each service fails at its own rate: billing worst, static best.
        let fail_per_mille = [20, 10, 40, 15, 2][service as usize];
        let status = if roll < fail_per_mille {
            [500, 502, 503][r.below(3) as usize]
        } else if roll < fail_per_mille + 50 {
            404
        } else {
            200
        };
        let base_us = [800u64, 300, 2_500, 4_000, 100][service as usize];
        let latency_us =
            (base_us + r.below(base_us * 4) + r.below(base_us * 4) / (1 + r.below(8))) as u32;
        let rec = Record {
            ts_ms: self.base + r.below(self.jitter),
            service,
            status,
            latency_us,
        };
        if r.below(1000) == 0 {
            return Some(Event::Garbage(r.below(3) as u8, rec));
        }
        Some(Event::Record(rec))
    }
}

fn level(status: u16) -> &'static str {
    match status {
        500.. => "ERROR",
        400.. => "WARN",
        _ => "INFO",
    }
}

/// Appends the text line of `e` (with its `\n`) to `out`.
pub fn write_line(e: &Event, out: &mut Vec<u8>) {
    use std::io::Write as _;
    let (kind, r) = match e {
        Event::Record(r) => (None, r),
        Event::Garbage(k, r) => (Some(*k), r),
    };
    let trace = super::delivery::mix(r.ts_ms ^ u64::from(r.latency_us));
    let mut line = Vec::with_capacity(128);
    let svc = if kind == Some(1) {
        "unknown"
    } else {
        SERVICES[r.service as usize]
    };
    // Writing into a Vec cannot fail.
    let _ = write!(
        line,
        "ts={} level={} svc={svc} status={} latency_us={} path=/{svc}/v1/items/{} trace={trace:016x}",
        r.ts_ms,
        level(r.status),
        r.status,
        r.latency_us,
        trace % 10_000,
    );
    match kind {
        Some(0) => line.truncate(24), // a torn write: "ts=… level=I"
        Some(2) => {
            line.clear();
            line.extend_from_slice(b"-- log rotated --");
        }
        _ => {}
    }
    out.extend_from_slice(&line);
    out.push(b'\n');
}

/// Writes the whole log of `spec` to `path` through a buffer; returns the bytes written.
pub fn write_log(path: &Path, spec: LogSpec) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(256 * 1024, File::create(path)?);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut bytes = 0u64;
    for e in LogGen::new(spec) {
        write_line(&e, &mut buf);
        if buf.len() >= 60 * 1024 {
            w.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    bytes += buf.len() as u64;
    w.flush()?;
    Ok(bytes)
}

/// Why a line did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A required field (`ts`, `svc`, `status`, `latency_us`) is absent.
    Missing(&'static str),
    /// A field is present but not valid.
    Invalid(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Missing(k) => write!(f, "missing field {k}"),
            ParseError::Invalid(k) => write!(f, "invalid field {k}"),
        }
    }
}

fn number<T: std::str::FromStr>(v: &[u8], key: &'static str) -> Result<T, ParseError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ParseError::Invalid(key))
}

/// Parses one line (without or with its trailing `\n`). Unknown keys are ignored.
pub fn parse(line: &[u8]) -> Result<Record, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (mut ts, mut svc, mut status, mut lat) = (None, None, None, None);
    for field in line.split(|&b| b == b' ') {
        let Some(eq) = field.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (k, v) = (&field[..eq], &field[eq + 1..]);
        match k {
            b"ts" => ts = Some(number::<u64>(v, "ts")?),
            b"svc" => {
                let i = SERVICES
                    .iter()
                    .position(|s| s.as_bytes() == v)
                    .ok_or(ParseError::Invalid("svc"))?;
                svc = Some(i as u8);
            }
            b"status" => status = Some(number::<u16>(v, "status")?),
            b"latency_us" => lat = Some(number::<u32>(v, "latency_us")?),
            _ => {}
        }
    }
    Ok(Record {
        ts_ms: ts.ok_or(ParseError::Missing("ts"))?,
        service: svc.ok_or(ParseError::Missing("svc"))?,
        status: status.ok_or(ParseError::Missing("status"))?,
        latency_us: lat.ok_or(ParseError::Missing("latency_us"))?,
    })
}
