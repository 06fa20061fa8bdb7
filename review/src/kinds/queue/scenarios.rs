//! The queue scenarios. Each targeted one exposes one catalogued flaw and nothing else: every call
//! that must not block runs on a thread joined with a deadline ([`within`]), and a scenario that
//! needs another property of the queue (a full queue refuses a push, a refused push returns) checks
//! it first and, if it does not hold, skips with the name of the scenario that reports it.
//!
//! The values are `u64`s (or ledger-tracked elements where drops are the question), numbered so a
//! lost, doubled or reordered one is named in the evidence.
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::queue::{ConcurrentQueue, QueueFlavor};
use harness::ledger::DropLedger;

use crate::{Verdict, join_within, step};

/// How long a call that must return gets before it counts as blocked.
const HANG: Duration = Duration::from_secs(2);
/// How long the multi-threaded scenarios may run before they count as stuck.
const STUCK: Duration = Duration::from_secs(20);
/// The capacity of the scenarios that fill the queue.
const SMALL: usize = 4;

/// Runs `f` on a thread; its result, or `None` if it had not returned within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    join_within(thread::spawn(f), limit)
}

/// A queue of `cap` that reports a capacity, or the skip verdict for an unbounded attempt.
fn bounded<F: QueueFlavor>(cap: usize, scenario: &str) -> Result<Arc<F::Queue<u64>>, Verdict> {
    let q = F::with_capacity::<u64>(cap);
    match q.capacity() {
        Some(_) => Ok(Arc::new(q)),
        None => Err(Verdict::Skipped {
            why: format!("{scenario}: capacity() is None, an unbounded queue is never full"),
        }),
    }
}

/// Pushes `0, 1, 2, …` until one is refused (at most `SMALL + 4` tries) on another thread: how many
/// were taken, or the skip verdict when a push did not return.
fn fill<F: QueueFlavor>(q: &Arc<F::Queue<u64>>, scenario: &str) -> Result<u64, Verdict> {
    let q = q.clone();
    within(HANG, move || {
        (0..SMALL as u64 + 4)
            .take_while(|&i| q.try_push(i).is_ok())
            .count() as u64
    })
    .ok_or_else(|| Verdict::Skipped {
        why: format!(
            "{scenario}: try_push on a full queue did not return (try-push-blocks reports that)"
        ),
    })
}

/// `capacity-exceeded`: a queue of capacity 4 takes exactly 4 values.
pub(super) fn capacity_honoured<F: QueueFlavor>() -> Verdict {
    step(format!(
        "with_capacity({SMALL}); try_push 0, 1, 2, … until one is refused"
    ));
    let q = match bounded::<F>(SMALL, "capacity-honoured") {
        Ok(q) => q,
        Err(skip) => return skip,
    };
    match fill::<F>(&q, "capacity-honoured") {
        Err(skip) => skip,
        Ok(n) if n == SMALL as u64 => Verdict::Pass,
        Ok(n) => Verdict::fail(format!(
            "with_capacity({SMALL}) took {n} values before refusing one{}",
            if n > SMALL as u64 {
                ": more than its capacity"
            } else {
                ""
            }
        )),
    }
}

/// `failed-push-changes-queue`: a push refused by a full queue hands back its own value and leaves
/// the queue as it was.
pub(super) fn failed_push_hands_back<F: QueueFlavor>() -> Verdict {
    let q = match bounded::<F>(SMALL, "failed-push-hands-back") {
        Ok(q) => q,
        Err(skip) => return skip,
    };
    step(format!(
        "fill with_capacity({SMALL}) with 0..{SMALL}, then try_push 99"
    ));
    match fill::<F>(&q, "failed-push-hands-back") {
        Err(skip) => return skip,
        Ok(n) if n != SMALL as u64 => {
            return Verdict::Skipped {
                why: format!(
                    "the queue took {n} values, not {SMALL} (capacity-honoured reports that)"
                ),
            };
        }
        Ok(_) => {}
    }
    // `fill` offered SMALL + 4 values and the one after the last taken was refused already; offer a
    // recognisable one.
    let qq = q.clone();
    let Some(refused) = within(HANG, move || qq.try_push(99)) else {
        return Verdict::Skipped {
            why: "try_push on a full queue did not return (try-push-blocks reports that)".into(),
        };
    };
    let mut left: Vec<u64> = std::iter::from_fn(|| q.try_pop()).collect();
    left.sort_unstable();
    let expected: Vec<u64> = (0..SMALL as u64).collect();
    match refused {
        Err(99) if left == expected => Verdict::Pass,
        Err(99) => Verdict::fail(format!(
            "the refused push of 99 handed 99 back, but the queue then held {left:?} instead of \
             {expected:?}"
        )),
        Err(other) => Verdict::fail(format!(
            "the queue held 0..{SMALL}; try_push(99) was refused and handed back {other}, not 99; \
             the queue then held {left:?}"
        )),
        Ok(()) => Verdict::fail("try_push(99) on a full queue returned Ok"),
    }
}

/// `fifo-violated`: one producer's values come out in the order they went in, on one thread and
/// between two.
pub(super) fn fifo_one_producer<F: QueueFlavor>() -> Verdict {
    step("one thread: try_push 0..8 into with_capacity(16), then try_pop until None");
    let q = F::with_capacity::<u64>(16);
    for i in 0..8 {
        if q.try_push(i).is_err() {
            return Verdict::Skipped {
                why: format!(
                    "with_capacity(16) refused push {i} (capacity-honoured checks capacity)"
                ),
            };
        }
    }
    let out: Vec<u64> = std::iter::from_fn(|| q.try_pop()).take(16).collect();
    let sorted = {
        let mut s = out.clone();
        s.sort_unstable();
        s
    };
    if out != sorted {
        return Verdict::fail(format!("pushed 0..8 in order; popped {out:?}"));
    }
    const N: u64 = 20_000;
    step(format!(
        "one producer pushes 0..{N} into with_capacity(64) (retrying when full); one consumer \
         pops: each value must be greater than the one before"
    ));
    let q = Arc::new(F::with_capacity::<u64>(64));
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (q, done) = (q.clone(), done.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + STUCK;
            let pushed = (0..N).try_for_each(|i| push_retrying(&*q, i, deadline));
            done.store(true, SeqCst);
            pushed
        })
    };
    let consumer = {
        let (q, done) = (q.clone(), done.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + STUCK;
            let mut last = None::<u64>;
            while let Some(v) = pop_until_done(&*q, &done, deadline) {
                if last.is_some_and(|l| v <= l) {
                    return Err((last.unwrap(), v));
                }
                last = Some(v);
            }
            Ok(())
        })
    };
    let consumed = join_within(consumer, STUCK + HANG);
    let produced = join_within(producer, HANG);
    match (consumed, produced) {
        (Some(Err((before, after))), _) => Verdict::fail(format!(
            "one producer pushed 0..{N} in order; the consumer popped {after} after {before}"
        )),
        (_, Some(Err(why))) => Verdict::Skipped { why },
        // Values lost or stuck are other flaws' business (and the stress check's).
        (Some(Ok(())), Some(Ok(()))) => Verdict::Pass,
        _ => Verdict::Skipped {
            why: "the producer or the consumer did not finish (the stress check reports what \
                  went wrong)"
                .into(),
        },
    }
}

/// Pushes `value`, retrying while the queue is full, until `deadline`. An error (the skip reason)
/// when a refused push handed back another value, or at the deadline.
fn push_retrying(
    q: &impl ConcurrentQueue<u64>,
    value: u64,
    deadline: Instant,
) -> Result<(), String> {
    loop {
        match q.try_push(value) {
            Ok(()) => return Ok(()),
            Err(back) if back != value => {
                return Err(format!(
                    "a refused push of {value} handed back {back} (failed-push-hands-back \
                     reports that)"
                ));
            }
            Err(_) if Instant::now() > deadline => {
                return Err("a producer could not push before the deadline".into());
            }
            Err(_) => thread::yield_now(),
        }
    }
}

/// The next value, waiting (yielding) while the queue is empty; `None` once `done` is set and the
/// queue is empty, or at `deadline`.
fn pop_until_done<T>(
    q: &impl ConcurrentQueue<T>,
    done: &AtomicBool,
    deadline: Instant,
) -> Option<T> {
    loop {
        // Read `done` before the pop: a value pushed before `done` was set is seen by this pop.
        let finished = done.load(SeqCst);
        if let Some(v) = q.try_pop() {
            return Some(v);
        }
        if finished || Instant::now() > deadline {
            return None;
        }
        thread::yield_now();
    }
}

/// `lost-on-concurrent-push`: four producers push at once into a queue with room for all; one
/// thread then drains exactly what they pushed.
pub(super) fn concurrent_pushes_keep_every_value<F: QueueFlavor>() -> Verdict {
    const PRODUCERS: u64 = 4;
    const EACH: u64 = 5_000;
    step(format!(
        "{PRODUCERS} producers push {EACH} distinct values each, at once, into \
         with_capacity({}); then one thread pops until None",
        PRODUCERS * EACH
    ));
    for round in 1..=5 {
        let q = Arc::new(F::with_capacity::<u64>((PRODUCERS * EACH) as usize));
        // All start together: a producer that finished before the next began would race nobody.
        let start = Arc::new(Barrier::new(PRODUCERS as usize));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, start) = (q.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    (p * EACH..(p + 1) * EACH)
                        .filter(|&v| q.try_push(v).is_err())
                        .count()
                })
            })
            .collect();
        let mut refused = 0;
        for p in producers {
            match join_within(p, STUCK) {
                Some(r) => refused += r,
                None => {
                    return Verdict::Skipped {
                        why: "a producer did not finish (try-push-blocks or the stress check \
                              reports why)"
                            .into(),
                    };
                }
            }
        }
        if refused > 0 {
            return Verdict::Skipped {
                why: format!(
                    "the queue refused {refused} pushes below its capacity (capacity-honoured \
                     checks capacity)"
                ),
            };
        }
        let got: BTreeSet<u64> = std::iter::from_fn(|| q.try_pop())
            .take((PRODUCERS * EACH) as usize + 1)
            .collect();
        let missing = (0..PRODUCERS * EACH).filter(|v| !got.contains(v)).count();
        if missing > 0 {
            let first: Vec<u64> = (0..PRODUCERS * EACH)
                .filter(|v| !got.contains(v))
                .take(5)
                .collect();
            return Verdict::fail(format!(
                "round {round}: {PRODUCERS} producers pushed {} values, every push returned Ok, \
                 and {missing} never came out (first: {first:?})",
                PRODUCERS * EACH
            ));
        }
    }
    Verdict::Pass
}

/// `spurious-empty`: with no producer running, two consumers popping at once see `None` only when
/// the queue is empty.
pub(super) fn concurrent_pops_see_every_value<F: QueueFlavor>() -> Verdict {
    const N: u64 = 20_000;
    step(format!(
        "push 0..{N} into with_capacity({N}); then two consumers pop at once, both stopping at \
         the first None either sees"
    ));
    for round in 1..=5 {
        let q = Arc::new(F::with_capacity::<u64>(N as usize));
        for i in 0..N {
            if q.try_push(i).is_err() {
                return Verdict::Skipped {
                    why: format!(
                        "with_capacity({N}) refused push {i} (capacity-honoured checks capacity)"
                    ),
                };
            }
        }
        // Both consumers start together (one that drained the queue before the other began would
        // show nothing), and both stop at the first None either sees: the other would otherwise
        // drain what a spurious None left behind.
        let start = Arc::new(Barrier::new(2));
        let empty = Arc::new(AtomicBool::new(false));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (q, start, empty) = (q.clone(), start.clone(), empty.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut n = 0;
                    while !empty.load(SeqCst) {
                        match q.try_pop() {
                            Some(_) => n += 1,
                            None => empty.store(true, SeqCst),
                        }
                    }
                    n
                })
            })
            .collect();
        let mut popped = 0;
        for c in consumers {
            match join_within(c, STUCK) {
                Some(n) => popped += n,
                None => {
                    return Verdict::Skipped {
                        why: "a consumer did not finish (the stress check reports why)".into(),
                    };
                }
            }
        }
        if popped < N {
            let left = std::iter::from_fn(|| q.try_pop()).take(N as usize).count();
            return Verdict::fail(format!(
                "round {round}: the queue held {N} values and no producer ran; two consumers \
                 popped {popped} between them, then one got None, yet {left} were still in the \
                 queue"
            ));
        }
    }
    Verdict::Pass
}

/// `values-leak-on-drop`: values still in the queue are dropped, once, when the queue is.
pub(super) fn drop_drops_buffered<F: QueueFlavor>() -> Verdict {
    step("push 3 tracked values into with_capacity(8), pop 1, drop the queue");
    let ledger = DropLedger::new(3);
    let q = F::with_capacity(8);
    for id in 0..3 {
        if q.try_push(ledger.element(id)).is_err() {
            return Verdict::Skipped {
                why: "with_capacity(8) refused one of 3 pushes (capacity-honoured checks capacity)"
                    .into(),
            };
        }
    }
    drop(q.try_pop());
    drop(q);
    let wrong = ledger.wrong();
    if wrong.is_empty() {
        return Verdict::Pass;
    }
    let never: Vec<usize> = wrong.iter().filter(|w| w.1 == 0).map(|w| w.0).collect();
    Verdict::fail(format!(
        "3 values pushed, 1 popped and dropped, then the queue dropped: {} (value, times dropped): \
         {wrong:?}{}",
        "not dropped exactly once",
        if never.is_empty() {
            String::new()
        } else {
            format!("; never dropped: {never:?}")
        }
    ))
}

/// `try-push-blocks`: on a full queue `try_push` returns at once (and `try_pop` on an empty one).
pub(super) fn try_ops_return_at_once<F: QueueFlavor>() -> Verdict {
    step("try_pop on an empty queue, on another thread: it must return within 2 s");
    let q = Arc::new(F::with_capacity::<u64>(SMALL));
    let qq = q.clone();
    if within(HANG, move || qq.try_pop().is_some()).is_none() {
        return Verdict::fail(format!(
            "try_pop on an empty queue had not returned {HANG:?} later: it waits for a value"
        ));
    }
    if q.capacity().is_none() {
        return Verdict::Pass; // an unbounded queue is never full: try_pop was all to check
    }
    step(format!(
        "fill with_capacity({SMALL}); try_push once more, on another thread"
    ));
    for i in 0.. {
        let qq = q.clone();
        match within(HANG, move || qq.try_push(i).is_ok()) {
            Some(true) if i < 64 => continue,
            Some(_) => return Verdict::Pass,
            None => {
                return Verdict::fail(format!(
                    "with_capacity({SMALL}) held {i} values; try_push had not returned {HANG:?} \
                     later: it waits for room instead of handing the value back"
                ));
            }
        }
    }
    unreachable!("the loop returns")
}

/// The stress check: 2 producers × 4 000 ledger-tracked values, 2 consumers, capacity 64, retrying
/// when full or empty: the exact multiset, each producer's order kept, every value dropped once, no
/// thread left behind.
pub(super) fn stress_ledger<F: QueueFlavor>() -> Verdict {
    const PRODUCERS: usize = 2;
    const EACH: usize = 4_000;
    const N: usize = PRODUCERS * EACH;
    step(format!(
        "{PRODUCERS} producers x {EACH} tracked values through with_capacity(64), 2 consumers"
    ));
    let leaks = harness::leaks::no_leaks().grace(Duration::from_millis(500));
    let ledger = DropLedger::new(N);
    let q = Arc::new(F::with_capacity(64));
    let deadline = Instant::now() + STUCK;
    let producing = Arc::new(AtomicUsize::new(PRODUCERS));
    let done = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, ledger) = (q.clone(), ledger.clone());
            let (producing, done) = (producing.clone(), done.clone());
            thread::spawn(move || {
                // Counted out even if the queue panics in this producer, so the consumers stop.
                let _last_out = Finally(move || {
                    if producing.fetch_sub(1, SeqCst) == 1 {
                        done.store(true, SeqCst);
                    }
                });
                'values: for id in p * EACH..(p + 1) * EACH {
                    let mut v = ledger.element(id);
                    while let Err(back) = q.try_push(v) {
                        if Instant::now() > deadline {
                            break 'values;
                        }
                        v = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            thread::spawn(move || {
                let mut seen: Vec<usize> = Vec::new();
                let mut last = [None::<usize>; PRODUCERS];
                while let Some(v) = pop_until_done(&*q, &done, deadline) {
                    let p = v.id / EACH;
                    if last[p].is_some_and(|l| v.id <= l) {
                        return Err((last[p].unwrap(), v.id));
                    }
                    last[p] = Some(v.id);
                    seen.push(v.id);
                }
                Ok(seen)
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in consumers {
        match join_within(c, STUCK + HANG) {
            Some(Ok(seen)) => all.extend(seen),
            Some(Err((before, after))) => {
                return Verdict::fail(format!(
                    "a consumer popped value {after} after {before}, both from one producer, \
                     which pushed them the other way round"
                ));
            }
            None => return Verdict::fail("a consumer was still running after 20 s"),
        }
    }
    for p in producers {
        if join_within(p, HANG).is_none() {
            return Verdict::fail("a producer was still running after the consumers finished");
        }
    }
    all.sort_unstable();
    let distinct = all.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!all.is_empty());
    if all.len() != N || distinct != N {
        return Verdict::fail(format!(
            "{N} values pushed; the consumers popped {} ({distinct} distinct) before the deadline",
            all.len()
        ));
    }
    drop(q);
    let wrong = ledger.wrong();
    if !wrong.is_empty() {
        return Verdict::fail(format!(
            "{} values not dropped exactly once (value, times): {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        ));
    }
    let report = leaks.leaks();
    if !report.is_clean() {
        return Verdict::fail(format!("threads left behind: {report}"));
    }
    Verdict::Pass
}

/// Runs its closure when dropped, on unwinding too.
struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
