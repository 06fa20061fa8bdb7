//! Producers and consumers through files: a spool directory, claimed by atomic rename.
//!
//! Producer `p` writes segment `k` as `p{p}-{k}.tmp` and publishes it with `rename` to
//! `p{p}-{k}.seg`: a reader never sees a half-written segment, because `rename` within one
//! filesystem is atomic. A consumer claims a segment by renaming it to `….seg.c{id}`; when two
//! consumers race for one segment, exactly one rename succeeds and the other gets `NotFound` (a lost
//! race, counted). The filesystem's rename is the compare-and-swap; reading then deleting without
//! the claim would deliver a segment twice whenever two consumers list it at once.
//!
//! Termination: a consumer stops when it saw every producer finished *before* a scan that found no
//! segment left. (No `fsync`: durability across a crash is not the point here.)
use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::delivery::item;

/// What a spool run delivered.
#[derive(Debug, Clone)]
pub struct SpoolRun {
    /// The items each consumer read, in claim order.
    pub per_consumer: Vec<Vec<u64>>,
    /// Segments consumed.
    pub segments: u64,
    /// Claims that lost the race to another consumer (rename: `NotFound`; naive: already deleted).
    pub lost_races: u64,
    /// Files left in the directory afterwards (0 when every segment was consumed and deleted).
    pub leftover: usize,
    /// First producer start to last consumer exit.
    pub elapsed: Duration,
}

fn produce(dir: &Path, p: u32, per_producer: u32, segment: u32) -> io::Result<()> {
    let items: Vec<u64> = (0..per_producer).map(|s| item(p, s)).collect();
    for (k, chunk) in items.chunks(segment.max(1) as usize).enumerate() {
        let bytes: Vec<u8> = chunk.iter().flat_map(|i| i.to_le_bytes()).collect();
        let tmp = dir.join(format!("p{p}-{k}.tmp"));
        fs::write(&tmp, &bytes)?;
        fs::rename(&tmp, dir.join(format!("p{p}-{k}.seg")))?; // publish
    }
    Ok(())
}

/// How a consumer takes a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Rename it to a name only this consumer uses, then read it: exactly one consumer wins.
    Rename,
    /// The naive way: read it, then delete it. Two consumers that list it at once may both read it.
    ReadThenDelete,
}

fn decode(name: &str, bytes: &[u8], got: &mut Vec<u64>) -> io::Result<()> {
    if !bytes.len().is_multiple_of(8) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{name}: {} bytes is not whole items", bytes.len()),
        ));
    }
    got.extend(
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))),
    );
    Ok(())
}

fn consume(
    dir: &Path,
    id: u32,
    producers: u32,
    done: &AtomicU32,
    claim: Claim,
) -> io::Result<(Vec<u64>, u64, u64)> {
    let (mut got, mut segments, mut lost) = (Vec::new(), 0u64, 0u64);
    loop {
        // Acquire: pairs with each producer's Release increment, so every rename a producer made
        // before finishing happened before the scan below.
        let all_done = done.load(Ordering::Acquire) == producers;
        let mut found = false;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.ends_with(".seg") {
                continue;
            }
            found = true;
            if claim == Claim::ReadThenDelete {
                match fs::read(entry.path()) {
                    Ok(bytes) => {
                        decode(name, &bytes, &mut got)?;
                        segments += 1;
                        // Another consumer may have read it too, or deleted it already.
                        let _ = fs::remove_file(entry.path());
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => lost += 1,
                    Err(e) => return Err(e),
                }
                continue;
            }
            let claimed = dir.join(format!("{name}.c{id}"));
            match fs::rename(entry.path(), &claimed) {
                Ok(()) => {
                    let bytes = fs::read(&claimed)?;
                    decode(name, &bytes, &mut got)?;
                    fs::remove_file(&claimed)?;
                    segments += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => lost += 1, // another consumer won
                Err(e) => return Err(e),
            }
        }
        if !found {
            if all_done {
                return Ok((got, segments, lost));
            }
            thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Runs `producers` producer threads and `consumers` consumer threads (named `io-spool-p*` /
/// `io-spool-c*`, all joined before returning) over the empty directory `dir`, claiming by rename.
pub fn run(
    dir: &Path,
    producers: u32,
    consumers: u32,
    per_producer: u32,
    segment: u32,
) -> io::Result<SpoolRun> {
    run_with(
        dir,
        producers,
        consumers,
        per_producer,
        segment,
        Claim::Rename,
    )
}

/// [`run`] with a chosen way of claiming a segment.
pub fn run_with(
    dir: &Path,
    producers: u32,
    consumers: u32,
    per_producer: u32,
    segment: u32,
    claim: Claim,
) -> io::Result<SpoolRun> {
    let done = AtomicU32::new(0);
    let t0 = Instant::now();
    let (produced, consumed) = thread::scope(|s| {
        let done = &done;
        let ps: Vec<_> = (0..producers)
            .map(|p| {
                thread::Builder::new()
                    .name(format!("io-spool-p{p}"))
                    .spawn_scoped(s, move || {
                        let r = produce(dir, p, per_producer, segment);
                        // Release: publishes this producer's renames to a consumer that sees the count.
                        // Counted even on failure, so the consumers still stop.
                        done.fetch_add(1, Ordering::Release);
                        r
                    })
                    .expect("spawn producer")
            })
            .collect();
        let cs: Vec<_> = (0..consumers)
            .map(|c| {
                thread::Builder::new()
                    .name(format!("io-spool-c{c}"))
                    .spawn_scoped(s, move || consume(dir, c, producers, done, claim))
                    .expect("spawn consumer")
            })
            .collect();
        let produced: Vec<io::Result<()>> = ps
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("producer panicked")))
            })
            .collect();
        let consumed: Vec<io::Result<(Vec<u64>, u64, u64)>> = cs
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("consumer panicked")))
            })
            .collect();
        (produced, consumed)
    });
    let elapsed = t0.elapsed();
    for r in produced {
        r?;
    }
    let mut run = SpoolRun {
        per_consumer: Vec::new(),
        segments: 0,
        lost_races: 0,
        leftover: 0,
        elapsed,
    };
    for r in consumed {
        let (got, segs, lost) = r?;
        run.per_consumer.push(got);
        run.segments += segs;
        run.lost_races += lost;
    }
    run.leftover = fs::read_dir(dir)?.count();
    Ok(run)
}
