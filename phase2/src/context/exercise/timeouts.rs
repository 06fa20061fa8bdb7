//! `timeouts`: deadlines through nested calls. Go: `ctx, cancel := context.WithTimeout(parent, d)`;
//! the effective deadline is the earliest of the chain, so an inner call can shorten its budget but
//! never extend its caller's. Rust: the same with our `Context`; measured: when a blocked waiter and
//! an awaiting task actually observe the deadline (the overshoot).
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{Summary, fmt_duration};

use crate::context::{Context, Reason};

/// One level of the nested call chain: its own timeout and what it ended up with.
struct Level {
    name: &'static str,
    own: Duration,
    ctx: Context,
}

pub(crate) fn run(ctx: &mut Ctx) {
    let budget = Duration::from_millis(ctx.pick(200, 60));
    let start = Instant::now();
    let root = Context::background();
    // handler (budget) → service asks 2× budget (the caller's wins) → db asks budget/2 (its own wins).
    let handler = Level {
        name: "handler",
        own: budget,
        ctx: root.with_timeout(budget),
    };
    let service = Level {
        name: "service",
        own: budget * 2,
        ctx: handler.ctx.with_timeout(budget * 2),
    };
    let db = Level {
        name: "db",
        own: budget / 2,
        ctx: service.ctx.with_timeout(budget / 2),
    };
    let levels = [&handler, &service, &db];
    let rel = |c: &Context| c.deadline().map(|d| d.saturating_duration_since(start));

    // The db call blocks on its context; the service awaits its own; measure when each is woken.
    let db_ctx = db.ctx.clone();
    let blocked = std::thread::Builder::new()
        .name("ctx-db".into())
        .spawn(move || {
            let r = db_ctx.wait_timeout(Duration::from_secs(10));
            (r, Instant::now())
        })
        .expect("spawn");
    let service_seen = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let svc = service.ctx.clone();
        let (r, at) = rt.block_on(async move {
            let r = tokio::time::timeout(Duration::from_secs(10), svc.cancelled()).await;
            (r.ok(), Instant::now())
        });
        (r, at)
    };
    let (db_reason, db_at) = blocked.join().expect("db thread");
    // Every level below the root has expired by now; the root has no deadline, so only an expiry
    // travelling upward could have cancelled it.
    let root_live = !root.is_cancelled();

    let mut t = ctx.table(
        "nested calls, deadlines relative to the start",
        &[
            "level",
            "own timeout",
            "effective deadline",
            "observed done at",
            "reason",
            "overshoot",
        ],
    );
    for l in levels {
        let eff = rel(&l.ctx).unwrap_or_default();
        let (seen, reason) = match l.name {
            "db" => (Some(db_at), db_reason),
            "service" => (Some(service_seen.1), service_seen.0),
            _ => (None, l.ctx.reason()),
        };
        t.row([
            l.name.to_string(),
            fmt_duration(l.own),
            fmt_duration(eff),
            seen.map(|s| fmt_duration(s - start)).unwrap_or("-".into()),
            reason.map_or("live".to_string(), |r| format!("{r:?}")),
            seen.map(|s| fmt_duration(s.saturating_duration_since(start + eff)))
                .unwrap_or("-".into()),
        ]);
    }
    ctx.show(t);
    ctx.check(
        "service asked for 2× the budget and got the handler's deadline (the earliest wins)",
        service.ctx.deadline() == handler.ctx.deadline(),
    );
    ctx.check(
        "db asked for half and got its own, earlier deadline",
        db.ctx.deadline() < handler.ctx.deadline()
            && db.ctx.deadline().is_some_and(|d| d - start >= budget / 2),
    );
    ctx.check(
        "the expiries stayed below: the root (no deadline) is still live after all three expired",
        root_live,
    );
    ctx.check(
        "blocked waiter and awaiting task both see DeadlineExceeded, never before the deadline",
        db_reason == Some(Reason::DeadlineExceeded)
            && service_seen.0 == Some(Reason::DeadlineExceeded)
            && db.ctx.deadline().is_some_and(|d| db_at >= d)
            && service.ctx.deadline().is_some_and(|d| service_seen.1 >= d),
    );

    overshoot(ctx);
}

/// Many short deadlines: how late is a deadline observed, blocking vs async?
fn overshoot(ctx: &mut Ctx) {
    let n = ctx.pick(40, 10);
    let d = Duration::from_millis(5);
    let root = Context::background();
    let mut blocking = Vec::with_capacity(n);
    let mut early = 0;
    for _ in 0..n {
        let c = root.with_timeout(d);
        let deadline = c.deadline().expect("has a deadline");
        let r = c.wait_timeout(Duration::from_secs(5));
        let now = Instant::now();
        early += usize::from(now < deadline || r != Some(Reason::DeadlineExceeded));
        blocking.push(now.saturating_duration_since(deadline));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let root2 = root.clone();
    let (mut asynch, early_async) = rt.block_on(async move {
        let mut v = Vec::with_capacity(n);
        let mut early = 0;
        for _ in 0..n {
            let c = root2.with_timeout(d);
            let deadline = c.deadline().expect("has a deadline");
            let r = tokio::time::timeout(Duration::from_secs(5), c.cancelled()).await;
            let now = Instant::now();
            early += usize::from(now < deadline || r != Ok(Reason::DeadlineExceeded));
            v.push(now.saturating_duration_since(deadline));
        }
        (v, early)
    });
    let b = Summary::of(&mut blocking);
    let a = Summary::of(&mut asynch);
    let mut t = ctx.table(
        format!(
            "overshoot past a {} deadline, {n} runs each",
            fmt_duration(d)
        ),
        &["waiter", "p50", "p99", "max"],
    );
    t.row([
        "thread: wait_timeout (Condvar timed wait)".to_string(),
        fmt_duration(b.p50),
        fmt_duration(b.p99),
        fmt_duration(b.max),
    ]);
    t.row([
        "task: cancelled().await (tokio timer)".to_string(),
        fmt_duration(a.p50),
        fmt_duration(a.p99),
        fmt_duration(a.max),
    ]);
    ctx.show(t);
    ctx.record("overshoot_blocking_p50_ns", b.p50.as_nanos() as u64);
    ctx.record("overshoot_async_p50_ns", a.p50.as_nanos() as u64);
    ctx.check(
        "no deadline observed early, every one reported DeadlineExceeded (blocking and async)",
        early == 0 && early_async == 0,
    );
    ctx.takeaway(format!(
        "The earliest deadline in the chain wins and an inner expiry stays inside. Observed lateness: \
         p50 {} for a blocked thread, {} for a task (tokio's timer has 1 ms granularity and rounds up).",
        fmt_duration(b.p50),
        fmt_duration(a.p50)
    ));
}
