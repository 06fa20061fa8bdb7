//! (deque contracts: being written)
