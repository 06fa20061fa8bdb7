//! A deliberately wrong way to register a child, kept so a loom model can show the race it has.
//!
//! It checks the parent's flag, lets go, and registers later: a cancel that runs in the gap drains
//! an empty map, and the child it missed is never cancelled (it outlives its parent's cancel, the
//! bug a `context` exists to prevent). `Context::child` does the check and the insert under one lock.
use super::Context;

/// Creates a child of `parent` the wrong way: check-then-register with the lock dropped in between.
pub fn child_check_then_register(parent: &Context) -> Context {
    let key = Context::next_key(&mut parent.parent_lock());
    let child = parent.unregistered_child(key);
    if parent.is_cancelled() {
        child.cancel();
        return child;
    }
    // The gap: the parent's cancel can run here, find no child, and finish.
    let mut st = parent.parent_lock();
    Context::insert_child(&mut st, &child);
    drop(st);
    child
}

/// The fixed version, through the same helpers: re-check under the lock that the insert takes.
pub fn child_check_under_lock(parent: &Context) -> Context {
    let key = Context::next_key(&mut parent.parent_lock());
    let child = parent.unregistered_child(key);
    let mut st = parent.parent_lock();
    if Context::state_done(&st) {
        drop(st);
        child.cancel();
    } else {
        Context::insert_child(&mut st, &child);
    }
    child
}
