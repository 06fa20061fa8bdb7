//! Producers and consumers over loopback TCP, through a broker (tokio).
//!
//! Go would run a goroutine per connection and hand items over a `chan`; here a task per connection
//! hands batches over a bounded `tokio::sync::mpsc`, whose one `Receiver` the consumer-side tasks
//! share behind a `tokio::sync::Mutex` (tokio's `mpsc` is multi-producer, single-consumer). Each
//! client announces its role with one byte (`P` or `C`); frames are `u32` little-endian item count +
//! that many `u64` items.
//!
//! Shutdown is the lesson, as in Go's "close the channel when the last sender is done": a producer
//! client half-closes its socket, its broker task reads EOF at a frame boundary and drops its
//! `Sender`; once every producer side has done so (and the broker dropped its own), the channel
//! closes *after* the consumers drained it, each consumer side half-closes its socket, and each
//! consumer client reads EOF. Nothing is cut short, so nothing is lost.
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use super::delivery::item;

const ROLE_PRODUCER: u8 = b'P';
const ROLE_CONSUMER: u8 = b'C';
/// A frame larger than this is refused as corrupt rather than allocated.
pub const MAX_FRAME_ITEMS: u32 = 1 << 20;

/// Who talks to the broker, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Producer connections (N).
    pub producers: u32,
    /// Consumer connections (M).
    pub consumers: u32,
    /// Items each producer sends.
    pub per_producer: u32,
    /// Items per frame.
    pub batch: u32,
    /// Capacity of the broker's queue, in frames.
    pub queue: usize,
}

/// What a run delivered.
#[derive(Debug, Clone)]
pub struct TcpRun {
    /// The items each consumer client received, in arrival order.
    pub per_consumer: Vec<Vec<u64>>,
    /// Connect to last consumer EOF.
    pub elapsed: Duration,
}

/// Writes one frame (not flushed).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, items: &[u64]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4 + 8 * items.len());
    buf.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for it in items {
        buf.extend_from_slice(&it.to_le_bytes());
    }
    w.write_all(&buf).await
}

/// Reads one frame; `None` at a clean EOF between frames, an error at EOF inside one.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Vec<u64>>> {
    let mut len = [0u8; 4];
    // A read may return fewer bytes than asked (TCP is a byte stream, not a message queue): only a
    // zero-byte read before the first header byte is a clean end.
    let first = r.read(&mut len).await?;
    if first == 0 {
        return Ok(None);
    }
    r.read_exact(&mut len[first..]).await?;
    let n = u32::from_le_bytes(len);
    if n > MAX_FRAME_ITEMS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {n} items"),
        ));
    }
    let mut body = vec![0u8; n as usize * 8];
    r.read_exact(&mut body).await?;
    Ok(Some(
        body.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    ))
}

async fn producer_side(sock: TcpStream, tx: mpsc::Sender<Vec<u64>>) -> io::Result<()> {
    let mut r = BufReader::new(sock);
    while let Some(batch) = read_frame(&mut r).await? {
        tx.send(batch)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "queue closed"))?;
    }
    Ok(()) // dropping `tx` here is this producer's "close"
}

async fn consumer_side(
    sock: TcpStream,
    rx: Arc<Mutex<mpsc::Receiver<Vec<u64>>>>,
) -> io::Result<()> {
    let mut w = BufWriter::new(sock);
    loop {
        // The lock is held across `recv` so one consumer waits for the next batch while the others
        // queue on the (FIFO) mutex: the batch goes to exactly one of them.
        let next = rx.lock().await.recv().await;
        match next {
            Some(batch) => {
                write_frame(&mut w, &batch).await?;
                w.flush().await?;
            }
            None => break, // every producer side is gone and the queue is drained
        }
    }
    w.shutdown().await // FIN: the consumer client reads EOF after the last frame
}

/// The broker: accepts exactly `producers + consumers` connections, then serves them to the end.
pub async fn broker(
    listener: TcpListener,
    producers: u32,
    consumers: u32,
    queue: usize,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<Vec<u64>>(queue.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let mut tasks = JoinSet::new();
    for _ in 0..producers + consumers {
        let (mut sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let mut role = [0u8; 1];
        sock.read_exact(&mut role).await?;
        match role[0] {
            ROLE_PRODUCER => {
                tasks.spawn(producer_side(sock, tx.clone()));
            }
            ROLE_CONSUMER => {
                tasks.spawn(consumer_side(sock, rx.clone()));
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown role byte {other}"),
                ));
            }
        }
    }
    drop(listener);
    drop(tx); // only the producer sides hold senders now
    let mut first_err = None;
    while let Some(r) = tasks.join_next().await {
        let r = r.map_err(io::Error::other).and_then(|r| r);
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

async fn producer_client(addr: std::net::SocketAddr, p: u32, shape: Shape) -> io::Result<()> {
    let sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let mut w = BufWriter::new(sock);
    w.write_all(&[ROLE_PRODUCER]).await?;
    let items: Vec<u64> = (0..shape.per_producer).map(|s| item(p, s)).collect();
    for chunk in items.chunks(shape.batch.max(1) as usize) {
        write_frame(&mut w, chunk).await?;
    }
    w.flush().await?;
    w.shutdown().await // half-close: "no more frames"
}

async fn consumer_client(addr: std::net::SocketAddr) -> io::Result<Vec<u64>> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    sock.write_all(&[ROLE_CONSUMER]).await?;
    let mut r = BufReader::new(sock);
    let mut got = Vec::new();
    while let Some(batch) = read_frame(&mut r).await? {
        got.extend(batch);
    }
    Ok(got)
}

fn flatten<T>(r: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    r.map_err(io::Error::other).and_then(|r| r)
}

/// Runs the broker and its `N + M` clients on a runtime of its own (2 workers, threads named
/// `io-pc-tcp`), under `deadline`; the runtime is shut down before returning, so no thread outlives
/// the call.
pub fn run(shape: Shape, deadline: Duration) -> Result<TcpRun, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("io-pc-tcp")
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let out = rt.block_on(async move {
        let work = async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let t0 = Instant::now();
            let broker = tokio::spawn(broker(
                listener,
                shape.producers,
                shape.consumers,
                shape.queue,
            ));
            let consumers: Vec<_> = (0..shape.consumers)
                .map(|_| tokio::spawn(consumer_client(addr)))
                .collect();
            let producers: Vec<_> = (0..shape.producers)
                .map(|p| tokio::spawn(producer_client(addr, p, shape)))
                .collect();
            for p in producers {
                flatten(p.await)?;
            }
            let mut per_consumer = Vec::new();
            for c in consumers {
                per_consumer.push(flatten(c.await)?);
            }
            let elapsed = t0.elapsed();
            flatten(broker.await)?;
            Ok::<_, io::Error>(TcpRun {
                per_consumer,
                elapsed,
            })
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(r) => r.map_err(|e| format!("tcp run failed: {e}")),
            Err(_) => Err(format!("tcp run missed its {deadline:?} deadline")),
        }
    });
    // Aborts whatever a failed run left behind and joins the worker threads.
    rt.shutdown_timeout(Duration::from_secs(2));
    out
}
