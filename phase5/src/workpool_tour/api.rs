//! `api`: the surface a user touches — submit, the handle's five ways to finish (join, join_timeout,
//! try_join, cancel, `.await` through a hand-written `block_on`), groups (results in submit order,
//! first error cancels the rest), scoped tasks borrowing from the stack, and the shutdown report.
//! Every claim is checked against what the tasks themselves recorded.
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;
use workpool::{CancelOutcome, GroupError, Pool, ShutdownReport, TaskError};

use super::watched;

const NAME: &str = "tour-api";
/// The stack array the scope's 8 tasks sum, a slice each.
const SCOPE_LEN: u64 = 800_000;

/// Wakes the thread blocked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// The smallest executor there is: poll, park until woken, poll again. Returns the output and the
/// number of polls (a handle polled before its task finished is polled again only after a wake).
fn block_on<F: Future>(fut: F) -> (F::Output, usize) {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return (v, polls);
        }
        // A spurious unpark only costs one more poll.
        thread::park();
    }
}

/// One row of the handles table.
struct Row {
    what: &'static str,
    result: String,
    ok: bool,
}

#[derive(Default)]
struct Measured {
    rows: Vec<Row>,
    group_ordered: Option<(Vec<usize>, Vec<usize>)>,
    group_failure: Option<(String, usize, usize, u64)>,
    scope: Option<(u64, u64, usize, usize)>,
    report: Option<ShutdownReport>,
    report_expected: u64,
    ran: usize,
    threads_left: usize,
}

pub(crate) fn run(ctx: &mut Ctx) {
    let members = ctx.pick(40, 12);
    ctx.say(format!(
        "One pool of 2 workers ('{NAME}'). Handles: a task held by a gate shows join_timeout and try_join \
         giving the handle back; cancel on a queued, a running and a finished task; three handles awaited \
         by a 20-line block_on. Groups of {members}; a scope whose tasks borrow the caller's locals."
    ));
    let m = match watched("wd-api", move || measure(members)) {
        Ok(m) => m,
        Err(e) => {
            ctx.check_with("the api tour finished", false, e);
            ctx.takeaway("the tour did not finish: see the failed check");
            return;
        }
    };

    let mut t = ctx.table(
        "a handle's ways to finish",
        &["call", "result", "as documented"],
    );
    for r in &m.rows {
        t.row([r.what, r.result.as_str(), if r.ok { "yes" } else { "NO" }]);
    }
    ctx.show(t);
    let handles_ok = m.rows.iter().all(|r| r.ok);

    let mut g = ctx.table("groups and scopes", &["what", "measured"]);
    let mut ordered_ok = false;
    if let Some((values, finished)) = &m.group_ordered {
        ordered_ok = values == &(0..values.len()).collect::<Vec<_>>();
        let reordered = finished.windows(2).filter(|w| w[0] > w[1]).count();
        g.row([
            "group of sleeps, longest first: values".to_string(),
            format!("{:?}…", &values[..values.len().min(8)]),
        ]);
        g.row([
            "  …in finish order".to_string(),
            format!(
                "{:?}… ({reordered} inversions)",
                &finished[..finished.len().min(8)]
            ),
        ]);
    }
    let mut failure_ok = false;
    if let Some((err, ran, cancelled, counted)) = &m.group_failure {
        failure_ok = err.starts_with("Failed { index: 0")
            && ran + cancelled == members - 1
            && *cancelled > 0
            && *counted == *cancelled as u64;
        g.row([
            "group whose member 0 fails".to_string(),
            format!(
                "{err}; of the other {}: {ran} ran, {cancelled} never started (pool counted {counted})",
                members - 1
            ),
        ]);
    }
    let mut scope_ok = false;
    if let Some((sum, want, on_workers, inline)) = m.scope {
        scope_ok = sum == want && on_workers + inline == 8;
        g.row([
            "scope: 8 tasks sum slices of a local Vec into a stack array".to_string(),
            format!("{sum} (expected {want}); {on_workers} ran on workers, {inline} on the caller"),
        ]);
    }
    ctx.show(g);

    let mut report_ok = false;
    if let Some(r) = m.report {
        let mut s = ctx.table(
            "shutdown report of the pool's whole life",
            &[
                "submitted",
                "completed",
                "panicked",
                "cancelled",
                "dropped",
                "unstarted",
                "still running",
                "consistent",
            ],
        );
        s.row([
            r.submitted.to_string(),
            r.completed.to_string(),
            r.panicked.to_string(),
            r.cancelled.to_string(),
            r.dropped.to_string(),
            r.unstarted.to_string(),
            r.still_running.to_string(),
            r.is_consistent().to_string(),
        ]);
        ctx.show(s);
        report_ok = r.is_consistent()
            && r.submitted == m.report_expected
            && r.completed == m.ran as u64
            && r.unstarted == 0
            && r.still_running == 0;
        ctx.record("report_submitted", r.submitted);
        ctx.record("report_completed", r.completed);
    }

    ctx.takeaway(
        "a handle is the task's one owner: join, a bounded join, a non-blocking try, cancel and .await \
         all meet in one cell, so each finished exactly one way; a group reports in submit order and \
         its first error kept the queued members from ever starting.",
    );
    ctx.check(
        "each handle call behaved as documented (table above)",
        handles_ok,
    );
    ctx.check(
        "group values come back in submit order whatever the finish order",
        ordered_ok,
    );
    ctx.check_with(
        "first error: Failed{index 0}; every other member ran or never started, as the pool counted",
        failure_ok,
        m.group_failure
            .as_ref()
            .map(|f| format!("{} ran, {} cancelled", f.1, f.2))
            .unwrap_or_default(),
    );
    ctx.check(
        "the scope's tasks borrowed from the caller's frame and all finished before it returned",
        scope_ok,
    );
    ctx.check_with(
        "shutdown report: consistent, submitted and completed equal the tasks' own count",
        report_ok,
        format!("{} closures ran", m.ran),
    );
    ctx.check_with(
        "no tour-api thread left after the pool dropped",
        m.threads_left == 0,
        format!("{} left", m.threads_left),
    );
}

fn measure(members: usize) -> Measured {
    let leak = ThreadLeakCheck::named(NAME);
    let mut m = Measured::default();
    // Every closure that runs on this pool bumps `ran`: the oracle for the shutdown report.
    let ran = Arc::new(AtomicUsize::new(0));
    let mut submitted = 0u64;
    {
        let pool = Pool::builder()
            .name(NAME)
            .workers(2)
            .build()
            .expect("build");

        // submit + join
        let r = ran.clone();
        let h = pool
            .submit(move || {
                r.fetch_add(1, Relaxed);
                (1..=1000u64).sum::<u64>()
            })
            .expect("admitted");
        submitted += 1;
        let v = h.join();
        m.rows.push(Row {
            what: "submit(sum 1..=1000).join()",
            result: format!("{v:?}"),
            ok: v == Ok(500_500),
        });

        // join_timeout and try_join on a task held by a gate.
        let (open, gate) = mpsc::channel::<()>();
        let r = ran.clone();
        let held = pool
            .submit(move || {
                r.fetch_add(1, Relaxed);
                gate.recv_timeout(Duration::from_secs(10)).is_ok()
            })
            .expect("admitted");
        submitted += 1;
        let t0 = Instant::now();
        let back = held.join_timeout(Duration::from_millis(20));
        let waited = t0.elapsed();
        let (held, timeout_ok) = match back {
            Err(h) => (Some(h), waited >= Duration::from_millis(20)),
            Ok(_) => (None, false),
        };
        m.rows.push(Row {
            what: "join_timeout(20 ms) on a gated task",
            result: format!("handle given back after {}", fmt_duration(waited)),
            ok: timeout_ok,
        });
        let (held, try_ok) = match held.map(|h| h.try_join()) {
            Some(Err(h)) => (Some(h), true),
            _ => (None, false),
        };
        m.rows.push(Row {
            what: "try_join() on it, still gated",
            result: "handle given back at once".into(),
            ok: try_ok,
        });
        let _ = open.send(());
        let mut after = None;
        if let Some(mut h) = held {
            // is_finished, then try_join: no blocking call at all.
            let end = Instant::now() + Duration::from_secs(5);
            while !h.is_finished() && Instant::now() < end {
                thread::sleep(Duration::from_micros(200));
            }
            after = match h.try_join() {
                Ok(v) => Some(v),
                Err(back) => {
                    h = back;
                    Some(h.join())
                }
            };
        }
        m.rows.push(Row {
            what: "gate opened, is_finished(), try_join()",
            result: format!("{after:?}"),
            ok: after == Some(Ok(true)),
        });

        // cancel: a queued task, a running one, a finished one.
        let (open, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let mut blockers = Vec::new();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        for _ in 0..2 {
            let (gate, r, started) = (gate.clone(), ran.clone(), started_tx.clone());
            blockers.push(
                pool.submit_with(workpool::TaskOptions::new(), move |ctx| {
                    r.fetch_add(1, Relaxed);
                    let _ = started.send(());
                    // Holds a worker until the gate opens or the task is asked to stop.
                    let end = Instant::now() + Duration::from_secs(10);
                    while !ctx.is_cancelled() && Instant::now() < end {
                        if gate
                            .lock()
                            .map(|g| g.recv_timeout(Duration::from_millis(1)).is_ok())
                            .unwrap_or(true)
                        {
                            return "released";
                        }
                    }
                    if ctx.is_cancelled() {
                        "stopped: saw is_cancelled"
                    } else {
                        "gave up"
                    }
                })
                .expect("admitted"),
            );
            submitted += 1;
        }
        for _ in 0..2 {
            let _ = started_rx.recv_timeout(Duration::from_secs(5));
        }
        let queued_ran = Arc::new(AtomicBool::new(false));
        let q = queued_ran.clone();
        let queued = pool
            .submit(move || q.store(true, Relaxed))
            .expect("admitted");
        submitted += 1;
        let c_queued = queued.cancel();
        let j_queued = queued.join();
        m.rows.push(Row {
            what: "cancel() on a queued task, then join()",
            result: format!("{c_queued:?}, {j_queued:?}"),
            ok: c_queued == CancelOutcome::Cancelled
                && j_queued == Err(TaskError::Cancelled)
                && !queued_ran.load(Relaxed),
        });
        let running = blockers.pop().expect("two blockers");
        let c_running = running.cancel();
        let j_running = running.join();
        m.rows.push(Row {
            what: "cancel() on a running task, then join()",
            result: format!("{c_running:?}, {j_running:?}"),
            ok: c_running == CancelOutcome::Signalled
                && j_running == Ok("stopped: saw is_cancelled"),
        });
        let _ = open.send(());
        let other = blockers.pop().expect("one blocker left");
        let j_other = other.join();
        let r = ran.clone();
        let done = pool
            .submit(move || r.fetch_add(1, Relaxed))
            .expect("admitted");
        submitted += 1;
        let end = Instant::now() + Duration::from_secs(5);
        while !done.is_finished() && Instant::now() < end {
            thread::sleep(Duration::from_micros(200));
        }
        let c_done = done.cancel();
        m.rows.push(Row {
            what: "cancel() on a finished task",
            result: format!("{c_done:?} (the other blocker: {j_other:?})"),
            ok: c_done == CancelOutcome::TooLate && j_other == Ok("released"),
        });
        let _ = done.join();

        // .await: three handles in one future, on a 20-line executor.
        let handles: Vec<_> = (1..=3u64)
            .map(|i| {
                let r = ran.clone();
                submitted += 1;
                pool.submit(move || {
                    r.fetch_add(1, Relaxed);
                    thread::sleep(Duration::from_millis(5 * i));
                    i * 10
                })
                .expect("admitted")
            })
            .collect();
        let ((sum, errors), polls) = block_on(async move {
            let (mut sum, mut errors) = (0, 0);
            for h in handles {
                match h.await {
                    Ok(v) => sum += v,
                    Err(_) => errors += 1,
                }
            }
            (sum, errors)
        });
        m.rows.push(Row {
            what: "three handles .await-ed by block_on",
            result: format!("sum {sum}, {errors} errors, {polls} polls"),
            ok: sum == 60 && errors == 0 && polls >= 2,
        });

        // A group: results in submit order while they finish in reverse.
        let finished = Arc::new(Mutex::new(Vec::new()));
        let mut group = pool.group::<usize, String>();
        for i in 0..members {
            let (f, r) = (finished.clone(), ran.clone());
            group.submit(move |_ctx| {
                r.fetch_add(1, Relaxed);
                // Longest first: later members tend to finish first.
                thread::sleep(Duration::from_micros(200 * (members - i) as u64));
                f.lock().map(|mut v| v.push(i)).ok();
                Ok(i)
            });
            submitted += 1;
        }
        let values = group.wait().unwrap_or_default();
        let finished = finished.lock().map(|v| v.clone()).unwrap_or_default();
        m.group_ordered = Some((values, finished));

        // A group whose first member fails: the queued rest never start.
        pool.wait_idle();
        let cancelled_before = pool.metrics().cancelled;
        let others_ran = Arc::new(AtomicUsize::new(0));
        let mut group = pool.group::<(), String>();
        let r = ran.clone();
        // Member 0 fails once every member is submitted (a member submitted after the failure
        // would not even reach the pool), so the pool's own count can be checked.
        let (fail_now, gate) = mpsc::channel::<()>();
        group.submit(move |_ctx| {
            r.fetch_add(1, Relaxed);
            let _ = gate.recv_timeout(Duration::from_secs(10));
            Err("member 0: bad input".to_string())
        });
        submitted += 1;
        for _ in 1..members {
            let (o, r) = (others_ran.clone(), ran.clone());
            group.submit(move |ctx| {
                r.fetch_add(1, Relaxed);
                o.fetch_add(1, Relaxed);
                // A member that started stops early once the group has failed.
                for _ in 0..20 {
                    if ctx.is_cancelled() {
                        break;
                    }
                    thread::sleep(Duration::from_micros(250));
                }
                Ok(())
            });
            submitted += 1;
        }
        let _ = fail_now.send(());
        let err = group.wait().map(|_| ()).unwrap_err();
        pool.wait_idle();
        let others = others_ran.load(Relaxed);
        // The pool counts a cancelled entry when a worker pops it, just after the pop: poll briefly.
        let expected = (members - 1 - others) as u64;
        let end = Instant::now() + Duration::from_secs(2);
        let mut counted = pool.metrics().cancelled - cancelled_before;
        while counted < expected && Instant::now() < end {
            thread::sleep(Duration::from_micros(200));
            counted = pool.metrics().cancelled - cancelled_before;
        }
        let err = match err {
            GroupError::Failed { index, error } => format!("Failed {{ index: {index}, {error} }}"),
            other => format!("{other:?}"),
        };
        m.group_failure = Some((err, others, members - 1 - others, counted));

        // A scope: tasks borrow a stack array and write into disjoint stack slots.
        let data: Vec<u64> = (1..=SCOPE_LEN).collect();
        let mut partial = [0u64; 8];
        let on_workers = AtomicUsize::new(0);
        pool.scope(|s| {
            for (chunk, slot) in data.chunks(SCOPE_LEN as usize / 8).zip(partial.iter_mut()) {
                let (on_workers, r) = (&on_workers, &ran);
                let _ = s.submit(move || {
                    r.fetch_add(1, Relaxed);
                    if thread::current()
                        .name()
                        .is_some_and(|n| n.starts_with(NAME))
                    {
                        on_workers.fetch_add(1, Relaxed);
                    }
                    // black_box: real passes over the slice (about a millisecond), not a closed form.
                    for _ in 0..10 {
                        *slot = chunk.iter().map(|&x| std::hint::black_box(x)).sum();
                    }
                });
            }
        });
        // Each scoped task counts as submitted once, whether a worker or the caller ran it.
        submitted += 8;
        let w = on_workers.load(Relaxed);
        m.scope = Some((
            partial.iter().sum(),
            SCOPE_LEN * (SCOPE_LEN + 1) / 2,
            w,
            8 - w,
        ));

        m.report = Some(pool.shutdown(Duration::from_secs(5)));
        m.report_expected = submitted;
    }
    m.ran = ran.load(Relaxed);
    m.threads_left = leak.leaked_after(Duration::from_secs(2)).len();
    m
}
