//! The lock conformance suite (filled in by the sync-toolbox work).
