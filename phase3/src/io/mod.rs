//! IO-bound systems (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise1",
    title: "IO-bound systems",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
