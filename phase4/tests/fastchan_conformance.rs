//! The channel conformance suite (`harness::conformance::channel`) on fastchan, under both blocking
//! policies and every flavor: the ring (capacity ≥ 1), the rendezvous (capacity 0) and the unbounded
//! one. The same suite runs on phase 1's channel, std's mpsc and crossbeam-channel
//! (`phase1/tests/channel_conformance.rs`).
#![cfg(not(loom))]
harness::channel_conformance!(
    fastchan_spin_then_park,
    phase4::fastchan::contract::FastChan
);
harness::channel_conformance!(
    fastchan_park_at_once,
    phase4::fastchan::contract::FastChanParkAtOnce
);
