//! A broker decorator that checks the engine from outside: it sees only the broker calls (what was
//! fetched, by whom, and what was acknowledged) and the sink, never the engine's own counters. The
//! exercise's self-checks and the scenario tests read its verdicts, so an engine that miscounts its
//! own mistakes cannot pass them.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::broker::{BrokerObserver, Observed, Offset, Record};
use super::scenarios::message;
use super::scenarios::message_id;
use super::sink::MemorySink;

/// What the audit saw; see [`AuditedBroker`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Offsets acknowledged.
    pub acked: u64,
    /// Acknowledgements of an offset while it, or an offset below it in its partition, was not yet
    /// in the sink: a commit past unfinished work (must be 0).
    pub acked_past_unapplied: u64,
    /// Records that were delivered to one consumer and unacknowledged when another consumer started
    /// fetching their partition: a hand-over that was not clean, i.e. two owners (must be 0).
    pub unclean_handovers: u64,
}

#[derive(Default)]
struct PartitionAudit {
    /// Every offset below this one is in the sink (it never forgets, so this only grows).
    applied_below: Offset,
    /// The consumer that fetched this partition last.
    fetcher: Option<String>,
    /// Delivered and not yet acknowledged, with the consumer it went to.
    outstanding: BTreeMap<Offset, String>,
    acked: BTreeSet<Offset>,
}

/// Wraps a broker for a scenario whose topic holds exactly what `produce_messages` wrote (message
/// `i` at offset `i / partitions` of partition `i % partitions`), consumed into `sink`.
pub type AuditedBroker = Observed<Audit>;

/// The audit's bookkeeping, fed by [`Observed`]'s hooks; see [`AuditedBroker`].
pub struct Audit {
    sink: Arc<MemorySink>,
    partitions: u32,
    state: Mutex<(Vec<PartitionAudit>, AuditVerdict)>,
}

impl Audit {
    /// An audit of the consumption into `sink` of a topic with `partitions` partitions; wrap the
    /// broker with it: `AuditedBroker::new(inner, Audit::new(sink, partitions))`.
    pub fn new(sink: Arc<MemorySink>, partitions: u32) -> Audit {
        let parts = (0..partitions).map(|_| PartitionAudit::default()).collect();
        Audit {
            sink,
            partitions,
            state: Mutex::new((parts, AuditVerdict::default())),
        }
    }

    /// What it saw so far.
    pub fn verdict(&self) -> AuditVerdict {
        self.state.lock().1.clone()
    }

    fn id_of(&self, partition: u32, offset: Offset) -> String {
        let i = offset * u64::from(self.partitions) + u64::from(partition);
        message_id(&message(i as usize, 0, false))
    }
}

impl BrokerObserver for Audit {
    fn delivered(&self, consumer: &str, partition: u32, records: &[Record]) {
        let mut guard = self.state.lock();
        let (parts, verdict) = &mut *guard;
        let Some(a) = parts.get_mut(partition as usize) else {
            return;
        };
        if a.fetcher.as_deref() != Some(consumer) {
            let left = a.outstanding.values().filter(|c| *c != consumer).count();
            verdict.unclean_handovers += left as u64;
            a.fetcher = Some(consumer.to_string());
        }
        for r in records {
            a.outstanding.insert(r.offset, consumer.to_string());
        }
    }

    fn before_commit(&self, p: u32, offsets: &[Offset]) {
        let mut guard = self.state.lock();
        let (parts, verdict) = &mut *guard;
        if let Some(a) = parts.get_mut(p as usize) {
            for &o in offsets {
                while a.applied_below <= o && self.sink.contains(&self.id_of(p, a.applied_below)) {
                    a.applied_below += 1;
                }
                if a.applied_below <= o {
                    verdict.acked_past_unapplied += 1;
                }
                if a.acked.insert(o) {
                    verdict.acked += 1;
                }
                a.outstanding.remove(&o);
            }
        }
    }
}
