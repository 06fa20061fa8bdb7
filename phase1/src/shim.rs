//! The loom switch: one import path for every synchronisation type our from-scratch code uses.
//!
//! It lives in the [`::shim`] crate, shared with the harness and the phase 5 libraries; this
//! module re-exports it so the lessons keep writing `crate::shim::sync::…`.
pub use ::shim::*;
