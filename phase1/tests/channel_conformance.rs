//! The channel conformance suite (`harness::conformance::channel`) against our channel and the
//! ecosystem's: std mpsc and crossbeam-channel passing it is what shows the suite is honest.
#![cfg(not(loom))]

harness::channel_conformance!(ours, phase1::channels::contract::Ours);
harness::channel_conformance!(std_mpsc, harness::contracts::channel::StdMpsc);
harness::channel_conformance!(crossbeam, harness::contracts::channel::Crossbeam);
