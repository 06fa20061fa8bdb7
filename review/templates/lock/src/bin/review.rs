//! `make review NAME={{name}}` builds and runs this: the review of your lock, [`{{crate}}::Attempt`].
fn main() -> std::process::ExitCode {
    review::kinds::lock::main::<{{crate}}::Attempt<u64>>()
}
