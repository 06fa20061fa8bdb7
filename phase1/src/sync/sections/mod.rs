//! The experiments `exercise3` runs, one file per section.
use harness::Section;

/// Every section, in order.
pub(super) static ALL: &[Section] = &[];
