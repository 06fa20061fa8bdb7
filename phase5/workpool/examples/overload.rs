//! Overload: work arrives at twice what the pool can do, for 3 s. A bounded queue keeps memory
//! within its bound (and says no, or slows the caller down); an unbounded one grows without limit.
//!
//! ```text
//! cargo run --release -p workpool --example overload                    # ~10 s
//! cargo run --release -p workpool --example overload -- --with-unbounded # adds ours, unbounded (~13 s)
//! ```
//!
//! Each task sleeps 1 ms holding an 8 KiB payload (a request body, say) allocated and written by the
//! submitter; 2 workers, so the pool's capacity is at most 2 000 tasks/s (a little less: a 1 ms sleep
//! lasts ~1.06 ms). One submitter offers 4 000 tasks/s on a fixed schedule (open loop: when it falls
//! behind, it catches up at once) for 3 s. Rows:
//!
//! - `ours, Reject`: the defaults' queue (1024 slots) with `Overflow::Reject`: the excess is refused.
//! - `ours, Block`: the defaults (1024 slots, `Overflow::Block`): the submitter waits for room, so the
//!   arrivals slow to the pool's pace (it offers fewer tasks in its 3 s).
//! - `threadpool`: `threadpool::ThreadPool::new(2)`, an unbounded queue: everything is admitted and
//!   the backlog (and the memory holding it) grows for as long as the overload lasts.
//! - with `--with-unbounded`, `ours, unbounded`: ours with `Queue::Unbounded`: grows like threadpool
//!   (it is the bound that holds memory, not the implementation).
//!
//! Each row runs in a child process of its own (this binary, re-run with `--child ROW`), so one row's
//! heap growth cannot hide another's (a process keeps freed heap pages for reuse). Queued tasks are
//! measured, not read from the pool: admitted minus started, counted by the submitter and by the tasks.
//! RSS is `VmRSS` of `/proc/self/status`, sampled every 5 ms. A row stops after 3 s without draining
//! its backlog (the process exits).
use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use workpool::{Overflow, Pool, Queue};

const WORKERS: usize = 2;
const TASK: Duration = Duration::from_millis(1);
const ARRIVALS_PER_SEC: u64 = 4_000;
const RUN: Duration = Duration::from_secs(3);
const PAYLOAD: usize = 8 * 1024;
const DEFAULT_QUEUE: usize = 1024;

const ROWS: [&str; 3] = ["ours-reject", "ours-block", "threadpool"];

/// One row, as the child prints it (tab-separated, in this order).
#[derive(Debug, Default)]
struct Row {
    offered: u64,
    admitted: u64,
    refused: u64,
    completed: u64,
    peak_queued: u64,
    end_queued: u64,
    rss_start_kib: u64,
    rss_peak_kib: u64,
    blocked: Duration,
}

enum Subject {
    Ours(Pool),
    Threadpool(threadpool::ThreadPool),
}

impl Subject {
    fn new(row: &str) -> Subject {
        let ours = |queue, overflow| {
            Subject::Ours(
                Pool::builder()
                    .name("overload")
                    .workers(WORKERS)
                    .queue(queue)
                    .overflow(overflow)
                    .build()
                    .expect("pool"),
            )
        };
        match row {
            "ours-reject" => ours(Queue::Bounded(DEFAULT_QUEUE), Overflow::Reject),
            "ours-block" => ours(Queue::Bounded(DEFAULT_QUEUE), Overflow::Block),
            "ours-unbounded" => ours(Queue::Unbounded, Overflow::Block),
            "threadpool" => Subject::Threadpool(threadpool::ThreadPool::new(WORKERS)),
            other => panic!("unknown row {other}"),
        }
    }

    /// True when the task was admitted.
    fn submit(&self, task: impl FnOnce() + Send + 'static) -> bool {
        match self {
            Subject::Ours(pool) => pool.execute(task).is_ok(),
            Subject::Threadpool(pool) => {
                pool.execute(task);
                true
            }
        }
    }
}

/// This process's resident set, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs one row in this process.
fn child(row: &str) -> Row {
    let subject = Subject::new(row);
    let admitted = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let peak_queued = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let rss_start_kib = rss_kib();
    // Relaxed throughout: these are statistics read by the sampler, which tolerates a value stale by
    // one sample. The difference saturates: a task may start before its submitter counts it admitted.
    let sampler = {
        let (admitted, started) = (admitted.clone(), started.clone());
        let (peak_queued, peak_rss, sampling) =
            (peak_queued.clone(), peak_rss.clone(), sampling.clone());
        thread::spawn(move || {
            while sampling.load(Relaxed) {
                let s = started.load(Relaxed);
                peak_queued.fetch_max(admitted.load(Relaxed).saturating_sub(s), Relaxed);
                peak_rss.fetch_max(rss_kib(), Relaxed);
                thread::sleep(Duration::from_millis(5));
            }
        })
    };

    let gap = Duration::from_nanos(1_000_000_000 / ARRIVALS_PER_SEC);
    let mut out = Row {
        rss_start_kib,
        ..Row::default()
    };
    let scheduled = ARRIVALS_PER_SEC * RUN.as_secs();
    let t0 = Instant::now();
    let mut due = t0;
    while out.offered < scheduled && t0.elapsed() < RUN {
        let now = Instant::now();
        if now < due {
            thread::sleep(due - now);
        }
        due += gap;
        let payload = vec![0xA5u8; PAYLOAD];
        let (started, completed) = (started.clone(), completed.clone());
        let task = move || {
            started.fetch_add(1, Relaxed);
            thread::sleep(TASK);
            black_box(&payload);
            completed.fetch_add(1, Relaxed);
        };
        let submit_start = Instant::now();
        let ok = subject.submit(task);
        out.blocked += submit_start.elapsed();
        out.offered += 1;
        if ok {
            admitted.fetch_add(1, Relaxed);
        } else {
            out.refused += 1;
        }
    }
    sampling.store(false, Relaxed);
    sampler.join().expect("the sampler panicked");
    out.admitted = admitted.load(Relaxed);
    out.completed = completed.load(Relaxed);
    out.end_queued = out.admitted.saturating_sub(started.load(Relaxed));
    out.peak_queued = peak_queued.load(Relaxed).max(out.end_queued);
    out.rss_peak_kib = peak_rss.load(Relaxed).max(rss_kib());
    out
}

fn print_row(r: &Row) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        r.offered,
        r.admitted,
        r.refused,
        r.completed,
        r.peak_queued,
        r.end_queued,
        r.rss_start_kib,
        r.rss_peak_kib,
        r.blocked.as_micros()
    );
}

fn parse_row(line: &str) -> Option<Row> {
    let f: Vec<u64> = line
        .trim()
        .split('\t')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [
        offered,
        admitted,
        refused,
        completed,
        peak_queued,
        end_queued,
        start,
        peak,
        blocked,
    ] = f[..]
    else {
        return None;
    };
    Some(Row {
        offered,
        admitted,
        refused,
        completed,
        peak_queued,
        end_queued,
        rss_start_kib: start,
        rss_peak_kib: peak,
        blocked: Duration::from_micros(blocked),
    })
}

fn label(row: &str) -> &'static str {
    match row {
        "ours-reject" => "ours, 1024, Reject",
        "ours-block" => "ours, 1024, Block",
        "ours-unbounded" => "ours, unbounded",
        "threadpool" => "threadpool (unbounded)",
        _ => "?",
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, row] = &args[..]
        && flag == "--child"
    {
        print_row(&child(row));
        // The backlog is not drained: the row is over.
        std::process::exit(0);
    }
    let mut rows = ROWS.to_vec();
    match &args[..] {
        [] => {}
        [flag] if flag == "--with-unbounded" => rows.insert(2, "ours-unbounded"),
        _ => {
            eprintln!("usage: overload [--with-unbounded]");
            return ExitCode::from(2);
        }
    }
    let exe = std::env::current_exe().expect("own path");
    let offered = ARRIVALS_PER_SEC * RUN.as_secs();
    println!(
        "Overload: {ARRIVALS_PER_SEC} tasks/s offered for {} s to {WORKERS} workers (capacity ≤ {} tasks/s),",
        RUN.as_secs(),
        WORKERS as u64 * 1000 / TASK.as_millis() as u64
    );
    println!(
        "each task sleeps {} ms holding {} KiB. Schedule: {offered} arrivals.\n",
        TASK.as_millis(),
        PAYLOAD / 1024
    );
    println!(
        "{:<24} {:>8} {:>9} {:>8} {:>8} {:>14} {:>18} {:>9}",
        "pool",
        "offered",
        "admitted",
        "refused",
        "ran",
        "queued pk/end",
        "RSS MiB start→pk",
        "blocked"
    );
    let mut failed = false;
    for row in rows {
        let output = Command::new(&exe).args(["--child", row]).output();
        let parsed = output
            .as_ref()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| parse_row(&String::from_utf8_lossy(&o.stdout)));
        let Some(r) = parsed else {
            eprintln!("{}: the child run failed: {output:?}", label(row));
            failed = true;
            continue;
        };
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "{:<24} {:>8} {:>9} {:>8} {:>8} {:>14} {:>18} {:>8.2}s",
            label(row),
            r.offered,
            r.admitted,
            r.refused,
            r.completed,
            format!("{}/{}", r.peak_queued, r.end_queued),
            format!(
                "{:.1}→{:.1} (+{:.1})",
                mib(r.rss_start_kib),
                mib(r.rss_peak_kib),
                mib(r.rss_peak_kib.saturating_sub(r.rss_start_kib))
            ),
            r.blocked.as_secs_f64()
        );
    }
    println!(
        "\nqueued = admitted − started (measured by the tasks, not read from the pool); ran = tasks \
         finished within the 3 s; blocked = time the submitter spent inside submit. A bounded queue \
         holds at most {DEFAULT_QUEUE} × {} KiB = {} MiB of payload.",
        PAYLOAD / 1024,
        DEFAULT_QUEUE * PAYLOAD / (1024 * 1024)
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
