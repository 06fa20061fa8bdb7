//! End-to-end acknowledgements: which prefix of a source's items every sink has finished.
//!
//! Benthos acks a message once its output has taken it; Kafka consumers commit an offset only below
//! every unfinished record. Here a source that supports acks registers each item in an
//! [`AckTracker`], and the item travels with an [`Ack`]: the claim on its sequence number. A stage
//! that fans an item out splits the claim into parts, a batch merges its items' claims, and the claim
//! is *finished* where the item's journey ends well — the sink returned, a filter or a `Drop*` policy
//! dropped it, it failed or was dead-lettered. A claim dropped without being finished (the item was
//! cancelled, or refused by `Reject`) *abandons* its sequence number: the acked prefix never passes it
//! in this run, so a restart delivers it again.
//!
//! The tracker keeps one slot per sequence number from the oldest one not yet acked, and advances the
//! acked prefix over finished slots only.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// One registered item, from the oldest not yet acked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `parts` claims on it are still out; `position` is where the source resumes after it.
    Pending { parts: u64, position: u64 },
    /// Every claim finished.
    Done { position: u64 },
    /// A claim was dropped unfinished: the prefix stops here for good.
    Abandoned,
}

#[derive(Debug)]
struct State {
    /// The sequence number of `slots[0]`: every item before it is acked.
    base: u64,
    slots: VecDeque<Slot>,
    /// Where the source resumes: the position of the last acked item (or the start).
    position: u64,
}

/// The acked prefix of one source's items.
#[derive(Debug)]
pub(crate) struct AckTracker {
    state: Mutex<State>,
    /// Notified when the prefix advances or an item is abandoned.
    changed: Notify,
}

/// What has been acked so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Acked {
    /// Items `first..next` have all been finished (`next` is the first not acked).
    pub(crate) next: u64,
    /// The source's position after item `next - 1`: where a restart resumes.
    pub(crate) position: u64,
    /// The first unacked item was abandoned: the prefix cannot advance in this run.
    pub(crate) stuck: bool,
    /// Items registered and not acked.
    pub(crate) unacked: u64,
}

impl AckTracker {
    /// A tracker whose first item will be `first`, resuming at `position` if none is ever acked.
    pub(crate) fn new(first: u64, position: u64) -> Self {
        AckTracker {
            state: Mutex::new(State {
                base: first,
                slots: VecDeque::new(),
                position,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under the lock and no operation leaves it half-changed at a panic point.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the next item (its sequence number is returned) and the position after it, and
    /// hands out its one claim.
    pub(crate) fn register(self: &Arc<Self>, position: u64) -> (u64, Ack) {
        let mut st = self.lock();
        let seq = st.base + st.slots.len() as u64;
        st.slots.push_back(Slot::Pending { parts: 1, position });
        drop(st);
        (
            seq,
            Ack {
                claims: vec![(Arc::clone(self), seq)],
            },
        )
    }

    /// `seq` has `more` claims besides the one being split.
    fn add_parts(&self, seq: u64, more: u64) {
        let mut st = self.lock();
        if let Some(Slot::Pending { parts, .. }) = slot(&mut st, seq) {
            *parts += more;
        }
    }

    /// One claim on `seq` finished.
    fn finish(&self, seq: u64) {
        let mut st = self.lock();
        if let Some(s) = slot(&mut st, seq)
            && let Slot::Pending { parts, position } = *s
        {
            *s = if parts <= 1 {
                Slot::Done { position }
            } else {
                Slot::Pending {
                    parts: parts - 1,
                    position,
                }
            };
        }
        let mut advanced = false;
        while let Some(Slot::Done { position }) = st.slots.front().copied() {
            st.slots.pop_front();
            st.base += 1;
            st.position = position;
            advanced = true;
        }
        drop(st);
        if advanced {
            self.changed.notify_waiters();
        }
    }

    /// A claim on `seq` was dropped unfinished.
    fn abandon(&self, seq: u64) {
        let mut st = self.lock();
        if let Some(s) = slot(&mut st, seq) {
            *s = Slot::Abandoned;
        }
        drop(st);
        self.changed.notify_waiters();
    }

    /// The acked prefix now.
    pub(crate) fn acked(&self) -> Acked {
        let st = self.lock();
        Acked {
            next: st.base,
            position: st.position,
            stuck: st.slots.front() == Some(&Slot::Abandoned),
            unacked: st.slots.len() as u64,
        }
    }

    /// Waits until the prefix advances or an item is abandoned, from the moment `acked` was read as
    /// `seen`: returns at once if it has changed since.
    pub(crate) async fn changed_since(&self, seen: Acked) {
        loop {
            let mut notified = std::pin::pin!(self.changed.notified());
            notified.as_mut().enable(); // registered before the check: no change is missed
            let now = self.acked();
            if now.next != seen.next || now.stuck != seen.stuck {
                return;
            }
            notified.await;
        }
    }
}

fn slot(st: &mut State, seq: u64) -> Option<&mut Slot> {
    let i = usize::try_from(seq.checked_sub(st.base)?).ok()?;
    st.slots.get_mut(i)
}

/// The claims an item carries on its source items' sequence numbers (none for a source without
/// acks). Finish it where the item's journey ends well; dropping it unfinished abandons them.
#[derive(Debug, Default)]
pub(crate) struct Ack {
    /// One claim per entry: a batch holds one per item (possibly of several sources), and a fanned
    /// out item's parts each hold one on the same sequence number.
    claims: Vec<(Arc<AckTracker>, u64)>,
}

impl Ack {
    /// No claim: the item's source does not ack.
    pub(crate) fn none() -> Self {
        Ack::default()
    }

    /// The item is done with: every claim finished.
    pub(crate) fn finish(mut self) {
        for (t, seq) in self.claims.drain(..) {
            t.finish(seq);
        }
    }

    /// The claims of `n` items made from this one (flat_map): each carries a part of every claim,
    /// and the item counts as finished once all of them are. `n = 0` finishes it.
    pub(crate) fn split(self, n: usize) -> Vec<Ack> {
        if n == 0 {
            self.finish();
            return Vec::new();
        }
        for (t, seq) in &self.claims {
            t.add_parts(*seq, n as u64 - 1);
        }
        let mut parts = Vec::with_capacity(n);
        for _ in 1..n {
            parts.push(Ack {
                claims: self.claims.clone(),
            });
        }
        parts.push(self);
        parts
    }

    /// Takes `other`'s claims too (a batch's items).
    pub(crate) fn merge(&mut self, mut other: Ack) {
        self.claims.append(&mut other.claims);
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        for (t, seq) in &self.claims {
            t.abandon(*seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tracker() -> Arc<AckTracker> {
        Arc::new(AckTracker::new(0, 0))
    }

    /// Item `i` ends at position `10 * (i + 1)`.
    fn register(t: &Arc<AckTracker>, n: u64) -> Vec<Ack> {
        (0..n)
            .map(|i| {
                let (seq, ack) = t.register(10 * (i + 1));
                assert_eq!(seq, i);
                ack
            })
            .collect()
    }

    #[test]
    fn out_of_order_finishes_advance_only_the_contiguous_prefix() {
        let t = tracker();
        let mut acks: Vec<Option<Ack>> = register(&t, 4).into_iter().map(Some).collect();
        acks[2].take().unwrap().finish();
        acks[1].take().unwrap().finish();
        assert_eq!(t.acked().next, 0, "item 0 is unfinished: nothing is acked");
        assert_eq!(t.acked().position, 0);
        acks[0].take().unwrap().finish();
        let a = t.acked();
        assert_eq!((a.next, a.position, a.unacked), (3, 30, 1));
        acks[3].take().unwrap().finish();
        assert_eq!((t.acked().next, t.acked().position), (4, 40));
    }

    #[test]
    fn a_fanned_out_item_is_acked_once_every_part_is_finished() {
        let t = tracker();
        let mut parts = register(&t, 1).pop().unwrap().split(3);
        parts.pop().unwrap().finish();
        parts.pop().unwrap().finish();
        assert_eq!(t.acked().next, 0, "one part is still out");
        parts.pop().unwrap().finish();
        assert_eq!(t.acked().next, 1);
        let empty = t.register(20).1.split(0); // a flat_map to nothing
        assert!(empty.is_empty());
        assert_eq!(
            t.acked().next,
            2,
            "an item fanned out to nothing is finished"
        );
    }

    #[test]
    fn a_batch_finishes_all_its_items_and_an_abandoned_item_blocks_the_prefix() {
        let t = tracker();
        let mut acks = register(&t, 3).into_iter();
        let mut batch = acks.next().unwrap();
        batch.merge(acks.next().unwrap());
        let third = acks.next().unwrap();
        drop(third); // cancelled: abandoned
        batch.finish();
        let a = t.acked();
        assert_eq!((a.next, a.stuck), (2, true));
        let (_, late) = t.register(40);
        late.finish();
        assert_eq!(t.acked().next, 2, "nothing passes an abandoned item");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Register,
        /// Split the k-th live claim (mod the count) into n parts.
        Split(usize, usize),
        /// Merge two live claims.
        Merge(usize, usize),
        Finish(usize),
        Abandon(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Register),
            1 => (any::<usize>(), 0..4usize).prop_map(|(k, n)| Op::Split(k, n)),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Merge(a, b)),
            3 => any::<usize>().prop_map(Op::Finish),
            1 => any::<usize>().prop_map(Op::Abandon),
        ]
    }

    proptest! {
        /// Against a model that keeps every claim as a list of sequence numbers: the acked prefix
        /// is the longest run from 0 of items with no claim left and none abandoned.
        #[test]
        fn the_prefix_matches_a_model(ops in proptest::collection::vec(op(), 1..80)) {
            let t = tracker();
            let mut live: Vec<(Ack, Vec<u64>)> = Vec::new();
            let mut registered = 0u64;
            let mut abandoned = std::collections::HashSet::new();
            for op in ops {
                match op {
                    Op::Register => {
                        let (seq, ack) = t.register(10 * (registered + 1));
                        registered += 1;
                        live.push((ack, vec![seq]));
                    }
                    Op::Split(k, n) if !live.is_empty() => {
                        let (ack, seqs) = live.swap_remove(k % live.len());
                        for part in ack.split(n) {
                            live.push((part, seqs.clone()));
                        }
                    }
                    Op::Merge(a, b) if live.len() >= 2 => {
                        let (mut x, mut xs) = live.swap_remove(a % live.len());
                        let (y, ys) = live.swap_remove(b % live.len());
                        x.merge(y);
                        xs.extend(ys);
                        live.push((x, xs));
                    }
                    Op::Finish(k) if !live.is_empty() => live.swap_remove(k % live.len()).0.finish(),
                    Op::Abandon(k) if !live.is_empty() => {
                        let (ack, seqs) = live.swap_remove(k % live.len());
                        abandoned.extend(seqs);
                        drop(ack);
                    }
                    _ => {}
                }
                let open: std::collections::HashSet<u64> =
                    live.iter().flat_map(|(_, s)| s.iter().copied()).collect();
                let expected = (0..registered)
                    .find(|s| open.contains(s) || abandoned.contains(s))
                    .unwrap_or(registered);
                let a = t.acked();
                prop_assert_eq!(a.next, expected);
                prop_assert_eq!(a.position, 10 * expected);
                prop_assert_eq!(a.stuck, abandoned.contains(&expected));
            }
        }
    }
}
