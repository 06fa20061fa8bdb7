//! `shutdown`: a graceful stop of a loopback TCP service. Go: `srv.Shutdown(ctx)` on SIGTERM. Here
//! the service of `context::server` runs in-process and its stop is a `Context` we cancel (the
//! `serve` mode wires SIGTERM/SIGINT to the same future; `tests/context_shutdown.rs` drives that mode
//! as a child process with a real SIGTERM). Short requests must finish in the drain window, long ones
//! must be answered `CANCELLED` at its end, new connections must be refused, and none may be lost.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::alive_tasks_after;
use harness::stats::fmt_duration;
use tokio::net::{TcpListener, TcpStream};

use crate::context::Context;
use crate::context::server::{Reply, ServeReport, request, serve};

pub(crate) fn run(ctx: &mut Ctx) {
    let short = Duration::from_millis(ctx.pick(300, 100));
    let long = Duration::from_secs(30);
    let drain = Duration::from_millis(ctx.pick(1_000, 400));
    let (n_short, n_long) = (6, 2);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ctx-shutdown")
        .enable_all()
        .build()
        .expect("runtime");
    let handle = rt.handle().clone();
    let outcome = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Context::background();
        let stop2 = stop.clone();
        let server = tokio::spawn(async move {
            serve(
                listener,
                Context::background(),
                async move {
                    stop2.cancelled().await;
                },
                drain,
            )
            .await
        });
        let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut clients = Vec::new();
        for i in 0..n_short + n_long {
            let work = if i < n_short { short } else { long };
            clients.push(tokio::spawn(request(addr, work, ack_tx.clone())));
        }
        drop(ack_tx);
        // Every request in flight (acknowledged) before the stop.
        let mut acked = 0;
        let all_acked = tokio::time::timeout(Duration::from_secs(10), async {
            while acked < n_short + n_long && ack_rx.recv().await.is_some() {
                acked += 1;
            }
        })
        .await
        .is_ok();
        let stopped = Instant::now();
        stop.cancel();
        // A connection attempt after the stop: refused once the listener is dropped.
        let refused = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match TcpStream::connect(addr).await {
                    Err(_) => return true,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        })
        .await
        .unwrap_or(false);
        let mut replies = Vec::new();
        for c in clients {
            let r = tokio::time::timeout(Duration::from_secs(10), c).await;
            let r = r.ok().and_then(Result::ok).unwrap_or(Reply::Lost);
            replies.push((r, stopped.elapsed()));
        }
        let report = tokio::time::timeout(drain + Duration::from_secs(10), server)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        (all_acked, refused, replies, report)
    });
    let alive = alive_tasks_after(&handle, 0, Duration::from_secs(2));
    drop(rt);
    let (all_acked, refused, replies, report): (bool, bool, Vec<(Reply, Duration)>, ServeReport) =
        outcome;

    let mut t = ctx.table(
        format!(
            "{n_short} short ({}) + {n_long} long ({}) requests in flight, then stop; drain {}",
            fmt_duration(short),
            fmt_duration(long),
            fmt_duration(drain)
        ),
        &[
            "requests",
            "answer",
            "count",
            "answered after the stop, max",
        ],
    );
    let group = |range: std::ops::Range<usize>| {
        let rs = &replies[range];
        let kinds: Vec<&Reply> = rs.iter().map(|(r, _)| r).collect();
        let worst = rs.iter().map(|(_, d)| *d).max().unwrap_or_default();
        (kinds, worst)
    };
    let (short_r, short_t) = group(0..n_short);
    let (long_r, long_t) = group(n_short..n_short + n_long);
    let summarize = |rs: &[&Reply]| {
        let mut v: Vec<String> = Vec::new();
        for kind in [
            Reply::Done,
            Reply::Cancelled,
            Reply::NotAccepted,
            Reply::Lost,
        ] {
            let c = rs.iter().filter(|r| ***r == kind).count();
            if c > 0 {
                v.push(format!("{kind:?}"));
            }
        }
        v.join(", ")
    };
    t.row([
        "short".to_string(),
        summarize(&short_r),
        short_r.len().to_string(),
        fmt_duration(short_t),
    ]);
    t.row([
        "long".to_string(),
        summarize(&long_r),
        long_r.len().to_string(),
        fmt_duration(long_t),
    ]);
    ctx.show(t);
    ctx.say(format!(
        "server: {} connections, {} accepted, {} completed, {} cancelled, drained in time: {}, \
         shutdown took {}; a connect after the stop was refused: {refused}; live tasks after: {alive}.",
        report.connections,
        report.accepted,
        report.completed,
        report.cancelled,
        report.drained_in_time,
        fmt_duration(report.shutdown_took)
    ));
    ctx.record("shutdown_took_ms", report.shutdown_took.as_millis() as u64);
    ctx.check(
        "all 8 requests were in flight (acknowledged) before the stop",
        all_acked,
    );
    ctx.check(
        "no accepted request lost: accepted = completed + cancelled, and every client got an answer",
        report.none_lost()
            && report.accepted == n_short + n_long
            && replies.iter().all(|(r, _)| matches!(r, Reply::Done | Reply::Cancelled)),
    );
    ctx.check(
        "short requests finished within the drain (Done); long ones were cancelled at its end",
        short_r.iter().all(|r| **r == Reply::Done)
            && long_r.iter().all(|r| **r == Reply::Cancelled),
    );
    ctx.check("new connections are refused after the stop", refused);
    ctx.check_with(
        "the shutdown waited for the drain deadline, then ended (well under the long requests' 30 s)",
        report.shutdown_took >= drain && report.shutdown_took < long / 2,
        format!("took {}", fmt_duration(report.shutdown_took)),
    );
    ctx.check("no task left on the runtime", alive == 0);
    ctx.takeaway(format!(
        "Stop accepting, drain, then cancel: {} of {} accepted requests completed, {} were answered \
         CANCELLED at the {} drain deadline, none lost; the service was down {} after the stop.",
        report.completed,
        report.accepted,
        report.cancelled,
        fmt_duration(drain),
        fmt_duration(report.shutdown_took)
    ));
}
