//! CPU-bound systems (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise2",
    title: "CPU-bound systems",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
