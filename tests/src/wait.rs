//! Waiting for what another thread will make true. Go's tests reach for `time.Sleep` and hope; here a
//! wait polls the condition itself and gives up after a limit, so a fast machine does not wait for
//! nothing and a slow one does not fail for lack of patience. Every poll loop of the workspace's tests
//! and exercises is one of these two calls.
use std::thread;
use std::time::{Duration, Instant};

/// How long a wait sleeps between two looks.
pub const POLL_EVERY: Duration = Duration::from_millis(1);

/// Takes `probe()` every [`POLL_EVERY`] until `done` accepts it or `limit` passes; returns the last
/// value taken (accepted or not), so the caller can report what it saw.
pub fn poll_value<T>(
    limit: Duration,
    mut probe: impl FnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
) -> T {
    let end = Instant::now() + limit;
    loop {
        let value = probe();
        if done(&value) || Instant::now() >= end {
            return value;
        }
        thread::sleep(POLL_EVERY);
    }
}

/// Looks at `cond` every [`POLL_EVERY`] until it holds or `limit` passes; whether it held.
pub fn poll_until(limit: Duration, cond: impl FnMut() -> bool) -> bool {
    poll_value(limit, cond, |&held| held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let looks = AtomicUsize::new(0);
        let held = poll_until(Duration::from_secs(10), || looks.fetch_add(1, Relaxed) == 3);
        assert!(held);
        assert_eq!(looks.load(Relaxed), 4, "no look after the one that held");
    }

    #[test]
    fn gives_up_after_the_limit_with_the_last_value() {
        let t0 = Instant::now();
        let last = poll_value(Duration::from_millis(20), || 7, |&v| v == 8);
        assert_eq!(last, 7);
        assert!(
            t0.elapsed() >= Duration::from_millis(20),
            "waited the whole limit"
        );
    }

    #[test]
    fn sees_what_another_thread_does() {
        let flag = Arc::new(AtomicUsize::new(0));
        let setter = {
            let flag = flag.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                flag.store(1, Relaxed);
            })
        };
        assert!(poll_until(Duration::from_secs(10), || flag.load(Relaxed) == 1));
        setter.join().unwrap();
    }
}
