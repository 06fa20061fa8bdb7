//! `make run/phase2/exercise4` — see `phase2::context`.
//!
//! `exercise4 serve [DRAIN_MS]` runs the `shutdown` section's TCP service alone (until SIGTERM or
//! SIGINT), for the shutdown test; every other command line goes to the exercise framework.
#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "serve") {
        let rest: Vec<String> = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return phase2::context::server::serve_main(&rest);
    }
    phase2::context::EXERCISE.main()
}

#[cfg(loom)]
fn main() {}
