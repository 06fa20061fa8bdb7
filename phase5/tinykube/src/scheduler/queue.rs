//! The scheduling queue: pending pods by priority (then arrival), and a backoff for pods no node
//! could take, so an unschedulable pod is retried after 1 s, 2 s, 4 s … up to 10 s (Kubernetes'
//! `podInitialBackoffSeconds` and `podMaxBackoffSeconds`) instead of spinning. Time is read from an
//! injectable [`Clock`], so tests step through the backoff without sleeping.
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::store::Clock;

/// The backoff's curve: `initial × 2^(attempts-1)`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// After the first failed attempt.
    pub initial: Duration,
    /// The cap.
    pub max: Duration,
}

impl Default for Backoff {
    /// Kubernetes' defaults: 1 s, capped at 10 s.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait after `attempts` failed attempts (≥ 1).
    pub fn after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        self.initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max)
    }
}

/// Pending pods, highest priority first; unschedulable ones wait out their backoff.
pub struct SchedulingQueue {
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    /// Ready to try: (−priority, arrival, name), so the first is the highest priority, oldest first.
    active: BTreeSet<(i64, u64, String)>,
    /// Waiting out a backoff: name → (priority, when ready).
    waiting: HashMap<String, (i32, Duration)>,
    /// Failed attempts so far, per pod; forgotten once it is bound.
    attempts: HashMap<String, u32>,
    arrivals: u64,
}

impl std::fmt::Debug for SchedulingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulingQueue")
            .field("active", &self.active)
            .field("waiting", &self.waiting)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl SchedulingQueue {
    /// An empty queue reading `clock`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tinykube::scheduler::{Backoff, SchedulingQueue};
    /// use tinykube::store::SystemClock;
    ///
    /// let mut queue = SchedulingQueue::new(Arc::new(SystemClock::new()), Backoff::default());
    /// queue.add("batch", 0);
    /// queue.add("api", 100);
    /// assert_eq!(queue.pop().as_deref(), Some("api")); // higher priority first
    /// queue.unschedulable("api", 100); // no node fits: back in 1 s, not now
    /// assert_eq!(queue.pop().as_deref(), Some("batch"));
    /// assert_eq!(queue.pop(), None);
    /// ```
    pub fn new(clock: Arc<dyn Clock>, backoff: Backoff) -> Self {
        SchedulingQueue {
            clock,
            backoff,
            active: BTreeSet::new(),
            waiting: HashMap::new(),
            attempts: HashMap::new(),
            arrivals: 0,
        }
    }

    fn activate(&mut self, name: String, priority: i32) {
        self.arrivals += 1;
        self.active
            .insert((-i64::from(priority), self.arrivals, name));
    }

    /// A new or changed pending pod: ready now (a change may make it fit). Its failed attempts
    /// are kept: the next failure backs off further.
    pub fn add(&mut self, name: impl Into<String>, priority: i32) {
        let name = name.into();
        self.active.retain(|(_, _, n)| *n != name);
        self.waiting.remove(&name);
        self.activate(name, priority);
    }

    /// Forgets the pod (bound or deleted), and its failed attempts.
    pub fn remove(&mut self, name: &str) {
        self.active.retain(|(_, _, n)| n != name);
        self.waiting.remove(name);
        self.attempts.remove(name);
    }

    /// The pod no node could take: it waits `backoff.after(attempts)` before its next try.
    pub fn unschedulable(&mut self, name: impl Into<String>, priority: i32) {
        let name = name.into();
        self.active.retain(|(_, _, n)| *n != name);
        let attempts = self.attempts.entry(name.clone()).or_insert(0);
        *attempts += 1;
        let ready = self.clock.now() + self.backoff.after(*attempts);
        self.waiting.insert(name, (priority, ready));
    }

    /// The highest-priority pod ready to try, moving pods whose backoff is over to the ready set.
    pub fn pop(&mut self) -> Option<String> {
        let now = self.clock.now();
        let mut over: Vec<(String, i32, Duration)> = self
            .waiting
            .iter()
            .filter(|(_, (_, ready))| *ready <= now)
            .map(|(n, (p, ready))| (n.clone(), *p, *ready))
            .collect();
        over.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
        for (name, priority, _) in over {
            self.waiting.remove(&name);
            self.activate(name, priority);
        }
        self.active.pop_first().map(|(_, _, name)| name)
    }

    /// When the next waiting pod becomes ready, if any waits.
    pub fn next_ready(&self) -> Option<Duration> {
        self.waiting.values().map(|(_, ready)| *ready).min()
    }

    /// Pods ready or waiting.
    pub fn len(&self) -> usize {
        self.active.len() + self.waiting.len()
    }

    /// Whether no pod is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
