//! What "exactly once" means, as a check that can fail.
//!
//! Producer `p` sends the items `item(p, 0) .. item(p, per_producer)`; each item names its producer and
//! its sequence number, so the delivered multiset can be compared with the sent one item by item:
//! a lost item is *missing*, an item seen twice is *duplicated*, an item nobody sent (a torn frame, a
//! mis-parsed file) is *unexpected*. The order-independent checksum is the cheap summary a real system
//! would carry in a trailer; the multiset is the proof.

/// The item `seq` of producer `producer`: the producer in the high 32 bits, the sequence in the low.
pub fn item(producer: u32, seq: u32) -> u64 {
    (u64::from(producer) << 32) | u64::from(seq)
}

/// SplitMix64's finaliser: a bijective mix, so the checksum is not fooled by swapped bits.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An order-independent count and checksum (wrapping sum of [`mix`]ed items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Items added.
    pub count: u64,
    /// Wrapping sum of the mixed items.
    pub checksum: u64,
}

impl Tally {
    /// Adds one item.
    pub fn add(&mut self, item: u64) {
        self.count += 1;
        self.checksum = self.checksum.wrapping_add(mix(item));
    }

    /// The tally of everything `producers` producers send, `per_producer` items each.
    pub fn expected(producers: u32, per_producer: u32) -> Tally {
        let mut t = Tally::default();
        for p in 0..producers {
            for s in 0..per_producer {
                t.add(item(p, s));
            }
        }
        t
    }

    /// The tally of a slice of items.
    pub fn of(items: &[u64]) -> Tally {
        let mut t = Tally::default();
        items.iter().for_each(|&i| t.add(i));
        t
    }
}

/// The received multiset compared with the sent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Items sent.
    pub sent: u64,
    /// Items received (with repeats).
    pub received: u64,
    /// Sent items never received.
    pub missing: u64,
    /// Extra copies of received items (an item seen 3 times counts 2).
    pub duplicated: u64,
    /// Received items that were never sent.
    pub unexpected: u64,
    /// Whether the checksums of the sent and received items agree.
    pub checksum_ok: bool,
}

impl Delivery {
    /// Every item delivered once: nothing missing, duplicated or unexpected, and the checksums agree.
    pub fn exactly_once(&self) -> bool {
        self.missing == 0
            && self.duplicated == 0
            && self.unexpected == 0
            && self.received == self.sent
            && self.checksum_ok
    }
}

/// Compares what the consumers received with what `producers × per_producer` items sent.
pub fn verify<'a>(
    producers: u32,
    per_producer: u32,
    received: impl IntoIterator<Item = &'a [u64]>,
) -> Delivery {
    let per = per_producer as usize;
    let mut seen = vec![0u32; producers as usize * per];
    let mut tally = Tally::default();
    let mut unexpected = 0;
    for batch in received {
        for &it in batch {
            tally.add(it);
            let (p, s) = ((it >> 32) as usize, (it & 0xFFFF_FFFF) as usize);
            if p < producers as usize && s < per {
                seen[p * per + s] += 1;
            } else {
                unexpected += 1;
            }
        }
    }
    let missing = seen.iter().filter(|&&c| c == 0).count() as u64;
    let duplicated = seen.iter().map(|&c| u64::from(c.saturating_sub(1))).sum();
    Delivery {
        sent: seen.len() as u64,
        received: tally.count,
        missing,
        duplicated,
        unexpected,
        checksum_ok: tally == Tally::expected(producers, per_producer),
    }
}
