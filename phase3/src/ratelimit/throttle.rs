//! Async throttle and debounce over tokio channels.
//!
//! A **throttle** lets at most one event through per `interval`. With the *leading* edge the first
//! event of a quiet spell passes at once and the rest of its window is dropped; with the *trailing*
//! edge the window's latest event passes when the window closes (and that emission opens the next
//! window); *both* does both, emitting the trailing event only when it differs from the leading one.
//! A **debounce** waits for a burst to end: it emits the latest event once `quiet` has passed with no
//! new event. In Go these are a `time.Timer` reset in a `select` loop; here `tokio::select!` over the
//! input channel and a `sleep_until`, so tokio's paused test clock replays a trace exactly.
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Which edge of a throttle window emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The first event of a quiet spell, at once; the rest of its window is dropped.
    Leading,
    /// The latest event of each window, when the window closes.
    Trailing,
    /// The first at once and, if more came, the latest when the window closes.
    Both,
}

impl Edge {
    fn leading(self) -> bool {
        matches!(self, Edge::Leading | Edge::Both)
    }
    fn trailing(self) -> bool {
        matches!(self, Edge::Trailing | Edge::Both)
    }
}

/// Forwards `input` to `output`, at most one event per `interval`, emitting on `edge`.
///
/// Returns when `input` is closed and drained (a pending trailing event is emitted at its window's
/// end first) or when `output` is closed. Emissions are at least `interval` apart.
pub async fn throttle<T>(
    mut input: mpsc::Receiver<T>,
    output: mpsc::Sender<T>,
    interval: Duration,
    edge: Edge,
) {
    // Idle: no window open; the next event opens one.
    while let Some(first) = input.recv().await {
        let mut deadline = Instant::now() + interval;
        let mut pending = None;
        if edge.leading() {
            if output.send(first).await.is_err() {
                return;
            }
        } else {
            pending = Some(first);
        }
        // A window is open until `deadline`.
        loop {
            tokio::select! {
                // Biased: at a tie the window closes first (the tests keep events off window ends).
                biased;
                () = sleep_until(deadline) => {
                    match pending.take() {
                        Some(latest) if edge.trailing() => {
                            if output.send(latest).await.is_err() {
                                return;
                            }
                            deadline += interval; // the trailing emission opens the next window
                        }
                        _ => break, // nothing to emit: back to idle
                    }
                }
                next = input.recv() => match next {
                    Some(event) => pending = Some(event), // a leading-only throttle drops it at the end
                    None => {
                        if let Some(latest) = pending.filter(|_| edge.trailing()) {
                            sleep_until(deadline).await;
                            let _ = output.send(latest).await;
                        }
                        return;
                    }
                },
            }
        }
    }
}

/// Forwards the last event of every burst on `input` to `output`, once `quiet` has passed without a
/// new event. Returns when `input` is closed (after emitting the last burst's event at its time) or
/// when `output` is closed.
pub async fn debounce<T>(mut input: mpsc::Receiver<T>, output: mpsc::Sender<T>, quiet: Duration) {
    while let Some(first) = input.recv().await {
        let mut latest = first;
        let mut deadline = Instant::now() + quiet;
        loop {
            tokio::select! {
                biased;
                () = sleep_until(deadline) => break,
                next = input.recv() => match next {
                    Some(event) => {
                        latest = event;
                        deadline = Instant::now() + quiet; // the burst goes on: restart the wait
                    }
                    None => {
                        sleep_until(deadline).await;
                        let _ = output.send(latest).await;
                        return;
                    }
                },
            }
        }
        if output.send(latest).await.is_err() {
            return;
        }
    }
}
