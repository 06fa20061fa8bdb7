//! The runtime (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise1",
    title: "The runtime",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
