//! Little's law, computed from measurements.
//!
//! For any system in a steady state, the mean number of items inside it equals the rate at which
//! they leave times the mean time each spends inside: `L = λ · W`. It needs no assumption about
//! arrival or service distributions — but it is a law of *means* over a window, so a measurement
//! checks it only up to sampling noise and edge effects (requests straddling the window's ends).
//!
//! Here `λ` is completions per second in the window, `W` the mean latency of those completions
//! (from the histogram) and the measured `L` a time-average of an in-flight counter sampled at
//! random instants. The relative error between `λ · W` and the sampled `L` is what the table shows.
use std::time::Duration;

/// Little's law applied to one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Little {
    /// Completions per second (λ).
    pub throughput: f64,
    /// Mean time in the system, seconds (W).
    pub mean_latency_s: f64,
    /// λ · W: the in-flight count the law predicts.
    pub predicted: f64,
    /// The in-flight count measured independently (time-average of samples).
    pub measured: f64,
    /// |predicted − measured| / measured.
    pub rel_error: f64,
}

/// |predicted − measured| / measured; 0 when both are 0, infinite when only `measured` is.
pub fn relative_error(predicted: f64, measured: f64) -> f64 {
    if measured == 0.0 {
        if predicted == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (predicted - measured).abs() / measured
    }
}

/// Applies the law: `completed` items left in `window` with mean latency `mean_latency`, while the
/// in-flight count averaged `measured_in_flight`.
pub fn littles_law(
    completed: u64,
    window: Duration,
    mean_latency: Duration,
    measured_in_flight: f64,
) -> Little {
    let secs = window.as_secs_f64();
    let throughput = if secs > 0.0 {
        completed as f64 / secs
    } else {
        0.0
    };
    let w = mean_latency.as_secs_f64();
    let predicted = throughput * w;
    Little {
        throughput,
        mean_latency_s: w,
        predicted,
        measured: measured_in_flight,
        rel_error: relative_error(predicted, measured_in_flight),
    }
}

/// The exact time-average number of intervals `(start, end)` (seconds) alive in `[a, b]`: the
/// integral of the in-flight count over the window divided by its length.
pub fn time_average_in_flight(intervals: &[(f64, f64)], a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let covered: f64 = intervals
        .iter()
        .map(|&(s, e)| (e.min(b) - s.max(a)).max(0.0))
        .sum();
    covered / (b - a)
}

/// The average of the in-flight count seen at each instant of `samples` (what a sampler measures).
pub fn sampled_in_flight(intervals: &[(f64, f64)], samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let total: usize = samples
        .iter()
        .map(|&t| intervals.iter().filter(|&&(s, e)| s <= t && t < e).count())
        .sum();
    total as f64 / samples.len() as f64
}
