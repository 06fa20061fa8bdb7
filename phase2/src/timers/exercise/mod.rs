//! The sections of exercise5.

mod leaks;
mod missed;
mod periodic;
mod wheel;

use harness::Section;

/// The sections, in order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "leaks",
        summary: "a ticker never stopped keeps ticking after its owner is gone; the drop-stopped one does not",
        run: leaks::run,
    },
    Section {
        name: "missed-ticks",
        summary: "tokio interval behind a slow handler: Burst, Delay and Skip, measured tick times",
        run: missed::run,
    },
    Section {
        name: "periodic",
        summary: "a periodic worker: no overlapping runs (measured), seeded jitter, clean shutdown",
        run: periodic::run,
    },
    Section {
        name: "wheel",
        summary: "timing wheel vs binary heap on many timers: live timings and identical expiries",
        run: wheel::run,
    },
];
