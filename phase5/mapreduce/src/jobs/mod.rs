//! The built-in jobs: word count, inverted index, grep, sort of fixed-size records, and the
//! successors of each word.
mod grep;
mod index;
mod sort;
mod successors;
mod wordcount;

pub use grep::Grep;
pub use index::InvertedIndex;
pub use sort::Sort;
pub use successors::Successors;
pub use wordcount::WordCount;

/// The words of a line: runs of bytes between ASCII whitespace.
pub(crate) fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}
