// Empty: with a build script, cargo also unifies the build-dependencies listed in Cargo.toml.
fn main() {
    // Without it cargo would rerun this script whenever any file of the package changes.
    println!("cargo::rerun-if-changed=build.rs");
}
