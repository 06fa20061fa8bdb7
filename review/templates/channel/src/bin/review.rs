//! `make review NAME={{name}}` builds and runs this: the review of your channel, [`{{crate}}::Attempt`].
fn main() -> std::process::ExitCode {
    review::kinds::channel::main::<{{crate}}::Attempt>()
}
