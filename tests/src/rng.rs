//! A small deterministic pseudo-random generator for tests, tours and generated traces: the same seed
//! gives the same sequence on every machine, so a failing case replays.

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators, scrambled",
/// 2016): a 64-bit xorshift state, its output scrambled by one multiplication. Not for anything that
/// must be unpredictable.
///
/// ```
/// use harness::rng::XorShift64Star;
///
/// let (mut a, mut b) = (XorShift64Star::new(7), XorShift64Star::new(7));
/// assert_eq!(a.next_u64(), b.next_u64()); // the same seed, the same stream
/// assert!(a.below(10) < 10);
/// let u = a.unit();
/// assert!(u > 0.0 && u <= 1.0);
/// ```
#[derive(Debug, Clone)]
pub struct XorShift64Star(u64);

impl XorShift64Star {
    /// A generator seeded with `seed`. Zero, where xorshift would stay for ever, is replaced by a
    /// fixed non-zero seed.
    pub fn new(seed: u64) -> Self {
        XorShift64Star(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`; the modulo's bias is below `n / 2^64`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number uniform in (0, 1], from the top 53 bits (never 0, so its logarithm is finite).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::XorShift64Star;

    #[test]
    fn a_zero_seed_does_not_stick() {
        let mut r = XorShift64Star::new(0);
        assert!((0..1000).all(|_| r.next_u64() != 0));
    }

    #[test]
    fn the_first_output_is_xorshift64_stars() {
        // Seed 1: the three shifts leave 0x200_0001 (1 ^ 1 << 25); times the multiplier, mod 2^64.
        let expected = 0x0200_0001u64.wrapping_mul(0x2545_f491_4f6c_dd1d);
        assert_eq!(XorShift64Star::new(1).next_u64(), expected);
    }
}
