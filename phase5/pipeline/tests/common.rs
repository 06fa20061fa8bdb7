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

/// Holds one item in a sink until the test opens it; the test learns when the item is held.
pub struct Gate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    held: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Gate {
    /// A closed gate, and the receiver that fires once an item is held at it.
    pub fn new() -> (std::sync::Arc<Gate>, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gate = Gate {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
            held: std::sync::Mutex::new(Some(tx)),
        };
        (std::sync::Arc::new(gate), rx)
    }

    /// Called by the sink for the item to hold: says it is held, and waits (in the returned
    /// future) until [`Gate::open`].
    pub fn hold(&self) -> impl Future<Output = ()> + Send + use<> {
        if let Some(tx) = self.held.lock().unwrap().take() {
            let _ = tx.send(());
        }
        let permits = std::sync::Arc::clone(&self.permits);
        async move {
            let _ = permits.acquire().await.expect("gate open");
        }
    }

    /// Lets the held item go.
    pub fn open(&self) {
        self.permits.add_permits(1);
    }
}

/// A sink closure that keeps what it receives, in order, and the shared vector it keeps it in.
pub fn collector<T: Send + 'static>() -> (
    std::sync::Arc<std::sync::Mutex<Vec<T>>>,
    impl Fn(T) -> std::future::Ready<()> + Send + Sync + 'static,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    (seen, move |x| {
        sink.lock().unwrap().push(x);
        std::future::ready(())
    })
}
