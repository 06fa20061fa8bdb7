//! The work-stealing pool (`phase3::steal::scheduler`): the same result as sequential on the
//! unbalanced workload (on our deque and on crossbeam-deque), stealing actually happens, panics
//! propagate out of `join` and `install`, and dropping the pool leaves no thread behind.
#![cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness::contracts::deque::{CrossbeamDeque, WorkDeque};
use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase3::steal::ChaseLev;
use phase3::steal::scheduler::{StealingPool, WorkerCtx};
use phase3::steal::workload;

const DEADLINE: Duration = Duration::from_secs(60);

/// Shrinks a size under Miri, which interprets every step (`cargo +nightly miri test -p phase3
/// --test steal_scheduler`).
const fn size(native: u64, miri: u64) -> u64 {
    if cfg!(miri) { miri } else { native }
}

fn same_as_sequential<D: WorkDeque>() {
    within(DEADLINE, || {
        let pool = StealingPool::<D>::new(4);
        let sizes: &[u64] = if cfg!(miri) {
            &[0, 1, 100, 513, 3_000]
        } else {
            &[0, 1, 100, 513, 20_000, 300_000]
        };
        for &n in sizes {
            let expected = workload::sequential(7, n);
            let got = pool.install(|ctx| workload::ours(ctx, 7, n));
            assert_eq!(got, expected, "{}: n = {n}", D::NAME);
        }
    })
}

#[test]
fn same_result_as_sequential_on_our_deque() {
    same_as_sequential::<ChaseLev>();
}

#[test]
fn same_result_as_sequential_on_crossbeam_deque() {
    same_as_sequential::<CrossbeamDeque>();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "checks the workload's rayon variant, none of our unsafe code; rayon's pool under Miri takes minutes"
)]
fn rayon_computes_the_same_sum() {
    assert_eq!(
        workload::rayon(3, 100_000),
        workload::sequential(3, 100_000)
    );
}

/// Every leaf of a fork tree runs exactly once, and with more workers than one some of it is stolen.
#[test]
fn every_job_runs_once_and_work_is_stolen() {
    fn fan(ctx: &WorkerCtx, depth: u32, ran: &AtomicUsize) {
        if depth == 0 {
            // Relaxed: a counter read after `install` returns, which orders every job before it.
            ran.fetch_add(1, Ordering::Relaxed);
            // A little work per leaf, so thieves have something to take.
            std::hint::black_box(workload::sequential(0, size(200, 20)));
            return;
        }
        ctx.join(|c| fan(c, depth - 1, ran), |c| fan(c, depth - 1, ran));
    }
    within(DEADLINE, || {
        let depth = size(14, 7) as u32;
        let pool = StealingPool::<ChaseLev>::new(2);
        let ran = AtomicUsize::new(0);
        pool.install(|ctx| fan(ctx, depth, &ran));
        assert_eq!(ran.load(Ordering::Relaxed), 1 << depth);
        assert!(
            pool.steals() > 0,
            "two workers and {} leaves: some must be stolen",
            1 << depth
        );
    })
}

/// A panic in either half of a `join`, at any depth, reaches the caller of `install`, after the
/// other half has finished (it borrows the frame); the pool keeps working afterwards.
#[test]
fn panics_propagate_and_the_pool_survives() {
    fn boom(ctx: &WorkerCtx, depth: u32, finished: &AtomicUsize) -> u64 {
        if depth == 0 {
            panic!("leaf failed");
        }
        let (a, b) = ctx.join(
            |_| {
                let v = workload::sequential(0, size(2_000, 200));
                // Relaxed: read after the panic reached `install`'s caller, which joined everything.
                finished.fetch_add(1, Ordering::Relaxed);
                v
            },
            |c| boom(c, depth - 1, finished),
        );
        a + b
    }
    harness::exercise::install_panic_hook();
    within(DEADLINE, || {
        let pool = StealingPool::<ChaseLev>::new(3);
        let finished = AtomicUsize::new(0);
        let caught =
            harness::exercise::expect_panic(|| pool.install(|ctx| boom(ctx, 6, &finished)));
        let message = caught.expect_err("the leaf's panic reaches install");
        assert!(message.contains("leaf failed"), "message: {message}");
        assert_eq!(
            finished.load(Ordering::Relaxed),
            6,
            "every sibling ran to completion"
        );
        // Panic in the `a` half too.
        let caught = harness::exercise::expect_panic(|| {
            pool.install(|ctx| ctx.join(|_| -> u32 { panic!("left failed") }, |_| 1u32))
        });
        assert!(caught.expect_err("panics").contains("left failed"));
        let n = size(50_000, 2_000);
        assert_eq!(
            pool.install(|ctx| workload::ours(ctx, 1, n)),
            workload::sequential(1, n)
        );
    })
}

/// Concurrent `install`s from several outside threads all get their own answer.
#[test]
fn concurrent_installs() {
    within(DEADLINE, || {
        let pool = StealingPool::<ChaseLev>::new(2);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..3u64)
                .map(|k| {
                    let pool = &pool;
                    s.spawn(move || pool.install(|ctx| workload::ours(ctx, k, size(40_000, 2_000))))
                })
                .collect();
            for (k, h) in handles.into_iter().enumerate() {
                assert_eq!(
                    h.join().unwrap(),
                    workload::sequential(k as u64, size(40_000, 2_000))
                );
            }
        });
    })
}

/// Dropping the pool stops and joins every worker, idle (parked) or just busy.
#[test]
#[cfg_attr(
    miri,
    ignore = "counts threads in /proc/self/task, which Miri's isolation hides; the pools are dropped under Miri by every other case"
)]
fn shutdown_leaves_no_thread() {
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("steal-worker");
        for _ in 0..5 {
            let pool = StealingPool::<ChaseLev>::new(4);
            assert_eq!(
                pool.install(|ctx| workload::ours(ctx, 0, 30_000)),
                workload::sequential(0, 30_000)
            );
            std::thread::sleep(Duration::from_millis(20)); // let workers park
            drop(pool);
            let idle = StealingPool::<CrossbeamDeque>::new(2); // never used: dropped while parking
            drop(idle);
        }
        check.assert_no_leak(Duration::from_secs(2));
    })
}
