//! `races`: the data race that does not compile, and the two races that do (lost update,
//! check-then-act), live on this CPU; loom's verdicts are in `tests/loom_reliable.rs`.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use harness::Ctx;

use crate::reliable::lockstep;
use crate::reliable::races::{
    Account, DATA_RACE_ERROR, DATA_RACE_FIXED, DATA_RACE_SNIPPET, RacyAccount, increment_fetch_add,
    increment_load_store,
};

/// Two threads each increment one counter `per_thread` times, released together; returns the total.
pub(crate) fn count_with(per_thread: u64, increment: fn(&AtomicU64)) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(2));
    let workers: Vec<_> = (0..2)
        .map(|k| {
            let (counter, start) = (Arc::clone(&counter), Arc::clone(&start));
            thread::Builder::new()
                .name(format!("race-inc-{k}"))
                .spawn(move || {
                    start.wait();
                    for _ in 0..per_thread {
                        increment(&counter);
                    }
                })
                .expect("spawn incrementer")
        })
        .collect();
    for w in workers {
        w.join().expect("incrementer");
    }
    counter.load(Ordering::Relaxed) // Relaxed: the joins ordered every increment before this.
}

/// Outcome of `trials` two-thread withdrawal races on accounts holding 1, each thread withdrawing 1.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overdrafts {
    pub trials: usize,
    /// Trials where both withdrawals succeeded (the balance went to -1).
    pub both_succeeded: usize,
    /// Trials with exactly one success (the invariant held).
    pub exactly_one: usize,
}

/// The work between the check and the act: a fee computed in ~100 simple steps (well under a
/// microsecond), the kind of thing real code does there.
fn between_check_and_act() {
    let mut fee = 0u64;
    for k in 0..100u64 {
        fee = black_box(fee.wrapping_mul(31).wrapping_add(k));
    }
    black_box(fee);
}

/// Races two withdrawals per account, in lockstep, `trials` times (or until `deadline`).
pub(crate) fn overdrafts(fixed: bool, trials: usize, deadline: Duration) -> Overdrafts {
    let racy: Arc<Vec<RacyAccount>> = Arc::new((0..trials).map(|_| RacyAccount::new(1)).collect());
    let safe: Arc<Vec<Account>> = Arc::new((0..trials).map(|_| Account::new(1)).collect());
    let run = {
        let (racy, safe) = (Arc::clone(&racy), Arc::clone(&safe));
        lockstep::run("race-acct", trials, deadline, move |_, i| {
            let ok = if fixed {
                safe[i].withdraw_with(1, between_check_and_act)
            } else {
                racy[i].withdraw_with(1, between_check_and_act)
            };
            ok as u8
        })
    };
    let mut out = Overdrafts {
        trials: run.iterations(),
        ..Overdrafts::default()
    };
    for (i, (a, b)) in run.pairs().enumerate() {
        let balance = if fixed {
            safe[i].balance()
        } else {
            racy[i].balance()
        };
        debug_assert_eq!(balance, 1 - i64::from(a) - i64::from(b));
        match a + b {
            2 => out.both_succeeded += 1,
            1 => out.exactly_one += 1,
            _ => {}
        }
    }
    out
}

pub(super) fn run(ctx: &mut Ctx) {
    ctx.say(format!(
        "1. What the compiler rules out — a data race (two threads writing one plain u64):\n\n{}\n\n\
         does not compile:\n  {DATA_RACE_ERROR}\n(checked: it is a compile_fail doc test of \
         phase3::reliable::races). The version that compiles uses an atomic:\n\n{}\n\n\
         What it does not rule out: races made of steps that are each atomic.",
        indent(DATA_RACE_SNIPPET),
        indent(DATA_RACE_FIXED),
    ));

    // Lost update: several short rounds, each a fresh pair of threads, so that at least some rounds
    // find the two threads on two cores at once (the machine is shared; a round whose threads take
    // turns on one core loses nothing, and that is reported, not hidden).
    let rounds = ctx.pick(20u64, 5);
    let per_thread = ctx.pick(200_000u64, 100_000);
    let expected = rounds * 2 * per_thread;
    let (mut racy, mut exact, mut lossy_rounds) = (0, 0, 0);
    for _ in 0..rounds {
        let r = count_with(per_thread, increment_load_store);
        lossy_rounds += u64::from(r < 2 * per_thread);
        racy += r;
        exact += count_with(per_thread, increment_fetch_add);
    }
    let mut t = ctx.table(
        format!(
            "2. lost update: {rounds} rounds × 2 threads × {per_thread} increments of one counter"
        ),
        &[
            "increment",
            "expected",
            "counted",
            "lost increments",
            "rounds with a loss",
        ],
    );
    t.row([
        "load; store(v + 1) (wrong)".to_string(),
        expected.to_string(),
        racy.to_string(),
        (expected - racy).to_string(),
        format!("{lossy_rounds} of {rounds}"),
    ]);
    t.row([
        "fetch_add(1)".to_string(),
        expected.to_string(),
        exact.to_string(),
        (expected - exact).to_string(),
        format!("0 of {rounds}"),
    ]);
    ctx.show(t);

    // Check-then-act.
    let trials = ctx.pick(50_000usize, 5_000);
    let deadline = ctx.pick(Duration::from_secs(2), Duration::from_millis(400));
    let wrong = overdrafts(false, trials, deadline);
    let right = overdrafts(true, trials, deadline);
    let mut t = ctx.table(
        "3. check-then-act: balance 1, two threads withdraw 1 at the same moment (a fee computed between \
         check and act), per trial",
        &[
            "withdraw",
            "trials",
            "both succeeded (balance -1)",
            "exactly one succeeded",
        ],
    );
    for (label, o) in [
        ("if load() >= 1 { fetch_sub(1) } (wrong)", wrong),
        ("fetch_update (CAS loop)", right),
    ] {
        t.row([
            label.to_string(),
            o.trials.to_string(),
            o.both_succeeded.to_string(),
            o.exactly_one.to_string(),
        ]);
    }
    ctx.show(t);
    ctx.say(
        "loom proves both bugs instead of hoping to hit them: tests/loom_reliable.rs has should_panic \
         models for the load/store increment and the check-then-act withdrawal, and passing models \
         for fetch_add and the CAS loop. A race detector (TSan) would flag none of these: every \
         access is atomic; it sees data races on plain memory (unsafe code, FFI), in the run it watches.",
    );
    ctx.record("lost_increments", expected - racy);
    ctx.record("overdrafts_racy", wrong.both_succeeded);
    ctx.record("overdrafts_fixed", right.both_succeeded);
    ctx.takeaway(format!(
        "Atomic steps do not make an atomic operation: the load/store counter lost {} of {expected} \
         increments and check-then-act overdrew {} of {} accounts; fetch_add and a CAS loop lost none.",
        expected - racy,
        wrong.both_succeeded,
        wrong.trials
    ));
    ctx.check_with(
        "fetch_add counts every increment exactly",
        exact == expected,
        format!("{exact} of {expected}"),
    );
    ctx.check_with(
        "the load/store counter never counts more than it was given",
        racy <= expected,
        format!("{racy} of {expected}"),
    );
    ctx.check_with(
        "the CAS withdrawal never overdraws: exactly one success per trial",
        right.trials > 0 && right.both_succeeded == 0 && right.exactly_one == right.trials,
        format!(
            "{} of {} trials with one success",
            right.exactly_one, right.trials
        ),
    );
}

fn indent(code: &str) -> String {
    code.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
