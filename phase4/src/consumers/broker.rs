//! The one trait both backends implement, and how a URL picks a backend.
//!
//! The model is Redis Streams' (which is also Kafka's, seen from one partition): an append-only log
//! per partition; a consumer *group* has a delivery position per partition and a pending list of
//! records delivered but not yet acknowledged; a record that was delivered to a consumer that died is
//! *reclaimed* by another one. Acknowledging is committing: the consumers here only ever acknowledge
//! the contiguous finished prefix (see [`OffsetTracker`](super::OffsetTracker)), so "everything below
//! `committed` is done" holds in both backends.
use std::sync::Arc;
use std::time::Duration;

use super::embedded::EmbeddedBroker;
use super::redis::RedisBroker;

/// A position in one partition's log: 0 for the first record.
pub type Offset = u64;

/// One record, as delivered to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its partition.
    pub partition: u32,
    /// Its offset in that partition.
    pub offset: Offset,
    /// The bytes the producer wrote.
    pub payload: Vec<u8>,
}

/// A record that failed every attempt, parked in the topic's dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the dead-letter stream (what [`Broker::remove_dead_letter`] takes).
    pub id: String,
    /// The partition it came from.
    pub partition: u32,
    /// Its offset there.
    pub offset: Offset,
    /// How many times it was tried.
    pub attempts: u32,
    /// The last attempt's error.
    pub error: String,
    /// The original bytes.
    pub payload: Vec<u8>,
}

/// Anything a broker call can fail with, as one line of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerError(pub String);

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrokerError {}

/// The result of a broker call.
pub type BrokerResult<T> = Result<T, BrokerError>;

/// A partitioned log with consumer groups: the embedded one or Redis Streams.
pub trait Broker: Send + Sync {
    /// A short description, e.g. `embedded log in /tmp/…` or `redis 127.0.0.1:6379`.
    fn describe(&self) -> String;
    /// Creates `topic` with `partitions` partitions (nothing happens if it exists with that many).
    fn create_topic(&self, topic: &str, partitions: u32) -> BrokerResult<()>;
    /// How many partitions `topic` has.
    fn partitions(&self, topic: &str) -> BrokerResult<u32>;
    /// Appends a record; returns its offset.
    fn produce(&self, topic: &str, partition: u32, payload: &[u8]) -> BrokerResult<Offset>;
    /// The offset the next produced record will get (so, the log's length).
    fn end_offset(&self, topic: &str, partition: u32) -> BrokerResult<Offset>;
    /// Creates `group` on every partition of `topic`, reading from the start (idempotent).
    fn create_group(&self, topic: &str, group: &str) -> BrokerResult<()>;
    /// Up to `max` records never delivered to `group` before, now pending on `consumer`
    /// (XREADGROUP … `>`).
    fn fetch(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        max: usize,
    ) -> BrokerResult<Vec<Record>>;
    /// Records delivered to some consumer of `group`, unacknowledged for at least `min_idle`: they
    /// now belong to `consumer` (XAUTOCLAIM). A consumer taking over a partition calls this first.
    fn reclaim(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        min_idle: Duration,
    ) -> BrokerResult<Vec<Record>>;
    /// Acknowledges these offsets (XACK): the consumers pass the contiguous finished prefix.
    fn commit(
        &self,
        topic: &str,
        group: &str,
        partition: u32,
        offsets: &[Offset],
    ) -> BrokerResult<()>;
    /// The lowest offset `group` has not acknowledged on `partition`: every record below is done.
    fn committed(&self, topic: &str, group: &str, partition: u32) -> BrokerResult<Offset>;
    /// Parks a record in the topic's dead-letter stream with the error of its last attempt.
    fn dead_letter(
        &self,
        topic: &str,
        record: &Record,
        attempts: u32,
        error: &str,
    ) -> BrokerResult<()>;
    /// The dead-letter stream of `topic`, oldest first.
    fn dead_letters(&self, topic: &str) -> BrokerResult<Vec<DeadLetter>>;
    /// Deletes one entry of the dead-letter stream.
    fn remove_dead_letter(&self, topic: &str, id: &str) -> BrokerResult<()>;
    /// Deletes everything of `topic` (its log, groups and dead letters).
    fn delete_topic(&self, topic: &str) -> BrokerResult<()>;
}

/// Puts every dead letter of `topic` back at the end of its partition, then removes it from the
/// dead-letter stream (in that order: a crash in between duplicates, never loses, and the idempotent
/// sink absorbs a duplicate). Returns how many were replayed.
pub fn replay_dead_letters(broker: &dyn Broker, topic: &str) -> BrokerResult<usize> {
    let letters = broker.dead_letters(topic)?;
    for dl in &letters {
        broker.produce(topic, dl.partition, &dl.payload)?;
        broker.remove_dead_letter(topic, &dl.id)?;
    }
    Ok(letters.len())
}

/// Opens the broker a URL names:
/// - `embedded` — an embedded log in a fresh temporary directory (removed when the broker drops);
/// - `file:///some/dir` — an embedded log in that directory (kept);
/// - `redis://host:port` — a Redis server (≥ 7: XAUTOCLAIM and `0-*` ids).
pub fn open_broker(url: &str) -> BrokerResult<Arc<dyn Broker>> {
    if url == "embedded" {
        return Ok(Arc::new(EmbeddedBroker::temporary()?));
    }
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(BrokerError(format!("bad broker URL {url:?}: no directory")));
        }
        return Ok(Arc::new(EmbeddedBroker::open(path)?));
    }
    if let Some(rest) = url.strip_prefix("redis://") {
        let addr = rest.trim_end_matches('/');
        let ok = addr
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            return Err(BrokerError(format!(
                "bad broker URL {url:?}: expected redis://HOST:PORT"
            )));
        }
        return Ok(Arc::new(RedisBroker::connect(addr)?));
    }
    Err(BrokerError(format!(
        "bad broker URL {url:?}: expected 'embedded', file:///DIR or redis://HOST:PORT"
    )))
}

/// Bookkeeping hooks for [`Observed`], which calls them around the calls it forwards. Every hook
/// does nothing by default, so an observer names only the calls it cares about.
pub trait BrokerObserver: Send + Sync {
    /// Before a `fetch` is forwarded (e.g. to slow fetches down).
    fn before_fetch(&self, _consumer: &str, _partition: u32) {}
    /// After a `fetch` or a `reclaim` succeeded: these records are now pending on `consumer`.
    fn delivered(&self, _consumer: &str, _partition: u32, _records: &[Record]) {}
    /// Before a `commit` is forwarded (whether or not the inner broker then accepts it).
    fn before_commit(&self, _partition: u32, _offsets: &[Offset]) {}
}

/// A broker decorator: forwards every call to `inner` unchanged and tells its observer about
/// fetches, deliveries and commits. The audit and the tests' recorders are built on it.
pub struct Observed<O> {
    inner: Arc<dyn Broker>,
    observer: O,
}

impl<O: BrokerObserver> Observed<O> {
    /// Decorates `inner` with `observer`.
    pub fn new(inner: Arc<dyn Broker>, observer: O) -> Observed<O> {
        Observed { inner, observer }
    }

    /// The broker the calls go to.
    pub fn inner(&self) -> &Arc<dyn Broker> {
        &self.inner
    }

    /// The observer, with what it recorded.
    pub fn observer(&self) -> &O {
        &self.observer
    }
}

impl<O: BrokerObserver> Broker for Observed<O> {
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
        self.observer.before_fetch(c, p);
        let records = self.inner.fetch(t, g, c, p, max)?;
        self.observer.delivered(c, p, &records);
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
        self.observer.delivered(c, p, &records);
        Ok(records)
    }
    fn commit(&self, t: &str, g: &str, p: u32, offsets: &[Offset]) -> BrokerResult<()> {
        self.observer.before_commit(p, offsets);
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
