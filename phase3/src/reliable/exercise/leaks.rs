//! `leaks`: a subscriber that outlives its owner, caught by the leak guard; the fix, clean.
//!
//! The guard is the test helper of `harness::leaks`: it counts only the threads started under it
//! (they inherit its tag as their kernel name) and a tokio runtime's alive tasks, waits a grace
//! period, and reports what is still alive. A test calls `finish()` (or drops it) and fails; here we
//! take the report instead, show it, then release the leaked subscriber so the process ends clean.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::Ctx;
use harness::leaks::{LeakGuard, LeakReport};

use crate::reliable::subscriber_leak::{EventBus, LeakySubscription, Subscription, tasks};

/// How long a leaked thread gets to prove it is not merely slow to exit.
const SHORT_GRACE: Duration = Duration::from_millis(100);
/// How long a thread that should exit gets (the check returns as soon as it has).
const GRACE: Duration = Duration::from_secs(2);

fn names(r: &LeakReport) -> String {
    let n: Vec<&str> = r.threads.iter().map(|t| t.name.as_str()).collect();
    if n.is_empty() {
        "—".into()
    } else {
        n.join(", ")
    }
}

fn tasks_alive(r: &LeakReport) -> usize {
    r.tasks.iter().map(|(before, now)| now - before).sum()
}

pub(super) fn run(ctx: &mut Ctx) {
    let events = ctx.pick(1_000u64, 100);
    ctx.say(
        "A subscriber thread waits on a channel whose sender an event bus keeps. Its owner drops the \
         subscription; the leaky one forgets its thread, the fixed one unregisters and joins. A \
         LeakGuard (harness::leaks) watches each case; then the leak is released (bus cleared).",
    );
    let mut t = ctx.table(
        "what the leak guard reports after the owner is gone",
        &[
            "case",
            "events handled",
            "threads alive (grace)",
            "tasks alive",
            "after release",
        ],
    );

    // 1. The leaky thread.
    let bus = EventBus::new();
    let guard = LeakGuard::new().grace(SHORT_GRACE);
    let tag = guard.tag().to_string();
    let sub = LeakySubscription::subscribe(&bus);
    for e in 0..events {
        bus.publish(e);
    }
    let seen = sub.seen.clone();
    drop(sub);
    let leaked = guard.leaks();
    bus.clear(); // Containment: the bus's senders go, the thread's recv fails, it exits.
    let released = guard.grace(GRACE).into_report();
    t.row([
        "thread; the bus keeps its sender (LeakySubscription)".to_string(),
        seen.load(std::sync::atomic::Ordering::Relaxed).to_string(), // Relaxed: the thread has exited.
        format!("{} ({})", leaked.threads.len(), names(&leaked)),
        "—".into(),
        format!("{} thread(s)", released.threads.len()),
    ]);
    let leaky_thread = (leaked.threads.len(), released.is_clean());
    let leaky_named = leaked.threads.iter().all(|t| t.name == tag);

    // 2. The fixed thread.
    let guard = LeakGuard::new().grace(GRACE);
    let sub = Subscription::subscribe(&bus);
    for e in 0..events {
        bus.publish(e);
    }
    let seen = sub.seen.clone();
    drop(sub); // Unregisters its sender, then joins the thread.
    let fixed = guard.into_report();
    t.row([
        "thread; unregister + join on drop (Subscription)".to_string(),
        seen.load(std::sync::atomic::Ordering::Relaxed).to_string(), // Relaxed: joined above.
        format!("{} ({})", fixed.threads.len(), names(&fixed)),
        "—".into(),
        "—".into(),
    ]);
    let bus_empty = bus.is_empty();

    // 3. and 4. The same with tokio tasks, counted by the runtime's alive-task metric.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rel-rt")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let task_bus: tasks::TaskBus = Arc::new(Mutex::new(Vec::new()));
    let guard = LeakGuard::new()
        .watch_runtime(rt.handle())
        .grace(SHORT_GRACE);
    rt.block_on(async { tasks::subscribe_detached(&task_bus) });
    let leaked_task = guard.leaks();
    task_bus.lock().unwrap_or_else(|p| p.into_inner()).clear(); // Containment, as above.
    let released_task = guard.grace(GRACE).into_report();
    t.row([
        "tokio task, detached; the bus keeps its sender".to_string(),
        "—".into(),
        leaked_task.threads.len().to_string(),
        tasks_alive(&leaked_task).to_string(),
        format!("{} task(s)", tasks_alive(&released_task)),
    ]);

    let guard = LeakGuard::new().watch_runtime(rt.handle()).grace(GRACE);
    let owned = rt.block_on(async { tasks::subscribe_owned(&task_bus) });
    drop(owned); // Aborts the task.
    let fixed_task = guard.into_report();
    t.row([
        "tokio task, owned; aborted on drop".to_string(),
        "—".into(),
        fixed_task.threads.len().to_string(),
        tasks_alive(&fixed_task).to_string(),
        "—".into(),
    ]);
    task_bus.lock().unwrap_or_else(|p| p.into_inner()).clear();
    rt.shutdown_timeout(Duration::from_secs(2));
    ctx.show(t);

    ctx.record("leaked_threads_detected", leaky_thread.0);
    ctx.record("leaked_tasks_detected", tasks_alive(&leaked_task));
    ctx.takeaway(format!(
        "A thread or task waiting on a sender someone else keeps never ends: the guard found {} \
         thread(s) and {} task(s) still alive after the owner was gone; the owned forms left none.",
        leaky_thread.0,
        tasks_alive(&leaked_task)
    ));
    ctx.check_with(
        "the leaky subscriber's thread is detected (1 alive, carrying the guard's tag)",
        leaky_thread.0 == 1 && leaky_named,
        names(&leaked),
    );
    ctx.check(
        "contained: after the bus is cleared the leaked thread exits",
        leaky_thread.1,
    );
    ctx.check_with(
        "the fixed subscription leaves no thread and no sender in the bus",
        fixed.is_clean() && bus_empty,
        fixed.to_string(),
    );
    ctx.check_with(
        "the detached task is detected (1 alive task)",
        tasks_alive(&leaked_task) == 1,
        leaked_task.to_string(),
    );
    ctx.check(
        "contained: after the bus is cleared the task ends",
        released_task.is_clean(),
    );
    ctx.check_with(
        "the owned task leaves no task alive",
        fixed_task.is_clean(),
        fixed_task.to_string(),
    );
}
