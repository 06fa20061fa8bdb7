//! A type-erased job that lives **inside the queue slot** when it is small: no allocation per job.
//!
//! The textbook pool boxes every job (`Box<dyn FnOnce>`), so each submit is a `malloc` on the
//! submitting thread and each job a `free` on a worker — a cross-thread free, the allocator's worst
//! pattern. On 10k tiny jobs that was the largest single cost in the profile (`_int_malloc`, a
//! quarter of all samples). Most jobs capture an `Arc` or two, so [`Job`] keeps closures of up to
//! three words (24 bytes, align ≤ 8) inline, next to two function pointers that know the
//! closure's type; anything larger is boxed behind the same interface.
//!
//! This is the small-buffer optimisation that `std::function` implementations use in C++, done by
//! hand: the only unsafe code in the pool, and all of it is here.
use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit, align_of, size_of};
use std::ptr;

use super::token::CancelToken;

/// Three words: room for a closure capturing up to three pointers or `Arc`s.
type Words = [usize; 3];

/// A job: a `FnOnce(&CancelToken) -> T + Send + 'static`, stored inline when it fits.
pub struct Job<T> {
    /// Moves the closure out of `slot` and calls it.
    call: unsafe fn(*mut Words, &CancelToken) -> T,
    /// Drops the closure in `slot` without calling it.
    discard: unsafe fn(*mut Words),
    /// The closure itself (`F`), or a `Box<F>` when `F` does not fit.
    slot: MaybeUninit<Words>,
    /// Whether the closure was boxed (for reports and tests).
    boxed: bool,
}

// SAFETY: a `Job` is built only from an `F: Send` (see `new`), and owns it.
unsafe impl<T> Send for Job<T> {}

impl<T> fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").field("boxed", &self.boxed).finish()
    }
}

/// Whether a closure of type `F` is stored inline.
const fn fits<F>() -> bool {
    size_of::<F>() <= size_of::<Words>() && align_of::<F>() <= align_of::<Words>()
}

impl<T> Job<T> {
    /// Wraps `f`, inline if it fits in three words, boxed otherwise.
    pub fn new<F>(f: F) -> Self
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
    {
        let mut slot = MaybeUninit::<Words>::uninit();
        if fits::<F>() {
            // SAFETY: `F` fits in `Words` in size and alignment (checked above), and the slot is
            // uninitialised storage we own.
            unsafe { ptr::write(slot.as_mut_ptr().cast::<F>(), f) };
            Job {
                call: call_inline::<F, T>,
                discard: discard_inline::<F>,
                slot,
                boxed: false,
            }
        } else {
            // SAFETY: a `Box<F>` is one pointer: it fits.
            unsafe { ptr::write(slot.as_mut_ptr().cast::<Box<F>>(), Box::new(f)) };
            Job {
                call: call_boxed::<F, T>,
                discard: discard_boxed::<F>,
                slot,
                boxed: true,
            }
        }
    }

    /// Runs the job, consuming it. If the closure panics, its captures are dropped by the unwind
    /// (the closure owns them once called); the job itself is not dropped a second time.
    pub fn run(self, token: &CancelToken) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the slot holds the closure `call` was made for, and `ManuallyDrop` makes sure
        // `discard` is never run after `call` moved the closure out.
        unsafe { (this.call)(this.slot.as_mut_ptr(), token) }
    }

    /// Whether the closure was too large to store inline.
    pub fn is_boxed(&self) -> bool {
        self.boxed
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        // SAFETY: a `Job` that is dropped was never run (`run` forgets it), so the slot still
        // holds the closure `discard` was made for.
        unsafe { (self.discard)(self.slot.as_mut_ptr()) }
    }
}

/// # Safety
/// `slot` holds an `F` written by `Job::new`; it is moved out (the caller must not use it again).
unsafe fn call_inline<F: FnOnce(&CancelToken) -> T, T>(slot: *mut Words, token: &CancelToken) -> T {
    // SAFETY: per the contract, an initialised `F` sits at `slot`, read exactly once.
    let f = unsafe { ptr::read(slot.cast::<F>()) };
    f(token)
}

/// # Safety
/// `slot` holds an `F` written by `Job::new`, dropped here exactly once.
unsafe fn discard_inline<F>(slot: *mut Words) {
    // SAFETY: per the contract.
    unsafe { ptr::drop_in_place(slot.cast::<F>()) }
}

/// # Safety
/// `slot` holds a `Box<F>` written by `Job::new`; it is moved out.
unsafe fn call_boxed<F: FnOnce(&CancelToken) -> T, T>(slot: *mut Words, token: &CancelToken) -> T {
    // SAFETY: per the contract.
    let f = unsafe { ptr::read(slot.cast::<Box<F>>()) };
    f(token)
}

/// # Safety
/// `slot` holds a `Box<F>` written by `Job::new`, dropped here exactly once.
unsafe fn discard_boxed<F>(slot: *mut Words) {
    // SAFETY: per the contract.
    unsafe { ptr::drop_in_place(slot.cast::<Box<F>>()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::ledger::Counted;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn token() -> CancelToken {
        CancelToken::new()
    }

    #[test]
    fn small_closures_are_inline_and_large_ones_boxed() {
        let a = Arc::new(AtomicUsize::new(0));
        let small = Job::new(move |_: &CancelToken| a.load(Relaxed));
        assert!(!small.is_boxed());
        let big = [7u64; 8];
        let large = Job::new(move |_: &CancelToken| big.iter().sum::<u64>());
        assert!(large.is_boxed());
        assert_eq!(large.run(&token()), 56);
        assert_eq!(small.run(&token()), 0);
        // A 16-byte-aligned closure does not fit the 8-aligned slot, whatever its size.
        let aligned = 5u128;
        assert!(Job::new(move |_: &CancelToken| aligned).is_boxed());
    }

    #[test]
    fn captures_are_dropped_exactly_once_run_or_not_inline_or_boxed() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mk_small = || {
            let c = Counted(drops.clone());
            Job::new(move |_: &CancelToken| drop(c))
        };
        let mk_large = || {
            let c = Counted(drops.clone());
            let pad = [0u64; 6];
            Job::new(move |_: &CancelToken| {
                std::hint::black_box(pad);
                drop(c)
            })
        };
        let (s, l) = (mk_small(), mk_large());
        assert!(!s.is_boxed() && l.is_boxed());
        s.run(&token());
        l.run(&token());
        assert_eq!(drops.load(Relaxed), 2, "run: dropped by the closure");
        drop((mk_small(), mk_large()));
        assert_eq!(drops.load(Relaxed), 4, "never run: dropped by the job");
    }

    /// Panics when dropped (quietly: `resume_unwind` skips the hook).
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            std::panic::resume_unwind(Box::new("capture dropped"));
        }
    }

    /// A job capturing a `Counted` and a `PanicsOnDrop`, inline or (padded) boxed.
    fn with_bomb(drops: &Arc<AtomicUsize>, boxed: bool) -> Job<u32> {
        let (c, bomb) = (Counted(drops.clone()), PanicsOnDrop);
        let job = if boxed {
            let pad = [0u64; 4];
            Job::new(move |_: &CancelToken| {
                let _keep = (&c, &bomb, pad);
                7
            })
        } else {
            Job::new(move |_: &CancelToken| {
                let _keep = (&c, &bomb);
                7
            })
        };
        assert_eq!(job.is_boxed(), boxed);
        job
    }

    #[test]
    fn a_capture_that_panics_on_drop_leaves_nothing_undropped_run_or_discarded() {
        // Miri checks the rest: no double drop, no use of a moved-out slot, the box freed.
        let drops = Arc::new(AtomicUsize::new(0));
        for boxed in [false, true] {
            let job = with_bomb(&drops, boxed);
            let t = token();
            let ran = catch_unwind(AssertUnwindSafe(|| job.run(&t)));
            assert!(ran.is_err(), "the capture's panic ends the run");
            let job = with_bomb(&drops, boxed);
            assert!(catch_unwind(AssertUnwindSafe(move || drop(job))).is_err());
        }
        assert_eq!(
            drops.load(Relaxed),
            4,
            "the other capture dropped every time"
        );
    }

    #[test]
    fn a_panicking_job_drops_its_captures_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        for pad in [false, true] {
            let c = Counted(drops.clone());
            let big = [1u64; 5];
            let job: Job<()> = if pad {
                Job::new(move |_: &CancelToken| {
                    let _keep = (&c, big);
                    panic!("boom")
                })
            } else {
                Job::new(move |_: &CancelToken| {
                    let _keep = &c;
                    panic!("boom")
                })
            };
            assert_eq!(job.is_boxed(), pad);
            let t = token();
            assert!(catch_unwind(AssertUnwindSafe(|| job.run(&t))).is_err());
        }
        assert_eq!(drops.load(Relaxed), 2);
    }
}
