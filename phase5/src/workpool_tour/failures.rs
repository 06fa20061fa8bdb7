//! `failures`: the pool broken on purpose. Tasks that panic (the worker must survive: same threads,
//! same count, measured from `/proc` and from the tasks' thread ids, not the pool's gauge); values
//! whose `Drop` panics (in a task's captures, in an output nobody joins, in a cancelled task);
//! queued work cancelled (it never runs); a task wedged on a blocking call, flagged by name by the
//! watchdog; and a shutdown that finds work unstarted and reports every task's fate exactly.
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;
use workpool::{CancelOutcome, Pool, ShutdownReport, StuckTask, TaskError, TaskOptions};

use super::{quiet_panic, threads_named, watched};

/// The live threads named `prefix…`, polled up to 2 s until there are `want` of them.
fn threads_named_within(prefix: &str, want: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(2);
    loop {
        let n = threads_named(prefix);
        if n == want || Instant::now() >= end {
            return n;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

const PANICS: &str = "tour-fpanic";
const CANCEL: &str = "tour-fcancel";
const STUCK: &str = "tour-fstuck";
const SHUT: &str = "tour-fshut";
const STUCK_AFTER: Duration = Duration::from_millis(50);

/// A value whose `Drop` panics (quietly), counting its drops.
struct PanicOnDrop {
    what: &'static str,
    drops: Arc<AtomicUsize>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
        if !thread::panicking() {
            quiet_panic(format!("Drop of {} panicked", self.what));
        }
    }
}

#[derive(Debug, Default)]
struct Panics {
    tasks: usize,
    panicked_with_message: usize,
    ok_values: usize,
    threads_before: usize,
    threads_after: usize,
    distinct_thread_ids: usize,
    metrics_workers: usize,
    metrics_panicked: u64,
    drop_in_capture: String,
    drop_in_detached_output: bool,
    drop_in_cancelled: (String, String),
    drops_counted: usize,
    after_all: Option<u64>,
}

fn panics(n: usize) -> Panics {
    let pool = Pool::builder()
        .name(PANICS)
        .workers(2)
        .build()
        .expect("build");
    // A new thread names itself once it runs: wait (bounded) until both workers show in /proc.
    let mut r = Panics {
        tasks: 2 * n,
        threads_before: threads_named_within(PANICS, 2),
        ..Panics::default()
    };
    let ids = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..2 * n)
        .map(|i| {
            let ids = ids.clone();
            pool.submit(move || {
                ids.lock()
                    .map(|mut s| s.insert(thread::current().id()))
                    .ok();
                if i % 2 == 1 {
                    quiet_panic(format!("task {i}: bad input"));
                }
                i
            })
            .expect("admitted")
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(v) if v == i => r.ok_values += 1,
            Err(TaskError::Panicked { message }) if message == format!("task {i}: bad input") => {
                r.panicked_with_message += 1
            }
            _ => {}
        }
    }
    r.distinct_thread_ids = ids.lock().map(|s| s.len()).unwrap_or(0);

    // Drop that panics: in a capture (the task's result becomes Panicked), in an output nobody
    // joins (contained), in a queued task that is cancelled (contained while it is discarded).
    let drops = Arc::new(AtomicUsize::new(0));
    let bomb = PanicOnDrop {
        what: "a capture",
        drops: drops.clone(),
    };
    r.drop_in_capture = format!(
        "{:?}",
        pool.submit(move || {
            let _bomb = bomb;
            7
        })
        .expect("admitted")
        .join()
    );
    // Detached: the handle is dropped while the task runs, so the worker drops the output.
    let d = drops.clone();
    let (release, hold) = mpsc::channel::<()>();
    let detached = pool
        .submit(move || {
            let _ = hold.recv_timeout(Duration::from_secs(10));
            PanicOnDrop {
                what: "an output nobody joins",
                drops: d,
            }
        })
        .expect("admitted");
    drop(detached);
    let _ = release.send(());
    pool.wait_idle();
    r.drop_in_detached_output = drops.load(Relaxed) == 2;
    let (open, gate) = mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let g = gate.clone();
            pool.submit(move || {
                g.lock()
                    .map(|g| g.recv_timeout(Duration::from_secs(10)).is_ok())
                    .unwrap_or(false)
            })
            .expect("admitted")
        })
        .collect();
    let bomb = PanicOnDrop {
        what: "a cancelled task's capture",
        drops: drops.clone(),
    };
    let doomed = pool
        .submit(move || {
            let _bomb = bomb;
        })
        .expect("admitted");
    let c = doomed.cancel();
    r.drop_in_cancelled = (format!("{c:?}"), format!("{:?}", doomed.join()));
    for _ in 0..2 {
        let _ = open.send(());
    }
    for b in blockers {
        let _ = b.join();
    }
    r.drops_counted = drops.load(Relaxed);
    r.after_all = pool.submit(|| 42u64).ok().and_then(|h| h.join().ok());
    pool.wait_idle();
    let m = pool.metrics();
    r.metrics_workers = m.workers;
    r.metrics_panicked = m.panicked;
    r.threads_after = threads_named_within(PANICS, 2);
    r
}

#[derive(Debug, Default)]
struct Cancels {
    queued: usize,
    cancelled: usize,
    joined_cancelled: usize,
    ran: usize,
    counted: u64,
}

fn cancels(n: usize) -> Cancels {
    let pool = Pool::builder()
        .name(CANCEL)
        .workers(1)
        .build()
        .expect("build");
    let (open, gate) = mpsc::channel::<()>();
    let blocker = pool
        .submit(move || gate.recv_timeout(Duration::from_secs(10)).is_ok())
        .expect("admitted");
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let r = ran.clone();
            pool.submit(move || {
                r.fetch_add(1, Relaxed);
            })
            .expect("admitted")
        })
        .collect();
    let mut c = Cancels {
        queued: n,
        ..Cancels::default()
    };
    for h in &handles {
        c.cancelled += usize::from(h.cancel() == CancelOutcome::Cancelled);
    }
    let _ = open.send(());
    let _ = blocker.join();
    for h in handles {
        c.joined_cancelled += usize::from(h.join() == Err(TaskError::Cancelled));
    }
    pool.wait_idle();
    c.ran = ran.load(Relaxed);
    // Counted when a worker pops the dead entry, just after the pop: poll briefly.
    let end = Instant::now() + Duration::from_secs(2);
    c.counted = pool.metrics().cancelled;
    while c.counted < n as u64 && Instant::now() < end {
        thread::sleep(Duration::from_micros(200));
        c.counted = pool.metrics().cancelled;
    }
    c
}

#[derive(Debug, Default)]
struct Stuck {
    flagged: Vec<StuckTask>,
    listed: Vec<Option<String>>,
    counted: u64,
    flagged_after: Duration,
}

fn stuck() -> Stuck {
    let flagged = Arc::new(Mutex::new(Vec::new()));
    let f = flagged.clone();
    let pool = Pool::builder()
        .name(STUCK)
        .workers(2)
        .stuck_after(STUCK_AFTER)
        .on_stuck(move |t: &StuckTask| {
            f.lock().map(|mut v| v.push(t.clone())).ok();
        })
        .build()
        .expect("build");
    // Short named tasks that must never be flagged, on the other worker.
    for i in 0..20 {
        let _ = pool.submit_with(TaskOptions::new().name("quick-lookup"), move |_| {
            thread::sleep(Duration::from_micros(500));
            i
        });
    }
    let (open, gate) = mpsc::channel::<()>();
    let t0 = Instant::now();
    let wedged = pool
        .submit_with(TaskOptions::new().name("wedged-io-call"), move |_| {
            // Stands for a read on a socket that never answers.
            gate.recv_timeout(Duration::from_secs(10)).is_ok()
        })
        .expect("admitted");
    let mut s = Stuck::default();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if flagged.lock().map(|v| !v.is_empty()).unwrap_or(false) {
            s.flagged_after = t0.elapsed();
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    s.listed = pool.stuck_tasks().into_iter().map(|t| t.name).collect();
    let _ = open.send(());
    let _ = wedged.join();
    pool.wait_idle();
    s.counted = pool.metrics().stuck;
    s.flagged = flagged.lock().map(|v| v.clone()).unwrap_or_default();
    s
}

#[derive(Debug, Default)]
struct Shutdown {
    report: ShutdownReport,
    queued_ran: usize,
    running_results: Vec<String>,
    shut_down_handles: usize,
    queued: usize,
}

fn shutdown(queued: usize) -> Shutdown {
    let pool = Pool::builder()
        .name(SHUT)
        .workers(2)
        .build()
        .expect("build");
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let running: Vec<_> = (0..2)
        .map(|_| {
            let st = started_tx.clone();
            pool.submit_with(TaskOptions::new(), move |ctx| {
                let _ = st.send(());
                // A long job that checks for the request to stop (at most 10 s).
                let end = Instant::now() + Duration::from_secs(10);
                while Instant::now() < end {
                    if ctx.is_cancelled() {
                        return "stopped when asked";
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                "ran to the end"
            })
            .expect("admitted")
        })
        .collect();
    for _ in 0..2 {
        let _ = started_rx.recv_timeout(Duration::from_secs(5));
    }
    let ran = Arc::new(AtomicUsize::new(0));
    let waiting: Vec<_> = (0..queued)
        .map(|_| {
            let r = ran.clone();
            pool.submit(move || {
                r.fetch_add(1, Relaxed);
            })
            .expect("admitted")
        })
        .collect();
    // Drains for 50 ms (nothing can start: both workers are busy), then discards the queue and
    // asks the running tasks to stop.
    let report = pool.shutdown(Duration::from_millis(50));
    let mut s = Shutdown {
        report,
        queued,
        ..Shutdown::default()
    };
    for h in running {
        s.running_results.push(match h.join() {
            Ok(v) => v.to_string(),
            Err(e) => e.to_string(),
        });
    }
    for h in waiting {
        s.shut_down_handles += usize::from(h.join() == Err(TaskError::ShutDown));
    }
    drop(pool);
    s.queued_ran = ran.load(Relaxed);
    s
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(50, 10);
    let queued = ctx.pick(30, 10);
    ctx.say(format!(
        "{n} panicking tasks among {} on 2 workers; panicking Drops; {n} queued tasks cancelled behind a \
         held worker; a task wedged on a blocking call with stuck_after({}); a shutdown with 2 tasks \
         running and {queued} queued.",
        2 * n,
        fmt_duration(STUCK_AFTER)
    ));
    let out = watched("wd-failures", move || {
        let leak = ThreadLeakCheck::named(PANICS)
            .also_named(CANCEL)
            .also_named(STUCK)
            .also_named(SHUT);
        let p = panics(n);
        let c = cancels(n);
        let s = stuck();
        let sh = shutdown(queued);
        (p, c, s, sh, leak.leaked_after(Duration::from_secs(2)).len())
    });
    let (p, c, s, sh, threads_left) = match out {
        Ok(v) => v,
        Err(e) => {
            ctx.check_with("the failure runs finished", false, e);
            ctx.takeaway("the runs did not finish: see the failed check");
            return;
        }
    };

    let mut t = ctx.table(
        "what broke, and what the pool did",
        &["experiment", "measured"],
    );
    t.row([
        format!("{} tasks, every other one panics", p.tasks),
        format!(
            "{} Ok, {} Panicked with their message; pool counted {} panics",
            p.ok_values, p.panicked_with_message, p.metrics_panicked
        ),
    ]);
    t.row([
        "worker threads (from /proc) before → after".to_string(),
        format!(
            "{} → {}; all tasks ran on {} distinct threads; pool says {} workers",
            p.threads_before, p.threads_after, p.distinct_thread_ids, p.metrics_workers
        ),
    ]);
    t.row([
        "a capture whose Drop panics".to_string(),
        p.drop_in_capture.clone(),
    ]);
    t.row([
        "an output whose Drop panics, handle dropped before it finished".to_string(),
        format!(
            "dropped (and contained) on the worker: {}",
            if p.drop_in_detached_output {
                "yes"
            } else {
                "NO"
            }
        ),
    ]);
    t.row([
        "a cancelled task whose capture's Drop panics".to_string(),
        format!("{}, join: {}", p.drop_in_cancelled.0, p.drop_in_cancelled.1),
    ]);
    t.row([
        "after all that, submit(|| 42)".to_string(),
        format!(
            "{:?} ({} panicking Drops ran)",
            p.after_all, p.drops_counted
        ),
    ]);
    t.row([
        format!("{} queued tasks cancelled", c.queued),
        format!(
            "{} Cancelled, {} joined as Cancelled, {} ran; pool counted {}",
            c.cancelled, c.joined_cancelled, c.ran, c.counted
        ),
    ]);
    let names: Vec<String> = s
        .flagged
        .iter()
        .map(|t| {
            format!(
                "{} (worker {}, running {})",
                t.name.as_deref().unwrap_or("?"),
                t.worker,
                fmt_duration(t.running_for)
            )
        })
        .collect();
    t.row([
        format!("watchdog, stuck_after {}", fmt_duration(STUCK_AFTER)),
        format!(
            "on_stuck: {}; seen {} after submit; stuck_tasks(): {:?}",
            names.join(", "),
            fmt_duration(s.flagged_after),
            s.listed
        ),
    ]);
    ctx.show(t);
    let r = sh.report;
    let mut rt = ctx.table(
        format!("shutdown(50 ms) with 2 running and {} queued", sh.queued),
        &[
            "submitted",
            "completed",
            "unstarted",
            "still running",
            "consistent",
            "queued closures that ran",
            "handles: ShutDown",
            "the running two",
        ],
    );
    rt.row([
        r.submitted.to_string(),
        r.completed.to_string(),
        r.unstarted.to_string(),
        r.still_running.to_string(),
        r.is_consistent().to_string(),
        sh.queued_ran.to_string(),
        sh.shut_down_handles.to_string(),
        sh.running_results.join("; "),
    ]);
    ctx.show(rt);

    ctx.takeaway(
        "a panic, a panicking Drop or a cancel costs one task, never a worker: the same two threads \
         ran everything; the watchdog named the wedged call, and the shutdown report said exactly which \
         tasks never started and which were still running.",
    );
    ctx.check_with(
        "each panic became Panicked{message} on its own handle; every other task returned its value",
        p.panicked_with_message == p.tasks / 2
            && p.ok_values == p.tasks / 2
            && p.metrics_panicked as usize >= p.tasks / 2,
        format!("{} panicked, {} ok", p.panicked_with_message, p.ok_values),
    );
    ctx.check_with(
        "workers survived: 2 threads before and after (from /proc), tasks ran on ≤ 2 thread ids",
        p.threads_before == 2
            && p.threads_after == 2
            && p.distinct_thread_ids <= 2
            && p.metrics_workers == 2,
        format!(
            "{} → {}, {} ids",
            p.threads_before, p.threads_after, p.distinct_thread_ids
        ),
    );
    ctx.check_with(
        "panicking Drops contained: capture → Panicked, detached output and cancelled capture absorbed, the pool still runs",
        p.drop_in_capture.starts_with("Err(Panicked")
            && p.drop_in_capture.contains("Drop of a capture panicked")
            && p.drop_in_cancelled == ("Cancelled".into(), "Err(Cancelled)".into())
            && p.drop_in_detached_output
            && p.drops_counted == 3
            && p.after_all == Some(42),
        format!("{} drops", p.drops_counted),
    );
    ctx.check_with(
        "cancelled queued tasks never ran, their handles say Cancelled, the pool counted each",
        c.cancelled == c.queued
            && c.joined_cancelled == c.queued
            && c.ran == 0
            && c.counted == c.queued as u64,
        format!("{} of {}", c.cancelled, c.queued),
    );
    let wedged_only = !s.flagged.is_empty()
        && s.flagged
            .iter()
            .all(|t| t.name.as_deref() == Some("wedged-io-call") && t.running_for >= STUCK_AFTER);
    ctx.check_with(
        "the watchdog flagged the wedged task by name, once, and no quick task",
        wedged_only
            && s.flagged.len() == 1
            && s.counted == 1
            && s.listed == vec![Some("wedged-io-call".to_string())],
        format!("{} flagged", s.flagged.len()),
    );
    ctx.check_with(
        "shutdown report exact: the 2 running ones still running or stopped when asked (completed), every queued task unstarted, none ran, consistent",
        r.is_consistent()
            && r.submitted == (sh.queued + 2) as u64
            && r.unstarted == sh.queued as u64
            && r.still_running + r.completed == 2
            && sh.queued_ran == 0
            && sh.shut_down_handles == sh.queued
            && sh.running_results.iter().all(|v| v == "stopped when asked"),
        format!("{r:?}"),
    );
    ctx.check_with(
        "no thread of these pools (workers, watchdog) left after they dropped",
        threads_left == 0,
        format!("{threads_left} left"),
    );
}
