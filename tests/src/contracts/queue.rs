//! (queue contracts: being written)
