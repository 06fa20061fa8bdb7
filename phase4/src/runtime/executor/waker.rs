//! The task's `Waker`: a raw waker whose data pointer is the task's header, and whose clone and
//! drop are the task's own reference count ([`super::task`]). Waking queues the task unless it is
//! already queued or running (then it is only marked: [`super::state`]).
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::task::{Header, drop_ref, inc_ref, wake_by_ref};

/// A waker over `ptr` that does not own a reference of its own: the caller keeps it from being
/// dropped (`ManuallyDrop`) unless it counted one for it.
pub(super) fn raw_waker(ptr: NonNull<Header>) -> Waker {
    // SAFETY: the vtable's functions follow `RawWaker`'s contract over a counted task pointer.
    unsafe {
        Waker::from_raw(RawWaker::new(
            ptr.as_ptr().cast_const().cast(),
            &WAKER_VTABLE,
        ))
    }
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

fn waker_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: every waker's data pointer is a task header pointer, non-null.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast()) }
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    inc_ref(waker_ptr(data));
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    let ptr = waker_ptr(data);
    wake_by_ref(ptr);
    // SAFETY: `wake` consumes the waker's reference.
    unsafe { drop_ref(ptr) };
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    wake_by_ref(waker_ptr(data));
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: dropping the waker gives up its reference.
    unsafe { drop_ref(waker_ptr(data)) };
}
