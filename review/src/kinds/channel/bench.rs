//! The quick bench: the attempt, ours (phase 1's channel) and crossbeam-channel on the same two
//! workloads in one process, best of three runs each, interleaved so that a change in the machine's
//! load hits all three alike. Only ratios are reported: an absolute time from a quick run on an
//! unknown machine means nothing, a ratio measured in one run does.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::channel::{ChannelFlavor, ChannelReceiver, ChannelSender, Crossbeam};
use phase1::channels::contract::Ours;

use crate::{Verdict, Workload};

const VALUES: usize = 100_000;
const RUNS: usize = 3;

/// One producer, one consumer, `VALUES` u64 through bounded(64). `None` if a value went missing.
fn spsc<G: ChannelFlavor>() -> Option<Duration> {
    let (tx, rx) = G::bounded::<u64>(64);
    let start = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..VALUES as u64 {
            if tx.send(i).is_err() {
                return;
            }
        }
    });
    let mut sum = 0u64;
    for _ in 0..VALUES {
        sum += rx.recv()?;
    }
    producer.join().ok()?;
    let elapsed = start.elapsed();
    (sum == (VALUES as u64 - 1) * VALUES as u64 / 2).then_some(elapsed)
}

/// Two producers, two consumers (one where the receiver does not clone), `VALUES` u64 in all
/// through bounded(64). Each consumer claims a value before receiving it, so none waits for the end
/// of the stream (close has scenarios of its own).
fn mpmc<G: ChannelFlavor>() -> Option<Duration> {
    let (tx, rx) = G::bounded::<u64>(64);
    // Relaxed: the claims only need to add up to VALUES; the values travel through the channel.
    let unclaimed = Arc::new(AtomicUsize::new(VALUES));
    let consumers = if G::FEATURES.receiver_clones { 2 } else { 1 };
    let start = Instant::now();
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..(VALUES / 2) as u64 {
                    if tx.send(p + 2 * i).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consume = move |rx: G::Receiver<u64>, unclaimed: Arc<AtomicUsize>| {
        let mut sum = 0u64;
        while unclaimed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            match rx.recv() {
                Some(v) => sum += v,
                None => return None,
            }
        }
        Some(sum)
    };
    let mut handles = Vec::new();
    for _ in 1..consumers {
        let (rx, unclaimed) = (rx.try_clone()?, unclaimed.clone());
        handles.push(thread::spawn(move || consume(rx, unclaimed)));
    }
    handles.push(thread::spawn(move || consume(rx, unclaimed)));
    let mut sum = 0u64;
    for h in handles {
        sum += h.join().ok()??;
    }
    for p in producers {
        p.join().ok()?;
    }
    let elapsed = start.elapsed();
    (sum == (VALUES as u64 - 1) * VALUES as u64 / 2).then_some(elapsed)
}

/// The bench scenario: ratios of the attempt's best time to ours and crossbeam's.
pub(super) fn bench<F: ChannelFlavor>() -> Verdict {
    let workloads: [Workload; 2] = [
        (
            "spsc bounded(64), 100000 u64",
            [spsc::<F>, spsc::<Ours>, spsc::<Crossbeam>],
        ),
        (
            "mpmc 2x2 bounded(64), 100000 u64",
            [mpmc::<F>, mpmc::<Ours>, mpmc::<Crossbeam>],
        ),
    ];
    crate::best_of_ratios(
        &workloads,
        [Ours::NAME, Crossbeam::NAME],
        RUNS,
        "the values received do not add up to the values sent",
    )
}
