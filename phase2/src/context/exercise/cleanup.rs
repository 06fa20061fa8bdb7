//! `cleanup`: leave no task behind. Go: a goroutine started without a way to stop it outlives its
//! caller (and `errgroup` / `sync.WaitGroup` + ctx is the cure). Rust: a detached `tokio::spawn`
//! likewise; `JoinSet` (aborts its tasks when dropped) and tokio-util's `TaskTracker` + a cancel
//! (wait for graceful exits) are the cures. Counted with tokio's live-task metric.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness::Ctx;
use harness::leaks::{alive_tasks, alive_tasks_after};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;

use crate::context::Context;

/// Counts how a worker ended: `graceful` runs the code after the cancel, `dropped` runs in any case.
#[derive(Default)]
struct Exits {
    graceful: AtomicUsize,
    dropped: AtomicUsize,
}

impl Exits {
    /// Relaxed loads: called once the tasks are gone (see `DropGuard::drop`).
    fn graceful(&self) -> usize {
        self.graceful.load(Ordering::Relaxed)
    }
    /// Relaxed, as `graceful`.
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Increments `dropped` when the worker's future is dropped, finished or aborted.
struct DropGuard(Arc<Exits>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        // Relaxed: a count; it is read only after the runtime reports the task gone, or after a
        // join / a `TaskTracker::wait`, and the task's completion is what orders it before the read.
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A heartbeat worker: ticks until its context is cancelled, then does its cleanup. The guard is
/// made before the future, so it counts even a task aborted before its first poll.
fn worker(ctx: Context, exits: Arc<Exits>) -> impl Future<Output = ()> + Send + 'static {
    let guard = DropGuard(exits.clone());
    async move {
        let _guard = guard;
        loop {
            tokio::select! {
                _ = ctx.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
        // The graceful part: flush, say goodbye, release... Aborted tasks never get here.
        // Relaxed: a count, read as `DropGuard::drop` says.
        exits.graceful.fetch_add(1, Ordering::Relaxed);
    }
}

/// One strategy's numbers.
struct Row {
    name: &'static str,
    alive_after_return: usize,
    alive_after_cleanup: usize,
    graceful: usize,
    dropped: usize,
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(100, 30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ctx-cleanup")
        .enable_all()
        .build()
        .expect("runtime");
    let h = rt.handle().clone();
    let grace = Duration::from_secs(2);
    let baseline = alive_tasks(&h);
    let mut rows = Vec::new();

    // 1. Detached: the function returns, its tasks do not.
    let root = Context::background();
    let exits = Arc::new(Exits::default());
    rt.block_on(async {
        for _ in 0..n {
            tokio::spawn(worker(root.child(), exits.clone()));
        }
    });
    let after_return = alive_tasks_after(&h, baseline, Duration::from_millis(50));
    // Only the process-wide root can reach them now: the caller kept nothing.
    root.cancel();
    let after_cleanup = alive_tasks_after(&h, baseline, grace);
    rows.push(Row {
        name: "detached tokio::spawn",
        alive_after_return: after_return,
        alive_after_cleanup: after_cleanup,
        graceful: exits.graceful(),
        dropped: exits.dropped(),
    });

    // 2. JoinSet, dropped: every task is aborted at its next await; no graceful exit.
    let root = Context::background();
    let exits = Arc::new(Exits::default());
    let set_alive = rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..n {
            set.spawn(worker(root.child(), exits.clone()));
        }
        tokio::task::yield_now().await;
        let alive = alive_tasks(&tokio::runtime::Handle::current());
        drop(set);
        alive
    });
    let after_cleanup = alive_tasks_after(&h, baseline, grace);
    rows.push(Row {
        name: "JoinSet, dropped (abort)",
        alive_after_return: set_alive,
        alive_after_cleanup: after_cleanup,
        graceful: exits.graceful(),
        dropped: exits.dropped(),
    });

    // 3. JoinSet + cancel + join_all: graceful, and the results are collected.
    let root = Context::background();
    let exits = Arc::new(Exits::default());
    let (alive_before, joined) = rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..n {
            set.spawn(worker(root.child(), exits.clone()));
        }
        let alive = alive_tasks(&tokio::runtime::Handle::current());
        root.cancel();
        let joined = set.join_all().await.len();
        (alive, joined)
    });
    // The metric drops a moment after the futures complete (the runtime releases the task after
    // the join sees its output), so give it the same short grace as the others.
    let after_cleanup = alive_tasks_after(&h, baseline, grace);
    rows.push(Row {
        name: "JoinSet + cancel + join_all",
        alive_after_return: alive_before,
        alive_after_cleanup: after_cleanup,
        graceful: exits.graceful(),
        dropped: exits.dropped(),
    });

    // 4. TaskTracker + cancel + close + wait: the same, without holding the results.
    let root = Context::background();
    let exits = Arc::new(Exits::default());
    let tracker_alive = rt.block_on(async {
        let tracker = TaskTracker::new();
        for _ in 0..n {
            tracker.spawn(worker(root.child(), exits.clone()));
        }
        let alive = alive_tasks(&tokio::runtime::Handle::current());
        root.cancel();
        tracker.close();
        tracker.wait().await;
        alive
    });
    let after_cleanup = alive_tasks_after(&h, baseline, grace);
    rows.push(Row {
        name: "TaskTracker + cancel + wait",
        alive_after_return: tracker_alive,
        alive_after_cleanup: after_cleanup,
        graceful: exits.graceful(),
        dropped: exits.dropped(),
    });
    drop(rt);

    let mut t = ctx.table(
        format!("{n} heartbeat tasks per strategy; live tasks counted by tokio's metric"),
        &[
            "strategy",
            "live while running",
            "live after cleanup",
            "graceful exits",
            "drops",
        ],
    );
    for r in &rows {
        t.row([
            r.name.to_string(),
            r.alive_after_return.to_string(),
            r.alive_after_cleanup.to_string(),
            r.graceful.to_string(),
            r.dropped.to_string(),
        ]);
    }
    ctx.show(t);
    ctx.say(
        "Row 1: the spawning function returned and left its tasks running (\"live while running\" is \
         counted after the return); only a cancel it did not own could stop them.",
    );
    ctx.record(
        "detached_alive_after_return",
        rows[0].alive_after_return as u64,
    );
    ctx.check(
        "detached tasks outlive the function that spawned them (all counted)",
        rows[0].alive_after_return == n,
    );
    ctx.check(
        "JoinSet dropped: zero live tasks; every task dropped, none ran its graceful exit",
        rows[1].alive_after_cleanup == 0 && rows[1].dropped == n && rows[1].graceful == 0,
    );
    ctx.check(
        "JoinSet join_all / TaskTracker wait after the cancel: zero live tasks, every exit graceful",
        rows[2..].iter().all(|r| {
            r.alive_after_return == n && r.alive_after_cleanup == 0 && r.graceful == n && r.dropped == n
        }) && joined == n,
    );
    ctx.check(
        "every strategy ends at zero live tasks",
        rows.iter().all(|r| r.alive_after_cleanup == baseline),
    );
    ctx.takeaway(format!(
        "A detached spawn leaked {} of {n} tasks past its caller. Dropping a JoinSet reclaims them \
         by abort ({} graceful exits); cancel + join/wait reclaims them with every exit graceful ({}).",
        rows[0].alive_after_return, rows[1].graceful, rows[3].graceful
    ));
}
