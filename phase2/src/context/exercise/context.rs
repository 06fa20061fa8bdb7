//! `context`: the cancellation tree. Go: `ctx, cancel := context.WithCancel(parent)`; cancel walks
//! down, never up. Rust: our `Context` and tokio-util's `CancellationToken` side by side, on the same
//! tree, then what each operation costs.
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{fmt_duration, time_per_op};
use tokio_util::sync::CancellationToken;

use crate::context::{Context, Reason};

/// root → a, b, c → three grandchildren each: 13 nodes; index 0 is the root, 1..=3 the children.
fn tree_ours() -> Vec<Context> {
    let root = Context::background();
    let mut nodes = vec![root.clone()];
    for _ in 0..3 {
        let c = root.child();
        nodes.push(c.clone());
    }
    for i in 1..=3 {
        for _ in 0..3 {
            let g = nodes[i].child();
            nodes.push(g);
        }
    }
    nodes
}

fn tree_tokio() -> Vec<CancellationToken> {
    let root = CancellationToken::new();
    let mut nodes = vec![root.clone()];
    for _ in 0..3 {
        nodes.push(root.child_token());
    }
    for i in 1..=3 {
        for _ in 0..3 {
            let g = nodes[i].child_token();
            nodes.push(g);
        }
    }
    nodes
}

/// Node indices of b (child 2) and its three grandchildren (indices 7, 8, 9).
const B_SUBTREE: [usize; 4] = [2, 7, 8, 9];

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "Tree: root → a, b, c → 3 grandchildren each (13 nodes). Cancel b, then cancel the root.",
    );
    let ours = tree_ours();
    let theirs = tree_tokio();
    ours[2].cancel();
    theirs[2].cancel();
    let ours_b: Vec<usize> = (0..13).filter(|&i| ours[i].is_cancelled()).collect();
    let theirs_b: Vec<usize> = (0..13).filter(|&i| theirs[i].is_cancelled()).collect();
    let ours_root_live = !ours[0].is_cancelled();
    let theirs_root_live = !theirs[0].is_cancelled();
    ours[0].cancel();
    theirs[0].cancel();
    let ours_all = ours.iter().filter(|c| c.is_cancelled()).count();
    let theirs_all = theirs.iter().filter(|c| c.is_cancelled()).count();
    let reasons_ok = ours.iter().all(|c| c.reason() == Some(Reason::Cancelled));

    let mut t = ctx.table(
        "same tree, same cancels",
        &["scenario", "ours (Context)", "tokio-util CancellationToken"],
    );
    t.row([
        "cancel b: nodes cancelled".to_string(),
        format!("{} {:?}", ours_b.len(), ours_b),
        format!("{} {:?}", theirs_b.len(), theirs_b),
    ]);
    t.row([
        "cancel b: root still live".to_string(),
        ours_root_live.to_string(),
        theirs_root_live.to_string(),
    ]);
    t.row([
        "cancel root: nodes cancelled".to_string(),
        format!("{ours_all} of 13"),
        format!("{theirs_all} of 13"),
    ]);
    t.row([
        "deadline".to_string(),
        "built in: earliest of the ancestors'".to_string(),
        "none: wrap in tokio::time::timeout or a timer task".to_string(),
    ]);
    t.row([
        "blocking wait (no runtime)".to_string(),
        "wait() / wait_timeout() on a Condvar".to_string(),
        "none: async only (cancelled().await)".to_string(),
    ]);
    ctx.show(t);
    ctx.check(
        "cancelling b cancels exactly b and its 3 descendants (ours and tokio-util)",
        ours_b == B_SUBTREE && theirs_b == B_SUBTREE,
    );
    ctx.check(
        "a child's cancel never reaches its parent or siblings",
        ours_root_live && theirs_root_live,
    );
    ctx.check(
        "cancelling the root cancels all 13, reason Cancelled",
        ours_all == 13 && theirs_all == 13 && reasons_ok,
    );
    drop(ours);

    blocking_waiters(ctx);
    no_leak(ctx);
    costs(ctx);
}

/// Threads blocked in `wait()` on grandchildren all return when the root is cancelled.
fn blocking_waiters(ctx: &mut Ctx) {
    let root = Context::background();
    let child = root.child();
    let waiters: Vec<_> = (0..3)
        .map(|i| {
            let g = child.child();
            thread::Builder::new()
                .name(format!("ctx-wait-{i}"))
                .spawn(move || {
                    // A bounded wait, so a bug shows as a failed check, never a hang.
                    let r = g.wait_timeout(Duration::from_secs(10));
                    (r, Instant::now())
                })
                .expect("spawn")
        })
        .collect();
    thread::sleep(Duration::from_millis(ctx.pick(30, 10)));
    let sent = Instant::now();
    root.cancel();
    let results: Vec<_> = waiters
        .into_iter()
        .map(|h| h.join().expect("waiter"))
        .collect();
    let worst = results
        .iter()
        .map(|(_, at)| at.saturating_duration_since(sent))
        .max()
        .unwrap_or_default();
    ctx.say(format!(
        "3 threads blocked in wait() on grandchildren: all woken by the root's cancel, the last {} after it \
         (a cross-thread unpark on this machine).",
        fmt_duration(worst)
    ));
    ctx.record("blocking_wake_worst_ns", worst.as_nanos() as u64);
    ctx.check(
        "3 threads blocked on grandchildren all return Cancelled after the root's cancel",
        results.iter().all(|(r, _)| *r == Some(Reason::Cancelled)),
    );
}

/// Children that are dropped leave their parent's map: a long-lived root does not grow.
fn no_leak(ctx: &mut Ctx) {
    let root = Context::background();
    let n = ctx.pick(10_000, 2_000);
    let mut peak = 0;
    for _ in 0..n {
        let c = root.child();
        let g = c.with_timeout(Duration::from_secs(60));
        peak = peak.max(root.children());
        drop(g);
        drop(c);
    }
    let held: Vec<Context> = (0..100).map(|_| root.child()).collect();
    let while_held = root.children();
    drop(held);
    let after = root.children();
    ctx.say(format!(
        "{n} children created and dropped under one root: at most {peak} registered at a time; \
         100 held → {while_held} registered; all dropped → {after}."
    ));
    ctx.check(
        "dropped children deregister (root holds 0 after, 100 while 100 are held)",
        peak == 1 && while_held == 100 && after == 0,
    );
}

fn costs(ctx: &mut Ctx) {
    let iters = ctx.pick(20_000, 2_000);
    let root = Context::background();
    let token = CancellationToken::new();
    let child_ours = time_per_op(5, iters, || drop(root.child()));
    let child_theirs = time_per_op(5, iters, || drop(token.child_token()));
    let check_ours = time_per_op(5, iters * 10, || {
        std::hint::black_box(std::hint::black_box(&root).is_cancelled());
    });
    let check_theirs = time_per_op(5, iters * 10, || {
        std::hint::black_box(std::hint::black_box(&token).is_cancelled());
    });
    let fan = ctx.pick(1_000, 200);
    let mut cancel_ours = Duration::MAX;
    let mut cancel_theirs = Duration::MAX;
    for _ in 0..5 {
        let r = Context::background();
        let kids: Vec<_> = (0..fan).map(|_| r.child()).collect();
        let t0 = Instant::now();
        r.cancel();
        cancel_ours = cancel_ours.min(t0.elapsed());
        assert!(kids.iter().all(Context::is_cancelled));
        let r = CancellationToken::new();
        let kids: Vec<_> = (0..fan).map(|_| r.child_token()).collect();
        let t0 = Instant::now();
        r.cancel();
        cancel_theirs = cancel_theirs.min(t0.elapsed());
        assert!(kids.iter().all(CancellationToken::is_cancelled));
    }
    let mut t = ctx.table(
        "costs (this machine, live)",
        &["operation", "ours", "tokio-util", "ours / theirs"],
    );
    for (name, a, b) in [
        ("child() + drop", child_ours, child_theirs),
        ("is_cancelled() on a live node", check_ours, check_theirs),
        (
            &*format!("cancel a root with {fan} children"),
            cancel_ours,
            cancel_theirs,
        ),
    ] {
        t.row([
            name.to_string(),
            ns(a),
            ns(b),
            if a.is_zero() || b.is_zero() {
                "-".to_string()
            } else {
                format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
            },
        ]);
    }
    ctx.show(t);
    ctx.record("child_drop_ns_ours", child_ours.as_nanos() as u64);
    ctx.record("child_drop_ns_tokio_util", child_theirs.as_nanos() as u64);
    ctx.record("cancel_fan_ns_ours", cancel_ours.as_nanos() as u64);
    ctx.record("cancel_fan_ns_tokio_util", cancel_theirs.as_nanos() as u64);
    ctx.takeaway(format!(
        "Both trees cancel downward only. A child costs {} here vs {} for tokio-util (a lock, a map \
         insert, a deregistering drop); cancelling {fan} children {} vs {} — ours skips the Condvar \
         notify when nobody sleeps (std's notify_all is a futex syscall even with no waiter); \
         is_cancelled() on a node without a deadline is one atomic load for us ({} vs {}).",
        fmt_duration(child_ours),
        fmt_duration(child_theirs),
        fmt_duration(cancel_ours),
        fmt_duration(cancel_theirs),
        ns(check_ours),
        ns(check_theirs)
    ));
}

/// `fmt_duration`, except that a per-op time under the 1 ns resolution reads "< 1 ns", not "0 ns".
fn ns(d: Duration) -> String {
    if d.is_zero() {
        "< 1 ns".to_string()
    } else {
        fmt_duration(d)
    }
}
