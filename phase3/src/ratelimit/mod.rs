//! Rate limiting, throttling, debouncing (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise3",
    title: "Rate limiting, throttling, debouncing",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
