//! Small queues under the blocking policies: a submitter waiting for room is woken whenever room
//! appears — a worker going idle or starting to spin counts as room (it will take the task), not
//! only a task leaving the queue. Each case hung before that was so (found by the phase 5 exercise).
use std::time::Duration;

use harness::watchdog::within;
use workpool::{Overflow, Pool, Queue};

const DEADLINE: Duration = Duration::from_secs(30);

mod common;
use common::assert_no_threads_left as no_thread_left;

fn pool(name: &str, workers: usize, queue: usize, overflow: Overflow) -> Pool {
    Pool::builder()
        .name(name)
        .workers(workers)
        .queue(Queue::Bounded(queue))
        .overflow(overflow)
        .build()
        .expect("pool")
}

#[test]
fn hand_off_with_block_admits_once_the_worker_is_free() {
    within(DEADLINE, || {
        let pool = pool("ho-block", 1, 0, Overflow::Block);
        for i in 0..1_000u32 {
            assert_eq!(pool.submit(move || i).unwrap().join(), Ok(i));
        }
        drop(pool);
        no_thread_left("ho-block");
    });
}

#[test]
fn a_queue_of_one_with_block_never_wedges_a_stream_of_submits() {
    for workers in [1, 2] {
        within(DEADLINE, move || {
            let pool = pool("q1-block", workers, 1, Overflow::Block);
            for _ in 0..20_000 {
                pool.execute(|| {}).unwrap();
            }
            pool.wait_idle();
            assert_eq!(pool.metrics().completed, 20_000);
            drop(pool);
            no_thread_left("q1-block");
        });
    }
}

#[test]
fn hand_off_with_reject_admits_when_the_worker_is_idle() {
    within(DEADLINE, || {
        let pool = pool("ho-reject", 1, 0, Overflow::Reject);
        for i in 0..200u32 {
            // A worker that has just finished may still be on its way back: wait until the pool
            // says it is free, then the hand-off must be admitted.
            while pool.metrics().idle == 0 {
                std::thread::yield_now();
            }
            assert_eq!(pool.try_submit(move || i).unwrap().join(), Ok(i));
        }
        drop(pool);
        no_thread_left("ho-reject");
    });
}
