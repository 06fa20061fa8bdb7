//! # The tour of `workpool` (phase5/exercise1)
//!
//! Go bounds concurrency with N goroutines ranging over a channel, and pond or ants grow that into a
//! pool with a queue, groups and metrics. In Rust the same pool is threads behind one lock, and the
//! library's promises — what a full queue does, what a panic does, who waits for whom — are types
//! (`Overflow`, `TaskHandle`, `TaskError`, `ShutdownReport`) that this exercise checks from outside.
//!
//! Every section runs its experiment on a watched thread under a deadline (`harness::watchdog`),
//! measures with its own oracle (closures counted as they start, values counted as they drop, threads
//! listed from `/proc`) rather than the pool's own gauges, and looks for threads left behind.
mod api;
mod failures;
mod overload;
mod priority;
mod versus;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use harness::Section;
use harness::watchdog::{self, Outcome};

/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase5/exercise1",
    title: "Capstone: a production-grade worker pool library (workpool)",
    goal: "A pool someone can put in production: bounded, observable, failure-proof, and measured \
           against the ecosystem and against the lesson it grew from.",
    go_vs_rust: "Go's pools (pond, ants) are goroutines over a channel, a panic recovered per task, a \
        context for cancellation; workpool is threads behind one lock, a typed handle per task (join, \
        timeout, cancel, or .await), a panic caught as a value, a scope that borrows from the stack, and \
        a report of every task's fate at shutdown.",
    sections: SECTIONS,
};

static SECTIONS: &[Section] = &[
    Section {
        name: "api",
        summary: "submit, handles (join, timeout, try, cancel, await), groups, scoped tasks, shutdown report",
        run: api::run,
    },
    Section {
        name: "overload",
        summary: "arrival at 2× capacity under each overflow policy: admitted, refused, dropped, memory held",
        run: overload::run,
    },
    Section {
        name: "failures",
        summary: "panics, a panicking Drop, cancelled queued work, a stuck task flagged by name, shutdown with unstarted work",
        run: failures::run,
    },
    Section {
        name: "priority",
        summary: "priority lanes: the starvation bound (aging) measured in starts, vs strict priority",
        run: priority::run,
    },
    Section {
        name: "versus",
        summary: "pond-style matrix vs threadpool, rusty_pool, rayon, tokio spawn_blocking and phase 2's Pool",
        run: versus::run,
    },
];

/// The deadline of every watched experiment: generous (the runs take well under a second), so only
/// a hang reaches it.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `f` on a watched thread; a hang or a panic becomes `Err` with what happened.
fn watched<T, F>(name: &str, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match watchdog::run(name, DEADLINE, f) {
        Outcome::Finished(v) => Ok(v),
        Outcome::Panicked(m) => Err(format!("panicked: {m}")),
        Outcome::TimedOut(stuck) => {
            // Dropping `stuck` reports the thread left behind (and counts it).
            drop(stuck);
            Err(format!("missed its {DEADLINE:?} deadline (hang?)"))
        }
    }
}

/// Panics quietly: the message is captured with the panic hook silenced, then re-raised with
/// `resume_unwind`, which skips the hook. The pool sees an ordinary panic; the report stays readable.
fn quiet_panic(message: String) -> ! {
    let message =
        harness::exercise::expect_panic(move || -> () { panic!("{message}") }).unwrap_err();
    std::panic::resume_unwind(Box::new(message))
}

/// A value that counts how many of its kind are alive: captured by a task, it is alive exactly while
/// the pool holds the task's closure (queued or running), so the count is the pool's memory in
/// tasks, measured from outside the pool.
struct Live {
    alive: Arc<AtomicUsize>,
    /// Stands for what a real task carries (a request, a buffer).
    _payload: Vec<u8>,
}

/// The bytes each [`Live`] carries.
const PAYLOAD: usize = 1024;

impl Live {
    fn new(alive: &Arc<AtomicUsize>) -> Live {
        // Relaxed: a count read for a statistic; no data is published through it.
        alive.fetch_add(1, Relaxed);
        Live {
            alive: alive.clone(),
            _payload: vec![0; PAYLOAD],
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Relaxed);
    }
}

/// Names of this process's live threads starting with `prefix` (from `/proc`, not the pool).
fn threads_named(prefix: &str) -> usize {
    let p: String = prefix.chars().take(15).collect();
    harness::leaks::live_threads()
        .iter()
        .filter(|t| t.name.starts_with(p.as_str()))
        .count()
}
