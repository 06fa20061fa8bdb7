//! (being written)
pub(super) fn run(ctx: &mut harness::Ctx) { ctx.check("todo", false); }
