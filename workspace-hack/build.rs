// Empty: with a build script, cargo also unifies the build-dependencies listed in Cargo.toml.
fn main() {}
