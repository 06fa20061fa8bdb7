//! The lock contract (filled in by the sync-toolbox work).
