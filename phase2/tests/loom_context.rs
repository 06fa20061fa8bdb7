//! Loom models of the cancellation tree: a cancel racing a blocked `wait`, a child's registration,
//! a child's cancel and a child's drop. Every interleaving (up to `LOOM_MAX_PREEMPTIONS`) is explored.
//! The last model runs the deliberately wrong check-then-register and must fail.
#![cfg(loom)]
use loom::thread;
use phase2::context::{Context, Reason, broken};

#[test]
fn cancel_wakes_a_blocked_waiter() {
    loom::model(|| {
        let root = Context::background();
        let child = root.child();
        let waiter = thread::spawn(move || child.wait());
        root.cancel();
        // A lost wake-up would leave the waiter asleep forever: loom reports it as a deadlock.
        assert_eq!(waiter.join().unwrap(), Reason::Cancelled);
    });
}

#[test]
fn a_root_cancel_wakes_waiters_at_two_depths() {
    loom::model(|| {
        let root = Context::background();
        let child = root.child();
        let grandchild = child.child();
        let w1 = thread::spawn(move || child.wait());
        let w2 = thread::spawn(move || grandchild.wait());
        root.cancel();
        assert_eq!(w1.join().unwrap(), Reason::Cancelled);
        assert_eq!(w2.join().unwrap(), Reason::Cancelled);
    });
}

#[test]
fn cancel_racing_child_registration_never_misses_the_child() {
    loom::model(|| {
        let root = Context::background();
        let r2 = root.clone();
        let canceller = thread::spawn(move || {
            r2.cancel();
        });
        let child = root.child();
        let grandchild = child.child();
        canceller.join().unwrap();
        assert!(child.is_cancelled(), "child missed its parent's cancel");
        assert!(
            grandchild.is_cancelled(),
            "grandchild missed the root's cancel"
        );
    });
}

#[test]
fn a_child_cancel_racing_the_parent_never_reaches_up() {
    loom::model(|| {
        let root = Context::background();
        let a = root.child();
        let b = root.child();
        let a2 = a.clone();
        let t = thread::spawn(move || {
            a2.cancel();
        });
        // Concurrent registration of a sibling and a read of the parent while `a` cancels.
        let c = root.child();
        assert!(!root.is_cancelled());
        t.join().unwrap();
        assert!(a.is_cancelled());
        assert!(!root.is_cancelled() && !b.is_cancelled() && !c.is_cancelled());
    });
}

#[test]
fn a_child_dropped_during_the_parent_cancel_leaves_nothing_registered() {
    loom::model(|| {
        let root = Context::background();
        let child = root.child();
        let keep = root.child();
        let t = thread::spawn(move || drop(child));
        root.cancel();
        t.join().unwrap();
        assert!(keep.is_cancelled());
        assert_eq!(root.children(), 0);
    });
}

#[test]
fn the_fixed_registration_never_misses_the_cancel() {
    loom::model(|| {
        let root = Context::background();
        let r2 = root.clone();
        let t = thread::spawn(move || {
            r2.cancel();
        });
        let child = broken::child_check_under_lock(&root);
        t.join().unwrap();
        assert!(child.is_cancelled(), "child missed its parent's cancel");
    });
}

#[test]
#[should_panic(expected = "child missed its parent's cancel")]
fn check_then_register_misses_a_concurrent_cancel() {
    loom::model(|| {
        let root = Context::background();
        let r2 = root.clone();
        let t = thread::spawn(move || {
            r2.cancel();
        });
        let child = broken::child_check_then_register(&root);
        t.join().unwrap();
        assert!(child.is_cancelled(), "child missed its parent's cancel");
    });
}
