//! timers (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise5",
    title: "timers",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
