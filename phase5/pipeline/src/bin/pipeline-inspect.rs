//! `pipeline-inspect DIR`: lists the spill segments of a directory and verifies every record.
//! Exit 0 when every record is valid (a torn tail, the mark of a crash mid-write, is reported and
//! ignored), 1 when a segment is corrupt, 2 on bad usage or a directory that cannot be read.
use std::path::Path;
use std::process::ExitCode;

use pipeline::spill::{self, SegmentEnd, SpillError};

const USAGE: &str = "usage: pipeline-inspect DIR\n\nLists the spill segments in DIR (seg-NNNNNNNN.spill) \
and verifies every record's length and CRC-32.\nExit status: 0 valid (a torn tail is reported), 1 corrupt, 2 bad usage or unreadable.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [dir] if !dir.starts_with('-') => Path::new(dir),
        _ => {
            eprintln!("pipeline-inspect: expected one argument, a directory\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !dir.is_dir() {
        eprintln!("pipeline-inspect: {}: not a directory", dir.display());
        return ExitCode::from(2);
    }
    let mut bytes = 0u64;
    match spill::read_all(dir, |r| bytes += r.len() as u64) {
        Ok(segments) => {
            println!("{:<24} {:>10} {:>12}  end", "segment", "records", "bytes");
            for s in &segments {
                let name = s.path.file_name().map_or_else(
                    || s.path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let end = match s.end {
                    SegmentEnd::Clean => "clean".to_string(),
                    SegmentEnd::TornTail { offset, bytes } => {
                        format!("torn tail: {bytes} bytes from byte {offset} ignored")
                    }
                };
                println!("{name:<24} {:>10} {:>12}  {end}", s.records, s.bytes);
            }
            let records: u64 = segments.iter().map(|s| s.records).sum();
            println!(
                "{} segments, {records} valid records, {bytes} payload bytes",
                segments.len()
            );
            ExitCode::SUCCESS
        }
        Err(e @ (SpillError::Corrupt { .. } | SpillError::NotASegment { .. })) => {
            eprintln!("pipeline-inspect: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("pipeline-inspect: {e}");
            ExitCode::from(2)
        }
    }
}
