//! `select`: Go's `select` is a statement; Rust has `crossbeam_channel::select!` for threads and
//! `tokio::select!` for tasks. Go disables a case by setting its channel to nil; crossbeam uses
//! `never()`, tokio an `Option` and an `if` guard. Fairness differs: Go and crossbeam pick a ready
//! case at random, `tokio::select!` does too unless told `biased;`, which starves the later cases.
use std::thread;

use crossbeam_channel::{Receiver as CbReceiver, never, select};
use harness::Ctx;

fn pct(n: usize, total: usize) -> String {
    format!("{:.1}%", 100.0 * n as f64 / total.max(1) as f64)
}

/// Merges `a` and `b` until both are closed; a closed case is replaced by `never()`.
fn merge_crossbeam(a: CbReceiver<u32>, b: CbReceiver<u32>) -> (Vec<u32>, usize) {
    let (mut a, mut b) = (Some(a), Some(b));
    let mut out = vec![];
    let mut disconnects = 0;
    let nothing = never::<u32>();
    while a.is_some() || b.is_some() {
        let ra = a.as_ref().unwrap_or(&nothing);
        let rb = b.as_ref().unwrap_or(&nothing);
        select! {
            recv(ra) -> v => match v {
                Ok(v) => out.push(v),
                Err(_) => { a = None; disconnects += 1; }
            },
            recv(rb) -> v => match v {
                Ok(v) => out.push(v),
                Err(_) => { b = None; disconnects += 1; }
            },
        }
    }
    (out, disconnects)
}

/// The same merge in tokio: a `None` receiver's branch is disabled by its guard.
async fn merge_tokio(
    a: tokio::sync::mpsc::Receiver<u32>,
    b: tokio::sync::mpsc::Receiver<u32>,
) -> (Vec<u32>, usize) {
    let (mut a, mut b) = (Some(a), Some(b));
    let mut out = vec![];
    let mut disconnects = 0;
    while a.is_some() || b.is_some() {
        tokio::select! {
            v = async { a.as_mut().expect("guarded").recv().await }, if a.is_some() => match v {
                Some(v) => out.push(v),
                None => { a = None; disconnects += 1; }
            },
            v = async { b.as_mut().expect("guarded").recv().await }, if b.is_some() => match v {
                Some(v) => out.push(v),
                None => { b = None; disconnects += 1; }
            },
        }
    }
    (out, disconnects)
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(5_000u32, 500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ch-select-rt")
        .enable_all()
        .build()
        .expect("tokio runtime");

    // Merge until both close.
    let (ta, ra) = crossbeam_channel::bounded(16);
    let (tb, rb) = crossbeam_channel::bounded(16);
    let pa = thread::spawn(move || {
        (0..n)
            .filter(|v| v % 2 == 0)
            .for_each(|v| ta.send(v).expect("open"))
    });
    let pb = thread::spawn(move || {
        (0..n)
            .filter(|v| v % 2 == 1)
            .for_each(|v| tb.send(v).expect("open"))
    });
    let (mut cb_merged, cb_disc) = merge_crossbeam(ra, rb);
    pa.join().expect("producer a");
    pb.join().expect("producer b");
    cb_merged.sort_unstable();
    let (tk_merged, tk_disc) = rt.block_on(async move {
        let (ta, ra) = tokio::sync::mpsc::channel(16);
        let (tb, rb) = tokio::sync::mpsc::channel(16);
        let pa = tokio::spawn(async move {
            for v in (0..n).filter(|v| v % 2 == 0) {
                ta.send(v).await.expect("open");
            }
        });
        let pb = tokio::spawn(async move {
            for v in (0..n).filter(|v| v % 2 == 1) {
                tb.send(v).await.expect("open");
            }
        });
        let merged = merge_tokio(ra, rb).await;
        pa.await.expect("producer a");
        pb.await.expect("producer b");
        merged
    });
    let mut tk_merged = tk_merged;
    tk_merged.sort_unstable();
    let expected: Vec<u32> = (0..n).collect();
    let mut t = ctx.table(
        "merge two channels until both close (evens on a, odds on b)",
        &[
            "select",
            "disable a closed case with",
            "values merged",
            "disconnects handled",
        ],
    );
    t.row([
        "crossbeam select!".to_string(),
        "never()".into(),
        cb_merged.len().to_string(),
        cb_disc.to_string(),
    ]);
    t.row([
        "tokio::select!".to_string(),
        "Option + `if` guard".into(),
        tk_merged.len().to_string(),
        tk_disc.to_string(),
    ]);
    ctx.show(t);
    ctx.check(
        "crossbeam merge: the exact multiset 0..n, each closed case seen once",
        cb_merged == expected && cb_disc == 2,
    );
    ctx.check(
        "tokio merge: the exact multiset 0..n, each closed case seen once",
        tk_merged == expected && tk_disc == 2,
    );

    // Fairness with both sources always ready.
    let rounds = ctx.pick(20_000usize, 2_000);
    let (xa, ya) = crossbeam_channel::unbounded::<()>();
    let (xb, yb) = crossbeam_channel::unbounded::<()>();
    for _ in 0..rounds {
        xa.send(()).expect("open");
        xb.send(()).expect("open");
    }
    let (mut cb_a, mut cb_b) = (0, 0);
    for _ in 0..rounds {
        select! {
            recv(ya) -> _ => cb_a += 1,
            recv(yb) -> _ => cb_b += 1,
        }
    }
    let tokio_share = |biased: bool| {
        rt.block_on(async move {
            let (xa, mut ya) = tokio::sync::mpsc::unbounded_channel::<()>();
            let (xb, mut yb) = tokio::sync::mpsc::unbounded_channel::<()>();
            for _ in 0..rounds {
                xa.send(()).expect("open");
                xb.send(()).expect("open");
            }
            let (mut a, mut b) = (0usize, 0usize);
            for _ in 0..rounds {
                if biased {
                    tokio::select! { biased; _ = ya.recv() => a += 1, _ = yb.recv() => b += 1 }
                } else {
                    tokio::select! { _ = ya.recv() => a += 1, _ = yb.recv() => b += 1 }
                }
            }
            (a, b)
        })
    };
    let (tr_a, tr_b) = tokio_share(false);
    let (tb_a, tb_b) = tokio_share(true);
    let mut f = ctx.table(
        format!("fairness: {rounds} selects, both sources always ready"),
        &["select", "source a", "source b"],
    );
    f.row([
        "crossbeam select! (random)".to_string(),
        pct(cb_a, rounds),
        pct(cb_b, rounds),
    ]);
    f.row([
        "tokio::select! (random)".to_string(),
        pct(tr_a, rounds),
        pct(tr_b, rounds),
    ]);
    f.row([
        "tokio::select! { biased; }".to_string(),
        pct(tb_a, rounds),
        pct(tb_b, rounds),
    ]);
    ctx.show(f);
    for (k, v) in [
        ("crossbeam_share_a", cb_a),
        ("tokio_random_share_a", tr_a),
        ("tokio_biased_share_a", tb_a),
    ] {
        ctx.record(k, v as f64 / rounds as f64);
    }
    // A fair coin over ≥ 2000 draws lands within 35..65% with overwhelming probability.
    let fair = |a: usize| (0.35..=0.65).contains(&(a as f64 / rounds as f64));
    ctx.check_with(
        "crossbeam select! is random: each source gets 35-65%",
        fair(cb_a),
        pct(cb_a, rounds),
    );
    ctx.check_with(
        "tokio::select! (default) is random: each source gets 35-65%",
        fair(tr_a),
        pct(tr_a, rounds),
    );
    ctx.check_with(
        "tokio::select! { biased; } starves the second source completely",
        tb_b == 0 && tb_a == rounds,
        pct(tb_b, rounds),
    );
    ctx.takeaway(format!(
        "With both sources always ready, a biased select gave the second one {} of the turns; random \
         selection gave it {} (crossbeam) and {} (tokio). Use `biased;` only for priority, never for fairness.",
        pct(tb_b, rounds),
        pct(cb_b, rounds),
        pct(tr_b, rounds)
    ));
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
}
