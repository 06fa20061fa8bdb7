//! `bounded(cap)`: Go's `make(chan T, cap)`, including `cap == 0`, the unbuffered (rendezvous)
//! channel where a send completes only once a receiver has taken the value.
use super::receiver::Receiver;
use super::sender::Sender;
use super::shared::{Capacity, Shared};
use crate::shim::sync::Arc;

/// A channel holding at most `cap` values; `send` blocks while it is full. With `cap == 0` every
/// send waits until a receiver has taken its value (a rendezvous). Both halves clone (MPMC).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let capacity = if cap == 0 {
        Capacity::Rendezvous
    } else {
        Capacity::Bounded(cap)
    };
    let shared = Arc::new(Shared::new(capacity));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}
