//! Retries with exponential backoff, a cap and jitter, driven by a [`Clock`] so the schedule can be
//! checked exactly on a virtual clock. Go code usually hand-rolls this loop around `time.Sleep`;
//! here the sleeping goes through the clock and the jitter through a seeded RNG, so the same seed
//! gives the same delays.
use std::time::Duration;

use harness::clock::Clock;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// What a failed attempt says about the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt<E> {
    /// Worth retrying (a timeout, a busy server).
    Retryable(E),
    /// Retrying cannot help (bad input, not found): stop now.
    Permanent(E),
}

/// Delay before retry `k` (k = 0 for the first retry): `min(cap, base·factor^k)`, then jitter
/// subtracts up to `jitter` of it: `d·(1 − jitter·u)` with `u` uniform in [0, 1) from a RNG seeded
/// with `seed`. So every delay is in `[(1−jitter)·d, d]` and never above the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The first delay.
    pub base: Duration,
    /// The growth per retry (≥ 1).
    pub factor: f64,
    /// The largest delay.
    pub cap: Duration,
    /// The fraction of each delay jitter may remove, in [0, 1].
    pub jitter: f64,
    /// Attempts in total (the first try included).
    pub max_attempts: u32,
    /// The RNG seed for the jitter.
    pub seed: u64,
}

/// The story of one `RetryPolicy::run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryReport<T, E> {
    /// The last attempt's result (`Err` after a permanent error or when attempts ran out).
    pub result: Result<T, E>,
    /// The clock's `now()` at each attempt's start.
    pub attempt_times: Vec<Duration>,
    /// The delays slept, in order.
    pub delays: Vec<Duration>,
}

impl RetryPolicy {
    /// `base·factor^k` capped at `cap`; 5 attempts, no jitter, seed 0 until changed.
    pub fn exponential(base: Duration, factor: f64, cap: Duration) -> Self {
        assert!(factor >= 1.0, "backoff must not shrink");
        RetryPolicy {
            base,
            factor,
            cap,
            jitter: 0.0,
            max_attempts: 5,
            seed: 0,
        }
    }

    /// Jitter removing up to `fraction` of each delay, drawn from a RNG seeded with `seed`.
    pub fn with_jitter(mut self, fraction: f64, seed: u64) -> Self {
        assert!((0.0..=1.0).contains(&fraction), "jitter is a fraction");
        self.jitter = fraction;
        self.seed = seed;
        self
    }

    /// At most `n` attempts in total.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        assert!(n >= 1, "at least one attempt");
        self.max_attempts = n;
        self
    }

    /// The capped delay before retry `k`, without jitter.
    pub fn ceiling(&self, k: u32) -> Duration {
        let raw = self.base.as_secs_f64() * self.factor.powi(k as i32);
        Duration::from_secs_f64(raw.min(self.cap.as_secs_f64()))
    }

    /// The delays before each retry (`max_attempts − 1` of them), jitter included.
    pub fn schedule(&self) -> Vec<Duration> {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        (0..self.max_attempts.saturating_sub(1))
            .map(|k| self.jittered(k, &mut rng))
            .collect()
    }

    fn jittered(&self, k: u32, rng: &mut SmallRng) -> Duration {
        let d = self.ceiling(k);
        let u: f64 = rng.random(); // drawn even without jitter, so the sequence depends on k only
        // Whole nanoseconds, so a virtual clock can hit the deadline exactly.
        let nanos = d.as_nanos() as f64 * (1.0 - self.jitter * u);
        Duration::from_nanos(nanos.floor() as u64)
    }

    /// Calls `op(attempt)` until it succeeds, fails permanently or attempts run out, sleeping the
    /// schedule's delays on `clock` between attempts.
    pub fn run<T, E>(
        &self,
        clock: &dyn Clock,
        mut op: impl FnMut(u32) -> Result<T, Attempt<E>>,
    ) -> RetryReport<T, E> {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        let mut attempt_times = Vec::new();
        let mut delays = Vec::new();
        let mut attempt = 0;
        loop {
            attempt_times.push(clock.now());
            let err = match op(attempt) {
                Ok(v) => {
                    return RetryReport {
                        result: Ok(v),
                        attempt_times,
                        delays,
                    };
                }
                Err(Attempt::Permanent(e)) => {
                    return RetryReport {
                        result: Err(e),
                        attempt_times,
                        delays,
                    };
                }
                Err(Attempt::Retryable(e)) => e,
            };
            if attempt + 1 >= self.max_attempts {
                return RetryReport {
                    result: Err(err),
                    attempt_times,
                    delays,
                };
            }
            let d = self.jittered(attempt, &mut rng);
            delays.push(d);
            clock.sleep(d);
            attempt += 1;
        }
    }
}
