//! Building reliable systems (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise4",
    title: "Building reliable systems",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
