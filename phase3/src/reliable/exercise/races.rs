//! `races`: the data race that does not compile, and the two races that do (lost update,
//! check-then-act), live on this CPU; loom's verdicts are in `tests/loom_reliable.rs`.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use harness::Ctx;

use crate::reliable::lockstep;
use crate::reliable::races::{
    Account, DATA_RACE_ERROR, DATA_RACE_FIXED, DATA_RACE_SNIPPET, RacyAccount, increment_fetch_add,
    increment_load_store,
};

/// Counts of a lost-update run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    /// The CPUs the lockstep threads were pinned to.
    pub pinned: Option<(usize, usize)>,
    /// Rounds both threads completed before the deadline.
    pub rounds: u64,
    /// Sum of the rounds' counters.
    pub counted: u64,
    /// Rounds whose counter ended below 2 × per_round.
    pub lossy_rounds: u64,
    /// Rounds in which a thread, halfway through its increments, saw the other one inside its loop
    /// too: the two loops overlapped in time, so a non-atomic increment had the chance to lose.
    pub overlapped: u64,
}

/// Below this many overlapping rounds, a load/store counter that lost nothing proves nothing (the
/// threads took turns), and the check that it loses is skipped; above it, losing nothing means the
/// increment was atomic after all (each overlap loses with a probability of about one half or more:
/// a thread preempted mid-loop sits between its load and its store about half the time, and two loops
/// running at once on two cores lose almost surely).
pub(crate) const MIN_OVERLAPPED: u64 = 20;

/// `rounds` rounds in lockstep: in each, two threads increment a fresh counter `per_round` times
/// each, starting together (a spinning barrier), so many rounds find both threads on a core at once.
pub(crate) fn count_with(
    rounds: usize,
    per_round: u64,
    deadline: Duration,
    increment: fn(&AtomicU64),
) -> Counted {
    let counters: Arc<Vec<AtomicU64>> = Arc::new((0..rounds).map(|_| AtomicU64::new(0)).collect());
    // Per round: how many of the two threads are inside their increment loop.
    let inside: Arc<Vec<AtomicU8>> = Arc::new((0..rounds).map(|_| AtomicU8::new(0)).collect());
    let (c, inside_) = (Arc::clone(&counters), Arc::clone(&inside));
    let run = lockstep::run("race-inc", rounds, deadline, move |_, i| {
        let half = per_round / 2;
        // SeqCst, on a word of its own and outside the increments: entering and leaving bracket this
        // thread's loop in the single total order the halfway load below is part of, so that load
        // sees 2 only while the other thread is between its own enter and leave.
        inside_[i].fetch_add(1, Ordering::SeqCst);
        for _ in 0..half {
            increment(&c[i]);
        }
        let overlapped = inside_[i].load(Ordering::SeqCst) == 2; // SeqCst: as above.
        for _ in half..per_round {
            increment(&c[i]);
        }
        inside_[i].fetch_sub(1, Ordering::SeqCst); // SeqCst: as above.
        u8::from(overlapped)
    });
    let done = run.iterations();
    let overlapped = run.pairs().filter(|&(a, b)| a + b > 0).count() as u64;
    // Relaxed: the lockstep threads were joined, which ordered every increment before these loads.
    let finals = counters[..done].iter().map(|c| c.load(Ordering::Relaxed));
    let (mut counted, mut lossy_rounds) = (0, 0);
    for f in finals {
        counted += f;
        lossy_rounds += u64::from(f < 2 * per_round);
    }
    Counted {
        pinned: run.pinned,
        rounds: done as u64,
        counted,
        lossy_rounds,
        overlapped,
    }
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

    // Lost update: many short rounds in lockstep, each on a fresh counter, so that many rounds find
    // the two threads on two cores at once (the machine is shared; a round whose threads take turns
    // on one core loses nothing, and that is reported, not hidden).
    let rounds = ctx.pick(2_000usize, 200);
    let per_round = 1_000u64; // a few µs of increments: longer than the barrier's release skew
    // Four lockstep runs, each stopped at its deadline: ≤ 5 s in all (≤ 1.2 s with --quick).
    let deadline = ctx.pick(Duration::from_secs(1), Duration::from_millis(300));
    let racy = count_with(rounds, per_round, deadline, increment_load_store);
    let exact = count_with(rounds, per_round, deadline, increment_fetch_add);
    let mut t = ctx.table(
        format!(
            "2. lost update: {rounds} rounds; in each, 2 threads × {per_round} increments of a fresh counter"
        ),
        &[
            "increment",
            "rounds",
            "expected",
            "counted",
            "lost increments",
            "rounds with a loss",
            "rounds overlapped",
        ],
    );
    for (label, c) in [
        ("load; store(v + 1) (wrong)", racy),
        ("fetch_add(1)", exact),
    ] {
        let expected = c.rounds * 2 * per_round;
        t.row([
            label.to_string(),
            c.rounds.to_string(),
            expected.to_string(),
            c.counted.to_string(),
            (expected - c.counted).to_string(),
            c.lossy_rounds.to_string(),
            c.overlapped.to_string(),
        ]);
    }
    ctx.show(t);
    let racy_expected = racy.rounds * 2 * per_round;
    let exact_expected = exact.rounds * 2 * per_round;

    // Check-then-act.
    let trials = ctx.pick(50_000usize, 5_000);
    let deadline = ctx.pick(Duration::from_millis(1500), Duration::from_millis(300));
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
    ctx.say(format!(
        "The lockstep threads ran {}. Both races need them on two cores at the same moment: when \
         other work on this shared machine holds one core, they take turns and nothing is lost. \
         loom proves both bugs \
         instead of hoping to hit them: tests/loom_reliable.rs has should_panic \
         models for the load/store increment and the check-then-act withdrawal, and passing models \
         for fetch_add and the CAS loop. A race detector (TSan) would flag none of these: every \
         access is atomic; it sees data races on plain memory (unsafe code, FFI), in the run it watches.",
        racy.pinned.map_or("unpinned (the affinity mask allows one CPU)".to_string(), |(a, b)| {
            format!("pinned to CPUs {a} and {b}")
        })
    ));
    ctx.record("lost_increments", racy_expected - racy.counted);
    ctx.record("overlapped_rounds_racy", racy.overlapped);
    ctx.record("overdrafts_racy", wrong.both_succeeded);
    ctx.record("overdrafts_fixed", right.both_succeeded);
    ctx.takeaway(format!(
        "Atomic steps do not make an atomic operation: the load/store counter lost {} of {racy_expected} \
         increments and check-then-act overdrew {} of {} accounts; fetch_add and a CAS loop lost none.",
        racy_expected - racy.counted,
        wrong.both_succeeded,
        wrong.trials
    ));
    ctx.check_with(
        "fetch_add counts every increment exactly",
        exact.rounds > 0 && exact.counted == exact_expected,
        format!("{} of {exact_expected}", exact.counted),
    );
    let loses = "the load/store counter loses increments when its two loops overlap (and never counts more \
                 than it was given)";
    if racy.overlapped >= MIN_OVERLAPPED {
        ctx.check_with(
            loses,
            racy.lossy_rounds > 0 && racy.counted <= racy_expected,
            format!(
                "{} rounds lost increments, {} seen overlapping; {} of {racy_expected} counted",
                racy.lossy_rounds, racy.overlapped, racy.counted
            ),
        );
    } else {
        ctx.skip(
            loses,
            format!(
                "only {} of {} rounds had both loops running at once (fewer than {MIN_OVERLAPPED}: the \
                 threads took turns on this loaded machine), so losing nothing would prove nothing",
                racy.overlapped, racy.rounds
            ),
        );
    }
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
