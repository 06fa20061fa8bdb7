//! `keyed`: one quota per key with bounded memory — a million keys, what a key costs, idle keys
//! forgotten on virtual time, and the two policies at the hard cap.
use std::hash::RandomState;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use harness::Ctx;
use ratelimit::{AtCap, Bounds, Denied, Keyed, KeyedRateLimiter, ManualClock, Quota};

const MS: Duration = Duration::from_millis(1);

/// A keyed limiter on `clock` with `max_keys` keys in `shards` shards.
fn keyed(
    quota: Quota,
    max_keys: usize,
    shards: usize,
    at_cap: AtCap,
    clock: &Arc<ManualClock>,
) -> Keyed<u64, Arc<ManualClock>, RandomState> {
    let bounds = Bounds {
        max_keys: NonZeroUsize::new(max_keys).unwrap_or(NonZeroUsize::MIN),
        at_cap,
        shards: NonZeroUsize::new(shards).unwrap_or(NonZeroUsize::MIN),
    };
    Keyed::with_bounds(quota, bounds, clock.clone(), RandomState::new())
}

pub(crate) fn run(ctx: &mut Ctx) {
    let quota = match Quota::per_second(1) {
        Ok(q) => q,
        Err(e) => {
            ctx.check_with("the quota 1/s is valid", false, e.to_string());
            return;
        }
    };
    let keys: u64 = ctx.pick(1_000_000, 100_000);
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1)));
    let limiter = keyed(quota, 2 * keys as usize, 64, AtCap::DenyNewKeys, &clock);
    ctx.say(format!(
        "Keyed<u64> at 1/s per key (burst 1) on a ManualClock, cap {} keys in 64 shards. {keys} \
         keys each take their one permit at the same instant.",
        2 * keys
    ));
    let admitted = (0..keys).filter(|k| limiter.check_key(k).is_ok()).count() as u64;
    let again = (0..keys.min(1000))
        .filter(|k| limiter.check_key(k).is_ok())
        .count();
    let (len, capacity) = (limiter.len(), limiter.capacity());
    // A slot of the table: the key and its TAT (a (u64, u64)), plus hashbrown's one control byte.
    let slot = std::mem::size_of::<(u64, u64)>() + 1;
    let bytes = capacity * slot;
    let per_key = bytes as f64 / len.max(1) as f64;
    let mut table = ctx.table(
        "memory (from the limiter's own len() and capacity(), × bytes per slot)",
        &[
            "keys tracked",
            "table slots",
            "bytes per slot",
            "table bytes",
            "bytes per key",
        ],
    );
    table.row([
        len.to_string(),
        capacity.to_string(),
        slot.to_string(),
        bytes.to_string(),
        format!("{per_key:.1}"),
    ]);
    ctx.show(table);
    ctx.say(
        "What is measured: the tables' slot count, which is what their memory is proportional to; a \
         counting allocator (ratelimit's examples/keyed_memory.rs) also sees the shards' headers and \
         compares governor's keyed limiter on the same keys.",
    );
    ctx.record("keys", keys);
    ctx.record("table_slots", capacity as u64);
    ctx.record("bytes_per_key", per_key);
    ctx.check_with(
        "every key gets its own quota: each admitted once, none a second time at the same instant",
        admitted == keys && again == 0 && len == keys as usize,
        format!("{admitted} admitted, {again} of 1000 again, {len} tracked"),
    );
    ctx.check_with(
        "memory is bounded by the keys tracked: at most 4 table slots a key (17 bytes a slot)",
        capacity >= len && capacity <= 4 * len.max(1),
        format!("{capacity} slots for {len} keys"),
    );

    // Idle keys: once the clock passes every key's TAT they are full, and forgetting them changes
    // no decision.
    clock.advance(Duration::from_secs(1));
    limiter.sweep();
    let (len_after, cap_after) = (limiter.len(), limiter.capacity());
    let readmitted = (0..keys.min(1000))
        .filter(|k| limiter.check_key(k).is_ok())
        .count();
    ctx.check_with(
        "a second later every key is full again and forgotten (len 0, the tables shrink); a \
         forgotten key is admitted exactly as a remembered full one would be",
        len_after == 0 && cap_after < capacity && readmitted == 1000.min(keys as usize),
        format!(
            "len {len} → {len_after}, slots {capacity} → {cap_after}; {readmitted} of 1000 re-admitted"
        ),
    );
    drop(limiter);

    // The hard cap: 4 keys in one shard, all in debt, and a fifth key arrives.
    let mut table = ctx.table(
        "at the cap (4 keys, 1/s each, touched 100 ms apart; a fifth key arrives)",
        &[
            "policy",
            "fifth key",
            "tracked",
            "evicted in debt",
            "debt forgiven",
        ],
    );
    let mut results = Vec::new();
    for at_cap in [AtCap::DenyNewKeys, AtCap::EvictLeastDebt] {
        let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1)));
        let l = keyed(quota, 4, 1, at_cap, &clock);
        for k in 0..4u64 {
            let _ = l.check_key(&k);
            clock.advance(100 * MS);
        }
        // Now 400 ms after the first: key 0 owes 600 ms, key 3 owes 900 ms.
        let fifth = l.check_key(&4);
        let ev = l.evictions();
        table.row([
            format!("{at_cap:?}"),
            format!("{fifth:?}"),
            l.len().to_string(),
            ev.in_debt.to_string(),
            format!("{:?}", ev.debt_forgiven),
        ]);
        // And a second later, after the first key is full again.
        clock.advance(600 * MS);
        let later = l.check_key(&5);
        results.push((at_cap, fifth, ev, later));
    }
    ctx.show(table);
    let (_, deny, deny_ev, deny_later) = results[0];
    ctx.check_with(
        "DenyNewKeys turns the fifth key away with KeyCapacity, retry-after = when the first key is \
         full again (600 ms), evicts nothing, and admits a new key once that time has passed",
        matches!(deny, Err(Denied::KeyCapacity(n)) if n.retry_after() == 600 * MS)
            && deny_ev.in_debt == 0
            && deny_later.is_ok(),
        format!("{deny:?}; evictions {deny_ev:?}; 600 ms later: {deny_later:?}"),
    );
    let (_, evict, evict_ev, _) = results[1];
    ctx.check_with(
        "EvictLeastDebt admits the fifth key by forgetting the key nearest to full (key 0, owing \
         600 ms), and evictions() counts the forgiven debt",
        evict.is_ok() && evict_ev.in_debt == 1 && evict_ev.debt_forgiven == 600 * MS,
        format!("{evict:?}; evictions {evict_ev:?}"),
    );
    ctx.takeaway(
        "A keyed limiter's memory is its table: forget keys that are full (it changes nothing), cap the \
         rest, and choose at the cap between refusing strangers and forgiving the smallest debt.",
    );
}
