//! `waitgroup`: four ways to wait for N workers, and the misuses Go allows.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::exercise::expect_panic;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;

use crate::sync::WaitGroup;

const WORKERS: u64 = 4;

/// The job every approach runs: a checksum over `lo..hi`.
fn work(lo: u64, hi: u64) -> u64 {
    (lo..hi).fold(0u64, |acc, x| {
        acc.wrapping_add(black_box(x).wrapping_mul(x) % 7)
    })
}

fn chunks(n: u64) -> impl Iterator<Item = (u64, u64)> {
    let step = n / WORKERS;
    (0..WORKERS).map(move |w| (w * step, if w == WORKERS - 1 { n } else { (w + 1) * step }))
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "Go waits for goroutines with a WaitGroup: Add(n) before starting them, Done() in each, Wait() in\n\
         the parent. Rust offers that (ours, crossbeam's) and two ways that need no counter: a scope that\n\
         joins its threads, and tokio's JoinSet that owns its tasks. Same job for each: 4 workers, one checksum.",
    );
    let n: u64 = ctx.pick(8_000_000, 400_000);
    let expected = work(0, n);
    let mut t = ctx.table(
        "4 workers, one job, waited for four ways",
        &["approach", "elapsed", "result ok", "waiting is…"],
    );
    let mut all_ok = true;
    let mut times = Vec::new();
    // The WaitGroup workers are detached threads (that is the point of a WaitGroup): check they exit.
    let leaks = ThreadLeakCheck::named("wg-");

    // Ours: Go-shaped add/done/wait, threads own an Arc.
    let t0 = Instant::now();
    let wg = Arc::new(WaitGroup::new());
    let total = Arc::new(AtomicU64::new(0));
    wg.add(WORKERS as u32);
    for (lo, hi) in chunks(n) {
        let (wg, total) = (wg.clone(), total.clone());
        thread::Builder::new()
            .name("wg-ours".into())
            .spawn(move || {
                total.fetch_add(work(lo, hi), SeqCst);
                wg.done();
            })
            .expect("spawn");
    }
    wg.wait();
    let ok = total.load(SeqCst) == expected;
    all_ok &= ok;
    t.row([
        "ours: WaitGroup add/done/wait".to_string(),
        {
            times.push(t0.elapsed());
            fmt_duration(t0.elapsed())
        },
        ok.to_string(),
        "a counter on a futex; done() past zero panics".into(),
    ]);

    // crossbeam: the counter is the number of live clones.
    let t0 = Instant::now();
    let wg = crossbeam::sync::WaitGroup::new();
    let total = Arc::new(AtomicU64::new(0));
    for (lo, hi) in chunks(n) {
        let (member, total) = (wg.clone(), total.clone());
        thread::Builder::new()
            .name("wg-crossbeam".into())
            .spawn(move || {
                total.fetch_add(work(lo, hi), SeqCst);
                drop(member);
            })
            .expect("spawn");
    }
    wg.wait();
    let ok = total.load(SeqCst) == expected;
    all_ok &= ok;
    t.row([
        "crossbeam::sync::WaitGroup".to_string(),
        {
            times.push(t0.elapsed());
            fmt_duration(t0.elapsed())
        },
        ok.to_string(),
        "one clone per member; drop = Done; wait(self)".into(),
    ]);

    // std::thread::scope: no counter at all.
    let t0 = Instant::now();
    let sum: u64 = thread::scope(|s| {
        let hs: Vec<_> = chunks(n)
            .map(|(lo, hi)| s.spawn(move || work(lo, hi)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("worker"))
            .fold(0u64, u64::wrapping_add)
    });
    let ok = sum == expected;
    all_ok &= ok;
    t.row([
        "std::thread::scope".to_string(),
        {
            times.push(t0.elapsed());
            fmt_duration(t0.elapsed())
        },
        ok.to_string(),
        "the scope joins every thread it spawned; borrows allowed".into(),
    ]);

    // tokio JoinSet: the set owns the tasks.
    let t0 = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("wg-tokio")
        .build()
        .expect("tokio runtime");
    let sum = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (lo, hi) in chunks(n) {
            set.spawn_blocking(move || work(lo, hi));
        }
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            sum = sum.wrapping_add(r.expect("task"));
        }
        sum
    });
    drop(rt);
    let ok = sum == expected;
    all_ok &= ok;
    t.row([
        "tokio::task::JoinSet".to_string(),
        {
            times.push(t0.elapsed());
            fmt_duration(t0.elapsed())
        },
        ok.to_string(),
        "the set owns its tasks; join_next() until None".into(),
    ]);
    ctx.show(t);
    ctx.check(
        "all four approaches waited for every worker (exact checksum)",
        all_ok,
    );
    let leaked = leaks.leaked_after(Duration::from_secs(2));
    ctx.check_with(
        "every detached worker thread has exited",
        leaked.is_empty(),
        format!("{} still alive", leaked.len()),
    );

    // The misuses.
    let mut m = ctx.table(
        "Go's WaitGroup misuses, in Rust",
        &["misuse", "API", "what happens (run here)"],
    );
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let negative = expect_panic(|| wg.done());
    let negative_caught =
        matches!(&negative, Err(msg) if msg.contains("negative")) && wg.outstanding() == 0;
    m.row([
        "Done() once too often (Go: panic: negative counter)",
        "ours add/done",
        &match &negative {
            Err(msg) => format!("panics: \"{msg}\"; counter stays 0"),
            Ok(()) => "no panic (!)".to_string(),
        },
    ]);
    let tokens = WaitGroup::new();
    let token = tokens.enter();
    let before = tokens.outstanding();
    drop(token);
    m.row([
        "Done() once too often",
        "ours enter() -> WorkToken",
        &format!(
            "impossible: done is the token's Drop (outstanding {before} -> {}); a second drop does not compile",
            tokens.outstanding()
        ),
    ]);
    m.row([
        "Done() once too often",
        "crossbeam WaitGroup",
        "impossible: members are clones; there is nothing to call without a clone to drop",
    ]);
    m.row([
        "forgetting Wait / Done",
        "thread::scope, JoinSet",
        "no counter to get wrong: the scope/set joins what it spawned",
    ]);

    // Add after Wait: ours waits for an add that happens-before the wait; a new round after it is fine.
    let wg = Arc::new(WaitGroup::new());
    wg.wait(); // zero: returns at once
    let flag = Arc::new(AtomicBool::new(false));
    wg.add(1); // "Add after Wait": a second round
    let h = {
        let (wg, flag) = (wg.clone(), flag.clone());
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            flag.store(true, SeqCst);
            wg.done();
        })
    };
    wg.wait();
    let reuse_waited = flag.load(SeqCst);
    h.join().expect("worker");
    m.row([
        "Add after Wait (Go: reuse race)",
        "ours",
        &format!(
            "an add that happens-before wait is waited for (round 2 waited: {reuse_waited}); one racing with wait may be missed, as in Go"
        ),
    ]);
    m.row([
        "Add after Wait",
        "crossbeam WaitGroup",
        "wait(self) consumes the handle: no clone can be made from it afterwards (compile error)",
    ]);
    m.row([
        "Add after Wait",
        "thread::scope",
        "spawning after the scope returned is a compile error (the Scope borrow ended)",
    ]);
    ctx.show(m);
    ctx.check_with(
        "ours: a done() without add() panics with a clear message",
        negative_caught,
        negative.err().unwrap_or_default(),
    );
    ctx.check(
        "ours: a WaitGroup reused after wait() waits for the new round",
        reuse_waited,
    );
    let fastest = times.iter().min().copied().unwrap_or_default();
    let slowest = times.iter().max().copied().unwrap_or_default();
    ctx.takeaway(format!(
        "the four took {} … {}, run to run the order changes (spawning and the work dominate, not the wait): choose by safety — thread::scope or JoinSet have no counter to get wrong",
        fmt_duration(fastest),
        fmt_duration(slowest)
    ));
}
