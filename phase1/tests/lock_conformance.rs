//! The lock conformance suite (`harness::conformance::lock`) against ours, `std` and `parking_lot`.
//! The peers passing is what shows the suite is honest.
#![cfg(not(loom))]
use std::time::Duration;

use harness::conformance::lock as suite;

/// How long the churn case runs. Under Miri (`make miri`) time is virtual and every step is
/// interpreted, so a few milliseconds already mean hundreds of lock hand-offs.
const CHURN: Duration = if cfg!(miri) {
    Duration::from_millis(5)
} else {
    Duration::from_millis(300)
};

macro_rules! mutex_suite {
    ($name:ident, $ty:ty) => {
        mod $name {
            use super::*;
            #[test]
            fn mutual_exclusion() {
                suite::mutual_exclusion::<$ty>(4, if cfg!(miri) { 100 } else { 20_000 });
            }
            #[test]
            fn try_lock_fails_while_held() {
                suite::try_lock_fails_while_held::<$ty>();
            }
            #[test]
            fn guard_drop_releases() {
                suite::guard_drop_releases::<$ty>();
            }
            #[test]
            fn no_deadlock_under_churn() {
                suite::no_deadlock_under_churn::<$ty>(4, CHURN);
            }
        }
    };
}

macro_rules! rwlock_suite {
    ($name:ident, $ty:ident) => {
        mod $name {
            use super::*;
            #[test]
            fn readers_are_concurrent() {
                suite::readers_are_concurrent::<$ty<u64>>();
            }
            #[test]
            fn writers_are_exclusive() {
                suite::writers_are_exclusive::<$ty<(u64, u64)>>(if cfg!(miri) {
                    50
                } else {
                    10_000
                });
            }
            #[test]
            fn try_variants_respect_holders() {
                suite::try_variants_respect_holders::<$ty<u64>>();
            }
            #[test]
            fn waiting_writer_gets_in() {
                suite::waiting_writer_gets_in::<$ty<u64>>();
            }
        }
    };
}

type OursFutex = phase1::sync::Mutex<u64>;
type OursSpin = phase1::sync::SpinLock<u64>;
type StdMutex = std::sync::Mutex<u64>;
type PlMutex = parking_lot::Mutex<u64>;
use parking_lot::RwLock as PlRwLock;
use phase1::sync::RwLock as OursRwLock;
use std::sync::RwLock as StdRwLock;

mutex_suite!(ours_futex, OursFutex);
mutex_suite!(ours_spin, OursSpin);
mutex_suite!(std_mutex, StdMutex);
mutex_suite!(parking_lot_mutex, PlMutex);
rwlock_suite!(ours_rwlock, OursRwLock);
rwlock_suite!(std_rwlock, StdRwLock);
rwlock_suite!(parking_lot_rwlock, PlRwLock);
