//! The channel conformance suite (`harness::conformance::channel`) on fastchan, under both blocking
//! policies. The same suite runs on phase 1's channel, std's mpsc and crossbeam-channel
//! (`phase1/tests/channel_conformance.rs`); fastchan declares no rendezvous, so capacity 0 is skipped.
#![cfg(not(loom))]
harness::channel_conformance!(
    fastchan_spin_then_park,
    phase4::fastchan::contract::FastChan
);
harness::channel_conformance!(
    fastchan_park_at_once,
    phase4::fastchan::contract::FastChanParkAtOnce
);

#[test]
fn capacity_zero_is_a_clear_error() {
    let err = phase4::fastchan::bounded::<u8>(0).unwrap_err();
    assert!(err.to_string().contains("rendezvous"), "{err}");
}
