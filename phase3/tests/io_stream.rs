//! The streaming tumbling-window aggregation equals the in-memory reference: on a generated log
//! written to a temp file, on many small logs (proptest, through an in-memory reader), and with
//! in-order logs; an eager watermark is shown to drop late lines; open windows stay bounded.
#![cfg(not(loom))]
use std::io::Cursor;
use std::time::Duration;

use harness::tempdir::TempDir;
use harness::watchdog::within;
use phase3::io::log::{LogGen, LogSpec, ParseError, parse, write_line, write_log};
use phase3::io::window::{Tumbling, reference, stream, stream_file, whole_file};
use proptest::prelude::*;

const DEADLINE: Duration = Duration::from_secs(60);

fn text(spec: LogSpec) -> Vec<u8> {
    let mut out = Vec::new();
    for e in LogGen::new(spec) {
        write_line(&e, &mut out);
    }
    out
}

#[test]
fn streamed_file_equals_reference_and_the_file_is_removed() {
    within(DEADLINE, || {
        let spec = LogSpec {
            seed: 7,
            lines: 40_000,
            jitter_ms: 300,
        };
        let dir = TempDir::new("test-stream").expect("temp dir");
        let path = dir.path().join("log");
        let bytes = write_log(&path, spec).expect("write");
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let expected = reference(LogGen::new(spec), 1_000);
        let (got, stats) = stream_file(&path, 4096, 1_000, 300).expect("stream");
        assert_eq!(got, expected);
        assert_eq!(got.late, 0);
        assert!(got.malformed > 0, "the log contains garbage lines");
        assert_eq!(stats.lines, spec.lines);
        assert_eq!(stats.bytes, bytes);
        assert!(
            stats.peak_open <= Tumbling::max_open(1_000, 300),
            "{stats:?}"
        );
        let (whole, _) = whole_file(&path, 1_000).expect("whole");
        assert_eq!(whole, expected);
        let root = dir.path().to_path_buf();
        drop(dir);
        assert!(!root.exists());
    });
}

#[test]
fn the_same_seed_gives_the_same_log() {
    let spec = LogSpec {
        seed: 99,
        lines: 2_000,
        jitter_ms: 50,
    };
    assert_eq!(text(spec), text(spec));
    assert_ne!(text(spec), text(LogSpec { seed: 100, ..spec }));
}

#[test]
fn an_eager_watermark_drops_late_lines_and_the_result_differs() {
    let spec = LogSpec {
        seed: 3,
        lines: 20_000,
        jitter_ms: 200,
    };
    let t = text(spec);
    let expected = reference(LogGen::new(spec), 100);
    let (got, _) = stream(Cursor::new(&t), 4096, 100, 0).expect("stream");
    assert!(got.late > 0);
    assert_eq!(got.records + got.late, expected.records);
    assert_ne!(got, expected);
    // With the honest lateness the same text aggregates exactly.
    let (ok, _) = stream(Cursor::new(&t), 4096, 100, 200).expect("stream");
    assert_eq!(ok, expected);
}

#[test]
fn the_parser_rejects_garbage_and_reads_its_own_lines() {
    assert_eq!(parse(b"-- log rotated --"), Err(ParseError::Missing("ts")));
    assert_eq!(
        parse(b"ts=1700000000123 level=I"),
        Err(ParseError::Missing("svc"))
    );
    assert_eq!(
        parse(b"ts=1 svc=nope status=200 latency_us=3"),
        Err(ParseError::Invalid("svc"))
    );
    assert_eq!(
        parse(b"ts=x svc=api status=200 latency_us=3"),
        Err(ParseError::Invalid("ts"))
    );
    let r =
        parse(b"ts=17 level=INFO svc=billing status=503 latency_us=42 path=/x trace=ab\n").unwrap();
    assert_eq!(
        (r.ts_ms, r.service, r.status, r.latency_us),
        (17, 2, 503, 42)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stream_equals_reference_on_small_logs(
        seed in any::<u64>(),
        lines in 0u64..400,
        jitter in 0u64..120,
        width in 1u64..300,
        buffer in 1usize..512,
        extra_lateness in 0u64..50,
    ) {
        let spec = LogSpec { seed, lines, jitter_ms: jitter };
        let t = text(spec);
        let expected = reference(LogGen::new(spec), width);
        // Any lateness ≥ the generator's disorder bound is honest.
        let (got, stats) = stream(
            std::io::BufReader::with_capacity(buffer, Cursor::new(&t)),
            buffer,
            width,
            jitter + extra_lateness,
        ).unwrap();
        prop_assert_eq!(got.late, 0);
        prop_assert_eq!(&got, &expected);
        prop_assert!(stats.peak_open <= Tumbling::max_open(width, jitter + extra_lateness));
    }
}
