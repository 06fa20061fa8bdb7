//! A shared event log with microsecond offsets from one start instant.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One event: when (since the common start), which party, what.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub at: Duration,
    pub who: &'static str,
    pub what: String,
}

/// Cloneable handle to one log.
#[derive(Clone)]
pub(crate) struct Trace {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Trace {
    pub(crate) fn new() -> Self {
        Trace {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// Records `what` for `who` now, and returns the offset.
    pub(crate) fn log(&self, who: &'static str, what: impl Into<String>) -> Duration {
        let at = self.start.elapsed();
        self.events.lock().unwrap().push(Event {
            at,
            who,
            what: what.into(),
        });
        at
    }

    /// The events, in time order.
    pub(crate) fn events(&self) -> Vec<Event> {
        let mut e = self.events.lock().unwrap().clone();
        e.sort_by_key(|e| e.at);
        e
    }
}
