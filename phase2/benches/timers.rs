//! `timers/1M`: the timing wheel on 1M timers: insert them all, cancel every other one, expire the
//! rest advancing time 1024 ticks per call (`phase2::timers::workload`), against
//! - `tokio-delayqueue`: tokio-util's `DelayQueue` (itself a hierarchical wheel over a slab), driven by
//!   tokio's paused clock, one tick = 1 ms, the ecosystem's timer queue and the peer of the target;
//! - `baseline-heap`: our binary-heap queue, the textbook design the wheel is measured against
//!   (target: ours-wheel / baseline-heap ≤ 0.33, the wheel ≥ 3× faster).
use std::future::poll_fn;
use std::hint::black_box;
use std::task::Poll;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use harness::contracts::timer::{Tick, TimerQueue};
use tokio::runtime::Runtime;
use tokio_util::time::{DelayQueue, delay_queue::Key};

use phase2::timers::workload;
use phase2::timers::{HeapQueue, TimingWheel};

/// A million timers; ten thousand when debug assertions are on, which is how `cargo test
/// --all-targets` runs this bench once as a smoke test: there tokio-util's `DelayQueue` checks each
/// removal against its whole slot list (a `debug_assert`), so a million cancels take hours.
const N: usize = if cfg!(debug_assertions) {
    10_000
} else {
    1_000_000
};

/// tokio-util's `DelayQueue` behind the timer contract, on a current-thread runtime whose clock is
/// paused: `expire(now)` advances the clock to `now` ms and takes every entry that has come due.
/// Bench-only: `DelayQueue` gives no order among equal deadlines, which the contract asks for, so it
/// is not run through the conformance suite.
struct DelayQueuePeer {
    rt: Runtime,
    queue: DelayQueue<u64>,
    start: tokio::time::Instant,
    now: Tick,
}

impl DelayQueuePeer {
    fn with_capacity(n: usize) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime");
        let (queue, start) = {
            let _in_runtime = rt.enter();
            (DelayQueue::with_capacity(n), tokio::time::Instant::now())
        };
        Self {
            rt,
            queue,
            start,
            now: 0,
        }
    }
}

impl TimerQueue for DelayQueuePeer {
    type Handle = Key;

    fn insert(&mut self, deadline: Tick, id: u64) -> Key {
        let _in_runtime = self.rt.enter();
        self.queue
            .insert_at(id, self.start + Duration::from_millis(deadline))
    }

    fn cancel(&mut self, handle: Key) -> bool {
        self.queue.try_remove(&handle).is_some()
    }

    fn expire(&mut self, now: Tick, out: &mut Vec<u64>) {
        let by = Duration::from_millis(now.saturating_sub(self.now));
        self.now = self.now.max(now);
        let due = self.start + Duration::from_millis(self.now);
        let queue = &mut self.queue;
        self.rt.block_on(async {
            tokio::time::advance(by).await;
            loop {
                // Take what the queue hands out now; `Pending` comes at the end of one wheel slot.
                poll_fn(|cx| {
                    while let Poll::Ready(Some(expired)) = queue.poll_expired(cx) {
                        out.push(expired.into_inner());
                    }
                    Poll::Ready(())
                })
                .await;
                // The queue moves on only when its timer for the next slot fires, on the runtime's
                // next turn of its time driver: yield for it while entries are still due.
                match queue.peek() {
                    Some(next) if queue.deadline(&next) <= due => tokio::task::yield_now().await,
                    _ => break,
                }
            }
        });
    }

    fn now(&self) -> Tick {
        self.now
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}

fn run<Q: TimerQueue>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    deadlines: &[Tick],
    make: fn(usize) -> Q,
) {
    c.bench_function(name, |b| {
        b.iter_batched(
            || make(N),
            |mut q| {
                let fired = workload::churn(&mut q, deadlines, |id| {
                    black_box(id);
                });
                // Every queue must fire the same timers: the even ids.
                assert_eq!(
                    fired,
                    N.div_ceil(2),
                    "{name} fired a wrong number of timers"
                );
                black_box(fired)
            },
            BatchSize::PerIteration,
        )
    });
}

fn timers(c: &mut Criterion) {
    let deadlines = workload::deadlines(N, 7);
    let mut g = c.benchmark_group("timers/1M");
    // One iteration handles a million timers (hundreds of ms): ten samples are enough.
    g.sample_size(10);
    run(&mut g, "ours-wheel", &deadlines, TimingWheel::with_capacity);
    run(
        &mut g,
        "tokio-delayqueue",
        &deadlines,
        DelayQueuePeer::with_capacity,
    );
    run(
        &mut g,
        "baseline-heap",
        &deadlines,
        HeapQueue::with_capacity,
    );
    g.finish();
}

criterion_group! {name = benches; config = benchkit::config(); targets = timers}
criterion_main!(benches);
