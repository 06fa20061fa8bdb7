//! `make review NAME={{name}}` builds and runs this: the review of your queue, [`{{crate}}::Attempt`].
fn main() -> std::process::ExitCode {
    review::kinds::queue::main::<{{crate}}::Attempt>()
}
