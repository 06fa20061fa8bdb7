//! The deque conformance suite (`harness::conformance::deque`) against our Chase–Lev deque and
//! against crossbeam-deque. crossbeam-deque passing is what proves the suite honest.
#![cfg(not(loom))]

harness::deque_conformance!(ours, phase3::steal::ChaseLev);
harness::deque_conformance!(crossbeam_deque, harness::contracts::deque::CrossbeamDeque);
