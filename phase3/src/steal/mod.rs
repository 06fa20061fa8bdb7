//! Work stealing from scratch (being written): a Chase–Lev deque and a scheduler on it.
#[cfg(not(loom))]
pub mod section;
