//! `make run/phase4/exercise1` — see `phase4::runtime`.
//!
//! With `PHASE4_STACK_CHILD` set, the binary is the `stacks` section's child: it overflows a thread's
//! stack on purpose (see `phase4::runtime::stack_child`) before the exercise framework ever runs.
#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    if let Some(code) = phase4::runtime::stack_child::child_main() {
        return code;
    }
    phase4::runtime::EXERCISE.main()
}

#[cfg(loom)]
fn main() {}
