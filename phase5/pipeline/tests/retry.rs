//! Retry with exponential backoff, then a dead letter: counts and backoff timings exact on the
//! paused clock.
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipeline::{DeadLetter, Pipeline, Retry, Stage};
use tokio::time::Instant;

/// Item `x` fails its first `x % 3` attempts, and every attempt when `x % 5 == 4`.
#[test]
fn retries_then_dead_letters_with_exact_counts_and_backoff() {
    const N: u64 = 60;
    let ms = Duration::from_millis;
    let (attempts, dead, seen, report) = common::paused(async move {
        let attempts: Arc<Mutex<HashMap<u64, Vec<Instant>>>> = Arc::default();
        let dead = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, dlq, sink) = (Arc::clone(&attempts), Arc::clone(&dead), Arc::clone(&seen));
        let report = Pipeline::from_iter(0..N)
            .try_map_retry(
                Stage::new("call").with_parallelism(8).unordered(),
                Retry::exponential(3, ms(10), ms(100)),
                move |x| {
                    let mut log = log.lock().unwrap();
                    let tries = log.entry(x).or_default();
                    tries.push(Instant::now());
                    let fail = x % 5 == 4 || (tries.len() as u64) <= x % 3;
                    async move {
                        if fail {
                            Err(format!("{x} failed"))
                        } else {
                            Ok(x)
                        }
                    }
                },
                move |d: DeadLetter<u64, String>| {
                    dlq.lock().unwrap().push(d);
                    async {}
                },
            )
            .for_each(Stage::new("sink"), move |x| {
                sink.lock().unwrap().push(x);
                async {}
            })
            .run()
            .await
            .unwrap();
        let attempts = attempts.lock().unwrap().clone();
        let dead = dead.lock().unwrap().clone();
        let seen = seen.lock().unwrap().clone();
        (attempts, dead, seen, report)
    });
    common::assert_accounted(&report);
    let always = |x: &u64| x % 5 == 4;
    let mut expect_dead: Vec<u64> = (0..N).filter(always).collect();
    let mut got_dead: Vec<u64> = dead.iter().map(|d| d.item).collect();
    got_dead.sort_unstable();
    expect_dead.sort_unstable();
    assert_eq!(got_dead, expect_dead);
    for d in &dead {
        assert_eq!((d.attempts, d.seq), (3, d.item), "{d:?}");
        assert_eq!(d.error, format!("{} failed", d.item));
    }
    let mut delivered = seen.clone();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..N).filter(|x| !always(x)).collect::<Vec<_>>());
    // Retries: x % 3 for the ones that made it, 2 for every dead one.
    let retried: u64 = (0..N).map(|x| if always(&x) { 2 } else { x % 3 }).sum();
    let call = report.stage("call").unwrap();
    assert_eq!(
        (call.retried, call.failed),
        (retried, expect_dead.len() as u64)
    );
    // Every try of every item is logged; the gaps are the backoff: 10 ms, then 20 ms.
    for (x, tries) in &attempts {
        let expected = if always(x) { 3 } else { x % 3 + 1 } as usize;
        assert_eq!(tries.len(), expected, "item {x}");
        let gaps: Vec<Duration> = tries.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, [ms(10), ms(20)][..expected - 1], "item {x}");
    }
}

#[test]
fn without_retry_a_failure_is_dead_lettered_at_once() {
    let (dead, report) = common::paused(async {
        let dead = Arc::new(Mutex::new(Vec::new()));
        let dlq = Arc::clone(&dead);
        let report = Pipeline::from_iter(0..10u32)
            .try_map_retry(
                Stage::new("call"),
                Retry::none(),
                |x| async move { if x % 2 == 0 { Err(x) } else { Ok(x) } },
                move |d: DeadLetter<u32, u32>| {
                    dlq.lock().unwrap().push((d.item, d.attempts));
                    async {}
                },
            )
            .for_each(Stage::new("sink"), |_| async {})
            .run()
            .await
            .unwrap();
        let dead = dead.lock().unwrap().clone();
        (dead, report)
    });
    assert_eq!(dead, [(0, 1), (2, 1), (4, 1), (6, 1), (8, 1)]);
    let call = report.stage("call").unwrap();
    assert_eq!((call.retried, call.failed, call.completed), (0, 5, 5));
}
