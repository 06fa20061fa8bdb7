//! fanout (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise2",
    title: "fanout",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
