//! Small measurement helpers: percentiles of samples, timing a closure, human units.
use std::time::{Duration, Instant};

/// Percentiles of a set of duration samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
}

impl Summary {
    /// Summarises `samples` (sorted in place). Empty input gives all zeros.
    pub fn of(samples: &mut [Duration]) -> Summary {
        if samples.is_empty() {
            let z = Duration::ZERO;
            return Summary {
                n: 0,
                p50: z,
                p99: z,
                max: z,
                mean: z,
            };
        }
        samples.sort_unstable();
        let n = samples.len();
        let total: Duration = samples.iter().sum();
        Summary {
            n,
            p50: percentile_sorted(samples, 50.0),
            p99: percentile_sorted(samples, 99.0),
            max: samples[n - 1],
            mean: total / n as u32,
        }
    }
}

/// Nearest-rank percentile of sorted samples (`p` in 0..=100).
pub fn percentile_sorted(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median time per call of `f`, over `rounds` rounds of `iters` calls each (median resists the
/// occasional descheduling on a 2-core machine better than the mean).
pub fn time_per_op(rounds: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    let mut per = Vec::with_capacity(rounds.max(1));
    for _ in 0..rounds.max(1) {
        let t0 = Instant::now();
        for _ in 0..iters.max(1) {
            f();
        }
        per.push(t0.elapsed() / iters.max(1) as u32);
    }
    Summary::of(&mut per).p50
}

/// A duration in the unit that reads best: `850 ns`, `25.3 µs`, `4.10 ms`, `1.25 s`.
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// A duration in milliseconds with two decimals, `12.35 ms`: for a column of timer ticks or waits,
/// where one unit keeps the rows comparable at a glance (elsewhere [`fmt_duration`] reads better).
pub fn fmt_ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A rate per second with an SI suffix: `1.25 M/s`.
pub fn fmt_rate(per_sec: f64) -> String {
    if per_sec >= 1e9 {
        format!("{:.2} G/s", per_sec / 1e9)
    } else if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.1} /s")
    }
}

/// A byte count in binary units: `8.0 MiB`.
pub fn fmt_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// `a / b` formatted as a ratio, `1.23×`.
pub fn fmt_ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "n/a".into();
    }
    format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&mut v);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.n, 100);
    }

    #[test]
    fn units_read_well() {
        assert_eq!(fmt_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(fmt_duration(Duration::from_nanos(25_300)), "25.3 µs");
        assert_eq!(fmt_ms(Duration::from_micros(12_345)), "12.35 ms");
        assert_eq!(fmt_ms(Duration::from_micros(40)), "0.04 ms");
        assert_eq!(fmt_bytes(8 * 1024 * 1024), "8.0 MiB");
        assert_eq!(fmt_rate(1_250_000.0), "1.25 M/s");
    }
}
