//! Our Vyukov queue vs crossbeam's `ArrayQueue`, one producer and one consumer, measured in pairs.
//!
//! `cargo bench`'s criterion runs every sample of one implementation, then every sample of the
//! other. On this 2-vCPU virtual machine the cost of a cache-line hand-off between the two cores
//! drifts by 2-5× over seconds, so two medians taken a few seconds apart can disagree by more than
//! the queues do. Here each round runs ours, then the peer, then ours again, back to back, and the
//! ratio is taken within the round; the spread of those ratios is the honest error bar.
//!
//! Each round also prints the failed attempts per item. A run whose two threads shared one core
//! shows exactly 64 / 1 024 = 1/16 on both sides (see `benchkit::workloads::transfer`); `--no-pin`
//! leaves placement to the kernel so you can watch that happen.
//!
//! ```text
//! cargo run --release -p phase4 --example mpmc_paired -- [--rounds 30] [--items 100000] [--no-pin]
//! ```
use std::process::ExitCode;

use benchkit::workloads::{Transfer, transfer};
use harness::contracts::queue::{CrossbeamArrayQueue, QueueFlavor};
use phase4::lockfree::OursVyukov;

const CAP: usize = 1024;

struct Args {
    rounds: usize,
    items: u64,
    pin: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        rounds: 30,
        items: 100_000,
        pin: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name} wants a positive integer, got '{v}'")),
            }
        };
        match a.as_str() {
            "--rounds" => args.rounds = number("--rounds")? as usize,
            "--items" => args.items = number("--items")?,
            "--no-pin" => args.pin = false,
            "-h" | "--help" => {
                return Err("usage: mpmc_paired [--rounds N] [--items N] [--no-pin]".into());
            }
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(args)
}

fn per_item(t: &Transfer, items: u64) -> (f64, f64, f64) {
    let n = items as f64;
    (
        t.elapsed.as_nanos() as f64 / n,
        t.push_failures as f64 / n,
        t.pop_failures as f64 / n,
    )
}

/// True when both sides failed about 64 / capacity times per item: the two threads took turns on
/// one core.
fn took_turns(t: &Transfer, items: u64) -> bool {
    let (_, push, pop) = per_item(t, items);
    let turn = 64.0 / CAP as f64;
    (push - turn).abs() < 0.1 * turn && (pop - turn).abs() < 0.1 * turn
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let ours = OursVyukov::with_capacity::<u64>(CAP);
    let peer = CrossbeamArrayQueue::with_capacity::<u64>(CAP);
    println!(
        "1 producer + 1 consumer, capacity {CAP}, {} items per run, threads {}",
        args.items,
        if args.pin {
            "pinned to two CPUs"
        } else {
            "placed by the kernel"
        }
    );
    println!(
        "round  ours ns/item  peer ns/item  ours again  ratio  failures/item ours (push, pop)  peer (push, pop)"
    );
    let mut ratios = Vec::with_capacity(args.rounds);
    let mut turns = 0;
    for round in 0..args.rounds {
        let a = transfer(&ours, 1, 1, args.items, args.pin);
        let b = transfer(&peer, 1, 1, args.items, args.pin);
        let a2 = transfer(&ours, 1, 1, args.items, args.pin);
        let (pa, pb, pa2) = (
            per_item(&a, args.items),
            per_item(&b, args.items),
            per_item(&a2, args.items),
        );
        let ratio = (pa.0 + pa2.0) / 2.0 / pb.0;
        let turned = [&a, &b, &a2].iter().any(|t| took_turns(t, args.items));
        turns += usize::from(turned);
        ratios.push(ratio);
        println!(
            "{round:5}  {:12.1}  {:12.1}  {:10.1}  {ratio:5.2}  ({:.3}, {:.3})                   ({:.3}, {:.3}){}",
            pa.0,
            pb.0,
            pa2.0,
            pa.1,
            pa.2,
            pb.1,
            pb.2,
            if turned {
                "  ← took turns on one core"
            } else {
                ""
            }
        );
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    println!(
        "ours / ArrayQueue, per-round ratios: median {:.2}, p10 {:.2}, p90 {:.2} over {} rounds; {} round(s) where a run took turns on one core",
        at(0.5),
        at(0.1),
        at(0.9),
        ratios.len(),
        turns
    );
    ExitCode::SUCCESS
}
