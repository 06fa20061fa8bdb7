//! The queue contract: what "a non-blocking concurrent queue" means here, so one conformance suite and
//! one bench workload serve our from-scratch queues and crossbeam-queue's alike.
//!
//! Two shapes, kept apart by the type system:
//!
//! - [`ConcurrentQueue`]: one shared value (`&self` methods, `Send + Sync`), any number of producers
//!   and consumers at once: crossbeam's `ArrayQueue` (bounded) and `SegQueue` (unbounded), our Vyukov
//!   queue. A [`QueueFlavor`] makes them by capacity.
//! - [`SpscFlavor`]: a single-producer single-consumer ring split into a [`SpscProducer`] and a
//!   [`SpscConsumer`]. Both halves take `&mut self` and neither is `Clone`, so a second producer or a
//!   second consumer cannot be written: misuse does not compile. Every MPMC queue is also a valid
//!   SPSC queue ([`AsSpsc`]), which is how the SPSC suite is checked against crossbeam.
//!
//! Adapters for the ecosystem live here ([`CrossbeamArrayQueue`], [`CrossbeamSegQueue`]); ours live
//! next to our types (`phase4::lockfree`).
use std::marker::PhantomData;
use std::sync::Arc;

use crossbeam_queue::{ArrayQueue, SegQueue};

/// A queue shared by any number of producers and consumers. Never blocks.
pub trait ConcurrentQueue<T>: Send + Sync {
    /// Appends `value`; `Err(value)` (handed back, not dropped) when a bounded queue is full.
    fn try_push(&self, value: T) -> Result<(), T>;
    /// Takes the oldest value; `None` when empty.
    fn try_pop(&self) -> Option<T>;
    /// The most values it holds at once; `None` for an unbounded queue.
    fn capacity(&self) -> Option<usize>;
}

/// A family of MPMC queues (a type-level factory).
pub trait QueueFlavor: 'static {
    /// Short name for reports (`ours-vyukov`, `crossbeam-arrayqueue`).
    const NAME: &'static str;
    /// Its queue type.
    type Queue<T: Send + 'static>: ConcurrentQueue<T> + 'static;
    /// A queue holding at most `cap` values (`cap >= 1`); an unbounded flavor ignores `cap`.
    fn with_capacity<T: Send + 'static>(cap: usize) -> Self::Queue<T>;
}

/// The producing half of an SPSC queue: exactly one exists per queue.
pub trait SpscProducer<T>: Send + 'static {
    /// Appends `value`; `Err(value)` when full.
    fn try_push(&mut self, value: T) -> Result<(), T>;
}

/// The consuming half of an SPSC queue: exactly one exists per queue.
pub trait SpscConsumer<T>: Send + 'static {
    /// Takes the oldest value; `None` when empty.
    fn try_pop(&mut self) -> Option<T>;
}

/// A family of SPSC queues.
pub trait SpscFlavor: 'static {
    /// Short name for reports (`ours-ring`, `rtrb`).
    const NAME: &'static str;
    /// Its producer.
    type Producer<T: Send + 'static>: SpscProducer<T>;
    /// Its consumer.
    type Consumer<T: Send + 'static>: SpscConsumer<T>;
    /// A queue holding exactly `cap` values (`cap >= 1`), split into its two halves.
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Producer<T>, Self::Consumer<T>);
}

/// crossbeam-queue's `ArrayQueue`: bounded, MPMC, a Vyukov-style array with per-slot stamps.
pub struct CrossbeamArrayQueue;

impl<T: Send> ConcurrentQueue<T> for ArrayQueue<T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        self.push(value)
    }
    fn try_pop(&self) -> Option<T> {
        self.pop()
    }
    fn capacity(&self) -> Option<usize> {
        Some(ArrayQueue::capacity(self))
    }
}

impl QueueFlavor for CrossbeamArrayQueue {
    const NAME: &'static str = "crossbeam-arrayqueue";
    type Queue<T: Send + 'static> = ArrayQueue<T>;
    fn with_capacity<T: Send + 'static>(cap: usize) -> ArrayQueue<T> {
        ArrayQueue::new(cap)
    }
}

/// crossbeam-queue's `SegQueue`: unbounded, MPMC, a linked list of array segments.
pub struct CrossbeamSegQueue;

impl<T: Send> ConcurrentQueue<T> for SegQueue<T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        self.push(value);
        Ok(())
    }
    fn try_pop(&self) -> Option<T> {
        self.pop()
    }
    fn capacity(&self) -> Option<usize> {
        None
    }
}

impl QueueFlavor for CrossbeamSegQueue {
    const NAME: &'static str = "crossbeam-segqueue";
    type Queue<T: Send + 'static> = SegQueue<T>;
    fn with_capacity<T: Send + 'static>(_cap: usize) -> SegQueue<T> {
        SegQueue::new()
    }
}

/// Any MPMC flavor used as an SPSC queue: both halves hold the same `Arc`'d queue, and neither is
/// `Clone`, so the SPSC suite can run on crossbeam too.
pub struct AsSpsc<F>(PhantomData<F>);

/// One half of an [`AsSpsc`] queue.
pub struct Half<Q>(Arc<Q>);

impl<T: Send + 'static, Q: ConcurrentQueue<T> + 'static> SpscProducer<T> for Half<Q> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        self.0.try_push(value)
    }
}

impl<T: Send + 'static, Q: ConcurrentQueue<T> + 'static> SpscConsumer<T> for Half<Q> {
    fn try_pop(&mut self) -> Option<T> {
        self.0.try_pop()
    }
}

impl<F: QueueFlavor> SpscFlavor for AsSpsc<F> {
    const NAME: &'static str = F::NAME;
    type Producer<T: Send + 'static> = Half<F::Queue<T>>;
    type Consumer<T: Send + 'static> = Half<F::Queue<T>>;
    fn channel<T: Send + 'static>(cap: usize) -> (Self::Producer<T>, Self::Consumer<T>) {
        let q = Arc::new(F::with_capacity(cap));
        (Half(q.clone()), Half(q))
    }
}

/// rtrb's wait-free SPSC ring behind the SPSC contract (the peer of our ring in the conformance suite
/// and the `queues/spsc` bench).
pub struct Rtrb;

/// The producing half of an [`Rtrb`] ring.
pub struct RtrbProducer<T>(rtrb::Producer<T>);

/// The consuming half of an [`Rtrb`] ring.
pub struct RtrbConsumer<T>(rtrb::Consumer<T>);

impl<T: Send + 'static> SpscProducer<T> for RtrbProducer<T> {
    fn try_push(&mut self, value: T) -> Result<(), T> {
        self.0.push(value).map_err(|rtrb::PushError::Full(v)| v)
    }
}

impl<T: Send + 'static> SpscConsumer<T> for RtrbConsumer<T> {
    fn try_pop(&mut self) -> Option<T> {
        self.0.pop().ok()
    }
}

impl SpscFlavor for Rtrb {
    const NAME: &'static str = "rtrb";
    type Producer<T: Send + 'static> = RtrbProducer<T>;
    type Consumer<T: Send + 'static> = RtrbConsumer<T>;
    fn channel<T: Send + 'static>(cap: usize) -> (RtrbProducer<T>, RtrbConsumer<T>) {
        let (p, c) = rtrb::RingBuffer::new(cap);
        (RtrbProducer(p), RtrbConsumer(c))
    }
}
