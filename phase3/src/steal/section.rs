//! The `work-stealing` section of phase3/exercise2 (being written).

/// Runs the `work-stealing` section.
pub fn run(ctx: &mut harness::Ctx) {
    ctx.say("work stealing: being written");
}
