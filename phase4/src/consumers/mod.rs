//! Concurrency in distributed systems (being written).
#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise3",
    title: "Concurrency in distributed systems",
    goal: "",
    go_vs_rust: "",
    sections: &[],
};
