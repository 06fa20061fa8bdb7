//! A broker decorator that checks the engine from outside: it sees only the broker calls (what was
//! fetched, by whom, and what was acknowledged) and the sink, never the engine's own counters. The
//! exercise's self-checks and the scenario tests read its verdicts, so an engine that miscounts its
//! own mistakes cannot pass them.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::broker::{Broker, BrokerResult, DeadLetter, Offset, Record};
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
pub struct AuditedBroker {
    inner: Arc<dyn Broker>,
    sink: Arc<MemorySink>,
    partitions: u32,
    state: Mutex<(Vec<PartitionAudit>, AuditVerdict)>,
}

impl AuditedBroker {
    /// Audits `inner` against `sink`.
    pub fn new(inner: Arc<dyn Broker>, sink: Arc<MemorySink>, partitions: u32) -> AuditedBroker {
        let parts = (0..partitions).map(|_| PartitionAudit::default()).collect();
        AuditedBroker {
            inner,
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
}

impl Broker for AuditedBroker {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn create_topic(&self, topic: &str, partitions: u32) -> BrokerResult<()> {
        self.inner.create_topic(topic, partitions)
    }
    fn partitions(&self, topic: &str) -> BrokerResult<u32> {
        self.inner.partitions(topic)
    }
    fn produce(&self, topic: &str, partition: u32, payload: &[u8]) -> BrokerResult<Offset> {
        self.inner.produce(topic, partition, payload)
    }
    fn end_offset(&self, topic: &str, partition: u32) -> BrokerResult<Offset> {
        self.inner.end_offset(topic, partition)
    }
    fn create_group(&self, topic: &str, group: &str) -> BrokerResult<()> {
        self.inner.create_group(topic, group)
    }
    fn fetch(&self, t: &str, g: &str, c: &str, p: u32, max: usize) -> BrokerResult<Vec<Record>> {
        let records = self.inner.fetch(t, g, c, p, max)?;
        self.delivered(c, p, &records);
        Ok(records)
    }
    fn reclaim(
        &self,
        t: &str,
        g: &str,
        c: &str,
        p: u32,
        idle: Duration,
    ) -> BrokerResult<Vec<Record>> {
        let records = self.inner.reclaim(t, g, c, p, idle)?;
        self.delivered(c, p, &records);
        Ok(records)
    }
    fn commit(&self, t: &str, g: &str, p: u32, offsets: &[Offset]) -> BrokerResult<()> {
        {
            let mut guard = self.state.lock();
            let (parts, verdict) = &mut *guard;
            if let Some(a) = parts.get_mut(p as usize) {
                for &o in offsets {
                    while a.applied_below <= o
                        && self.sink.contains(&self.id_of(p, a.applied_below))
                    {
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
        self.inner.commit(t, g, p, offsets)
    }
    fn committed(&self, topic: &str, group: &str, partition: u32) -> BrokerResult<Offset> {
        self.inner.committed(topic, group, partition)
    }
    fn dead_letter(&self, topic: &str, r: &Record, attempts: u32, e: &str) -> BrokerResult<()> {
        self.inner.dead_letter(topic, r, attempts, e)
    }
    fn dead_letters(&self, topic: &str) -> BrokerResult<Vec<DeadLetter>> {
        self.inner.dead_letters(topic)
    }
    fn remove_dead_letter(&self, topic: &str, id: &str) -> BrokerResult<()> {
        self.inner.remove_dead_letter(topic, id)
    }
    fn delete_topic(&self, topic: &str) -> BrokerResult<()> {
        self.inner.delete_topic(topic)
    }
}
