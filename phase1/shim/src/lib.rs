//! What the lessons (phases 1–4), the harness and the capstone libraries (phase 5) share — kept in
//! one small crate with no dependencies, so a library that uses it pulls in nothing a user did not
//! ask for:
//!
//! - the `std` / `loom` switch: [`sync`], [`thread`], [`hint`], [`UnsafeCell`] and [`model`], one
//!   import path that is `std` normally and loom's model-checked types under `RUSTFLAGS="--cfg loom"`;
//! - [`clock`]: time behind a trait ([`Clock`](clock::Clock)) and the machine's monotonic clock
//!   ([`SystemClock`](clock::SystemClock)); the harness adds a virtual clock for tests;
//! - [`panic_message`]: the text of a caught panic's payload.
//!
//! Go has no counterpart: its race detector and `go test -race` check the program as written, while
//! Rust's model checker (loom) needs the program written against its types — hence the switch.
#![warn(missing_docs)]

pub mod clock;
mod loom_switch;

pub use loom_switch::*;

/// The text of a caught panic: the `&str` or `String` it was raised with, or a placeholder for any
/// other payload.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(shim::panic_message(&*payload), "boom 1");
/// ```
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
