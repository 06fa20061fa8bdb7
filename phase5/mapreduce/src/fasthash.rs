//! The map buffers' hash: a multiply-rotate word hash (the scheme of rustc's `FxHasher`) instead of
//! std's SipHash-1-3. A map task hashes every pair it emits into its buffer, and for short keys
//! such as words SipHash's rounds were a tenth of the whole job (`perf`, see the README's
//! Performance paragraph). The buffers are sorted before anything leaves them, so the hash never
//! shows in the output. The price: the hash is not keyed, so input crafted to collide can slow a
//! map task down (never change its output); std's keyed hash is what a job over hostile input
//! would want.
use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier of rustc's `FxHasher` (an odd constant with well-spread bits).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A word-at-a-time hash: each 8-byte word is mixed in by a rotate, an xor and a multiply.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word: [u8; 8] = chunk.try_into().expect("chunks_exact gives 8 bytes");
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the best-mixed bits at the top; hashbrown takes its bucket from the
        // low bits, so the top ones are rotated down.
        self.hash.rotate_left(26)
    }
}

/// What the map buffers' `HashMap`s are built with.
pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;
