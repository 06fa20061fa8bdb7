//! The leaky bucket, as a meter and as a queue.
//!
//! As a **meter**, a bucket of capacity `burst` leaks one unit per `interval`; an arriving event pours
//! one unit in and passes if it fits, else it is dropped. The water level is the token bucket's
//! missing tokens, so the meter makes exactly the token bucket's decisions (the `leaky-bucket` section
//! checks it on a random trace). As a **queue** ([`ShapingQueue`]), arriving events wait in the bucket
//! and leave through the hole one per `interval`: a burst is delayed into an evenly spaced stream, and
//! only an arrival that finds the queue full is dropped.
use std::collections::VecDeque;
use std::time::Duration;

use harness::clock::Clock;
use parking_lot::Mutex;

use super::{Quota, RateLimiter, now_ns};

/// The leaky bucket as a meter, behind a mutex.
#[derive(Debug)]
pub struct LeakyBucket<C> {
    state: Mutex<Water>,
    quota: Quota,
    clock: C,
}

#[derive(Debug, Default)]
struct Water {
    /// Water in the bucket, in ns it takes to leak out (`units × interval`): `0 ..= burst × interval`.
    level: u64,
    /// Clock instant (ns) the level was last brought up to date.
    last: u64,
}

impl<C: Clock> LeakyBucket<C> {
    /// An empty bucket enforcing `quota`, reading time from `clock`.
    pub fn new(quota: Quota, clock: C) -> Self {
        LeakyBucket {
            state: Mutex::new(Water::default()),
            quota,
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for LeakyBucket<C> {
    fn check(&self) -> bool {
        let mut w = self.state.lock();
        let now = now_ns(&self.clock).max(w.last);
        w.level = w.level.saturating_sub(now - w.last); // leak since the last event
        w.last = now;
        if w.level + self.quota.interval_ns() <= self.quota.window_ns() {
            w.level += self.quota.interval_ns(); // pour one unit in
            true
        } else {
            false // overflow: the event is dropped
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "leaky bucket (meter)"
    }
}

/// The leaky bucket as a queue: events wait, then leave one per `interval`.
///
/// Single-owner and driven by explicit times (the caller passes `now`), so a trace replays exactly; a
/// thread or task that owns it pops what is due and sleeps until [`ShapingQueue::next_departure`].
#[derive(Debug)]
pub struct ShapingQueue<T> {
    /// Waiting events with their departure instants (ns), in departure order.
    waiting: VecDeque<(T, u64)>,
    /// At most this many events wait at once (the bucket's size).
    capacity: usize,
    interval: u64,
    /// Departure instant (ns) of the last event accepted, if any.
    last_departure: Option<u64>,
}

impl<T> ShapingQueue<T> {
    /// A queue releasing one event per `quota.interval()`, holding at most `quota.burst()` waiting.
    pub fn new(quota: Quota) -> Self {
        ShapingQueue {
            waiting: VecDeque::new(),
            capacity: quota.burst() as usize,
            interval: quota.interval_ns(),
            last_departure: None,
        }
    }

    /// Offers `item` at `now`: `Ok(departure instant)`, or `Err(item)` when the queue is full.
    /// An event departs one interval after the previous one, or at once when the line is empty.
    pub fn offer(&mut self, item: T, now: Duration) -> Result<Duration, T> {
        if self.waiting(now) >= self.capacity {
            return Err(item);
        }
        let now = dur_ns(now);
        let at = match self.last_departure {
            Some(prev) => now.max(prev + self.interval),
            None => now,
        };
        self.last_departure = Some(at);
        self.waiting.push_back((item, at));
        Ok(Duration::from_nanos(at))
    }

    /// The next event whose departure instant is `≤ now`, with that instant.
    pub fn pop_due(&mut self, now: Duration) -> Option<(T, Duration)> {
        let now = dur_ns(now);
        if self.waiting.front().is_some_and(|(_, at)| *at <= now) {
            self.waiting
                .pop_front()
                .map(|(item, at)| (item, Duration::from_nanos(at)))
        } else {
            None
        }
    }

    /// When the next waiting event departs.
    pub fn next_departure(&self) -> Option<Duration> {
        self.waiting
            .front()
            .map(|(_, at)| Duration::from_nanos(*at))
    }

    /// Events still waiting at `now` (departure instant later than `now`); at most `burst`.
    pub fn waiting(&self, now: Duration) -> usize {
        let now = dur_ns(now);
        self.waiting.iter().filter(|(_, at)| *at > now).count()
    }

    /// Events accepted and not yet popped.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

fn dur_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
