//! What the benches share: the Zipf corpus.
use std::path::{Path, PathBuf};

use harness::rng::XorShift64Star;

/// `files` files of about `bytes_each` bytes in `dir`: lines of 1-12 words `w<rank>` drawn with
/// probability ∝ 1 / (rank + 1)^s over `vocab` ranks.
pub fn zipf_corpus(
    dir: &Path,
    files: usize,
    bytes_each: usize,
    vocab: usize,
    s: f64,
) -> Vec<PathBuf> {
    let mut rng = XorShift64Star::new(5);
    let mut cdf = Vec::with_capacity(vocab);
    let mut total = 0.0;
    for rank in 0..vocab {
        total += 1.0 / ((rank + 1) as f64).powf(s);
        cdf.push(total);
    }
    (0..files)
        .map(|i| {
            let mut text = Vec::with_capacity(bytes_each + 128);
            while text.len() < bytes_each {
                for j in 0..1 + rng.below(12) {
                    if j > 0 {
                        text.push(b' ');
                    }
                    let u = rng.unit() * total;
                    let rank = cdf.partition_point(|&p| p < u).min(vocab - 1);
                    text.extend_from_slice(format!("w{rank}").as_bytes());
                }
                text.push(b'\n');
            }
            let path = dir.join(format!("in-{i}.txt"));
            std::fs::write(&path, &text).expect("write the corpus");
            path
        })
        .collect()
}
