//! Records how this workspace was built, so every exercise can print it in its header: numbers from an
//! unoptimised build mislead, and a reader must be able to see which build produced a table.
use std::process::Command;

fn main() {
    // Cargo tells build scripts "debug" for the dev and test profiles, "release" for release and bench.
    let profile = match std::env::var("PROFILE").as_deref() {
        Ok("debug") => "dev".to_string(),
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    };
    let opt = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "?".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc (unknown version)".into());
    println!("cargo:rustc-env=HARNESS_BUILD_PROFILE={profile}");
    println!("cargo:rustc-env=HARNESS_OPT_LEVEL={opt}");
    println!("cargo:rustc-env=HARNESS_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
