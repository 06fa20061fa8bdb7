//! Races the compiler rules out, and races it does not.
//!
//! Safe Rust has no *data races*: two threads touching the same non-atomic memory, one writing,
//! without synchronisation, is a compile error (the borrow checker plus `Send` / `Sync`). Go compiles
//! it and leaves it to `go test -race`. What neither compiler can see is a *race condition* built from
//! individually atomic steps: a read-modify-write split into a load and a store (lost update), or a
//! check and an act on separate atomic operations (check-then-act). Both are below, with the fix.
use phase1::shim::sync::atomic::{AtomicI64, AtomicU64, Ordering};

// The data race safe Rust rejects: two threads incrementing one `u64` through `&mut`. A macro so
// that one text serves the section's printout and the `compile_fail` doc test below.
macro_rules! data_race_snippet {
    () => {
        r#"let mut hits: u64 = 0;
std::thread::scope(|s| {
    s.spawn(|| hits += 1); // first mutable borrow of `hits`
    s.spawn(|| hits += 1); // second one while the first thread may still run
});
println!("{hits}");"#
    };
}

/// The compiler error the snippet produces (E0499), as rustc reports it.
pub const DATA_RACE_ERROR: &str =
    "error[E0499]: cannot borrow `hits` as mutable more than once at a time";

#[doc = concat!(
    "The data race of the section, as text; it does not compile (checked by this doc test):\n\n",
    "```compile_fail,E0499\n",
    data_race_snippet!(),
    "\n```"
)]
pub const DATA_RACE_SNIPPET: &str = data_race_snippet!();

/// The same program that does compile: the counter is an atomic, so the increments cannot race.
pub const DATA_RACE_FIXED: &str = r#"let hits = std::sync::atomic::AtomicU64::new(0);
std::thread::scope(|s| {
    s.spawn(|| hits.fetch_add(1, Relaxed));
    s.spawn(|| hits.fetch_add(1, Relaxed));
});"#;

/// Increments with a separate load and store: **wrong** under concurrency. Every step is atomic, so
/// this is not a data race and compiles; two threads can load the same value and both store value + 1,
/// losing one increment.
#[inline(never)]
pub fn increment_load_store(counter: &AtomicU64) {
    // Relaxed: a counter; the bug is the gap between the two steps, which no ordering closes.
    let v = counter.load(Ordering::Relaxed);
    counter.store(v + 1, Ordering::Relaxed); // WRONG on purpose: overwrites a concurrent increment.
}

/// Increments with one atomic read-modify-write: no increment is lost.
#[inline(never)]
pub fn increment_fetch_add(counter: &AtomicU64) {
    // Relaxed: a counter; atomicity, not ordering, is what makes it exact.
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A balance that must never go negative, withdrawn from with check-then-act: **wrong**. Two threads
/// can both see enough money, then both subtract.
#[derive(Debug)]
pub struct RacyAccount {
    /// Cents; the invariant (broken by `withdraw`) is `balance >= 0`.
    balance: AtomicI64,
}

impl RacyAccount {
    /// An account holding `balance`.
    pub fn new(balance: i64) -> Self {
        RacyAccount {
            balance: AtomicI64::new(balance),
        }
    }

    /// Withdraws `amount` if the balance covers it; true when it did.
    pub fn withdraw(&self, amount: i64) -> bool {
        self.withdraw_with(amount, || {})
    }

    /// [`withdraw`](Self::withdraw) with `work` between the check and the act (real code logs,
    /// computes a fee, asks a fraud service there), which widens the window the race needs.
    pub fn withdraw_with(&self, amount: i64, work: impl Fn()) -> bool {
        // Relaxed: the balance is the only data; the bug is that the check and the act are two steps.
        if self.balance.load(Ordering::Relaxed) >= amount {
            work();
            self.balance.fetch_sub(amount, Ordering::Relaxed); // WRONG on purpose: the check may be stale.
            true
        } else {
            false
        }
    }

    /// The balance now.
    pub fn balance(&self) -> i64 {
        self.balance.load(Ordering::Relaxed) // Relaxed: a reading of the one value.
    }
}

/// The same account with the check and the act in one compare-and-swap loop: the subtraction happens
/// only on the value that was checked.
#[derive(Debug)]
pub struct Account {
    /// Cents; `balance >= 0` always.
    balance: AtomicI64,
}

impl Account {
    /// An account holding `balance`.
    pub fn new(balance: i64) -> Self {
        Account {
            balance: AtomicI64::new(balance),
        }
    }

    /// Withdraws `amount` if the balance covers it; true when it did.
    pub fn withdraw(&self, amount: i64) -> bool {
        self.withdraw_with(amount, || {})
    }

    /// [`withdraw`](Self::withdraw) with `work` between the check and the act, as in
    /// [`RacyAccount::withdraw_with`]; the CAS still subtracts only from the balance it checked.
    pub fn withdraw_with(&self, amount: i64, work: impl Fn()) -> bool {
        // Relaxed (both orderings): the balance is the only data; the CAS fails, and the closure runs
        // again on the fresh value, whenever another withdrawal got in between.
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= amount).then(|| {
                    work();
                    b - amount
                })
            })
            .is_ok()
    }

    /// The balance now.
    pub fn balance(&self) -> i64 {
        self.balance.load(Ordering::Relaxed) // Relaxed: a reading of the one value.
    }
}
