//! How a blocked operation waits before it parks: spin, then yield, then park. The policy is a type
//! parameter of the channel ([`Blocking`]), so the bench can put "park at once" and "spin first" side
//! by side on the same slots and waiter list.
use phase1::shim::{hint, thread};

/// When a blocking `send`/`recv` gives up retrying and parks in the waiter list.
pub trait Blocking: Send + Sync + 'static {
    /// Rounds of busy spinning (`2^round` spin-loop hints each) before yielding.
    const SPIN_ROUNDS: u32;
    /// Rounds of `thread::yield_now` after the spinning, before parking.
    const YIELD_ROUNDS: u32;
    /// Whether a thread that has just registered in the waiter list tries its operation once more
    /// before it parks. Always `true` except in [`NoRecheck`], the broken twin.
    const RECHECK: bool = true;
    /// Whether a rendezvous waiter withdraws its packet with a compare-and-swap (`zero.rs`). Always
    /// `true` except in [`RacyWithdraw`], the broken twin.
    const ATOMIC_WITHDRAW: bool = true;
    /// Short name for reports and benches.
    const NAME: &'static str;
}

/// Spin (1, 2, … 64 hints), then yield four times, then park: a hand-off between two running
/// threads completes while the waiting one is still spinning, and never pays for a park and unpark.
#[derive(Debug, Clone, Copy)]
pub struct SpinThenPark;

impl Blocking for SpinThenPark {
    const SPIN_ROUNDS: u32 = 7;
    const YIELD_ROUNDS: u32 = 4;
    const NAME: &'static str = "spin-then-park";
}

/// Park as soon as the operation cannot complete: lock-free slots, but every wait is a trip through
/// the kernel, as in a Mutex + Condvar channel. The step before [`SpinThenPark`] in the bench.
#[derive(Debug, Clone, Copy)]
pub struct ParkAtOnce;

impl Blocking for ParkAtOnce {
    const SPIN_ROUNDS: u32 = 0;
    const YIELD_ROUNDS: u32 = 0;
    const NAME: &'static str = "park-at-once";
}

/// Deliberately broken: registers in the waiter list and parks without trying the operation again.
/// A value sent between the failed attempt and the registration wakes no one (the sender saw no
/// waiter), and the receiver sleeps forever: the lost wake-up. Kept for its loom model
/// (`tests/loom_fastchan.rs`), which must find it; never use it.
#[derive(Debug, Clone, Copy)]
pub struct NoRecheck;

impl Blocking for NoRecheck {
    const SPIN_ROUNDS: u32 = 0;
    const YIELD_ROUNDS: u32 = 0;
    const RECHECK: bool = false;
    const NAME: &'static str = "no-recheck (broken)";
}

/// Deliberately broken: a rendezvous waiter that times out withdraws its packet with a load and a
/// store instead of a compare-and-swap, so a receiver claiming it between the two also wins, and
/// the value is both delivered and handed back. Kept for its loom model (`tests/loom_fastchan.rs`),
/// which must find it; never use it.
#[derive(Debug, Clone, Copy)]
pub struct RacyWithdraw;

impl Blocking for RacyWithdraw {
    const SPIN_ROUNDS: u32 = 0;
    const YIELD_ROUNDS: u32 = 0;
    const ATOMIC_WITHDRAW: bool = false;
    const NAME: &'static str = "racy-withdraw (broken)";
}

/// One blocked operation's progress through the policy `B`.
pub(crate) struct Backoff {
    round: u32,
    spins: u32,
    rounds: u32,
}

impl Backoff {
    /// A fresh backoff for policy `B`. Under loom every spin is a scheduling point that multiplies the
    /// interleavings, so one yield round stands for the whole schedule.
    pub(crate) fn new<B: Blocking>() -> Self {
        let (spins, rounds) = if cfg!(loom) {
            (0, (B::SPIN_ROUNDS + B::YIELD_ROUNDS).min(1))
        } else {
            (B::SPIN_ROUNDS, B::SPIN_ROUNDS + B::YIELD_ROUNDS)
        };
        Backoff {
            round: 0,
            spins,
            rounds,
        }
    }

    /// Every round is spent: time to park.
    pub(crate) fn is_completed(&self) -> bool {
        self.round >= self.rounds
    }

    /// Waits one round: `2^round` spin hints while spinning, then a yield.
    pub(crate) fn snooze(&mut self) {
        if self.round < self.spins {
            for _ in 0..1u32 << self.round {
                hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        self.round += 1;
    }
}
