//! The contained child process in which a real stack overflow happens.
//!
//! A thread's stack is fixed when it starts (8 MiB for `main`, 2 MiB by default for spawned
//! threads, or `thread::Builder::stack_size`), with an unmapped guard page below it. Overflowing it
//! faults on the guard page (SIGSEGV); Rust's handler prints "has overflowed its stack" and aborts
//! (SIGABRT). Nothing can be recovered in-process, so the `stacks` section re-executes this binary
//! with [`CHILD_ENV`] set; the binary's `main` calls [`child_main`] before the exercise harness.
use std::hint::black_box;
use std::process::ExitCode;

/// The environment variable that turns the exercise binary into the overflowing child; its value
/// is the stack size in bytes of the thread that overflows.
pub const CHILD_ENV: &str = "PHASE4_STACK_CHILD";

/// Writes `depth` to stdout with a raw `write(2)`: little stack, no lock, nothing buffered to lose.
fn report(depth: u64) {
    let line = format!("depth {depth}\n");
    // SAFETY: a valid buffer of `line.len()` bytes; fd 1 is stdout.
    unsafe {
        libc::write(1, line.as_ptr().cast(), line.len());
    }
}

/// Recurses with a 512-byte frame until the stack runs out (that is the point: it never returns).
#[allow(unconditional_recursion)]
fn dive(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 512]);
    if depth.is_multiple_of(64) {
        report(depth);
    }
    black_box(dive(depth + 1)) + frame[0] as u64
}

/// The binary's hook (`exercise_main!(…, before = …)`): in the `stacks` section's child (the env var
/// is set) this process is that child; otherwise the exercise runs.
pub fn before(args: Vec<std::ffi::OsString>) -> harness::exercise::Before {
    match child_main() {
        Some(code) => harness::exercise::Before::Exit(code),
        None => harness::exercise::Before::Run(args),
    }
}

/// In the child (the env var is set): overflows a thread's stack and never returns normally.
/// Elsewhere: `None`, and `main` goes on to the exercise.
pub fn child_main() -> Option<ExitCode> {
    let size: usize = std::env::var(CHILD_ENV)
        .ok()?
        .parse()
        .ok()
        .unwrap_or(256 * 1024);
    let t = std::thread::Builder::new()
        .name("overflow".into())
        .stack_size(size)
        .spawn(|| dive(1));
    match t {
        Ok(h) => {
            let _ = h.join();
            eprintln!("child: the recursion returned, which it cannot");
            Some(ExitCode::from(3))
        }
        Err(e) => {
            eprintln!("child: cannot spawn: {e}");
            Some(ExitCode::from(4))
        }
    }
}
