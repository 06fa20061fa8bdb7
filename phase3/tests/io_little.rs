//! Little's law as computed by `phase3::io::little`, on synthetic data where the answer is known,
//! and one live point of the service: λ·W matches the sampled in-flight mean, every answer matches its
//! request, no thread outlives the run. No absolute time is asserted.
#![cfg(not(loom))]
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase3::io::little::{littles_law, relative_error, sampled_in_flight, time_average_in_flight};
use phase3::io::log::SplitMix;
use phase3::io::service::{Load, Model, measure, measure_open};

fn close(a: f64, b: f64, eps: f64) -> bool {
    (a - b).abs() <= eps * b.abs().max(1.0)
}

/// Requests that arrive and leave inside [0, 10]: Poisson-ish arrivals, random service, one server.
fn synthetic(seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut rng = SplitMix::new(seed);
    let mut t = 0.5;
    let mut free_at: f64 = 0.0;
    (0..n)
        .map(|_| {
            t += (rng.below(1000) as f64 + 1.0) / 1000.0 * 9.0 / n as f64 * 2.0 * 0.45;
            let service = (rng.below(1000) as f64 + 1.0) / 1000.0 * 9.0 / n as f64 * 0.9;
            let start = free_at.max(t);
            free_at = start + service;
            (t, free_at)
        })
        .collect()
}

#[test]
fn relative_error_is_symmetric_about_the_measurement_and_handles_zero() {
    assert_eq!(relative_error(0.0, 0.0), 0.0);
    assert!(relative_error(1.0, 0.0).is_infinite());
    assert!(close(relative_error(12.0, 10.0), 0.2, 1e-12));
    assert!(close(relative_error(8.0, 10.0), 0.2, 1e-12));
}

#[test]
fn the_law_is_exact_when_every_interval_lies_inside_the_window() {
    for seed in 0..20 {
        let iv = synthetic(seed, 500);
        let (a, b) = (0.0, iv.iter().map(|i| i.1).fold(0.0, f64::max) + 0.25);
        let n = iv.len() as u64;
        let mean_latency = iv.iter().map(|(s, e)| e - s).sum::<f64>() / n as f64;
        let exact = time_average_in_flight(&iv, a, b);
        let l = littles_law(
            n,
            Duration::from_secs_f64(b - a),
            Duration::from_secs_f64(mean_latency),
            exact,
        );
        // Only Duration's nanosecond rounding separates the two.
        assert!(l.rel_error < 1e-6, "seed {seed}: {l:?}");
        assert!(close(l.throughput, n as f64 / (b - a), 1e-9));
    }
}

#[test]
fn random_samples_estimate_the_time_average() {
    let iv = synthetic(11, 2_000);
    let end = iv.iter().map(|i| i.1).fold(0.0, f64::max);
    let exact = time_average_in_flight(&iv, 0.0, end);
    let mut rng = SplitMix::new(5);
    let samples: Vec<f64> = (0..20_000)
        .map(|_| rng.below(1_000_000) as f64 / 1_000_000.0 * end)
        .collect();
    let sampled = sampled_in_flight(&iv, &samples);
    assert!(exact > 0.1, "a loaded system: {exact}");
    assert!(
        relative_error(sampled, exact) < 0.05,
        "{sampled} vs {exact}"
    );
}

#[test]
fn a_wrong_measurement_shows_as_a_large_error() {
    let iv = synthetic(2, 300);
    let end = iv.iter().map(|i| i.1).fold(0.0, f64::max);
    let n = iv.len() as u64;
    let w = iv.iter().map(|(s, e)| e - s).sum::<f64>() / n as f64;
    let exact = time_average_in_flight(&iv, 0.0, end);
    // Counting only the requests in service (not the queued ones) under-measures L.
    let in_service: Vec<(f64, f64)> = iv
        .iter()
        .scan(0.0f64, |free, &(arr, done)| {
            let start = arr.max(*free);
            *free = done;
            Some((start, done))
        })
        .collect();
    let wrong = time_average_in_flight(&in_service, 0.0, end);
    let l = littles_law(
        n,
        Duration::from_secs_f64(end),
        Duration::from_secs_f64(w),
        wrong,
    );
    assert!(wrong < exact);
    assert!(l.rel_error > 0.1, "{l:?}");
    // A window that cuts requests off shows the edge effect the tolerance allows for.
    let half = littles_law(
        n,
        Duration::from_secs_f64(end / 2.0),
        Duration::from_secs_f64(w),
        exact,
    );
    assert!(half.rel_error > 0.5);
}

#[test]
fn a_live_point_obeys_littles_law_and_leaves_no_thread() {
    within(Duration::from_secs(60), || {
        let leak = ThreadLeakCheck::named("io-tvl");
        let model = Model {
            workers: 2,
            per_request: Duration::from_millis(2),
            per_item: Duration::from_micros(10),
        };
        let small = Load {
            conns: 1,
            batch: 1,
            warmup: Duration::from_millis(30),
            measure: Duration::from_millis(200),
        };
        let big = Load { conns: 6, ..small };
        let m1 = measure(model, small, Duration::from_secs(20)).expect("run");
        let m6 = measure(model, big, Duration::from_secs(20)).expect("run");
        // Open loop: Poisson arrivals at ~60 % of the 2 slots' capacity (~650/s with the timer's
        // rounding); in flight now varies, and the sampled mean needs a window of many W to converge.
        let open = measure_open(
            model,
            400.0,
            16,
            Duration::from_millis(30),
            Duration::from_secs(1),
            Duration::from_secs(20),
        )
        .expect("open-loop run");
        for m in [&m1, &m6, &open] {
            assert_eq!(m.bad_replies, 0);
            assert!(m.requests > 0 && m.samples > 0);
            let l = m.little();
            assert!(l.rel_error <= 0.25, "{l:?}");
        }
        // 6 closed-loop clients against 2 slots queue: the latency of one request grows.
        assert!(m6.mean_latency() > m1.mean_latency());
        leak.assert_no_leak(Duration::from_secs(5));
    });
}
