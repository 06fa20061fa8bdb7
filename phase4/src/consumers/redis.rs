//! The Redis Streams backend: one stream per partition, Redis consumer groups, XREADGROUP / XACK /
//! XAUTOCLAIM, a dead-letter stream — over the small RESP2 client in [`resp`](super::resp).
//!
//! Keys: `rc:<topic>:meta` (the partition count), `rc:<topic>:p<N>` (partition N's stream),
//! `rc:<topic>:dlq` (the dead-letter stream). Records are added with ids `0-*`, so Redis numbers
//! them `0-1`, `0-2`, … and offset = sequence − 1: the same offsets as the embedded log. (Requires
//! Redis ≥ 7.0.) The pending entries list lives in the server, so unlike the embedded log a restarted
//! consumer does not re-read from a committed offset: it *claims* the dead consumer's pending entries
//! with XAUTOCLAIM.
use std::time::Duration;

use parking_lot::Mutex;

use super::broker::{Broker, BrokerError, BrokerResult, DeadLetter, Offset, Record};
use super::resp::{Connection, Reply};

/// Connect, read and write timeout of every connection.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A Redis Streams broker (see the module docs).
pub struct RedisBroker {
    addr: String,
    idle: Mutex<Vec<Connection>>,
}

fn meta_key(topic: &str) -> String {
    format!("rc:{topic}:meta")
}
fn part_key(topic: &str, p: u32) -> String {
    format!("rc:{topic}:p{p}")
}
fn dlq_key(topic: &str) -> String {
    format!("rc:{topic}:dlq")
}

fn offset_of(id: &str) -> BrokerResult<Offset> {
    match id.split_once('-') {
        Some(("0", seq)) => seq
            .parse::<u64>()
            .ok()
            .and_then(|s| s.checked_sub(1))
            .ok_or_else(|| BrokerError(format!("stream id {id:?} is not one of ours"))),
        _ => Err(BrokerError(format!(
            "stream id {id:?} was not written by this client (expected 0-N)"
        ))),
    }
}

fn id_of(offset: Offset) -> String {
    format!("0-{}", offset + 1)
}

/// The field/value pairs of a stream entry, as (name, bytes).
fn fields(reply: &Reply) -> Vec<(String, Vec<u8>)> {
    reply
        .items()
        .chunks(2)
        .filter_map(|kv| match kv {
            [k, v] => Some((k.text()?, v.bytes()?.to_vec())),
            _ => None,
        })
        .collect()
}

fn field<'a>(f: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
}

/// Stream entries `[[id, [field, value, …]], …]` → records of `partition` (deleted entries, whose
/// fields are nil, are skipped).
fn records(entries: &Reply, partition: u32) -> BrokerResult<Vec<Record>> {
    let mut out = Vec::new();
    for e in entries.items() {
        let [id, body] = e.items() else {
            return Err(BrokerError(format!("malformed stream entry {e:?}")));
        };
        if matches!(body, Reply::Array(None)) {
            continue;
        }
        let id = id
            .text()
            .ok_or_else(|| BrokerError("stream entry without id".into()))?;
        let f = fields(body);
        out.push(Record {
            partition,
            offset: offset_of(&id)?,
            payload: field(&f, "payload").unwrap_or_default().to_vec(),
        });
    }
    Ok(out)
}

impl RedisBroker {
    /// Connects to `addr` (`host:port`) and checks the server answers and is Redis ≥ 7.
    pub fn connect(addr: &str) -> BrokerResult<RedisBroker> {
        let b = RedisBroker {
            addr: addr.to_string(),
            idle: Mutex::new(Vec::new()),
        };
        let info = b.call(&["INFO", "server"])?;
        let text = info.text().unwrap_or_default();
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("?")
            .trim()
            .to_string();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < 7 {
            return Err(BrokerError(format!(
                "redis at {addr} is version {version}; this backend needs >= 7.0 (0-* stream ids)"
            )));
        }
        Ok(b)
    }

    /// Runs one command on a pooled connection; a `-ERR` reply becomes an error.
    fn call<A: AsRef<[u8]>>(&self, args: &[A]) -> BrokerResult<Reply> {
        match self.call_raw(args)? {
            Reply::Error(e) => Err(BrokerError(format!(
                "redis {}: {e}",
                String::from_utf8_lossy(args[0].as_ref())
            ))),
            r => Ok(r),
        }
    }

    /// Runs one command; a `-ERR` reply is returned as [`Reply::Error`].
    fn call_raw<A: AsRef<[u8]>>(&self, args: &[A]) -> BrokerResult<Reply> {
        let pooled = self.idle.lock().pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => Connection::connect(&self.addr, TIMEOUT)
                .map_err(|e| BrokerError(format!("cannot reach redis at {}: {e}", self.addr)))?,
        };
        let reply = conn
            .cmd(args)
            .map_err(|e| BrokerError(format!("redis at {}: {e}", self.addr)))?;
        // A connection that failed is dropped (its stream may be mid-reply); a good one goes back.
        self.idle.lock().push(conn);
        Ok(reply)
    }
}

impl Broker for RedisBroker {
    fn describe(&self) -> String {
        format!("redis streams at {}", self.addr)
    }

    fn create_topic(&self, topic: &str, partitions: u32) -> BrokerResult<()> {
        if partitions == 0 {
            return Err(BrokerError("a topic needs at least one partition".into()));
        }
        let n = partitions.to_string();
        let set = self.call(&["SET", &meta_key(topic), &n, "NX"])?;
        if set == Reply::Bulk(None) {
            let existing = self.partitions(topic)?;
            if existing != partitions {
                return Err(BrokerError(format!(
                    "topic {topic:?} exists with {existing} partitions"
                )));
            }
        }
        Ok(())
    }

    fn partitions(&self, topic: &str) -> BrokerResult<u32> {
        self.call(&["GET", &meta_key(topic)])?
            .text()
            .ok_or_else(|| BrokerError(format!("no topic {topic:?} in redis at {}", self.addr)))?
            .parse()
            .map_err(|e| BrokerError(format!("topic {topic:?} meta: {e}")))
    }

    fn produce(&self, topic: &str, partition: u32, payload: &[u8]) -> BrokerResult<Offset> {
        let key = part_key(topic, partition);
        let args: [&[u8]; 5] = [b"XADD", key.as_bytes(), b"0-*", b"payload", payload];
        let id = self
            .call(&args)?
            .text()
            .ok_or_else(|| BrokerError("XADD returned no id".into()))?;
        offset_of(&id)
    }

    fn end_offset(&self, topic: &str, partition: u32) -> BrokerResult<Offset> {
        match self.call_raw(&["XINFO", "STREAM", &part_key(topic, partition)])? {
            Reply::Error(e) if e.contains("no such key") => Ok(0),
            Reply::Error(e) => Err(BrokerError(format!("redis XINFO STREAM: {e}"))),
            r => {
                let f = fields(&r);
                let last = field(&f, "last-generated-id")
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_else(|| "0-0".into());
                if last == "0-0" {
                    Ok(0)
                } else {
                    Ok(offset_of(&last)? + 1)
                }
            }
        }
    }

    fn create_group(&self, topic: &str, group: &str) -> BrokerResult<()> {
        for p in 0..self.partitions(topic)? {
            match self.call_raw(&[
                "XGROUP",
                "CREATE",
                &part_key(topic, p),
                group,
                "0",
                "MKSTREAM",
            ])? {
                Reply::Error(e) if e.starts_with("BUSYGROUP") => {}
                Reply::Error(e) => return Err(BrokerError(format!("redis XGROUP CREATE: {e}"))),
                _ => {}
            }
        }
        Ok(())
    }

    fn fetch(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        max: usize,
    ) -> BrokerResult<Vec<Record>> {
        let count = max.max(1).to_string();
        let reply = self.call(&[
            "XREADGROUP",
            "GROUP",
            group,
            consumer,
            "COUNT",
            &count,
            "STREAMS",
            &part_key(topic, partition),
            ">",
        ])?;
        let mut out = Vec::new();
        for stream in reply.items() {
            if let [_, entries] = stream.items() {
                out.extend(records(entries, partition)?);
            }
        }
        Ok(out)
    }

    fn reclaim(
        &self,
        topic: &str,
        group: &str,
        consumer: &str,
        partition: u32,
        min_idle: Duration,
    ) -> BrokerResult<Vec<Record>> {
        let key = part_key(topic, partition);
        let idle = min_idle.as_millis().to_string();
        let mut cursor = "0-0".to_string();
        let mut out = Vec::new();
        loop {
            let reply = self.call(&[
                "XAUTOCLAIM",
                &key,
                group,
                consumer,
                &idle,
                &cursor,
                "COUNT",
                "100",
            ])?;
            let items = reply.items();
            let next = items
                .first()
                .and_then(Reply::text)
                .ok_or_else(|| BrokerError("XAUTOCLAIM: no cursor".into()))?;
            if let Some(entries) = items.get(1) {
                out.extend(records(entries, partition)?);
            }
            if next == "0-0" {
                break;
            }
            cursor = next;
        }
        out.sort_by_key(|r| r.offset);
        Ok(out)
    }

    fn commit(
        &self,
        topic: &str,
        group: &str,
        partition: u32,
        offsets: &[Offset],
    ) -> BrokerResult<()> {
        for chunk in offsets.chunks(500) {
            let mut args = vec![
                "XACK".to_string(),
                part_key(topic, partition),
                group.to_string(),
            ];
            args.extend(chunk.iter().map(|&o| id_of(o)));
            self.call(&args)?;
        }
        Ok(())
    }

    fn committed(&self, topic: &str, group: &str, partition: u32) -> BrokerResult<Offset> {
        let key = part_key(topic, partition);
        let summary = self.call(&["XPENDING", &key, group])?;
        let items = summary.items();
        if items.first().and_then(Reply::int).unwrap_or(0) > 0 {
            let min = items
                .get(1)
                .and_then(Reply::text)
                .ok_or_else(|| BrokerError("XPENDING: no smallest id".into()))?;
            return offset_of(&min);
        }
        let groups = self.call(&["XINFO", "GROUPS", &key])?;
        for g in groups.items() {
            let f = fields(g);
            if field(&f, "name") == Some(group.as_bytes()) {
                let last = field(&f, "last-delivered-id")
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_else(|| "0-0".into());
                return if last == "0-0" {
                    Ok(0)
                } else {
                    Ok(offset_of(&last)? + 1)
                };
            }
        }
        Err(BrokerError(format!("no group {group:?} on {key}")))
    }

    fn dead_letter(
        &self,
        topic: &str,
        record: &Record,
        attempts: u32,
        error: &str,
    ) -> BrokerResult<()> {
        let args: Vec<Vec<u8>> = vec![
            b"XADD".to_vec(),
            dlq_key(topic).into_bytes(),
            b"*".to_vec(),
            b"partition".to_vec(),
            record.partition.to_string().into_bytes(),
            b"offset".to_vec(),
            record.offset.to_string().into_bytes(),
            b"attempts".to_vec(),
            attempts.to_string().into_bytes(),
            b"error".to_vec(),
            error.as_bytes().to_vec(),
            b"payload".to_vec(),
            record.payload.clone(),
        ];
        self.call(&args).map(|_| ())
    }

    fn dead_letters(&self, topic: &str) -> BrokerResult<Vec<DeadLetter>> {
        let reply = self.call(&["XRANGE", &dlq_key(topic), "-", "+"])?;
        let mut out = Vec::new();
        for e in reply.items() {
            let [id, body] = e.items() else {
                return Err(BrokerError(format!("malformed dead letter {e:?}")));
            };
            let f = fields(body);
            let num = |name: &str| -> BrokerResult<u64> {
                field(&f, name)
                    .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
                    .ok_or_else(|| BrokerError(format!("dead letter without {name}")))
            };
            out.push(DeadLetter {
                id: id.text().unwrap_or_default(),
                partition: num("partition")? as u32,
                offset: num("offset")?,
                attempts: num("attempts")? as u32,
                error: String::from_utf8_lossy(field(&f, "error").unwrap_or_default()).into_owned(),
                payload: field(&f, "payload").unwrap_or_default().to_vec(),
            });
        }
        Ok(out)
    }

    fn remove_dead_letter(&self, topic: &str, id: &str) -> BrokerResult<()> {
        match self.call(&["XDEL", &dlq_key(topic), id])?.int() {
            Some(1) => Ok(()),
            _ => Err(BrokerError(format!("no dead letter {id:?}"))),
        }
    }

    fn delete_topic(&self, topic: &str) -> BrokerResult<()> {
        let n = self.partitions(topic).unwrap_or(0);
        let mut args = vec!["DEL".to_string(), meta_key(topic), dlq_key(topic)];
        args.extend((0..n).map(|p| part_key(topic, p)));
        self.call(&args).map(|_| ())
    }
}
