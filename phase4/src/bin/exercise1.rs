//! `make run/phase4/exercise1` — see `phase4::runtime`.
//!
//! With `PHASE4_STACK_CHILD` set, the binary is the `stacks` section's child: it overflows a thread's
//! stack on purpose (see `phase4::runtime::stack_child`) before the exercise framework ever runs.
harness::exercise_main!(
    phase4::runtime::EXERCISE,
    before = phase4::runtime::stack_child::before
);
