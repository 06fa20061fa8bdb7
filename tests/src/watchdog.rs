//! Run a closure with a deadline.
//!
//! Go's runtime notices when *every* goroutine is asleep ("all goroutines are asleep - deadlock!") but
//! not a partial deadlock; Rust notices neither. So every experiment that can block runs on its own
//! thread under a deadline. A thread cannot be killed, so a timed-out run hands back a [`Stuck`]: the
//! caller unblocks it (closes the channel, releases the lock) and joins it with
//! [`Stuck::join_within`]. A `Stuck` that is dropped while its thread is still blocked says so on
//! stderr and is counted by [`abandoned_threads`]: a thread is never left behind unreported.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, bounded};

use crate::exercise::panic_message;

static ABANDONED: AtomicUsize = AtomicUsize::new(0);

/// How many watched threads were given up on while still blocked, in this process.
pub fn abandoned_threads() -> usize {
    ABANDONED.load(Ordering::Relaxed) // A statistic; no other memory hangs on it.
}

/// What happened to a watched closure.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It returned in time.
    Finished(T),
    /// It panicked in time; the panic's message.
    Panicked(String),
    /// The deadline passed first; the thread is still running.
    TimedOut(Stuck),
}

impl<T> Outcome<T> {
    /// True for [`Outcome::TimedOut`].
    pub fn timed_out(&self) -> bool {
        matches!(self, Outcome::TimedOut(_))
    }

    /// The value, panicking with a clear message otherwise (for tests).
    #[track_caller]
    pub fn unwrap(self) -> T {
        match self {
            Outcome::Finished(v) => v,
            Outcome::Panicked(m) => panic!("watched closure panicked: {m}"),
            Outcome::TimedOut(s) => panic!(
                "watched closure '{}' did not finish within {:?}: deadlock or lost wake-up?",
                s.name, s.deadline
            ),
        }
    }
}

/// A watched thread that missed its deadline. Unblock it, then [`join_within`](Stuck::join_within).
#[derive(Debug)]
pub struct Stuck {
    name: String,
    deadline: Duration,
    handle: Option<JoinHandle<()>>,
}

impl Stuck {
    /// The watched thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits up to `limit` for the thread to exit (after the caller unblocked it). True when it did.
    pub fn join_within(mut self, limit: Duration) -> bool {
        let handle = self.handle.take().expect("handle present until joined");
        if !crate::wait::poll_until(limit, || handle.is_finished()) {
            self.handle = Some(handle);
            return false; // `Drop` reports it.
        }
        let _ = handle.join();
        true
    }
}

impl Drop for Stuck {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            if h.is_finished() {
                let _ = h.join();
            } else {
                ABANDONED.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "watchdog: thread '{}' is still blocked after its {:?} deadline and is left behind",
                    self.name, self.deadline
                );
            }
        }
    }
}

/// Runs `f` on a new thread named `name`; returns its outcome, or [`Outcome::TimedOut`] at `deadline`.
pub fn run<T, F>(name: &str, deadline: Duration, f: F) -> Outcome<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = bounded::<Result<T, String>>(1);
    let handle = thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            crate::exercise::install_panic_hook();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r.map_err(|p| panic_message(&*p)));
        })
        .expect("spawn watched thread");
    match rx.recv_timeout(deadline) {
        Ok(r) => {
            let _ = handle.join();
            match r {
                Ok(v) => Outcome::Finished(v),
                Err(m) => Outcome::Panicked(m),
            }
        }
        Err(RecvTimeoutError::Timeout) => Outcome::TimedOut(Stuck {
            name: name.to_string(),
            deadline,
            handle: Some(handle),
        }),
        Err(RecvTimeoutError::Disconnected) => {
            let _ = handle.join();
            Outcome::Panicked("watched thread exited without a result".into())
        }
    }
}

/// For tests: runs `f` under a deadline and panics with a clear message if it does not finish, so a
/// deadlock fails the test fast instead of hanging CI. The blocked thread is reported, not joined.
#[track_caller]
pub fn within<T, F>(deadline: Duration, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run("watched-test", deadline, f).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn finished_and_panicked_are_told_apart() {
        assert!(matches!(
            run("ok", Duration::from_secs(5), || 7),
            Outcome::Finished(7)
        ));
        let out = crate::exercise::expect_panic(|| {
            run("p", Duration::from_secs(5), || -> () { panic!("x") })
        });
        assert!(matches!(out, Ok(Outcome::Panicked(m)) if m == "x"));
    }

    #[test]
    fn a_blocked_closure_times_out_and_can_be_released() {
        let (tx, rx) = mpsc::channel::<()>();
        let out = run("blocked", Duration::from_millis(50), move || {
            rx.recv().is_err()
        });
        let Outcome::TimedOut(stuck) = out else {
            panic!("expected a timeout")
        };
        assert_eq!(stuck.name(), "blocked");
        drop(tx); // unblock: recv now returns Err
        assert!(stuck.join_within(Duration::from_secs(5)));
    }

    #[test]
    fn an_abandoned_thread_is_counted() {
        let before = abandoned_threads();
        let (tx, rx) = mpsc::channel::<()>();
        let out = run("abandoned", Duration::from_millis(20), move || {
            let _ = rx.recv();
        });
        let Outcome::TimedOut(stuck) = out else {
            panic!("expected a timeout")
        };
        drop(stuck);
        assert_eq!(abandoned_threads(), before + 1);
        drop(tx); // and let it go, so the test binary exits with no thread blocked
    }
}
