//! `cond`: why every condvar wait sits in a `while` loop, and the lost wake-up that happens when the
//! check and the wait are not under the same lock.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;
use harness::watchdog::{self, Outcome};

use crate::sync::{Condvar, Mutex};

const CONSUMERS: usize = 3;

/// Items addressed to one consumer each, announced with `notify_all`: every consumer wakes, most find
/// nothing for them. Returns (items received, wake-ups, wake-ups that found the condition false).
macro_rules! addressed_delivery {
    ($lock:expr, $cond:expr, $lock_fn:ident, $wait:expr, $items:expr) => {{
        let state = Arc::new(($lock, $cond));
        let wakeups = Arc::new(AtomicUsize::new(0));
        let false_wakeups = Arc::new(AtomicUsize::new(0));
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|me| {
                let (state, wakeups, false_wakeups) = (state.clone(), wakeups.clone(), false_wakeups.clone());
                thread::Builder::new()
                    .name("cond-consumer".into())
                    .spawn(move || {
                        let (lock, cond) = &*state;
                        let mut got = 0usize;
                        let mut q = $lock_fn(lock);
                        loop {
                            // The `while` loop: after any wake-up, re-check *this* thread's condition.
                            while !q.iter().any(|&(to, _)| to == me || to == usize::MAX) {
                                q = $wait(cond, q);
                                wakeups.fetch_add(1, SeqCst);
                                if !q.iter().any(|&(to, _)| to == me || to == usize::MAX) {
                                    false_wakeups.fetch_add(1, SeqCst);
                                }
                            }
                            // Our own items first (swap_remove reorders, so the end marker may
                            // sit before one of them); the end marker only once none is left.
                            match q.iter().position(|&(to, _)| to == me) {
                                Some(i) => {
                                    q.swap_remove(i);
                                    got += 1;
                                }
                                None => return got, // only the end marker matched; it stays for the others
                            }
                        }
                    })
                    .expect("spawn")
            })
            .collect();
        for i in 0..$items {
            let (lock, cond) = &*state;
            $lock_fn(lock).push((i % CONSUMERS, i));
            cond.notify_all();
            if i % 8 == 0 {
                thread::yield_now();
            }
        }
        {
            let (lock, cond) = &*state;
            $lock_fn(lock).push((usize::MAX, 0));
            cond.notify_all();
        }
        let received: usize = consumers.into_iter().map(|h| h.join().expect("consumer")).sum();
        (received, wakeups.load(SeqCst), false_wakeups.load(SeqCst))
    }};
}

fn std_lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("not poisoned")
}
fn ours_lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    m.lock()
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "Go's sync.Cond and Rust's Condvar both say: a wait may return when the condition is not true —\n\
         a notify_all meant for someone else, a notify that raced with another consumer, or a genuinely\n\
         spurious wake-up. From the waiter's side these are indistinguishable, so the wait sits in a `while`.\n\
         3 consumers, items addressed to one of them, each announced with notify_all:",
    );
    let items: usize = ctx.pick(30_000, 3_000);
    let mut t = ctx.table(
        "wake-ups that found the condition false (an `if` instead of `while` would have acted on each)",
        &["condvar", "items sent", "items received", "wake-ups", "found condition false", "share"],
    );
    let (r_std, w_std, f_std) = addressed_delivery!(
        std::sync::Mutex::new(Vec::<(usize, usize)>::new()),
        std::sync::Condvar::new(),
        std_lock,
        |c: &std::sync::Condvar, g| c.wait(g).expect("not poisoned"),
        items
    );
    let (r_ours, w_ours, f_ours) = addressed_delivery!(
        Mutex::new(Vec::<(usize, usize)>::new()),
        Condvar::new(),
        ours_lock,
        |c: &Condvar, g| c.wait(g),
        items
    );
    let share = |f: usize, w: usize| {
        if w == 0 {
            "n/a".to_string()
        } else {
            format!("{:.0}%", 100.0 * f as f64 / w as f64)
        }
    };
    t.row([
        "std::sync::Condvar".to_string(),
        items.to_string(),
        r_std.to_string(),
        w_std.to_string(),
        f_std.to_string(),
        share(f_std, w_std),
    ]);
    t.row([
        "ours: Condvar".to_string(),
        items.to_string(),
        r_ours.to_string(),
        w_ours.to_string(),
        f_ours.to_string(),
        share(f_ours, w_ours),
    ]);
    ctx.show(t);
    ctx.record("false_wakeups_std", f_std);
    ctx.record("false_wakeups_ours", f_ours);
    ctx.check(
        "std: every item delivered exactly once, thanks to the while loop",
        r_std == items,
    );
    ctx.check(
        "ours: every item delivered exactly once, thanks to the while loop",
        r_ours == items,
    );

    // The lost wake-up.
    ctx.say(
        "\nThe lost wake-up: the waiter checks `ready` under the lock, RELEASES it, and only then waits.\n\
         The notifier sets `ready` and notifies in that gap (choreographed here, so it happens every run):\n\
         nobody is waiting yet, the notify is lost, and the waiter sleeps forever. A watchdog catches it.",
    );
    let leaks = ThreadLeakCheck::named("cond-");
    let deadline = Duration::from_millis(ctx.pick(300, 150));
    let (broken_stuck, released) = lost_wakeup(false, deadline);
    let (fixed_stuck, _) = lost_wakeup(true, deadline);
    let leaked = leaks.leaked_after(Duration::from_secs(2));
    let mut l = ctx.table(
        "check-then-wait, with and without the lock",
        &["version", "outcome", "after release"],
    );
    l.row([
        "broken: check, unlock, (notify lands here), lock, wait".to_string(),
        if broken_stuck.is_some() {
            format!("stuck: no wake-up within {}", fmt_duration(deadline))
        } else {
            "finished (!)".into()
        },
        match released {
            Some(true) => "a second notify released it; joined".to_string(),
            Some(false) => "could not be released (!)".to_string(),
            None => "-".to_string(),
        },
    ]);
    l.row([
        "fixed: wait_while(lock.lock(), |r| !*r) — check and sleep under one lock".to_string(),
        match fixed_stuck {
            None => "finished".to_string(),
            Some(_) => "stuck (!)".to_string(),
        },
        "-".to_string(),
    ]);
    ctx.show(l);
    ctx.check(
        "the watchdog caught the lost wake-up (broken version stuck past its deadline)",
        broken_stuck.is_some(),
    );
    ctx.check(
        "the stuck waiter was released and joined",
        released == Some(true),
    );
    ctx.check("the fixed version finished", fixed_stuck.is_none());
    ctx.check_with(
        "no thread left behind",
        leaked.is_empty(),
        format!("{} leaked", leaked.len()),
    );
    ctx.takeaway(format!(
        "{:.0}% of wake-ups found the condition false: always `while` (or wait_while), and check + wait under the same lock",
        100.0 * (f_std + f_ours) as f64 / (w_std + w_ours).max(1) as f64
    ));
}

/// Runs the choreographed check-then-wait. Returns `(Some(elapsed) if stuck, Some(released) if it had
/// to be released)`.
fn lost_wakeup(fixed: bool, deadline: Duration) -> (Option<Duration>, Option<bool>) {
    let state = Arc::new((Mutex::new(false), Condvar::new()));
    let (checked_tx, checked_rx) = mpsc::channel::<()>();
    let (notified_tx, notified_rx) = mpsc::channel::<()>();
    let notifier = {
        let state = state.clone();
        thread::Builder::new()
            .name("cond-notifier".into())
            .spawn(move || {
                let _ = checked_rx.recv(); // the waiter has looked at `ready` and released the lock
                *state.0.lock() = true;
                state.1.notify_one();
                let _ = notified_tx.send(());
            })
            .expect("spawn")
    };
    let waiter_state = state.clone();
    let t0 = Instant::now();
    let outcome = watchdog::run("cond-waiter", deadline, move || {
        let (lock, cond) = &*waiter_state;
        if fixed {
            // Check and sleep under one lock: the notifier cannot set `ready` in between.
            let g = lock.lock();
            let _ = checked_tx.send(()); // the notifier now blocks on the lock until we sleep
            drop(cond.wait_while(g, |ready| !*ready));
        } else {
            let ready = *lock.lock(); // check …
            if !ready {
                let _ = checked_tx.send(()); // … (lock already released) …
                let _ = notified_rx.recv(); // … the notify lands now, with nobody waiting …
                let g = lock.lock();
                drop(cond.wait(g)); // … and we wait for a notify that already happened.
            }
        }
    });
    let result = match outcome {
        Outcome::Finished(()) => (None, None),
        Outcome::Panicked(m) => panic!("lost-wake-up demo panicked: {m}"),
        Outcome::TimedOut(stuck) => {
            let elapsed = t0.elapsed();
            // Release it: a fresh notify finds it waiting this time. Repeat until it has left, in case
            // the first one lands before it is back asleep.
            let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let releaser = {
                let (state, released) = (state.clone(), released.clone());
                thread::Builder::new()
                    .name("cond-releaser".into())
                    .spawn(move || {
                        while !released.load(SeqCst) {
                            state.1.notify_all();
                            thread::sleep(Duration::from_millis(2));
                        }
                    })
                    .expect("spawn")
            };
            let joined = stuck.join_within(Duration::from_secs(2));
            released.store(true, SeqCst);
            releaser.join().expect("releaser");
            (Some(elapsed), Some(joined))
        }
    };
    notifier.join().expect("notifier");
    result
}
