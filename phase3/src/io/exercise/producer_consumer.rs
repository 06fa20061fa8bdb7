//! `producer-consumer`: N producers and M consumers moving numbered items over real IO — loopback TCP
//! through a broker, and files through a spool directory — and the multiset check that every item
//! arrived exactly once (nothing missing, nothing twice, nothing invented, checksums equal).
use std::time::Duration;

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::{fmt_duration, fmt_rate};

use crate::io::delivery::{Delivery, verify};
use crate::io::spool::Claim;
use crate::io::{broker, spool};
use harness::tempdir::TempDir;

const DEADLINE: Duration = Duration::from_secs(20);

fn share(per_consumer: &[Vec<u64>]) -> String {
    let min = per_consumer.iter().map(Vec::len).min().unwrap_or(0);
    let max = per_consumer.iter().map(Vec::len).max().unwrap_or(0);
    format!("{min}–{max}")
}

fn verdict(d: &Delivery) -> String {
    format!(
        "{} / {} / {} / {}",
        d.missing,
        d.duplicated,
        d.unexpected,
        if d.checksum_ok { "=" } else { "≠" }
    )
}

pub(crate) fn run(ctx: &mut Ctx) {
    let leak = ThreadLeakCheck::named("io-");
    let total: u32 = ctx.pick(192_000, 24_000);
    ctx.say(
        "Items are numbered (producer, seq); the consumers' multiset is compared with the producers' item \
         by item. TCP: a tokio broker, a bounded queue of 64 frames, a task per connection. Files: each \
         segment is written as .tmp, published by rename to .seg, claimed by renaming it to .seg.c<id>; \
         the last row skips the claim (read, then delete) to show what it prevents.",
    );

    let mut t = ctx.table(
        "loopback TCP through a broker (2 runtime workers)",
        &[
            "N × M",
            "items/frame",
            "sent",
            "received",
            "missing / dup / unexpected / checksum",
            "per consumer",
            "time",
            "items/s",
        ],
    );
    let shapes: &[(u32, u32, u32, u32)] = &[
        (1, 1, 64, total),
        (4, 1, 64, total),
        (1, 4, 64, total),
        (4, 4, 64, total),
        (16, 16, 64, total),
        (4, 4, 1, total / 8),
    ];
    let mut tcp_ok = true;
    let mut tcp_rates = Vec::new();
    for &(n, m, batch, items) in shapes {
        let shape = broker::Shape {
            producers: n,
            consumers: m,
            per_producer: items / n,
            batch,
            queue: 64,
        };
        match broker::run(shape, DEADLINE) {
            Ok(r) => {
                let d = verify(n, items / n, r.per_consumer.iter().map(Vec::as_slice));
                tcp_ok &= d.exactly_once();
                let rate = d.received as f64 / r.elapsed.as_secs_f64();
                tcp_rates.push((batch, n, m, rate));
                t.row([
                    format!("{n} × {m}"),
                    batch.to_string(),
                    d.sent.to_string(),
                    d.received.to_string(),
                    verdict(&d),
                    share(&r.per_consumer),
                    fmt_duration(r.elapsed),
                    fmt_rate(rate),
                ]);
            }
            Err(e) => {
                tcp_ok = false;
                t.row([
                    format!("{n} × {m}"),
                    batch.to_string(),
                    e,
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
            }
        }
    }
    ctx.show(t);

    let mut f = ctx.table(
        "files through a spool directory (one thread per producer and consumer, N + M ≤ 4)",
        &[
            "N × M",
            "items/segment",
            "sent",
            "received",
            "missing / dup / unexpected / checksum",
            "per consumer",
            "lost claim races",
            "files left",
            "time",
            "items/s",
        ],
    );
    let file_total: u32 = ctx.pick(96_000, 12_000);
    let segment = 256;
    let mut files_ok = true;
    let mut races = 0;
    let mut dirs_removed = true;
    let mut naive_dups = None;
    for (n, m, claim) in [
        (1u32, 1u32, Claim::Rename),
        (2, 2, Claim::Rename),
        (3, 1, Claim::Rename),
        (1, 3, Claim::Rename),
        (1, 3, Claim::ReadThenDelete),
    ] {
        let label = match claim {
            Claim::Rename => format!("{n} × {m}"),
            Claim::ReadThenDelete => format!("{n} × {m}, no claim: read, then delete"),
        };
        let per = file_total / n;
        let dir = match TempDir::new("spool") {
            Ok(d) => d,
            Err(e) => {
                files_ok = false;
                f.row([
                    label,
                    format!("temp dir: {e}"),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
                continue;
            }
        };
        let path = dir.path().to_path_buf();
        match spool::run_with(&path, n, m, per, segment, claim) {
            Ok(r) => {
                let d = verify(n, per, r.per_consumer.iter().map(Vec::as_slice));
                if claim == Claim::Rename {
                    files_ok &= d.exactly_once() && r.leftover == 0;
                    races += r.lost_races;
                } else {
                    naive_dups = Some(d.duplicated);
                }
                f.row([
                    label,
                    segment.to_string(),
                    d.sent.to_string(),
                    d.received.to_string(),
                    verdict(&d),
                    share(&r.per_consumer),
                    r.lost_races.to_string(),
                    r.leftover.to_string(),
                    fmt_duration(r.elapsed),
                    fmt_rate(d.received as f64 / r.elapsed.as_secs_f64()),
                ]);
            }
            Err(e) => {
                files_ok = false;
                f.row([
                    label,
                    format!("error: {e}"),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
            }
        }
        dirs_removed &= dir.close().is_ok() && !path.exists();
    }
    ctx.show(f);

    let leaked = leak.leaked_after(Duration::from_secs(2));
    ctx.record("tcp_exactly_once", tcp_ok);
    ctx.record("files_exactly_once", files_ok);
    ctx.record("lost_claim_races", races);
    ctx.record("naive_duplicates", naive_dups);
    ctx.check(
        "TCP: every item delivered exactly once in every N × M shape (multiset and checksum)",
        tcp_ok,
    );
    ctx.check(
        "files: every item delivered exactly once in every N × M shape, no segment left behind",
        files_ok,
    );
    ctx.check("every spool directory removed afterwards", dirs_removed);
    ctx.check_with(
        "no runtime, producer or consumer thread outlives its run",
        leaked.is_empty(),
        format!("{} left", leaked.len()),
    );
    let rate_of = |b: u32| {
        tcp_rates
            .iter()
            .find(|r| r.0 == b && r.1 == 4 && r.2 == 4)
            .map_or(0.0, |r| r.3)
    };
    let (r64, r1) = (rate_of(64), rate_of(1));
    ctx.record("tcp_4x4_batch64_per_s", r64);
    ctx.record("tcp_4x4_batch1_per_s", r1);
    ctx.takeaway(format!(
        "Exactly once is a property of the shutdown order and the claim, not of luck: producers half-close, \
         the queue closes only after the last sender drops and is drained, and a file is consumed by whoever \
         wins its rename ({races} lost races, zero duplicates; without the claim the same 1 × 3 run delivered {} extra copies). \
         Framing dominates the cost: 4 × 4 moved \
         {} with 64 items per frame against {} with one.",
        naive_dups.map_or("?".to_string(), |d| d.to_string()),
        fmt_rate(r64),
        fmt_rate(r1)
    ));
}
