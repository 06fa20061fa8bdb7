//! Empty on purpose: this crate exists for its dependency list (see its Cargo.toml), which makes
//! every command of the workspace resolve the same features for the crates it shares.
