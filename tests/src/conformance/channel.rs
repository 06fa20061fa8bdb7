//! The channel conformance suite (filled in by the channels work).
