//! `make review NAME={{name}}` builds and runs this: the review of your pool, [`{{crate}}::Attempt`].
fn main() -> std::process::ExitCode {
    review::kinds::pool::main::<{{crate}}::Attempt>()
}
