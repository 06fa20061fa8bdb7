//! # fastchan: the road from the teaching channel to a fast one
//!
//! Go's `chan` is a ring buffer, a lock and queues of parked goroutines inside the runtime. Phase 1
//! built that shape (`phase1::channels`: one Mutex, two Condvars); crossbeam-channel is 3–250× faster
//! (phase 1's BENCHMARKS.md). This module walks the road between them, one measured step at a time:
//!
//! 1. **lock-free slots** — the values live in phase 4's Vyukov ring ([`BoundedQueue`]): a send is a
//!    CAS on `tail` and a stamped slot write, no lock; the lock survives only in the waiter list, and
//!    only for threads that actually park ([`ParkAtOnce`]).
//! 2. **spin, then yield, then park** — a blocked operation retries for a while before parking
//!    ([`SpinThenPark`], the default): a hand-off between two running threads never sleeps.
//! 3. **wake only the parked** — a sender reads one counter after a SeqCst fence and takes the
//!    waiter list's lock only when someone is parked; the parked side re-checks after registering,
//!    which is what makes skipping the lock safe (`waiters.rs`; the loom model in
//!    `tests/loom_fastchan.rs` finds the lost wake-up of the twin without the re-check, [`NoRecheck`]).
//!
//! Three flavors, as crossbeam-channel has: [`bounded`] with `cap ≥ 1` on the ring; `bounded(0)`, a
//! rendezvous where a waiting sender and receiver hand the value over directly (`zero.rs`: each
//! side's waiters queue a packet, and a partner's claim races the waiter's withdrawal on one CAS);
//! and [`unbounded`], a linked list of blocks of slots (`list.rs`). MPMC, cloneable handles,
//! disconnection, `try_`, `_timeout`, `_deadline`. The error types are phase 1's. Not built yet:
//! `Select`, async.
//!
//! ```
//! use phase4::fastchan;
//! let (tx, rx) = fastchan::bounded(16);
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || (0..100).for_each(|i| tx.send(p * 100 + i).unwrap()))
//!     })
//!     .collect();
//! drop(tx); // the receiver sees the disconnection once the producers are done
//! let mut got: Vec<u32> = rx.iter().collect();
//! producers.into_iter().for_each(|p| p.join().unwrap());
//! got.sort_unstable();
//! assert_eq!(got, (0..400).collect::<Vec<_>>());
//! ```
//!
//! [`BoundedQueue`]: crate::lockfree::BoundedQueue

mod backoff;
mod chan;
#[cfg(not(loom))]
pub mod contract;
mod list;
mod waiters;
mod zero;

pub use backoff::{Blocking, NoRecheck, ParkAtOnce, RacyWithdraw, SpinThenPark};
pub use chan::{Receiver, Sender, bounded, bounded_with, unbounded, unbounded_with};
pub use phase1::channels::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
