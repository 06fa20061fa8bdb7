//! (deque conformance: being written)
