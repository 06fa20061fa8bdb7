//! CrashLoopBackOff: how long the agent waits before restarting a pod's process.
//!
//! The kubelet waits `base · 2^(n-1)` before the n-th restart, capped (10 s doubling to 300 s), and
//! forgets the crash loop once a run has lasted long enough (10 minutes). [`Backoff`] is that curve as
//! a pure function; [`CrashLoop`] is the one piece of state it needs, fed the length of each run, so
//! both are tested in tables without a clock.
use std::time::Duration;

/// The restart delay curve and its reset; every number configurable, Kubernetes' by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first restart.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// A run at least this long ends the crash loop: the next restart waits `base` again.
    pub reset_after: Duration,
}

impl Default for Backoff {
    /// The kubelet's: 10 s doubling to 300 s, reset after 10 minutes of clean running.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// `base` doubling to `cap`, reset after `reset_after` of clean running.
    pub fn new(base: Duration, cap: Duration, reset_after: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            reset_after,
        }
    }

    /// The delay before restart number `restart` of a crash loop (the first restart is 1):
    /// `base · 2^(restart-1)`, at most `cap`; zero for restart 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tinykube::agent::Backoff;
    /// let kubelet = Backoff::default();
    /// let secs: Vec<u64> = (1..=7).map(|n| kubelet.delay(n).as_secs()).collect();
    /// assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300]);
    /// ```
    pub fn delay(&self, restart: u32) -> Duration {
        if restart == 0 || self.base.is_zero() {
            return Duration::ZERO;
        }
        let mut delay = self.base;
        // At most log2(cap / base) + 1 doublings before the cap stops the loop.
        for _ in 1..restart {
            if delay >= self.cap {
                break;
            }
            delay = delay.saturating_mul(2);
        }
        delay.min(self.cap)
    }
}

/// Where a pod is in its crash loop: how many restarts since the loop began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashLoop {
    backoff: Backoff,
    /// Restarts since the last run that lasted `reset_after` (or since the pod started).
    in_loop: u32,
}

impl CrashLoop {
    /// A pod that has not crashed yet.
    pub fn new(backoff: Backoff) -> CrashLoop {
        CrashLoop {
            backoff,
            in_loop: 0,
        }
    }

    /// The process ended after running for `ran` and will be restarted: the delay to wait first.
    /// A run of at least `reset_after` starts a new loop, so its restart waits `base`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tinykube::agent::{Backoff, CrashLoop};
    /// let s = Duration::from_secs;
    /// let mut pod = CrashLoop::new(Backoff::default());
    /// assert_eq!(pod.on_exit(s(1)), s(10));
    /// assert_eq!(pod.on_exit(s(1)), s(20));
    /// assert_eq!(pod.on_exit(s(600)), s(10)); // ten clean minutes: the loop is forgotten
    /// ```
    pub fn on_exit(&mut self, ran: Duration) -> Duration {
        if ran >= self.backoff.reset_after {
            self.in_loop = 0;
        }
        self.in_loop = self.in_loop.saturating_add(1);
        self.backoff.delay(self.in_loop)
    }

    /// Restarts since the loop began.
    pub fn restarts_in_loop(&self) -> u32 {
        self.in_loop
    }
}
