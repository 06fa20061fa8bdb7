//! (workload)
