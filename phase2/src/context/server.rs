//! The loopback service of the `shutdown` section, also run alone by `exercise4 serve`.
//!
//! Go: `srv.Shutdown(ctx)` — close the listeners, wait for active connections until the context's
//! deadline, then return. Rust: nothing built in; the same three steps with a listener we drop, a
//! `TaskTracker` we wait on with a timeout, and a [`Context`] whose cancel reaches every handler.
//!
//! Protocol, one request per connection, line-based: the client sends the work time in milliseconds
//! (`"250\n"`); the server answers `ACK <id>` as soon as it has the request (from then on the request
//! is *accepted*), then `DONE <id>` when the work is finished, or `CANCELLED <id>` if the drain
//! deadline passed first. Every accepted request gets exactly one of the two: none is lost.
use super::Context;
use std::future::Future;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

/// What the service did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeReport {
    /// Connections accepted from the listener.
    pub connections: usize,
    /// Requests read and acknowledged (`ACK` sent).
    pub accepted: usize,
    /// Accepted requests answered `DONE`.
    pub completed: usize,
    /// Accepted requests answered `CANCELLED` (the drain deadline passed first).
    pub cancelled: usize,
    /// Connections closed before a request arrived (idle at the cancel) or broken by the client.
    pub dropped_idle: usize,
    /// Whether the drain finished by the deadline (false: the rest were cancelled).
    pub drained_in_time: bool,
    /// From the stop signal to the return of `serve`.
    pub shutdown_took: Duration,
}

impl ServeReport {
    /// Every accepted request got its answer.
    pub fn none_lost(&self) -> bool {
        self.accepted == self.completed + self.cancelled
    }
}

/// Shared counters of one `serve` (relaxed atomics: they are only read after every handler has
/// finished, and `TaskTracker::wait` provides that happens-before).
#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    accepted: AtomicUsize,
    completed: AtomicUsize,
    cancelled: AtomicUsize,
    dropped_idle: AtomicUsize,
}

/// Serves on `listener` until `stop` resolves; then stops accepting (the listener is dropped, so new
/// connections are refused), lets in-flight requests finish for up to `drain`, cancels the rest
/// through `root` and waits for their `CANCELLED` answers. Returns once no handler task is left.
pub async fn serve(
    listener: TcpListener,
    root: Context,
    stop: impl Future<Output = ()>,
    drain: Duration,
) -> ServeReport {
    let tracker = TaskTracker::new();
    let counters = Arc::new(Counters::default());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            // Prefer the stop: once it has fired, accept nothing more.
            biased;
            () = &mut stop => break,
            conn = listener.accept() => {
                let Ok((stream, _)) = conn else { continue };
                // Relaxed: a count, read after `tracker.wait()` (see `Counters`).
                let id = counters.connections.fetch_add(1, Ordering::Relaxed);
                tracker.spawn(handle(stream, id, root.child(), counters.clone()));
            }
        }
    }
    let stopped = Instant::now();
    drop(listener);
    tracker.close();
    let drained_in_time = tokio::time::timeout(drain, tracker.wait()).await.is_ok();
    if !drained_in_time {
        root.cancel();
        tracker.wait().await;
    }
    // Relaxed loads: every handler has finished (`tracker.wait()` returned), which orders their
    // increments before these reads.
    ServeReport {
        connections: counters.connections.load(Ordering::Relaxed),
        accepted: counters.accepted.load(Ordering::Relaxed),
        completed: counters.completed.load(Ordering::Relaxed),
        cancelled: counters.cancelled.load(Ordering::Relaxed),
        dropped_idle: counters.dropped_idle.load(Ordering::Relaxed),
        drained_in_time,
        shutdown_took: stopped.elapsed(),
    }
}

/// One connection: read the request (or give up at the cancel), acknowledge, work, answer.
/// Every counter update here is a Relaxed `fetch_add`: see `Counters` for why that suffices.
async fn handle(stream: TcpStream, id: usize, ctx: Context, counters: Arc<Counters>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read);
    let got = tokio::select! {
        r = reader.read_line(&mut line) => matches!(r, Ok(n) if n > 0),
        _ = ctx.cancelled() => false,
    };
    let work = line.trim().parse::<u64>().ok().filter(|_| got);
    let Some(ms) = work else {
        counters.dropped_idle.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if write
        .write_all(format!("ACK {id}\n").as_bytes())
        .await
        .is_err()
    {
        counters.dropped_idle.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // From here the request is accepted: it must be answered, whatever happens.
    counters.accepted.fetch_add(1, Ordering::Relaxed);
    let answer = tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(ms)) => {
            counters.completed.fetch_add(1, Ordering::Relaxed);
            format!("DONE {id}\n")
        }
        _ = ctx.cancelled() => {
            counters.cancelled.fetch_add(1, Ordering::Relaxed);
            format!("CANCELLED {id}\n")
        }
    };
    // A client that hung up cannot be answered; the count above still records the outcome.
    let _ = write.write_all(answer.as_bytes()).await;
    let _ = write.shutdown().await;
}

/// What a client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `DONE`.
    Done,
    /// `CANCELLED`.
    Cancelled,
    /// Connected, but the request was never acknowledged (refused, reset or closed first).
    NotAccepted,
    /// Acknowledged, then the connection ended with no answer: a lost request.
    Lost,
}

/// A client: connects, asks for `work`, reports on `acked` when the `ACK` arrives, returns the answer.
pub async fn request(
    addr: std::net::SocketAddr,
    work: Duration,
    acked: tokio::sync::mpsc::UnboundedSender<()>,
) -> Reply {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return Reply::NotAccepted;
    };
    let (read, mut write) = stream.into_split();
    let req = format!("{}\n", work.as_millis());
    if write.write_all(req.as_bytes()).await.is_err() {
        return Reply::NotAccepted;
    }
    let mut lines = BufReader::new(read).lines();
    match lines.next_line().await {
        Ok(Some(l)) if l.starts_with("ACK ") => {}
        _ => return Reply::NotAccepted,
    }
    let _ = acked.send(());
    match lines.next_line().await {
        Ok(Some(l)) if l.starts_with("DONE ") => Reply::Done,
        Ok(Some(l)) if l.starts_with("CANCELLED ") => Reply::Cancelled,
        _ => Reply::Lost,
    }
}

/// The binary's hook (`exercise_main!(…, before = …)`): `exercise4 serve [DRAIN_MS]` runs
/// [`serve_main`]; any other command line goes to the exercise.
pub fn before(args: Vec<std::ffi::OsString>) -> harness::exercise::Before {
    use harness::exercise::Before;
    if args.get(1).is_some_and(|a| a == "serve") {
        let rest: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Before::Exit(serve_main(&rest));
    }
    Before::Run(args)
}

/// `exercise4 serve [DRAIN_MS]`: the service alone, on 127.0.0.1 with an OS-chosen port, until
/// SIGTERM or SIGINT. Prints `listening <port>` first and `report ...` last, on stdout; exits 0 if no
/// accepted request was lost, 1 otherwise, 2 on bad arguments.
pub fn serve_main(args: &[String]) -> std::process::ExitCode {
    use std::process::ExitCode;
    let drain = match args {
        [] => Duration::from_secs(2),
        [ms] => match ms.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                eprintln!("usage: exercise4 serve [DRAIN_MS]  (got {ms:?})");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: exercise4 serve [DRAIN_MS]");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ctx-serve")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // Install the handlers before announcing the port: a SIGTERM sent as soon as the port is
        // known must be caught, not kill the process.
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        println!("listening {port}");
        let _ = std::io::stdout().flush();
        let stop = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        serve(listener, Context::background(), stop, drain).await
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    println!(
        "report connections={} accepted={} completed={} cancelled={} idle={} drained_in_time={} shutdown_ms={}",
        report.connections,
        report.accepted,
        report.completed,
        report.cancelled,
        report.dropped_idle,
        report.drained_in_time,
        report.shutdown_took.as_millis()
    );
    let _ = std::io::stdout().flush();
    if report.none_lost() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
