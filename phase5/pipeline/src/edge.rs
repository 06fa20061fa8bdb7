//! A bounded edge between two stages, with an overflow policy.
//!
//! Go's buffered channel blocks a full sender; Vector's and Akka's buffers may instead drop the new
//! item, drop the oldest, or refuse. This edge is a `VecDeque` under a mutex with two tokio `Notify`s
//! (not empty, not full), so every policy is one branch of one `push`, the depth is read under the
//! same lock that changes it, and a stage's input backlog is a number in its report.
//!
//! Under `SpillToDisk` the edge has a second part behind the same lock: spilled items, on disk in
//! spill segments (`spill_queue.rs`). The queue in memory holds the oldest items and the spill the
//! newer ones, and a push goes to the spill while anything is spilled, so a pop that takes from
//! memory first and then from the spill keeps the edge first in, first out.
//!
//! Wake-ups are never lost: a waiter registers its `Notified` (`enable`) *before* it checks the queue
//! under the lock, and every change that could satisfy it calls `notify_waiters` after unlocking, so a
//! change either happens before the check (seen under the lock) or after the registration (wakes it).
use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ack::Ack;
use crate::config::Overflow;
use crate::spill_queue::{NotSpilled, Spilled, Unspilled};
use crate::stats::{Nack, NackLog, StageStats};

/// An item on its way, with the sequence number of the source item it came from and its claims on
/// the source's acknowledgements.
#[derive(Debug)]
pub(crate) struct Item<T> {
    pub(crate) seq: u64,
    pub(crate) value: T,
    pub(crate) ack: Ack,
}

struct State<T> {
    /// The oldest items: everything in `spill` arrived after them.
    queue: VecDeque<Item<T>>,
    /// `SpillToDisk`: the items spilled, in arrival order.
    spill: Option<Spilled<T>>,
    /// Live [`Sender`]s; 0 with an empty queue is the end of the stream.
    senders: usize,
}

/// The edge in front of one stage. Its counters are that stage's (`offered`, `dropped`, …).
pub(crate) struct Edge<T> {
    state: Mutex<State<T>>,
    not_empty: Notify,
    not_full: Notify,
    capacity: usize,
    overflow: Overflow,
    stats: Arc<StageStats>,
    stage: String,
    nacks: Arc<NackLog>,
}

/// What became of a pushed item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// In the queue (under `DropOldest`, possibly at the cost of the oldest item).
    Accepted,
    /// Dropped (`DropNewest`) or refused (`Reject`): the sender goes on.
    Refused,
    /// The sender was stopped while it waited for room; the item is counted cancelled.
    Stopped,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under this lock (an item's destructor runs after the guard is gone: see
    // `evicted` in `push` and `cancel_rest`), so a panic cannot happen with the queue half-changed;
    // a poisoned lock is recovered rather than propagated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> State<T> {
    fn spilled(&self) -> usize {
        self.spill.as_ref().map_or(0, Spilled::len)
    }

    /// Items in the edge: in memory and spilled.
    fn depth(&self) -> usize {
        self.queue.len() + self.spilled()
    }
}

impl<T: Send> Edge<T> {
    /// An edge; `spill` is the disk part of a `SpillToDisk` edge (`None` for another policy, or
    /// for a spill that could not be opened: the pipeline then refuses to run).
    pub(crate) fn new(
        capacity: usize,
        overflow: Overflow,
        spill: Option<Spilled<T>>,
        stats: Arc<StageStats>,
        stage: String,
        nacks: Arc<NackLog>,
    ) -> Self {
        Edge {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(capacity),
                spill,
                senders: 0,
            }),
            not_empty: Notify::new(),
            not_full: Notify::new(),
            capacity,
            overflow,
            stats,
            stage,
            nacks,
        }
    }

    /// A new sender: the edge stays open until every sender is dropped.
    pub(crate) fn sender(self: &Arc<Self>, upstream: Arc<StageStats>) -> Sender<T> {
        lock(&self.state).senders += 1;
        Sender {
            edge: Arc::clone(self),
            upstream,
            weight: 1,
        }
    }

    fn set_depth(&self, depth: usize) {
        self.stats.depth.store(depth, Relaxed);
        self.stats.max_depth.fetch_max(depth, Relaxed);
    }

    /// The next item, or `None` once every sender is gone and the queue is empty, or once `stop` is
    /// cancelled. Cancel-safe: an item leaves the queue only in the same poll that returns it.
    pub(crate) async fn pop(&self, stop: &CancellationToken) -> Option<Item<T>> {
        loop {
            let mut notified = pin!(self.not_empty.notified());
            notified.as_mut().enable();
            {
                let mut st = lock(&self.state);
                // Memory first: everything spilled arrived after what is in memory.
                let mut took = st.queue.pop_front();
                let mut lost = 0;
                if took.is_none() {
                    match st.spill.as_mut().and_then(Spilled::pop) {
                        Some(Unspilled::Item(item)) => took = Some(item),
                        Some(Unspilled::Lost(n, e)) => {
                            lost = n;
                            self.stats.spill_error(&e);
                        }
                        None => {}
                    }
                }
                if took.is_some() || lost > 0 {
                    self.set_depth(st.depth());
                    drop(st);
                    if lost > 0 {
                        // Read back wrong (their claims were dropped unfinished: abandoned).
                        StageStats::add(&self.stats.failed, lost);
                    }
                    self.not_full.notify_waiters();
                    if let Some(item) = took {
                        StageStats::add(&self.stats.items_in, 1);
                        return Some(item);
                    }
                    continue;
                }
                if st.senders == 0 {
                    return None;
                }
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => return None,
                _ = notified => {}
            }
        }
    }

    /// Counts whatever is still queued as cancelled, once no stage will read it again.
    pub(crate) fn cancel_rest(&self) {
        let (rest, spilled) = {
            let mut st = lock(&self.state);
            let spilled = st.spill.as_mut().map_or(0, Spilled::clear);
            (std::mem::take(&mut st.queue), spilled)
        };
        self.set_depth(0);
        StageStats::add(&self.stats.cancelled, rest.len() as u64 + spilled);
        drop(rest); // outside the lock: an item's destructor is user code
    }
}

/// One upstream worker's handle on an edge.
pub(crate) struct Sender<T: Send> {
    edge: Arc<Edge<T>>,
    /// The sending stage's stats: its backpressured time is counted here.
    upstream: Arc<StageStats>,
    /// How many of the stage's slots one blocked push holds up: 1 for a worker of its own; the
    /// stage's parallelism for an ordered stage's one collector, behind which every slot waits.
    weight: u32,
}

impl<T: Send> Sender<T> {
    /// Counts this sender's blocked time `weight` times (see the field).
    pub(crate) fn weighted(mut self, weight: usize) -> Self {
        self.weight = u32::try_from(weight).unwrap_or(u32::MAX);
        self
    }

    /// Offers `item` to the edge under its policy. Under `Block` it waits for room, and that wait is
    /// the sending stage's backpressured time; `stop` ends the wait.
    pub(crate) async fn push(&self, item: Item<T>, stop: &CancellationToken) -> Pushed {
        let outcome = self.offer(item, stop).await;
        // A push that never waits (a refusal, an eviction, an edge with room) is no yield point: a
        // sender over an endless source would then hold its worker thread for good, and on a
        // current-thread runtime starve the very consumer it waits on. Spend a unit of tokio's
        // cooperative budget, so such a loop yields once its budget is gone.
        tokio::task::coop::consume_budget().await;
        outcome
    }

    async fn offer(&self, item: Item<T>, stop: &CancellationToken) -> Pushed {
        let edge = &*self.edge;
        StageStats::add(&edge.stats.offered, 1);
        StageStats::add(&self.upstream.items_out, 1);
        let mut item = Some(item);
        let weight = u64::from(self.weight);
        let mut blocked_since: Option<Instant> = None;
        let mut evicted = None;
        let outcome = loop {
            let mut notified = pin!(edge.not_full.notified());
            notified.as_mut().enable();
            {
                let mut st = lock(&edge.state);
                // While anything is spilled, memory is not the back of the edge: no new item
                // goes there, or it would overtake the spilled ones.
                if st.queue.len() < edge.capacity && st.spilled() == 0 {
                    st.queue.extend(item.take());
                    edge.set_depth(st.depth());
                    break Pushed::Accepted;
                }
                match &edge.overflow {
                    Overflow::Block => {}
                    Overflow::SpillToDisk(_) => {
                        if let (Some(spill), Some(it)) = (st.spill.as_mut(), item.take()) {
                            match spill.push(it) {
                                Ok(bytes) => {
                                    let on_disk = spill.on_disk();
                                    edge.set_depth(st.depth());
                                    drop(st);
                                    StageStats::add(&edge.stats.spilled, 1);
                                    StageStats::add(&edge.stats.spilled_bytes, bytes);
                                    edge.stats.max_spill_bytes.fetch_max(on_disk, Relaxed);
                                    break Pushed::Accepted;
                                }
                                Err((it, why)) => {
                                    // Full (the disk cap) or refused: wait, as under Block.
                                    item = Some(it);
                                    if let NotSpilled::Failed(e) = why {
                                        edge.stats.spill_error(&e);
                                    }
                                }
                            }
                        }
                    }
                    Overflow::DropNewest => {
                        drop(st);
                        StageStats::add(&edge.stats.dropped, 1);
                        // Dropped by policy: its journey ends here, and it counts as finished.
                        if let Some(item) = item.take() {
                            item.ack.finish();
                        }
                        return Pushed::Refused;
                    }
                    Overflow::DropOldest => {
                        evicted = st.queue.pop_front(); // dropped once the lock is released
                        st.queue.extend(item.take());
                        StageStats::add(&edge.stats.dropped, 1);
                        break Pushed::Accepted;
                    }
                    Overflow::Reject => {
                        // The refused item's claim is dropped unfinished: a source that acks does
                        // not get past it in this run (it is nacked, not done).
                        drop(st);
                        StageStats::add(&edge.stats.rejected, 1);
                        let seq = item.as_ref().map_or(0, |i| i.seq);
                        edge.nacks.push(Nack {
                            seq,
                            stage: edge.stage.clone(),
                        });
                        return Pushed::Refused;
                    }
                }
            }
            if blocked_since.is_none() {
                blocked_since = Some(self.upstream.begin(&self.upstream.backpressured, weight));
            }
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    StageStats::add(&edge.stats.cancelled, 1);
                    break Pushed::Stopped;
                }
                _ = notified => {}
            }
        };
        if let Some(since) = blocked_since {
            self.upstream
                .end(&self.upstream.backpressured, since, weight);
        }
        if outcome == Pushed::Accepted {
            edge.not_empty.notify_waiters();
        }
        if let Some(evicted) = evicted {
            evicted.ack.finish(); // dropped by policy: finished (its destructor runs here, unlocked)
        }
        outcome
    }
}

impl<T: Send> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut st = lock(&self.edge.state);
            st.senders -= 1;
            st.senders == 0
        };
        if last {
            self.edge.not_empty.notify_waiters(); // the readers see the end of the stream
        }
    }
}

/// An edge whose leftovers can be counted without knowing its item type.
pub(crate) trait Leftovers: Send + Sync {
    fn cancel_rest(&self);
}

impl<T: Send> Leftovers for Edge<T> {
    fn cancel_rest(&self) {
        Edge::cancel_rest(self)
    }
}
