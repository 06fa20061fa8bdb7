//! (scheduler)
