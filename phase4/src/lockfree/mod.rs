//! High-performance concurrency (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise2",
    title: "High-performance concurrency",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
