//! (queue conformance: being written)
