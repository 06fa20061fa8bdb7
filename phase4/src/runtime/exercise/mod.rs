//! The sections of exercise1.

mod preemption;
mod stacks;
mod stealing;
mod syscalls;

use harness::Section;

/// The sections, in order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "syscalls",
        summary: "a blocking call in a task stalls a ticker; spawn_blocking, block_in_place and a dedicated thread do not",
        run: syscalls::run,
    },
    Section {
        name: "work-stealing",
        summary: "a from-scratch work-stealing executor vs tokio on spawn-heavy and yield-heavy work",
        run: stealing::run,
    },
    Section {
        name: "preemption",
        summary: "a busy task starves a current-thread runtime; yield_now and tokio's coop budget; OS preemption",
        run: preemption::run,
    },
    Section {
        name: "stacks",
        summary: "future sizes, boxed recursion, thread stack_size, and a real overflow on the guard page in a child",
        run: stacks::run,
    },
];
