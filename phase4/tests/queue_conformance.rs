//! The queue conformance suites (`harness::conformance::queue`) on ours and on the ecosystem's queues.
//!
//! MPMC: our Vyukov `BoundedQueue`, crossbeam-queue's `ArrayQueue` and `SegQueue`. SPSC: our ring,
//! rtrb, and two MPMC queues used as SPSC queues (every MPMC queue is a valid SPSC queue, so the SPSC
//! suite is checked against crossbeam too). The ring only gets the SPSC suite: its halves are not
//! `Clone` and need `&mut self`, so running it as an MPMC queue does not compile.
#![cfg(not(loom))]
use harness::contracts::queue::{AsSpsc, CrossbeamArrayQueue, CrossbeamSegQueue, Rtrb};
use phase4::lockfree::{OursRing, OursVyukov};

harness::queue_conformance!(ours_vyukov, OursVyukov);
harness::queue_conformance!(crossbeam_arrayqueue, CrossbeamArrayQueue);
harness::queue_conformance!(crossbeam_segqueue, CrossbeamSegQueue);

harness::spsc_conformance!(ours_ring, OursRing);
harness::spsc_conformance!(rtrb_ring, Rtrb);
harness::spsc_conformance!(arrayqueue_as_spsc, AsSpsc<CrossbeamArrayQueue>);
harness::spsc_conformance!(ours_vyukov_as_spsc, AsSpsc<OursVyukov>);

#[test]
#[should_panic(expected = "capacity of at least 1")]
fn a_zero_capacity_queue_is_refused() {
    let _ = phase4::lockfree::BoundedQueue::<u8>::new(0);
}

#[test]
#[should_panic(expected = "capacity of at least 1")]
fn a_zero_capacity_ring_is_refused() {
    let _ = phase4::lockfree::ring::channel::<u8>(0);
}
