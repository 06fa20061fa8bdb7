//! Spill segments: a round trip over several segments; the last segment cut at every byte offset
//! reopens with a prefix of the records and never a torn one; a flipped byte is never read back as
//! a record; and `pipeline-inspect`'s listing and exit codes.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::tempdir::TempDir;
use pipeline::spill::{self, SegmentEnd, SpillError, SpillWriter};

fn records(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("record {i} {}", "x".repeat(i % 17)).into_bytes())
        .collect()
}

fn write(dir: &Path, recs: &[Vec<u8>], segment_bytes: u64) {
    let mut w = SpillWriter::create(dir, segment_bytes).expect("writer");
    for r in recs {
        w.append(r).expect("append");
    }
    w.sync().expect("sync");
}

fn read(dir: &Path) -> Result<(Vec<Vec<u8>>, Vec<spill::SegmentInfo>), SpillError> {
    let mut got = Vec::new();
    let infos = spill::read_all(dir, |r| got.push(r.to_vec()))?;
    Ok((got, infos))
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    segs.pop().expect("a segment")
}

#[test]
fn records_round_trip_in_order_across_segments() {
    let dir = TempDir::new("spill").unwrap();
    let recs = records(500);
    write(dir.path(), &recs[..200], 1024);
    write(dir.path(), &recs[200..], 1024); // a second writer continues after the first's segments
    let (got, infos) = read(dir.path()).expect("read");
    assert_eq!(got, recs);
    assert!(infos.len() > 5, "{} segments", infos.len());
    assert!(infos.iter().all(|s| s.end == SegmentEnd::Clean));
}

#[test]
fn a_last_segment_cut_at_every_offset_reads_a_prefix_and_reports_the_torn_tail() {
    let dir = TempDir::new("spill").unwrap();
    let recs = records(60);
    write(dir.path(), &recs, 600);
    let last = last_segment(dir.path());
    let whole = fs::read(&last).unwrap();
    let (all, _) = read(dir.path()).unwrap();
    assert_eq!(all, recs);
    // Where the last segment's records end (after the 8-byte magic, frames of 8 + len bytes).
    let mut boundaries = vec![8usize];
    while let Some(&at) = boundaries.last().filter(|&&at| at < whole.len()) {
        let len = u32::from_le_bytes(whole[at..at + 4].try_into().unwrap()) as usize;
        boundaries.push(at + 8 + len);
    }
    for cut in 0..whole.len() {
        fs::write(&last, &whole[..cut]).unwrap();
        let (got, infos) = read(dir.path()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(got[..], recs[..got.len()], "cut at {cut}: not a prefix");
        let end = &infos.last().unwrap().end;
        match end {
            SegmentEnd::TornTail { offset, bytes } => {
                assert_eq!(offset + bytes, cut as u64, "cut at {cut}");
            }
            SegmentEnd::Clean => assert!(
                boundaries.contains(&cut),
                "cut at {cut} is inside a record, yet the segment reads as clean"
            ),
        }
    }
    fs::write(&last, &whole).unwrap();
}

#[test]
fn a_flipped_byte_is_never_read_as_a_record() {
    let dir = TempDir::new("spill").unwrap();
    let recs = records(40);
    write(dir.path(), &recs, 1 << 20); // one segment
    let seg = last_segment(dir.path());
    let whole = fs::read(&seg).unwrap();
    let mut corrupt_errors = 0;
    for at in 8..whole.len() {
        let mut bad = whole.clone();
        bad[at] ^= 0x5A;
        fs::write(&seg, &bad).unwrap();
        match read(dir.path()) {
            Err(SpillError::Corrupt { offset, .. }) => {
                assert!(offset <= at as u64);
                corrupt_errors += 1;
            }
            Err(e) => panic!("flip at {at}: {e}"),
            // Only the last record may be mistaken for a torn write: then it is not returned.
            Ok((got, _)) => assert_eq!(got[..], recs[..got.len()], "flip at {at}"),
        }
    }
    assert!(corrupt_errors > 0);
    fs::write(&seg, &whole).unwrap();
}

fn inspect(dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline-inspect"))
        .arg(dir)
        .output()
        .expect("run pipeline-inspect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pipeline_inspect_lists_verifies_and_refuses_bad_input() {
    let dir = TempDir::new("spill").unwrap();
    write(dir.path(), &records(100), 1024);
    let (code, out, _) = inspect(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("100 valid records"), "{out}");

    let last = last_segment(dir.path());
    let whole = fs::read(&last).unwrap();
    fs::write(&last, &whole[..whole.len() - 3]).unwrap();
    let (code, out, _) = inspect(dir.path());
    assert_eq!(code, 0, "a torn tail is reported, not an error: {out}");
    assert!(
        out.contains("torn tail") && out.contains("99 valid records"),
        "{out}"
    );

    let first = dir.path().join("seg-00000000.spill");
    let mut bad = fs::read(&first).unwrap();
    bad[20] ^= 1;
    fs::write(&first, bad).unwrap();
    let (code, _, err) = inspect(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("corrupt record"), "{err}");

    let (code, _, err) = inspect(&dir.path().join("missing"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a directory"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline-inspect"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
