//! Loom model of the pool's cancellation token: a job that sees the token cancelled also sees what
//! the canceller wrote before cancelling (the Release/Acquire pair in `CancelToken`).
#![cfg(loom)]
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicUsize, Ordering};
use phase1::shim::thread;
use phase2::pool::CancelToken;

#[test]
fn a_cancelled_token_publishes_what_came_before() {
    loom::model(|| {
        let token = CancelToken::new();
        let reason = Arc::new(AtomicUsize::new(0));
        let canceller = {
            let (token, reason) = (token.clone(), reason.clone());
            thread::spawn(move || {
                // Relaxed: published by the token's Release store, not by this store.
                reason.store(7, Ordering::Relaxed);
                token.cancel();
            })
        };
        if token.is_cancelled() {
            // Relaxed: ordered by the token's Acquire load above.
            assert_eq!(reason.load(Ordering::Relaxed), 7);
        }
        canceller.join().unwrap();
        assert!(token.is_cancelled());
    });
}

/// The same protocol with a Relaxed flag: seeing "cancelled" no longer implies seeing the reason, and
/// loom finds the interleaving where the reason reads 0.
#[test]
#[should_panic(expected = "reason not published")]
fn wrong_relaxed_token_publishes_nothing() {
    use phase1::shim::sync::atomic::AtomicBool;
    loom::model(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let reason = Arc::new(AtomicUsize::new(0));
        let canceller = {
            let (flag, reason) = (flag.clone(), reason.clone());
            thread::spawn(move || {
                reason.store(7, Ordering::Relaxed);
                flag.store(true, Ordering::Relaxed); // wrong on purpose: should be Release
            })
        };
        if flag.load(Ordering::Relaxed) {
            // wrong on purpose: should be Acquire
            assert_eq!(reason.load(Ordering::Relaxed), 7, "reason not published");
        }
        canceller.join().unwrap();
    });
}
