//! channels (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase1/exercise?",
    title: "channels",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
