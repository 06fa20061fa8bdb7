//! Reviews the channels, locks, queues and pools this repository ships, for the diagnosis tests and for a look at
//! what a review says: `cargo run -p review --bin review-subjects -- channel:flawed:lost-wakeup`.
//!
//! Subjects are named `<kind>:<subject>`:
//! - `channel:naive` (the attempt template), `channel:ours` (phase 1), `channel:std`
//!   (`std::sync::mpsc`), `channel:crossbeam`, and `channel:flawed:<flaw>` for each catalogued flaw
//!   (`channel:flawed:none` has no mistake);
//! - `lock:naive` (the attempt template), `lock:ours` (phase 1's futex `Mutex`), `lock:ours-spin`
//!   (phase 1's `SpinLock`), `lock:std`, `lock:parking_lot`, and `lock:flawed:<flaw>` (`lock:flawed:none`
//!   has no mistake);
//! - `queue:naive` (the attempt template), `queue:ours` (phase 4's Vyukov queue), `queue:crossbeam`
//!   (`crossbeam_queue::ArrayQueue`), and `queue:flawed:<flaw>` (`queue:flawed:none` has no mistake);
//! - `pool:naive` (the attempt template), `pool:ours` (`workpool`), `pool:threadpool`, and
//!   `pool:flawed:<flaw>` (`pool:flawed:none` has no mistake).
use std::process::ExitCode;

use clap::Parser;
use harness::contracts::channel::{ChannelFlavor, Crossbeam, StdMpsc};
use harness::contracts::lock::Lock;
use harness::contracts::pool::{PoolFlavor, ThreadpoolFlavor};
use harness::contracts::queue::{CrossbeamArrayQueue, QueueFlavor};
use phase1::channels::contract::Ours;
use review::driver::ReviewArgs;
use review::kinds::{channel, lock, pool, queue};

#[derive(Debug, Parser)]
#[command(about = "Review one of the channels, locks, queues or pools this repository ships")]
struct Cli {
    /// <kind>:<subject>, e.g. channel:ours, lock:parking_lot, queue:flawed:spurious-empty.
    subject: String,
    #[command(flatten)]
    args: ReviewArgs,
}

fn valid() -> Vec<String> {
    let mut all: Vec<String> = ["naive", "ours", "std", "crossbeam"]
        .iter()
        .map(|s| format!("channel:{s}"))
        .collect();
    all.extend(
        channel::flawed::SWITCHES
            .iter()
            .map(|(_, id)| format!("channel:flawed:{}", id.unwrap_or("none"))),
    );
    all.extend(
        ["naive", "ours", "ours-spin", "std", "parking_lot"]
            .iter()
            .map(|s| format!("lock:{s}")),
    );
    all.extend(
        lock::flawed::SWITCHES
            .iter()
            .map(|(_, id)| format!("lock:flawed:{}", id.unwrap_or("none"))),
    );
    all.extend(
        ["naive", "ours", "crossbeam"]
            .iter()
            .map(|s| format!("queue:{s}")),
    );
    all.extend(
        queue::flawed::SWITCHES
            .iter()
            .map(|(_, id)| format!("queue:flawed:{}", id.unwrap_or("none"))),
    );
    all.extend(
        ["naive", "ours", "threadpool"]
            .iter()
            .map(|s| format!("pool:{s}")),
    );
    all.extend(
        pool::flawed::SWITCHES
            .iter()
            .map(|(_, id)| format!("pool:flawed:{}", id.unwrap_or("none"))),
    );
    all
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let a = &cli.args;
    fn ch<F: ChannelFlavor>(a: &ReviewArgs) -> ExitCode {
        channel::review::<F>(a)
    }
    fn lk<L: Lock<u64> + 'static>(a: &ReviewArgs) -> ExitCode {
        lock::review::<L>(a)
    }
    fn qu<F: QueueFlavor>(a: &ReviewArgs) -> ExitCode {
        queue::review::<F>(a)
    }
    fn pl<F: PoolFlavor>(a: &ReviewArgs) -> ExitCode {
        pool::review::<F>(a)
    }
    use channel::flawed::{self as cf, Flawed as ChannelFlawed};
    use lock::flawed::{self as lf, Flawed as LockFlawed};
    use pool::flawed::{self as pf, Flawed as PoolFlawed};
    use queue::flawed::{self as qf, Flawed as QueueFlawed};
    match cli.subject.as_str() {
        "channel:naive" => ch::<channel::naive::Attempt>(a),
        "channel:ours" => ch::<Ours>(a),
        "channel:std" => ch::<StdMpsc>(a),
        "channel:crossbeam" => ch::<Crossbeam>(a),
        "channel:flawed:none" => ch::<ChannelFlawed<{ cf::CORRECT }>>(a),
        "channel:flawed:sender-not-woken-on-close" => {
            ch::<ChannelFlawed<{ cf::SENDER_NOT_WOKEN_ON_CLOSE }>>(a)
        }
        "channel:flawed:receiver-not-woken-on-close" => {
            ch::<ChannelFlawed<{ cf::RECEIVER_NOT_WOKEN_ON_CLOSE }>>(a)
        }
        "channel:flawed:buffered-values-leak" => {
            ch::<ChannelFlawed<{ cf::BUFFERED_VALUES_LEAK }>>(a)
        }
        "channel:flawed:fifo-violated" => ch::<ChannelFlawed<{ cf::FIFO_VIOLATED }>>(a),
        "channel:flawed:lost-wakeup" => ch::<ChannelFlawed<{ cf::LOST_WAKEUP }>>(a),
        "channel:flawed:capacity-exceeded" => ch::<ChannelFlawed<{ cf::CAPACITY_EXCEEDED }>>(a),
        "channel:flawed:close-before-drain" => ch::<ChannelFlawed<{ cf::CLOSE_BEFORE_DRAIN }>>(a),
        "lock:naive" => lk::<lock::naive::Attempt<u64>>(a),
        "lock:ours" => lk::<phase1::sync::Mutex<u64>>(a),
        "lock:ours-spin" => lk::<phase1::sync::SpinLock<u64>>(a),
        "lock:std" => lk::<std::sync::Mutex<u64>>(a),
        "lock:parking_lot" => lk::<parking_lot::Mutex<u64>>(a),
        "lock:flawed:none" => lk::<LockFlawed<{ lf::CORRECT }, u64>>(a),
        "lock:flawed:two-holders" => lk::<LockFlawed<{ lf::TWO_HOLDERS }, u64>>(a),
        "lock:flawed:try-lock-ignores-holder" => {
            lk::<LockFlawed<{ lf::TRY_LOCK_IGNORES_HOLDER }, u64>>(a)
        }
        "lock:flawed:guard-drop-keeps-lock" => {
            lk::<LockFlawed<{ lf::GUARD_DROP_KEEPS_LOCK }, u64>>(a)
        }
        "lock:flawed:lost-wakeup" => lk::<LockFlawed<{ lf::LOST_WAKEUP }, u64>>(a),
        "lock:flawed:try-lock-blocks" => lk::<LockFlawed<{ lf::TRY_LOCK_BLOCKS }, u64>>(a),
        "queue:naive" => qu::<queue::naive::Attempt>(a),
        "queue:ours" => qu::<phase4::lockfree::OursVyukov>(a),
        "queue:crossbeam" => qu::<CrossbeamArrayQueue>(a),
        "queue:flawed:none" => qu::<QueueFlawed<{ qf::CORRECT }>>(a),
        "queue:flawed:capacity-exceeded" => qu::<QueueFlawed<{ qf::CAPACITY_EXCEEDED }>>(a),
        "queue:flawed:failed-push-changes-queue" => {
            qu::<QueueFlawed<{ qf::FAILED_PUSH_CHANGES_QUEUE }>>(a)
        }
        "queue:flawed:fifo-violated" => qu::<QueueFlawed<{ qf::FIFO_VIOLATED }>>(a),
        "queue:flawed:lost-on-concurrent-push" => {
            qu::<QueueFlawed<{ qf::LOST_ON_CONCURRENT_PUSH }>>(a)
        }
        "queue:flawed:spurious-empty" => qu::<QueueFlawed<{ qf::SPURIOUS_EMPTY }>>(a),
        "queue:flawed:values-leak-on-drop" => qu::<QueueFlawed<{ qf::VALUES_LEAK_ON_DROP }>>(a),
        "queue:flawed:try-push-blocks" => qu::<QueueFlawed<{ qf::TRY_PUSH_BLOCKS }>>(a),
        "pool:naive" => pl::<pool::naive::Attempt>(a),
        "pool:ours" => pl::<pool::ours::Workpool>(a),
        "pool:threadpool" => pl::<ThreadpoolFlavor>(a),
        "pool:flawed:none" => pl::<PoolFlawed<{ pf::CORRECT }>>(a),
        "pool:flawed:panic-kills-worker" => pl::<PoolFlawed<{ pf::PANIC_KILLS_WORKER }>>(a),
        "pool:flawed:shutdown-drops-queued" => pl::<PoolFlawed<{ pf::SHUTDOWN_DROPS_QUEUED }>>(a),
        "pool:flawed:shutdown-hangs" => pl::<PoolFlawed<{ pf::SHUTDOWN_HANGS }>>(a),
        "pool:flawed:tasks-run-after-shutdown" => {
            pl::<PoolFlawed<{ pf::TASKS_RUN_AFTER_SHUTDOWN }>>(a)
        }
        "pool:flawed:submit-after-shutdown-accepted" => {
            pl::<PoolFlawed<{ pf::SUBMIT_AFTER_SHUTDOWN_ACCEPTED }>>(a)
        }
        "pool:flawed:bounded-over-admits" => pl::<PoolFlawed<{ pf::BOUNDED_OVER_ADMITS }>>(a),
        "pool:flawed:results-mixed-up" => pl::<PoolFlawed<{ pf::RESULTS_MIXED_UP }>>(a),
        other => {
            eprintln!(
                "review-subjects: unknown subject '{other}'; valid: {}",
                valid().join(", ")
            );
            ExitCode::from(2)
        }
    }
}
