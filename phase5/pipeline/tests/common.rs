//! Shared by the integration tests: a runtime on tokio's paused clock, and the per-stage accounting
//! every report must satisfy.
#![allow(dead_code)] // each test binary uses its own part

use std::future::Future;
use std::time::Duration;

use pipeline::Report;

/// Runs `f` on a current-thread runtime whose clock is paused: sleeps advance virtual time once every
/// task is idle, so timings are exact and a run takes no real time. A deadlock shows as the virtual
/// hour passing; the real-time watchdog catches anything that spins.
pub fn paused<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    harness::watchdog::within(Duration::from_secs(60), move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        rt.block_on(async move {
            tokio::time::timeout(Duration::from_secs(3600), f)
                .await
                .expect("the pipeline did not finish within a virtual hour")
        })
    })
}

/// Every item that reached a stage's edge is accounted for exactly once.
pub fn assert_accounted(report: &Report) {
    for s in &report.stages {
        assert_eq!(
            s.offered,
            s.dropped + s.rejected + s.completed + s.failed + s.cancelled,
            "stage {}: offered ≠ dropped + rejected + completed + failed + cancelled in {s:?}",
            s.name
        );
    }
}
