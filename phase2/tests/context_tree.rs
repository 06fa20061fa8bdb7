//! The cancellation tree's contract: a parent's cancel reaches every descendant, a child's never
//! reaches its parent, the earliest deadline wins, dropped children deregister, waits wake.
#![cfg(not(loom))]
use std::time::{Duration, Instant};

use harness::leaks::within_no_leaks;
use phase2::context::{Context, Reason};
use proptest::prelude::*;

const LIMIT: Duration = Duration::from_secs(10);

/// A random tree: node i > 0 has parent `parents[i - 1] % i`.
fn build(parents: &[usize]) -> (Vec<Context>, Vec<Option<usize>>) {
    let mut nodes = vec![Context::background()];
    let mut up = vec![None];
    for (i, p) in parents.iter().enumerate() {
        let p = p % (i + 1);
        nodes.push(nodes[p].child());
        up.push(Some(p));
    }
    (nodes, up)
}

fn is_under(up: &[Option<usize>], mut node: usize, ancestor: usize) -> bool {
    loop {
        if node == ancestor {
            return true;
        }
        match up[node] {
            Some(p) => node = p,
            None => return false,
        }
    }
}

proptest! {
    #[test]
    fn a_cancel_reaches_exactly_the_subtree(parents in prop::collection::vec(0usize..64, 1..40), pick in 0usize..64) {
        let (nodes, up) = build(&parents);
        let k = pick % nodes.len();
        nodes[k].cancel();
        for (i, n) in nodes.iter().enumerate() {
            let expected = is_under(&up, i, k);
            prop_assert_eq!(n.is_cancelled(), expected, "node {} (cancelled {})", i, k);
            if expected {
                prop_assert_eq!(n.reason(), Some(Reason::Cancelled));
            }
        }
    }

    #[test]
    fn the_earliest_deadline_in_the_chain_wins(offsets in prop::collection::vec(prop::option::of(1u64..1_000), 1..10)) {
        let base = Instant::now() + Duration::from_secs(3600);
        let mut ctx = Context::background();
        let mut earliest: Option<Instant> = None;
        for off in offsets {
            ctx = match off {
                Some(ms) => {
                    let d = base + Duration::from_millis(ms);
                    earliest = Some(earliest.map_or(d, |e| e.min(d)));
                    ctx.with_deadline(d)
                }
                None => ctx.child(),
            };
            prop_assert_eq!(ctx.deadline(), earliest);
        }
        if let Some(e) = earliest {
            // Exact, without sleeping: live one nanosecond before the deadline, done at it.
            prop_assert!(!ctx.is_cancelled_at(e - Duration::from_nanos(1)));
            prop_assert!(ctx.is_cancelled_at(e));
            prop_assert_eq!(ctx.reason(), Some(Reason::DeadlineExceeded));
        }
    }
}

#[test]
fn a_child_cancel_never_reaches_the_parent_or_siblings() {
    let root = Context::background();
    let a = root.child();
    let b = root.child();
    let a1 = a.child();
    assert!(a.cancel());
    assert!(!a.cancel(), "second cancel is a no-op");
    assert!(a.is_cancelled() && a1.is_cancelled());
    assert!(!root.is_cancelled() && !b.is_cancelled());
}

#[test]
fn an_expired_child_leaves_its_parent_live() {
    let root = Context::background();
    let c = root.with_timeout(Duration::ZERO);
    assert_eq!(c.reason(), Some(Reason::DeadlineExceeded));
    assert!(!root.is_cancelled());
}

#[test]
fn the_first_reason_wins() {
    let root = Context::background();
    let c = root.with_timeout(Duration::ZERO);
    assert!(c.is_cancelled());
    root.cancel();
    assert_eq!(c.reason(), Some(Reason::DeadlineExceeded));
}

#[test]
fn a_child_of_a_cancelled_parent_is_born_cancelled() {
    let root = Context::background();
    root.cancel();
    let c = root.child();
    assert_eq!(c.reason(), Some(Reason::Cancelled));
    assert_eq!(
        root.children(),
        0,
        "a born-cancelled child is not registered"
    );
    let fixed = phase2::context::broken::child_check_under_lock(&root);
    assert!(fixed.is_cancelled());
}

#[test]
fn dropped_children_deregister_but_a_live_grandchild_keeps_its_branch() {
    let root = Context::background();
    for _ in 0..1000 {
        let c = root.child();
        let _g = c.child();
    }
    assert_eq!(root.children(), 0);
    let c = root.child();
    let g = c.child();
    drop(c);
    // The grandchild holds its parent: the branch is still registered and still reached.
    assert_eq!(root.children(), 1);
    root.cancel();
    assert!(g.is_cancelled());
    assert_eq!(root.children(), 0, "the cancel emptied the map");
    drop(g);
}

#[test]
fn cancel_wakes_blocked_waiters_on_descendants() {
    within_no_leaks(LIMIT, || {
        let root = Context::background();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let g = root.child().child();
                std::thread::spawn(move || g.wait())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        root.cancel();
        for w in waiters {
            assert_eq!(w.join().unwrap(), Reason::Cancelled);
        }
    });
}

#[test]
fn wait_returns_at_the_inherited_deadline_and_wait_timeout_times_out() {
    within_no_leaks(LIMIT, || {
        let root = Context::background();
        assert_eq!(root.wait_timeout(Duration::from_millis(20)), None);
        // The deadline is set inside `with_timeout`: bracket that call, so the deadline is known
        // to lie in [before + 30 ms, after + 30 ms] whatever the scheduler does.
        let before = Instant::now();
        let parent = root.with_timeout(Duration::from_millis(30));
        let after = Instant::now();
        let deadline = parent.deadline().expect("a deadline");
        assert!(
            before + Duration::from_millis(30) <= deadline
                && deadline <= after + Duration::from_millis(30),
            "with_timeout(30 ms) set a deadline outside the call's bracket"
        );
        let child = parent.child();
        assert_eq!(child.deadline(), Some(deadline), "the child inherits it");
        assert_eq!(child.wait(), Reason::DeadlineExceeded);
        // Not before the deadline (an early wake-up that reported DeadlineExceeded fails here).
        assert!(
            Instant::now() >= deadline,
            "wait returned before the deadline"
        );
    });
}

#[test]
fn the_async_future_resolves_on_cancel_and_on_deadline() {
    within_no_leaks(LIMIT, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let root = Context::background();
            let c = root.child();
            let r2 = root.clone();
            let canceller = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                r2.cancel();
            });
            assert_eq!(c.cancelled().await, Reason::Cancelled);
            canceller.await.unwrap();

            let d = Context::background().with_timeout(Duration::from_millis(15));
            assert_eq!(d.cancelled().await, Reason::DeadlineExceeded);
            assert!(Instant::now() >= d.deadline().unwrap());

            // A future dropped before the cancel leaves nothing behind that breaks a later one.
            let e = Context::background();
            for _ in 0..100 {
                let f = e.cancelled();
                let _ = tokio::time::timeout(Duration::from_micros(1), f).await;
            }
            assert_eq!(
                e.waiting_tasks(),
                0,
                "dropped futures unregister their wakers"
            );
            let pending = e.cancelled();
            tokio::pin!(pending);
            assert!(futures_poll_once(pending.as_mut()).is_pending());
            assert_eq!(e.waiting_tasks(), 1, "a polled future is registered once");
            assert!(futures_poll_once(pending.as_mut()).is_pending());
            assert_eq!(e.waiting_tasks(), 1, "a re-poll does not register twice");
            e.cancel();
            assert_eq!(e.waiting_tasks(), 0, "the cancel drains the wakers");
            assert_eq!(pending.await, Reason::Cancelled);
            assert_eq!(e.cancelled().await, Reason::Cancelled);
        });
    });
}

/// Polls a future once with a no-op waker.
fn futures_poll_once<F: std::future::Future>(
    f: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    f.poll(&mut cx)
}
