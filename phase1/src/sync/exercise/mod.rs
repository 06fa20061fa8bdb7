//! The experiments `exercise3` runs, one file per section.
use harness::Section;

mod cond;
mod locks;
mod once;
mod pool;
mod waitgroup;

/// Every section, in order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "waitgroup",
        summary: "our WaitGroup, crossbeam's, thread::scope, JoinSet; Go's misuses and how Rust stops them",
        run: waitgroup::run,
    },
    Section {
        name: "locks",
        summary: "Mutex vs RwLock vs sharded map vs dashmap vs atomics, 3 mixes × 1/2/4 threads; the decision table",
        run: locks::run,
    },
    Section {
        name: "once",
        summary: "Once, OnceLock, LazyLock, our OnceCell: exactly-once under a race; poisoning",
        run: once::run,
    },
    Section {
        name: "cond",
        summary: "condvar wake-ups that find the condition false; the lost wake-up caught by a watchdog",
        run: cond::run,
    },
    Section {
        name: "pool",
        summary: "ObjectPool vs fresh allocation: allocations counted by a counting global allocator",
        run: pool::run,
    },
];
