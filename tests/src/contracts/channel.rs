//! The channel contract (filled in by the channels work).
