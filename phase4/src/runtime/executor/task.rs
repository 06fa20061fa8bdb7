//! A task: one heap allocation holding a header (state word, reference count, vtable, executor),
//! the future, and the slot its output waits in for the [`JoinHandle`].
//!
//! Go's `g` is a stack plus a status word (`_Grunnable`, `_Grunning`, `_Gwaiting`); a Rust task is a
//! future plus a status word. The state machine makes "woken while running" safe: the waker never
//! queues a task that is being polled, it marks it, and the worker requeues it after the poll.
//!
//! Why one allocation: a boxed future in an `Arc`, the output in a second `Arc` and an owned `Waker`
//! per poll cost three `malloc`/`free` pairs per task, freed on another thread than the one that
//! allocated them. Here spawn allocates once; [`TaskRef`] (the run queues' pointer), every `Waker`
//! ([`super::waker`]) and the [`JoinHandle`] share one reference count in the header, and the worker
//! polls with a borrowed waker that touches no count. This is tokio's layout, reduced: a type-erased
//! header first (`#[repr(C)]`), and a per-future-type vtable for what needs the type.
//!
//! References: the run queue holds one while the task is `SCHEDULED` (a [`TaskRef`]), the
//! `JoinHandle` one, each `Waker` clone one, and the executor's owned-task list one from spawn until
//! the task finishes or the executor shuts down ([`super::owned`]). The last to go frees the task.
//! A task that is waiting and whose wakers are all dropped can never run again; awaiting its handle
//! waits until the executor shuts down, which cancels it (`Err(Cancelled)`), as in tokio.
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::*, fence};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use super::Shared;
use super::join::{JoinError, JoinHandle, Slot};
use super::owned::Links;
use super::ring::RingItem;
use super::state::{AfterPoll, IDLE, SCHEDULED, State};
use super::waker::raw_waker;

/// The type-erased front of every task. `#[repr(C)]` in [`Cell`] puts it at offset 0, so a pointer
/// to the header is a pointer to the cell.
pub(crate) struct Header {
    /// The lifecycle and the abort flag; every transition is a named method ([`super::state`]).
    state: State,
    /// Owners: the run queue's [`TaskRef`], the `JoinHandle`, and every `Waker`.
    refs: AtomicUsize,
    /// The functions that need the future's type.
    vtable: &'static Vtable,
    /// Where wake-ups send it.
    shared: Arc<Shared>,
    /// Its place in the executor's owned-task list; touched only under that list's shard lock.
    links: UnsafeCell<Links>,
}

/// The owned-task list links of a task, for [`super::owned`] (which reads and writes them only
/// under its shard lock).
pub(crate) fn links(ptr: NonNull<Header>) -> *mut Links {
    // SAFETY: the caller passes a live task; this only forms a raw pointer to a field.
    unsafe { ptr.as_ref() }.links.get()
}

struct Vtable {
    /// Polls the future once (the caller moved the state to `RUNNING`); true when it finished.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drops the future unfinished and reports `Cancelled` to the handle (state `RUNNING`).
    cancel: unsafe fn(NonNull<Header>),
    /// Frees the allocation (the last reference is gone).
    dealloc: unsafe fn(NonNull<Header>),
}

/// The whole task.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    /// The future; touched only by the thread that moved `state` to `RUNNING`, so never by two
    /// threads at once. `None` once it finished or was cancelled.
    future: UnsafeCell<Option<F>>,
    /// The output, or why there is none, until the handle takes it.
    join: Mutex<Slot<F::Output>>,
}

impl<F> Cell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    const VTABLE: Vtable = Vtable {
        poll: Self::poll,
        cancel: Self::cancel,
        dealloc: Self::dealloc,
    };

    /// SAFETY (of every fn below): `ptr` points to a live `Cell<F>`, which `TaskRef::spawn` made.
    unsafe fn from_header<'a>(ptr: NonNull<Header>) -> &'a Self {
        // SAFETY: see above; `#[repr(C)]` puts the header at offset 0.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    unsafe fn poll(ptr: NonNull<Header>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the caller's contract.
        let cell = unsafe { Self::from_header(ptr) };
        // SAFETY: the caller holds the task in `RUNNING`: nobody else touches the future.
        let slot = unsafe { &mut *cell.future.get() };
        let Some(future) = slot.as_mut() else {
            return true;
        };
        // SAFETY: the future lives in the task's heap cell and is never moved, only dropped there.
        let future = unsafe { Pin::new_unchecked(future) };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(payload) => {
                let message = harness::exercise::panic_message(&*payload);
                // The payload is the task's own value: its `Drop` may panic too.
                drop_contained(payload);
                Err(JoinError::Panicked(message))
            }
        };
        drop_future(slot);
        complete(&cell.join, result);
        true
    }

    unsafe fn cancel(ptr: NonNull<Header>) {
        // SAFETY: the caller's contract.
        let cell = unsafe { Self::from_header(ptr) };
        // SAFETY: the caller holds the task in `RUNNING`.
        drop_future(unsafe { &mut *cell.future.get() });
        complete(&cell.join, Err(JoinError::Cancelled));
    }

    unsafe fn dealloc(ptr: NonNull<Header>) {
        // SAFETY: the cell came from `Box::into_raw` in `TaskRef::spawn`, and this is the last
        // reference.
        let mut cell = unsafe { Box::from_raw(ptr.cast::<Self>().as_ptr()) };
        // The user's values go first, each under its own catch: whoever drops the last reference
        // (often a worker, for a detached task) must survive a panicking `Drop` of the output (never
        // taken), of a future that never finished, or of a waiter's waker never woken; and the cell
        // must still be freed.
        drop_future(cell.future.get_mut());
        let slot = cell.join.get_mut().unwrap_or_else(|p| p.into_inner());
        let (output, waker) = slot.take_all();
        contain(move || drop(output));
        contain(move || drop(waker));
        drop(cell);
    }
}

/// Runs user code (a `Drop`, a foreign waker) on behalf of a worker: a panic in it is caught and
/// its payload dropped, so it never unwinds into the worker loop. No user code may kill a worker: a
/// dead worker strands the tasks in its ring, and with one worker the executor hangs.
fn contain(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        drop_contained(payload);
    }
}

/// Drops a panic payload, which is user data too: when its `Drop` panics in turn, the payload of
/// that panic is dropped the same way, and so on until one drops quietly. (Leaking the second
/// payload instead was Miri's one finding here: a leak, not UB.)
fn drop_contained(payload: Box<dyn std::any::Any + Send>) {
    let mut next = payload;
    while let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(next))) {
        next = again;
    }
}

/// Drops a future in place; a panic in its destructor is contained (the worker must survive it).
fn drop_future<F>(slot: &mut Option<F>) {
    contain(|| *slot = None);
}

/// Stores the task's result for the handle (once) and wakes the handle's waiter. The waiter's
/// `wake` is the user's code (any `Waker` may poll a `JoinHandle`), so it runs contained, after the
/// slot is unlocked; so does dropping a result that arrives second (it holds no user value today,
/// but a panic there must not leave the worker either).
fn complete<T>(join: &Mutex<Slot<T>>, result: Result<T, JoinError>) {
    contain(|| {
        let waker = join
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .complete(result);
        if let Some(w) = waker {
            w.wake();
        }
    });
}

/// An owned reference to a task that is `SCHEDULED`: what the run queues hold.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a task's future and output are `Send` (bounds of `spawn`), and the header is atomics plus
// an `Arc<Shared>`; the state machine hands the future to one thread at a time.
unsafe impl Send for TaskRef {}

impl RingItem for TaskRef {
    fn into_raw(self) -> *mut () {
        ManuallyDrop::new(self).0.as_ptr().cast()
    }

    unsafe fn from_raw(ptr: *mut ()) -> Self {
        // SAFETY: the caller's contract: the pointer came from `into_raw`, non-null.
        TaskRef(unsafe { NonNull::new_unchecked(ptr.cast()) })
    }
}

impl TaskRef {
    /// Allocates a task for `future`, `SCHEDULED`, with references for the returned `TaskRef` (to
    /// queue), the `JoinHandle`, and the owned-task list (unless the executor has shut down).
    pub(crate) fn spawn<F>(future: F, shared: Arc<Shared>) -> (TaskRef, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new_scheduled(),
                refs: AtomicUsize::new(3),
                vtable: &Cell::<F>::VTABLE,
                shared,
                links: UnsafeCell::new(Links::default()),
            },
            future: UnsafeCell::new(Some(future)),
            join: Mutex::new(Slot::new()),
        });
        let cell = NonNull::from(Box::leak(cell));
        // SAFETY: freshly allocated; the handle's reference keeps `join` alive as long as it lives.
        let join = unsafe { NonNull::from(&cell.as_ref().join) };
        let header = cell.cast::<Header>();
        // SAFETY: live and unlinked; one of the three references goes to the list.
        if !unsafe { header.as_ref().shared.owned.insert(header) } {
            // Shut down: not linked. Nobody else has the pointer yet, so a plain store will do.
            // SAFETY: as above.
            unsafe { header.as_ref() }.refs.store(2, Relaxed);
        }
        // SAFETY: `header` owns one of the references just counted; `join` lives in its cell.
        let handle = unsafe { JoinHandle::new(header, join) };
        (TaskRef(header), handle)
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { self.0.as_ref() }
    }

    /// Polls the task once. Returns it when it was woken during the poll and must be queued again
    /// (state `SCHEDULED`); otherwise drops this reference.
    pub(crate) fn run(self) -> Option<TaskRef> {
        let h = self.header();
        // Acquire (in `claim`): the previous poll's writes to the future are visible to this one.
        let Some(claimed) = h.state.claim(SCHEDULED) else {
            return None; // cancelled by shutdown while queued
        };
        if State::was_aborted(claimed) {
            self.finish_cancelled();
            return None;
        }
        // A borrowed waker: no count changes unless the future clones it. Our reference keeps the
        // task alive for the whole poll.
        let waker = ManuallyDrop::new(raw_waker(self.0));
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the pointer is a live task; we moved its state to RUNNING.
        if unsafe { (h.vtable.poll)(self.0, &mut cx) } {
            h.state.complete();
            unlink(self.0);
            return None;
        }
        match h.state.after_poll() {
            AfterPoll::Idle => None,
            AfterPoll::Requeue => Some(self),
            AfterPoll::Cancel => {
                self.finish_cancelled();
                None
            }
        }
    }

    /// Cancels the task this worker holds `RUNNING`: drops the future, reports `Cancelled`.
    fn finish_cancelled(&self) {
        let h = self.header();
        // SAFETY: live task, state RUNNING (held by the caller).
        unsafe { (h.vtable.cancel)(self.0) };
        h.state.complete();
        unlink(self.0);
    }

    /// Drops the future of a task that is queued and will never run (executor shut down); the
    /// handle reports `Cancelled`.
    pub(crate) fn cancel(self) {
        // Acquire: as in `run`, the last poll's writes are visible before we drop the future.
        if self.header().state.claim(SCHEDULED).is_some() {
            self.finish_cancelled();
        }
    }

    /// Shutdown's end of the owned-task list: `ptr` was just unlinked by [`super::owned::OwnedTasks::close`]
    /// and carries the list's reference. A waiting (`IDLE`) task is cancelled: its future dropped,
    /// its handle told `Cancelled`. Any other state is someone else's to finish (a queued task is
    /// cancelled where its queue is drained) or already finished.
    ///
    /// # Safety
    /// `ptr` is live and the caller gives up the list's reference.
    pub(crate) unsafe fn cancel_owned(ptr: NonNull<Header>) {
        // SAFETY: the list's reference keeps it alive.
        let h = unsafe { ptr.as_ref() };
        // Acquire (in `claim`): as in `run`, the last poll's writes to the future are visible
        // before we drop it.
        if h.state.claim(IDLE).is_some() {
            // SAFETY: live task, state RUNNING.
            unsafe { (h.vtable.cancel)(ptr) };
            h.state.complete();
        }
        // SAFETY: the list's reference, handed to us.
        unsafe { drop_ref(ptr) };
    }
}

/// Asks the task behind `ptr` to stop: whoever next holds it `RUNNING` drops its future instead of
/// polling it, and its handle reports `Cancelled`. A waiting task is scheduled so that a worker does
/// it soon; a queued or running one carries the flag to its worker; a finished one keeps its
/// result. The future is dropped on a worker, never on the caller's thread, and never mid-poll.
///
/// # Safety
/// The caller holds a reference to the task for the whole call.
pub(crate) unsafe fn abort(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference.
    let h = unsafe { ptr.as_ref() };
    h.state.set_aborted();
    // A waiting task must be claimed by someone to be cancelled: schedule it as a wake-up would.
    wake_by_ref(ptr);
}

/// A task that just finished leaves the owned-task list; the list's reference is dropped by
/// whoever unlinked it (here, unless shutdown got there first).
fn unlink(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference (its `TaskRef`), so the task is live and this drop is
    // never the last.
    unsafe {
        if ptr.as_ref().shared.owned.remove(ptr) {
            drop_ref(ptr);
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { drop_ref(self.0) };
    }
}

/// Adds a reference. Relaxed, as in `Arc::clone`: the new owner got the pointer from an existing
/// one, which already orders it after the allocation.
pub(super) fn inc_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller owns or borrows a reference, so the task is alive.
    let old = unsafe { ptr.as_ref() }.refs.fetch_add(1, Relaxed);
    if old > isize::MAX as usize {
        std::process::abort(); // as `Arc`: overflow would free a live task
    }
}

/// Drops one reference; frees the task when it was the last.
///
/// # Safety
/// The caller owns the reference it drops.
pub(crate) unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: our reference keeps it alive until the `fetch_sub`.
    let h = unsafe { ptr.as_ref() };
    let vtable = h.vtable;
    // Release: our uses of the task happen before the free; Acquire fence below for the freer.
    if h.refs.fetch_sub(1, Release) == 1 {
        // Acquire: every other holder's Release decrement happens before the free. ThreadSanitizer
        // does not model fences, so under `--cfg tsan` (make sanitize) the same edge is an Acquire
        // load of the count, which reads the last decrement (std's `Arc` does the same under TSan).
        if cfg!(tsan) {
            h.refs.load(Acquire);
        } else {
            fence(Acquire);
        }
        // SAFETY: the last reference is gone.
        unsafe { (vtable.dealloc)(ptr) };
    }
}

/// Wakes the task behind a reference the caller holds for the whole call (so the header, and the
/// executor it points to, outlive the `schedule`).
pub(super) fn wake_by_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    let h = unsafe { ptr.as_ref() };
    if h.state.transition_to_scheduled() {
        inc_ref(ptr); // the queue's reference
        h.shared.schedule(TaskRef(ptr));
    }
}
