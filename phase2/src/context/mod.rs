//! context (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise4",
    title: "context",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
