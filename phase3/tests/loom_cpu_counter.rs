//! Loom models of the sharded counter: adds are never lost, whatever the interleaving and however many
//! threads share a shard; a sum read while adders run never goes backwards; and the racy
//! read-then-write version loses an update, which loom finds.
#![cfg(loom)]
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicU64, Ordering};
use phase1::shim::thread;
use phase3::cpu::counter::ShardedCounter;

/// Two adders on their own shards, a reader summing twice meanwhile, then the exact total.
#[test]
fn sharded_sum_is_exact_after_join_and_monotone_meanwhile() {
    loom::model(|| {
        let c = Arc::new(ShardedCounter::new(2));
        let adders: Vec<_> = (0..2)
            .map(|t| {
                let c = c.clone();
                thread::spawn(move || {
                    c.add(t, 1);
                    c.add(t, 2);
                })
            })
            .collect();
        let first = c.sum();
        let second = c.sum();
        assert!(
            first <= second,
            "a later sum went backwards: {first} then {second}"
        );
        assert!(second <= 6, "a sum beyond every add: {second}");
        for a in adders {
            a.join().unwrap();
        }
        assert_eq!(c.sum(), 6);
    });
}

/// More threads than shards: two adders share the only shard; `fetch_add` still loses nothing.
#[test]
fn a_shared_shard_loses_no_add() {
    loom::model(|| {
        let c = Arc::new(ShardedCounter::new(1));
        let adders: Vec<_> = (0..2)
            .map(|t| {
                let c = c.clone();
                thread::spawn(move || c.add(t, 1))
            })
            .collect();
        for a in adders {
            a.join().unwrap();
        }
        assert_eq!(c.sum(), 2);
    });
}

/// The broken shard update: `load` then `store` instead of one `fetch_add`. Each step is atomic, the
/// pair is not, so two threads sharing the shard can both read 0 and both write 1: loom finds it.
#[test]
#[should_panic(expected = "lost update")]
fn wrong_racy_read_modify_write_loses_an_update() {
    loom::model(|| {
        let shard = Arc::new(AtomicU64::new(0));
        let adders: Vec<_> = (0..2)
            .map(|_| {
                let shard = shard.clone();
                thread::spawn(move || {
                    // wrong on purpose: a read-modify-write split in two
                    let v = shard.load(Ordering::Relaxed);
                    shard.store(v + 1, Ordering::Relaxed);
                })
            })
            .collect();
        for a in adders {
            a.join().unwrap();
        }
        assert_eq!(shard.load(Ordering::Relaxed), 2, "lost update");
    });
}
