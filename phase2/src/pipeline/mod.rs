//! pipeline (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise3",
    title: "pipeline",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
