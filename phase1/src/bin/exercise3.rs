//! `make run/phase1/exercise3` — see `phase1::sync`.
//!
//! The counting allocator lets the `pool` section count the allocations it avoids.
#[cfg(not(loom))]
#[global_allocator]
static ALLOCATOR: phase1::sync::alloc::CountingAllocator = phase1::sync::alloc::CountingAllocator;

harness::exercise_main!(phase1::sync::EXERCISE);
