//! `stream`: a log generated from a seed is written to a temp file, then read back as a stream — one
//! 64 KiB read buffer, one reused line buffer, and only the windows the watermark has not closed —
//! parsed, and aggregated into 10-second tumbling windows per service. The result must equal the
//! in-memory reference computed from the generator itself, and the memory the stream held is set
//! against the file's size and against reading the whole file at once.
use std::time::Instant;

use harness::Ctx;
use harness::stats::{fmt_bytes, fmt_duration};

use crate::io::log::{LogGen, LogSpec, SERVICES, write_log};
use crate::io::window::{Aggregated, Tumbling, reference, stream_file, whole_file};
use harness::tempdir::TempDir;

const WIDTH_MS: u64 = 10_000;
const JITTER_MS: u64 = 250;
const BUFFER: usize = 64 * 1024;

fn mb_per_s(bytes: u64, secs: f64) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / secs.max(1e-9))
}

pub(crate) fn run(ctx: &mut Ctx) {
    let spec = LogSpec {
        seed: 42,
        lines: ctx.pick(600_000, 60_000),
        jitter_ms: JITTER_MS,
    };
    ctx.say(format!(
        "{} lines (seed {}), timestamps out of order by < {JITTER_MS} ms, ~1 line in 1000 garbage; \
         windows of {} s per service; the stream's watermark trails the newest timestamp by {JITTER_MS} ms.",
        spec.lines,
        spec.seed,
        WIDTH_MS / 1000
    ));
    let dir = match TempDir::new("stream") {
        Ok(d) => d,
        Err(e) => {
            ctx.check_with("temp dir created", false, e.to_string());
            return;
        }
    };
    let path = dir.path().join("access.log");

    let t0 = Instant::now();
    let written = write_log(&path, spec);
    let write_s = t0.elapsed().as_secs_f64();
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            ctx.check_with("log written", false, e.to_string());
            return;
        }
    };

    let t0 = Instant::now();
    let expected = reference(LogGen::new(spec), WIDTH_MS);
    let ref_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let streamed = stream_file(&path, BUFFER, WIDTH_MS, JITTER_MS);
    let stream_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let whole = whole_file(&path, WIDTH_MS);
    let whole_s = t0.elapsed().as_secs_f64();

    let strict = stream_file(&path, BUFFER, WIDTH_MS, 0);

    let (Ok((got, stats)), Ok((whole_got, whole_held)), Ok((strict_got, _))) =
        (streamed, whole, strict)
    else {
        ctx.check("the log could be read back", false);
        return;
    };
    let same = |a: &Aggregated| a == &expected;

    let mut t = ctx.table(
        format!(
            "one log, {} on disk, {} windows × services",
            fmt_bytes(bytes),
            expected.rows.len()
        ),
        &[
            "pass",
            "time",
            "rate",
            "memory held at peak",
            "late lines",
            "equals reference",
        ],
    );
    t.row([
        "generate + write (BufWriter)".to_string(),
        fmt_duration(std::time::Duration::from_secs_f64(write_s)),
        mb_per_s(bytes, write_s),
        "64 KiB chunks".into(),
        "-".into(),
        "-".into(),
    ]);
    t.row([
        "reference: from the generator, grouped in memory".to_string(),
        fmt_duration(std::time::Duration::from_secs_f64(ref_s)),
        "-".into(),
        "every group".into(),
        "-".into(),
        "(is the reference)".into(),
    ]);
    t.row([
        format!("stream: BufReader {} + watermark", fmt_bytes(BUFFER as u64)),
        fmt_duration(std::time::Duration::from_secs_f64(stream_s)),
        mb_per_s(stats.bytes, stream_s),
        format!(
            "{} ({} open windows at most)",
            fmt_bytes(stats.held_bytes() as u64),
            stats.peak_open
        ),
        got.late.to_string(),
        if same(&got) { "yes" } else { "NO" }.into(),
    ]);
    t.row([
        "whole file: read all, parse all, group".to_string(),
        fmt_duration(std::time::Duration::from_secs_f64(whole_s)),
        mb_per_s(bytes, whole_s),
        fmt_bytes(whole_held as u64),
        "-".into(),
        if same(&whole_got) { "yes" } else { "NO" }.into(),
    ]);
    t.row([
        "stream with lateness 0 ms (watermark too eager)".to_string(),
        "-".into(),
        "-".into(),
        "-".into(),
        strict_got.late.to_string(),
        if same(&strict_got) { "yes" } else { "NO" }.into(),
    ]);
    ctx.show(t);

    let mut s = ctx.table(
        "per service over the whole log (from the streamed windows)",
        &[
            "service",
            "requests",
            "5xx",
            "error rate",
            "mean latency",
            "max latency",
        ],
    );
    for (i, name) in SERVICES.iter().enumerate() {
        let rows = got.rows.iter().filter(|r| r.service as usize == i);
        let (mut n, mut e, mut sum, mut max) = (0u64, 0u64, 0u64, 0u32);
        for r in rows {
            n += r.agg.count;
            e += r.agg.errors;
            sum += r.agg.latency_sum_us;
            max = max.max(r.agg.latency_max_us);
        }
        s.row([
            name.to_string(),
            n.to_string(),
            e.to_string(),
            format!("{:.2} %", 100.0 * e as f64 / n.max(1) as f64),
            format!("{:.0} µs", sum as f64 / n.max(1) as f64),
            format!("{max} µs"),
        ]);
    }
    ctx.show(s);

    let path_gone = {
        let p = dir.path().to_path_buf();
        dir.close().is_ok() && !p.exists()
    };
    let bound = Tumbling::max_open(WIDTH_MS, JITTER_MS);
    ctx.record("lines", spec.lines);
    ctx.record("file_bytes", bytes);
    ctx.record("stream_held_bytes", stats.held_bytes() as u64);
    ctx.record("whole_file_held_bytes", whole_held as u64);
    ctx.record("stream_s", stream_s);
    ctx.record("whole_file_s", whole_s);
    ctx.record("peak_open_windows", stats.peak_open);
    ctx.record("malformed", got.malformed);
    ctx.check_with(
        "the streamed windows equal the in-memory reference (every row, record and garbage count), no line late",
        same(&got) && got.late == 0 && stats.lines == spec.lines,
        format!(
            "{} rows, {} records, {} malformed",
            got.rows.len(),
            got.records,
            got.malformed
        ),
    );
    ctx.check(
        "reading the whole file into memory gives the same result",
        same(&whole_got),
    );
    ctx.check_with(
        format!("the stream held ≤ {bound} open windows and < 1 % of the file's size"),
        stats.peak_open <= bound && (stats.held_bytes() as u64) * 100 < bytes,
        format!(
            "{} of {}",
            fmt_bytes(stats.held_bytes() as u64),
            fmt_bytes(bytes)
        ),
    );
    ctx.check_with(
        "a watermark tighter than the log's disorder drops late lines (counted) and the result differs",
        strict_got.late > 0 && !same(&strict_got),
        format!("{} late", strict_got.late),
    );
    ctx.check("the temp directory and the log were removed", path_gone);
    ctx.takeaway(format!(
        "Streaming {} through a {} buffer held {} ({} windows open at most, ≤ ⌈lateness / width⌉ + 1 = {bound}) \
         where reading the whole file held {}, and produced the same {} rows; the watermark is what makes a \
         window final — {} lines out of order by less than {JITTER_MS} ms were dropped as late once it trailed by 0 ms.",
        fmt_bytes(bytes),
        fmt_bytes(BUFFER as u64),
        fmt_bytes(stats.held_bytes() as u64),
        stats.peak_open,
        fmt_bytes(whole_held as u64),
        got.rows.len(),
        strict_got.late,
    ));
}
