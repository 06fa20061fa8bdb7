//! Our queues behind the `harness::contracts::queue` traits, so the shared conformance suite and the
//! benches drive ours and crossbeam's through the same calls.
use harness::contracts::queue::{
    ConcurrentQueue, QueueFlavor, SpscConsumer, SpscFlavor, SpscProducer,
};

use super::BoundedQueue;
use super::ring::{self, Consumer, Producer};

/// Our Vyukov queue as a [`QueueFlavor`].
pub struct OursVyukov;

impl<T: Send> ConcurrentQueue<T> for BoundedQueue<T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        BoundedQueue::try_push(self, value)
    }
    fn try_pop(&self) -> Option<T> {
        BoundedQueue::try_pop(self)
    }
    fn capacity(&self) -> Option<usize> {
        Some(BoundedQueue::capacity(self))
    }
}

impl QueueFlavor for OursVyukov {
    const NAME: &'static str = "ours-vyukov";
    type Queue<T: Send + 'static> = BoundedQueue<T>;
    fn with_capacity<T: Send + 'static>(cap: usize) -> BoundedQueue<T> {
        BoundedQueue::new(cap)
    }
}

/// Our SPSC ring as an [`SpscFlavor`].
pub struct OursRing;

impl<T: Send + 'static> SpscProducer<T> for Producer<T> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        Producer::try_push(self, value)
    }
}

impl<T: Send + 'static> SpscConsumer<T> for Consumer<T> {
    fn try_pop(&mut self) -> Option<T> {
        Consumer::try_pop(self)
    }
}

impl SpscFlavor for OursRing {
    const NAME: &'static str = "ours-ring";
    type Producer<T: Send + 'static> = Producer<T>;
    type Consumer<T: Send + 'static> = Consumer<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (Producer<T>, Consumer<T>) {
        ring::channel(cap)
    }
}
