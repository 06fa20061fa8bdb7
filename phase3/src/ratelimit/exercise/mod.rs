//! The sections of exercise3.

mod accuracy;
mod leaky;
mod sliding;
mod throttle;
mod token;

use harness::Section;

/// The sections, in order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "token-bucket",
        summary: "a lock-free token bucket (one AtomicU64, CAS) vs a mutex one vs a racy load+store one: \
            exact admissions on a virtual clock, accuracy and cost under threads",
        run: token::run,
    },
    Section {
        name: "leaky-bucket",
        summary: "the leaky bucket as a meter (the token bucket's decisions) and as a shaping queue \
            (delays a burst into an even stream instead of dropping it)",
        run: leaky::run,
    },
    Section {
        name: "sliding-window",
        summary: "sliding log (exact) vs sliding counter (O(1), bounded error) vs a fixed window, on a \
            trace aimed at the window boundary; accuracy under threads",
        run: sliding::run,
    },
    Section {
        name: "throttle-debounce",
        summary: "async throttle (leading, trailing, both edges) and debounce on one event trace, \
            replayed on tokio's paused clock",
        run: throttle::run,
    },
];
