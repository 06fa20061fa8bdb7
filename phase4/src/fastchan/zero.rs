//! The rendezvous (capacity 0): no buffer at all, a value goes straight from a sender's hand to a
//! receiver's. Go's unbuffered `chan` does the same inside its runtime: a goroutine that finds no
//! partner parks in the channel's queue with its value (a `sudog`), and the partner that arrives
//! later copies the value across and readies it.
//!
//! Here a thread that finds no partner waits in a [`Packet`] queued under one lock, a sender with
//! its value inside. A partner that arrives takes the oldest packet off the queue and **claims** it;
//! the waiter, when its deadline passes or the other side disconnects, **withdraws** its packet.
//! Claim and withdrawal are both a compare-and-swap from `WAITING` on the packet's state, so exactly
//! one of them wins: the value is delivered exactly once or handed back exactly once, never both,
//! never neither. The twin that withdraws with a load and a store instead ([`RacyWithdraw`]) lets
//! both win; the loom model in `tests/loom_fastchan.rs` finds it.
//!
//! [`RacyWithdraw`]: super::RacyWithdraw
use std::collections::VecDeque;
// std's `Arc`, as in `waiters.rs`: a packet lives while its waiter or its claimant holds it, and a
// loom `Arc` dropped while a failing model unwinds aborts the process instead of reporting.
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

use phase1::shim::UnsafeCell;
use phase1::shim::sync::Mutex;
use phase1::shim::sync::atomic::{AtomicU8, AtomicUsize};
use phase1::shim::thread::{self, Thread};

use super::backoff::{Backoff, Blocking};
use super::waiters::park_timeout;

/// In a queue; neither the waiter nor a partner owns the exchange yet.
const WAITING: u8 = 0;
/// A partner won: it is moving the value in (to a receiver) or out (of a sender).
const CLAIMED: u8 = 1;
/// The partner is done with the value; the waiter may look at the packet again.
const DONE: u8 = 2;
/// The waiter won: it left (deadline or disconnection); partners skip the packet.
const WITHDRAWN: u8 = 3;

/// One waiting thread and the value it brings (a sender) or will get (a receiver).
struct Packet<T> {
    /// `WAITING` → `CLAIMED` → `DONE` (a partner's claim), or `WAITING` → `WITHDRAWN` (the waiter's).
    state: AtomicU8,
    /// A waiting sender's value (`Some` until claimed), or the value a receiver gets (`None` until
    /// its claimant fills it). Touched by the waiter before it queues the packet and after it sees
    /// `DONE` or wins the withdrawal, by the claimant between `CLAIMED` and `DONE`: never by two at
    /// once (see `claim` and `withdraw`).
    value: UnsafeCell<Option<T>>,
    thread: Thread,
}

// SAFETY: the packet moves a `T` between threads (needs `T: Send`); its `UnsafeCell` is accessed by
// one thread at a time, handed over through `state` (the field's docs), so sharing the packet is
// sound for `T: Send`.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> Packet<T> {
    fn new(value: Option<T>) -> Arc<Self> {
        Arc::new(Packet {
            state: AtomicU8::new(WAITING),
            value: UnsafeCell::new(value),
            thread: thread::current(),
        })
    }

    /// A partner's claim. Called under the queues' lock, on a packet just taken off a queue.
    fn claim(&self) -> bool {
        // Relaxed: the CAS only decides who owns the exchange (one RMW on one location, so claim and
        // withdrawal cannot both succeed). The packet's contents were written before it was queued,
        // under the lock our caller holds, so they are visible already.
        self.state
            .compare_exchange(WAITING, CLAIMED, Relaxed, Relaxed)
            .is_ok()
    }

    /// The claimant is done with `value`: hand the packet back and wake its waiter.
    fn finish(&self) {
        // Release: publishes what we did to `value`; pairs with the waiter's Acquire load of `DONE`.
        self.state.store(DONE, Release);
        self.thread.unpark();
    }

    /// Takes the value out. Only for the one thread that owns the packet's `value` now (the
    /// `value` field's docs).
    fn take_value(&self) -> Option<T> {
        // SAFETY: the caller owns `value` now: a claimant between its successful claim and
        // `finish`, or the waiter after seeing `DONE` (Acquire, after the claimant's Release) or
        // after winning the withdrawal (no claim can then succeed). No one else touches it.
        self.value.with_mut(|v| unsafe { (*v).take() })
    }

    /// Puts the value in; same ownership rule as [`take_value`](Packet::take_value).
    fn put_value(&self, value: T) {
        // SAFETY: as in `take_value`: called by the claimant of a receiver's packet only.
        self.value.with_mut(|v| unsafe { *v = Some(value) });
    }
}

/// Why a waiter left without a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Withdrawn {
    /// Its deadline passed.
    Timeout,
    /// The other side's last handle is gone.
    Disconnected,
}

/// The two queues of waiting packets.
struct Queues<T> {
    senders: VecDeque<Arc<Packet<T>>>,
    receivers: VecDeque<Arc<Packet<T>>>,
}

/// A capacity-0 channel's meeting place.
pub(crate) struct Rendezvous<T> {
    queues: Mutex<Queues<T>>,
}

impl<T> Rendezvous<T> {
    pub(crate) fn new() -> Self {
        Rendezvous {
            queues: Mutex::new(Queues {
                senders: VecDeque::new(),
                receivers: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> phase1::shim::sync::MutexGuard<'_, Queues<T>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `value` to a waiting receiver, if there is one.
    pub(crate) fn try_send(&self, value: T) -> Result<(), T> {
        let Some(receiver) = claim_first(&mut self.lock().receivers) else {
            return Err(value);
        };
        receiver.put_value(value);
        receiver.finish();
        Ok(())
    }

    /// Takes the value of a waiting sender, if there is one.
    pub(crate) fn try_recv(&self) -> Option<T> {
        let sender = claim_first(&mut self.lock().senders)?;
        let value = sender.take_value();
        sender.finish();
        Some(value.expect("a queued sender's packet holds its value until claimed"))
    }

    /// Hands `value` to a receiver, waiting for one until `deadline`. `receivers` is the channel's
    /// count of live receivers: at 0 the send fails with its value.
    pub(crate) fn send<B: Blocking>(
        &self,
        value: T,
        deadline: Option<Instant>,
        receivers: &AtomicUsize,
    ) -> Result<(), (T, Withdrawn)> {
        let packet = {
            let mut queues = self.lock();
            // Acquire: pairs with the last receiver's AcqRel decrement. Read under the lock: a
            // receiver dropped after this section wakes us from `wake_all` (it takes this lock).
            if receivers.load(Acquire) == 0 {
                return Err((value, Withdrawn::Disconnected));
            }
            if let Some(receiver) = claim_first(&mut queues.receivers) {
                drop(queues);
                receiver.put_value(value);
                receiver.finish();
                return Ok(());
            }
            let packet = Packet::new(Some(value));
            queues.senders.push_back(packet.clone());
            packet
        };
        match self.wait::<B>(&packet, deadline, receivers, |q| &mut q.senders) {
            Ok(()) => Ok(()), // `DONE`: a receiver took the value
            Err(why) => {
                let value = packet.take_value();
                Err((
                    value.expect("a withdrawn sender's packet still holds its value"),
                    why,
                ))
            }
        }
    }

    /// Takes a value from a sender, waiting for one until `deadline`. `senders` is the channel's
    /// count of live senders: at 0 (and no sender waiting) the receive fails.
    pub(crate) fn recv<B: Blocking>(
        &self,
        deadline: Option<Instant>,
        senders: &AtomicUsize,
    ) -> Result<T, Withdrawn> {
        let packet = {
            let mut queues = self.lock();
            if let Some(sender) = claim_first(&mut queues.senders) {
                drop(queues);
                let value = sender.take_value();
                sender.finish();
                return Ok(value.expect("a queued sender's packet holds its value until claimed"));
            }
            // Acquire: as in `send`.
            if senders.load(Acquire) == 0 {
                return Err(Withdrawn::Disconnected);
            }
            let packet = Packet::new(None);
            queues.receivers.push_back(packet.clone());
            packet
        };
        self.wait::<B>(&packet, deadline, senders, |q| &mut q.receivers)?;
        // `DONE`: our claimant put the value in.
        Ok(packet
            .take_value()
            .expect("a claimant fills a receiver's packet before DONE"))
    }

    /// Waits until `packet` is `DONE`, or withdraws it at `deadline` or when `partners` (the other
    /// side's handle count) reaches 0. Spins, yields and parks by the policy `B`.
    fn wait<B: Blocking>(
        &self,
        packet: &Arc<Packet<T>>,
        deadline: Option<Instant>,
        partners: &AtomicUsize,
        queue: impl Fn(&mut Queues<T>) -> &mut VecDeque<Arc<Packet<T>>>,
    ) -> Result<(), Withdrawn> {
        let mut backoff = Backoff::new::<B>();
        loop {
            // Acquire: pairs with the claimant's Release in `finish`; the value moved is visible.
            let state = packet.state.load(Acquire);
            if state == DONE {
                return Ok(());
            }
            if state == WAITING {
                let why = if partners.load(Acquire) == 0 {
                    Some(Withdrawn::Disconnected)
                } else if deadline.is_some_and(|d| Instant::now() >= d) {
                    Some(Withdrawn::Timeout)
                } else {
                    None
                };
                if let Some(why) = why {
                    if withdraw::<B, T>(packet) {
                        let mut queues = self.lock();
                        let q = queue(&mut queues);
                        if let Some(i) = q.iter().position(|p| Arc::ptr_eq(p, packet)) {
                            q.remove(i);
                        }
                        return Err(why);
                    }
                    continue; // claimed just now: the claimant is about to finish
                }
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // `finish` and `wake_all` unpark after their store; an unpark before this park leaves
            // the token, so the park returns at once and the loop looks again. A claimed packet
            // waits for its claimant's `finish` whatever the deadline: the claimant is running.
            match deadline {
                Some(d) if state == WAITING => {
                    let now = Instant::now();
                    if now < d {
                        park_timeout(d - now);
                    } // else the next round withdraws
                }
                _ => thread::park(),
            }
        }
    }

    /// Wakes every waiting thread, to look at the handle counts again (a side disconnected).
    pub(crate) fn wake_all(&self) {
        let queues = self.lock();
        for packet in queues.senders.iter().chain(&queues.receivers) {
            packet.thread.unpark();
        }
    }
}

/// Takes packets off the front of `queue` until one is claimed (withdrawn ones are dropped).
fn claim_first<T>(queue: &mut VecDeque<Arc<Packet<T>>>) -> Option<Arc<Packet<T>>> {
    while let Some(packet) = queue.pop_front() {
        if packet.claim() {
            return Some(packet);
        }
    }
    None
}

/// The waiter's side of the race with a claimant: `true` when the waiter won and owns its value.
fn withdraw<B: Blocking, T>(packet: &Packet<T>) -> bool {
    if B::ATOMIC_WITHDRAW {
        // Relaxed: as in `claim`, the CAS only decides the owner. Winning means no claim succeeded
        // (and none will), so the value was never touched by another thread.
        packet
            .state
            .compare_exchange(WAITING, WITHDRAWN, Relaxed, Relaxed)
            .is_ok()
    } else {
        // The broken twin: look, then write. A claim between the two succeeds too, and both the
        // claimant and the waiter go on to use the value.
        if packet.state.load(Relaxed) != WAITING {
            return false;
        }
        packet.state.store(WITHDRAWN, Relaxed);
        true
    }
}
