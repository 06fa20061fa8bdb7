//! Replaying a request trace through a limiter on a virtual clock, and judging what it admitted.
//!
//! A trace is CSV, one request per line: `time,key,cost` — the time in seconds since the trace's start
//! (a decimal with up to 9 places: `12.000250`), a key (each key has its own limiter), and a cost in
//! permits (optional, default 1). A first line `time,key,cost` is a header and skipped; blank lines
//! and lines starting with `#` are skipped. Times must not decrease.
//!
//! [`replay`] runs the trace through one limiter per key on a [`ManualClock`] set to each request's
//! time, and through the *ideal* limiter beside it, and reports:
//! - the **worst window**: the interval `[a, b]` (between two admissions of one key) that comes
//!   closest to, or furthest over, the quota's bound `floor((b − a) / T) + burst`. An excess above zero
//!   is over-admission: the algorithm broke the quota.
//! - the **largest burst**: the most permits one key was admitted within less than one interval `T`
//!   (at most `burst` for a correct limiter).
//! - **false rejects**: requests the limiter denied that the ideal admitted; and **over-admits**, the
//!   other way round. The ideal is GCRA: for a quota of `burst` plus one permit per `T`, admitting a
//!   request exactly when no window would exceed `floor(e / T) + burst` is what GCRA decides (it is
//!   the token bucket, the greedy shaper of that envelope). Each replay keeps its own state, so after
//!   the first difference the two may disagree again for that reason alone.
//!
//! ```
//! use ratelimit::verify::{parse_trace, replay, Algorithm};
//! use ratelimit::Quota;
//!
//! let trace = parse_trace("time,key,cost\n0,alice,1\n0,alice,1\n0.5,alice,1\n1.0,alice,1\n")?;
//! let report = replay(&trace, Quota::per_second(1)?, Algorithm::Gcra);
//! assert_eq!((report.admitted, report.denied), (2, 2));
//! assert_eq!(report.false_rejects, 0);
//! assert!(report.worst_window.unwrap().excess() <= 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::ManualClock;
use crate::{
    Denied, FixedWindow, Gcra, LeakyBucket, LeakyQueue, Quota, RateLimiter, SlidingCounter,
    SlidingLog, TokenBucket,
};

/// One request of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// When it arrives, in ns since the trace's start.
    pub at_ns: u64,
    /// Whose quota it draws on.
    pub key: String,
    /// How many permits it asks for.
    pub cost: u32,
    /// Its line in the trace file (1-based), for messages.
    pub line: usize,
}

/// Why a trace could not be read: always with the line it happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub kind: TraceErrorKind,
}

/// What is wrong with a trace line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceErrorKind {
    /// Not 2 or 3 comma-separated fields.
    Fields {
        /// How many there were.
        found: usize,
    },
    /// The time is not a decimal number of seconds with at most 9 places.
    Time(String),
    /// The key is empty.
    EmptyKey,
    /// The cost is not a whole number from 1 to 4294967295.
    Cost(String),
    /// The time is earlier than the previous line's.
    Decreasing {
        /// The previous line's time, as written.
        previous_ns: u64,
        /// This line's time.
        at_ns: u64,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            TraceErrorKind::Fields { found } => write!(
                f,
                "expected `time,key[,cost]`, found {found} field{}",
                if *found == 1 { "" } else { "s" }
            ),
            TraceErrorKind::Time(t) => write!(
                f,
                "time `{t}` is not seconds as a decimal with at most 9 places (e.g. 12.000250)"
            ),
            TraceErrorKind::EmptyKey => write!(f, "the key is empty"),
            TraceErrorKind::Cost(c) => {
                write!(f, "cost `{c}` is not a whole number from 1 to {}", u32::MAX)
            }
            TraceErrorKind::Decreasing { previous_ns, at_ns } => write!(
                f,
                "time {} s is earlier than the previous line's {} s (a trace is in time order)",
                secs(*at_ns),
                secs(*previous_ns)
            ),
        }
    }
}

impl std::error::Error for TraceError {}

fn secs(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// Parses seconds written as a decimal (`12`, `0.5`, `3.000000001`) into nanoseconds, exactly.
fn parse_seconds(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac_ns: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32)
    };
    whole.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// Reads a CSV trace (see the [module docs](self)).
///
/// ```
/// use ratelimit::verify::{parse_trace, TraceErrorKind};
///
/// let trace = parse_trace("time,key,cost\n# a comment\n0.25,ann,2\n0.5,bob\n")?;
/// assert_eq!((trace[0].at_ns, trace[0].key.as_str(), trace[0].cost), (250_000_000, "ann", 2));
/// assert_eq!(trace[1].cost, 1); // the default
/// let bad = parse_trace("0.5,ann\n0.25,bob\n").unwrap_err();
/// assert_eq!(bad.line, 2); // times must not decrease: the error names the line
/// assert!(matches!(bad.kind, TraceErrorKind::Decreasing { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_trace(text: &str) -> Result<Vec<Request>, TraceError> {
    let mut out: Vec<Request> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || (out.is_empty() && l == "time,key,cost") {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if !(2..=3).contains(&fields.len()) {
            return Err(TraceError {
                line,
                kind: TraceErrorKind::Fields {
                    found: fields.len(),
                },
            });
        }
        let at_ns = parse_seconds(fields[0]).ok_or_else(|| TraceError {
            line,
            kind: TraceErrorKind::Time(fields[0].to_string()),
        })?;
        if fields[1].is_empty() {
            return Err(TraceError {
                line,
                kind: TraceErrorKind::EmptyKey,
            });
        }
        let cost = match fields.get(2) {
            None => 1,
            Some(c) => match c.parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(TraceError {
                        line,
                        kind: TraceErrorKind::Cost(c.to_string()),
                    });
                }
            },
        };
        if let Some(prev) = out.last()
            && at_ns < prev.at_ns
        {
            return Err(TraceError {
                line,
                kind: TraceErrorKind::Decreasing {
                    previous_ns: prev.at_ns,
                    at_ns,
                },
            });
        }
        out.push(Request {
            at_ns,
            key: fields[1].to_string(),
            cost,
            line,
        });
    }
    Ok(out)
}

/// The limiters a trace can be replayed through.
///
/// ```
/// use ratelimit::verify::{parse_trace, replay, Algorithm};
/// use ratelimit::Quota;
///
/// // Two requests just before a fixed window's boundary, two just after: burst 2 per second.
/// let trace = parse_trace("0.9,ann\n0.9,ann\n1.0,ann\n1.0,ann\n")?;
/// let quota = Quota::per_second(2)?;
/// let fixed = replay(&trace, quota, Algorithm::FixedWindow);
/// assert_eq!(fixed.admitted, 4); // two budgets within 100 ms...
/// assert_eq!(fixed.worst_window.unwrap().excess(), 2); // ...two more than the quota allows
/// let gcra = replay(&trace, quota, Algorithm::Gcra);
/// assert_eq!(gcra.admitted, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// [`Gcra`]: also the ideal every replay is compared with.
    Gcra,
    /// [`TokenBucket`]: x/time/rate's bucket.
    TokenBucket,
    /// [`LeakyBucket`]: the leaky bucket as a meter.
    LeakyBucket,
    /// [`LeakyQueue`]: the leaky bucket as a shaping queue (a check passes only on an empty queue).
    LeakyQueue,
    /// [`SlidingLog`]: one timestamp per admitted permit.
    SlidingLog,
    /// [`SlidingCounter`]: two window counts blended.
    SlidingCounter,
    /// [`FixedWindow`]: one count per window.
    FixedWindow,
}

impl Algorithm {
    /// Every algorithm, in the order tables list them.
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::Gcra,
        Algorithm::TokenBucket,
        Algorithm::LeakyBucket,
        Algorithm::LeakyQueue,
        Algorithm::SlidingLog,
        Algorithm::SlidingCounter,
        Algorithm::FixedWindow,
    ];

    /// The name the CLI takes (`--algorithm NAME`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Algorithm::Gcra => "gcra",
            Algorithm::TokenBucket => "token-bucket",
            Algorithm::LeakyBucket => "leaky-bucket",
            Algorithm::LeakyQueue => "leaky-queue",
            Algorithm::SlidingLog => "sliding-log",
            Algorithm::SlidingCounter => "sliding-counter",
            Algorithm::FixedWindow => "fixed-window",
        }
    }

    /// The algorithm called `name` ([`Algorithm::cli_name`]).
    pub fn from_cli_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.cli_name() == name)
    }

    /// A fresh limiter of this algorithm for `quota`, reading `clock`.
    pub fn build(self, quota: Quota, clock: Arc<ManualClock>) -> Box<dyn RateLimiter> {
        match self {
            Algorithm::Gcra => Box::new(Gcra::with_clock(quota, clock)),
            Algorithm::TokenBucket => Box::new(TokenBucket::with_clock(quota, clock)),
            Algorithm::LeakyBucket => Box::new(LeakyBucket::with_clock(quota, clock)),
            Algorithm::LeakyQueue => Box::new(LeakyQueue::with_clock(quota, clock)),
            Algorithm::SlidingLog => Box::new(SlidingLog::with_clock(quota, clock)),
            Algorithm::SlidingCounter => Box::new(SlidingCounter::with_clock(quota, clock)),
            Algorithm::FixedWindow => Box::new(FixedWindow::with_clock(quota, clock)),
        }
    }
}

/// A window between two admissions of one key, and the quota's bound for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The key.
    pub key: String,
    /// The first admission's time (ns since the trace's start).
    pub from_ns: u64,
    /// The last admission's time.
    pub to_ns: u64,
    /// Permits admitted in `[from, to]`, both ends included.
    pub admitted: u64,
    /// The quota's bound for an interval that long: `floor((to − from) / T) + burst`.
    pub allowed: u64,
}

impl Window {
    /// `admitted − allowed`: above zero, the quota was broken.
    pub fn excess(&self) -> i64 {
        self.admitted as i64 - self.allowed as i64
    }

    /// The window's length.
    pub fn length(&self) -> Duration {
        Duration::from_nanos(self.to_ns - self.from_ns)
    }
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The algorithm replayed.
    pub algorithm: Algorithm,
    /// Its name, as the limiter gives it.
    pub name: &'static str,
    /// The quota each key had.
    pub quota: Quota,
    /// Requests in the trace.
    pub requests: u64,
    /// Requests admitted.
    pub admitted: u64,
    /// Requests denied for now ([`Denied::NotUntil`]).
    pub denied: u64,
    /// Requests that could never pass: cost above the burst ([`Denied::InsufficientCapacity`]).
    pub never: u64,
    /// Distinct keys.
    pub keys: usize,
    /// The window closest to (or furthest over) the bound; `None` when nothing was admitted.
    pub worst_window: Option<Window>,
    /// The most permits one key was admitted within less than one interval `T`.
    pub largest_burst: u64,
    /// Requests denied here but admitted by the ideal (GCRA) replay.
    pub false_rejects: u64,
    /// Requests admitted here but denied by the ideal replay.
    pub over_admits: u64,
}

/// Replays `trace` through one `algorithm` limiter per key with `quota`, and through the ideal
/// beside it (see the [module docs](self)).
pub fn replay(trace: &[Request], quota: Quota, algorithm: Algorithm) -> Report {
    let clock = Arc::new(ManualClock::default());
    // Per key: the limiter under test and the ideal beside it.
    type Pair = (Box<dyn RateLimiter>, Gcra<Arc<ManualClock>>);
    let mut limiters: HashMap<&str, Pair> = HashMap::new();
    let mut admitted_at: HashMap<&str, Vec<(u64, u32)>> = HashMap::new();
    let mut report = Report {
        algorithm,
        name: algorithm.build(quota, clock.clone()).name(),
        quota,
        requests: trace.len() as u64,
        admitted: 0,
        denied: 0,
        never: 0,
        keys: 0,
        worst_window: None,
        largest_burst: 0,
        false_rejects: 0,
        over_admits: 0,
    };
    for r in trace {
        clock.set(Duration::from_nanos(r.at_ns));
        let (limiter, ideal) = limiters.entry(&r.key).or_insert_with(|| {
            (
                algorithm.build(quota, clock.clone()),
                Gcra::with_clock(quota, clock.clone()),
            )
        });
        let got = limiter.check_n(r.cost);
        let ideal_admits = ideal.check_n(r.cost).is_ok();
        match got {
            Ok(()) => {
                report.admitted += 1;
                report.over_admits += u64::from(!ideal_admits);
                admitted_at
                    .entry(&r.key)
                    .or_default()
                    .push((r.at_ns, r.cost));
            }
            Err(denied) => {
                match denied {
                    Denied::InsufficientCapacity(_) => report.never += 1,
                    _ => report.denied += 1,
                }
                report.false_rejects += u64::from(ideal_admits);
            }
        }
    }
    report.keys = limiters.len();
    for (key, events) in &admitted_at {
        let w = worst_window(key, events, quota);
        if report
            .worst_window
            .as_ref()
            .is_none_or(|best| w.excess() > best.excess())
        {
            report.worst_window = Some(w);
        }
        report.largest_burst = report.largest_burst.max(largest_burst(events, quota));
    }
    report
}

/// The window between two admissions (`events`: time-ordered `(time, cost)`) that maximises
/// `admitted·T − length`, the excess over the envelope `burst + length / T` in units of `T`: a window
/// over `floor(length / T) + burst` exists exactly when that maximum exceeds `burst·T` (for an
/// integer `k`, `k ≤ floor(x)` iff `k ≤ x`). One pass: with `S_j` the permits admitted up to and
/// including event `j`, maximise `(S_j·T − t_j) − (S_{i−1}·T − t_i)` over `i ≤ j`.
fn worst_window(key: &str, events: &[(u64, u32)], quota: Quota) -> Window {
    let t = i128::from(quota.interval_ns());
    let mut before = 0i128; // S_{i-1}: permits admitted before event i
    let mut best_start = (i128::MAX, 0usize, 0u64); // min of S_{i-1}·T − t_i, its i, S_{i-1}
    let mut best = (i128::MIN, 0usize, 0usize, 0u64); // value, i, j, S_j − S_{i-1}
    for (j, &(at, cost)) in events.iter().enumerate() {
        let start = before * t - i128::from(at);
        if start < best_start.0 {
            best_start = (start, j, before as u64);
        }
        before += i128::from(cost);
        let value = before * t - i128::from(at) - best_start.0;
        if value > best.0 {
            best = (value, best_start.1, j, before as u64 - best_start.2);
        }
    }
    let (_, i, j, admitted) = best;
    let (from_ns, to_ns) = (events[i].0, events[j].0);
    Window {
        key: key.to_string(),
        from_ns,
        to_ns,
        admitted,
        allowed: quota.allowed(Duration::from_nanos(to_ns - from_ns)),
    }
}

/// The most permits admitted within any interval shorter than `T` (two pointers).
fn largest_burst(events: &[(u64, u32)], quota: Quota) -> u64 {
    let t = quota.interval_ns();
    let (mut lo, mut sum, mut best) = (0usize, 0u64, 0u64);
    for &(at, cost) in events {
        sum += u64::from(cost);
        while at - events[lo].0 >= t {
            sum -= u64::from(events[lo].1);
            lo += 1;
        }
        best = best.max(sum);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(lines: &str) -> Vec<Request> {
        parse_trace(lines).unwrap()
    }

    #[test]
    fn times_parse_exactly() {
        assert_eq!(parse_seconds("12"), Some(12_000_000_000));
        assert_eq!(parse_seconds("0.5"), Some(500_000_000));
        assert_eq!(parse_seconds("3.000000001"), Some(3_000_000_001));
        for bad in ["", ".5", "1.0000000001", "-1", "1e3", "1.2.3", "x"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_lines_name_their_line_and_field() {
        let cases = [
            ("0,a\nx,a\n", 2, "time `x`"),
            ("0,a\n1\n", 2, "found 1 field"),
            ("0,a,1,2\n", 1, "found 4 fields"),
            ("0,,1\n", 1, "key is empty"),
            ("0,a,0\n", 1, "cost `0`"),
            ("0,a,-3\n", 1, "cost `-3`"),
            ("# c\n2,a\n1,a\n", 3, "earlier than the previous"),
        ];
        for (text, line, says) in cases {
            let e = parse_trace(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.to_string().contains(says), "{text:?}: {e}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
        }
    }

    #[test]
    fn header_comments_and_blank_lines_are_skipped() {
        let t = trace("time,key,cost\n\n# a comment\n0.25,k\n0.5,k,3\n");
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].at_ns, t[0].cost, t[0].line), (250_000_000, 1, 4));
        assert_eq!((t[1].cost, t[1].line), (3, 5));
    }

    #[test]
    fn the_ideal_replayed_against_itself_agrees_and_stays_in_bounds() {
        // 10 requests at once, then one every 50 ms for a second, on 10/s burst 5.
        let mut text = String::new();
        for _ in 0..10 {
            text.push_str("0,k\n");
        }
        for i in 1..=20 {
            text.push_str(&format!("{}.{:03},k\n", i * 50 / 1000, i * 50 % 1000));
        }
        let q = Quota::per_second(10).unwrap().with_burst(5).unwrap();
        let r = replay(&trace(&text), q, Algorithm::Gcra);
        assert_eq!(r.requests, 30);
        assert_eq!((r.false_rejects, r.over_admits), (0, 0));
        // 5 at once, then one per 100 ms over 1 s: 10 more.
        assert_eq!(r.admitted, 15);
        assert_eq!(r.largest_burst, 5);
        let w = r.worst_window.unwrap();
        assert_eq!(w.excess(), 0, "{w:?}");
    }

    /// An over-admitting limiter must show: the worst-window scan is fed admissions directly here,
    /// as a broken limiter would produce them.
    #[test]
    fn worst_window_finds_an_over_admission() {
        let q = Quota::per_second(10).unwrap().with_burst(2).unwrap(); // T = 100 ms
        // 2 at 0, 2 at 150 ms: 4 in 150 ms, bound floor(1.5) + 2 = 3.
        let events = [(0, 1), (0, 1), (150_000_000, 1), (150_000_000, 1)];
        let w = worst_window("k", &events, q);
        assert_eq!(
            (w.from_ns, w.to_ns, w.admitted, w.allowed),
            (0, 150_000_000, 4, 3)
        );
        assert_eq!(w.excess(), 1);
        assert_eq!(largest_burst(&events, q), 2);
        // Within one interval: 3 permits inside 99 ms.
        let events = [(0, 2), (99_000_000, 1)];
        assert_eq!(largest_burst(&events, q), 3);
    }

    #[test]
    fn a_cost_above_the_burst_is_never_admitted_and_counted_apart() {
        let q = Quota::per_second(10).unwrap().with_burst(2).unwrap();
        let r = replay(&trace("0,k,3\n0,k,2\n0,k,1\n"), q, Algorithm::Gcra);
        assert_eq!((r.never, r.admitted, r.denied), (1, 1, 1));
    }

    /// The fixed window admits two budgets across a boundary; the replay must say so.
    #[test]
    fn a_fixed_window_is_caught_over_the_quota_at_a_boundary() {
        let q = Quota::per_second(10).unwrap().with_burst(2).unwrap(); // window 200 ms
        let t = trace("0.199,k\n0.199,k\n0.2,k\n0.2,k\n");
        let fixed = replay(&t, q, Algorithm::FixedWindow);
        assert_eq!(fixed.admitted, 4);
        assert_eq!(fixed.worst_window.as_ref().unwrap().excess(), 2);
        assert_eq!(fixed.over_admits, 2);
        let gcra = replay(&t, q, Algorithm::Gcra);
        assert_eq!((gcra.admitted, gcra.over_admits), (2, 0));
        assert!(gcra.worst_window.unwrap().excess() <= 0);
    }

    #[test]
    fn every_algorithm_has_a_cli_name_that_maps_back() {
        for &a in Algorithm::ALL {
            assert_eq!(Algorithm::from_cli_name(a.cli_name()), Some(a));
        }
        assert_eq!(Algorithm::from_cli_name("nope"), None);
    }

    #[test]
    fn keys_are_limited_apart() {
        let q = Quota::per_second(1).unwrap();
        let r = replay(&trace("0,a\n0,b\n0,a\n0,b\n"), q, Algorithm::Gcra);
        assert_eq!((r.keys, r.admitted, r.denied), (2, 2, 2));
    }
}
