//! A ticker task that records how late each tick fires: the probe the sections point at a runtime.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use harness::stats::Summary;

/// Ticks every `period` until `window` has passed; returns the lateness of each tick and bumps
/// `count` (Relaxed: a statistic read by the busy task) after each one.
pub(super) async fn tick(period: Duration, window: Duration, count: Arc<AtomicU64>) -> Summary {
    let start = Instant::now();
    let mut late = Vec::new();
    let mut due = start + period;
    while start.elapsed() < window {
        tokio::time::sleep_until(due.into()).await;
        late.push(Instant::now().saturating_duration_since(due));
        count.fetch_add(1, Relaxed);
        due = Instant::now() + period;
    }
    Summary::of(&mut late)
}
