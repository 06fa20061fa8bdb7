//! pool (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise1",
    title: "pool",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
