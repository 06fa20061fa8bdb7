//! A counting global allocator: how many allocations a piece of code made, measured, not guessed.
//!
//! Go reports allocations per operation in `testing.B` (`-benchmem`) from its runtime; Rust has no
//! runtime, but any binary may replace the global allocator. [`CountingAllocator`] forwards to the
//! system allocator and counts. Only a binary can install it
//! (`#[global_allocator] static A: CountingAllocator = CountingAllocator;` — exercise3 does); library
//! code asks [`installed`] before trusting the counters.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting allocations and bytes requested.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract; the
// counting touches only static atomics and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed (all three): independent statistics, no data hangs on them.
        INSTALLED.store(true, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded with the caller's valid layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded with the caller's valid layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        INSTALLED.store(true, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: `ptr`/`layout` came from this allocator; `new_size` is the caller's valid request.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes counted so far, process-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocCount {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Bytes requested by those calls.
    pub bytes: u64,
}

impl AllocCount {
    /// The counts since `earlier`.
    pub fn since(self, earlier: AllocCount) -> AllocCount {
        AllocCount {
            allocations: self.allocations - earlier.allocations,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

/// True once a [`CountingAllocator`] installed as the global allocator has served an allocation.
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The counters now (all threads), or `None` when no counting allocator is installed.
pub fn snapshot() -> Option<AllocCount> {
    installed().then(|| AllocCount {
        allocations: ALLOCATIONS.load(Relaxed),
        bytes: BYTES.load(Relaxed),
    })
}
