//! `unbounded()`: a channel whose `send` never blocks (Go has none; it is what people build with a
//! goroutine and a slice). Same types, same close semantics as [`bounded`](super::bounded); the
//! senders never sleep, so only receivers ever wait and the buffer grows without limit — which is
//! also its risk: a slow consumer turns into unbounded memory instead of back-pressure.
use super::receiver::Receiver;
use super::sender::Sender;
use super::shared::{Capacity, Shared};
use crate::shim::sync::Arc;

/// A channel with no capacity limit: `send` never blocks, it only fails once every receiver is gone.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared::new(Capacity::Unbounded));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}
