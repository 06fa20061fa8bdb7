//! The work-stealing deque contract: what "a work-stealing deque" means here, so that one
//! conformance suite, one scheduler and one bench workload serve our Chase–Lev deque and
//! crossbeam-deque alike.
//!
//! A [`WorkDeque`] is a family of deques (a type-level factory). Its owner end ([`DequeOwner`]) pushes
//! and pops at one end, LIFO, from one thread at a time; its thief end ([`DequeStealer`]) is cloned
//! freely and steals the oldest element from the other end, answering [`Steal::Success`],
//! [`Steal::Empty`] or [`Steal::Retry`] (lost a race; try again).
//!
//! The adapter for the ecosystem lives here: [`CrossbeamDeque`]. Ours lives next to our type.

/// The result of a steal.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Steal<T> {
    /// Took the oldest element.
    Success(T),
    /// Nothing to take.
    Empty,
    /// Lost a race; trying again may succeed.
    Retry,
}

impl<T> Steal<T> {
    /// The stolen value, if any.
    pub fn success(self) -> Option<T> {
        match self {
            Steal::Success(v) => Some(v),
            _ => None,
        }
    }
    /// True for [`Steal::Retry`].
    pub fn is_retry(&self) -> bool {
        matches!(self, Steal::Retry)
    }
}

/// The owner's end: one thread at a time (`Send`, typically not `Sync`).
pub trait DequeOwner<T>: Send + 'static {
    /// Its thieves' handle.
    type Stealer: DequeStealer<T>;
    /// Pushes at the owner's end.
    fn push(&self, value: T);
    /// Pops the newest element (LIFO).
    fn pop(&self) -> Option<T>;
    /// True if empty (a snapshot).
    fn is_empty(&self) -> bool;
    /// A thief's handle to this deque.
    fn stealer(&self) -> Self::Stealer;
}

/// A thief's end: cloned and shared across threads.
pub trait DequeStealer<T>: Clone + Send + Sync + 'static {
    /// Steals the oldest element (FIFO with respect to pushes).
    fn steal(&self) -> Steal<T>;
    /// True if the deque looked empty (a snapshot).
    fn is_empty(&self) -> bool;
}

/// A family of work-stealing deques.
pub trait WorkDeque: 'static {
    /// Short name for reports (`ours`, `crossbeam-deque`).
    const NAME: &'static str;
    /// Its owner type.
    type Owner<T: Send + 'static>: DequeOwner<T, Stealer = Self::Stealer<T>>;
    /// Its thief type.
    type Stealer<T: Send + 'static>: DequeStealer<T>;
    /// A new, empty deque (LIFO for the owner).
    fn new<T: Send + 'static>() -> Self::Owner<T>;
}

/// crossbeam-deque: `Worker::new_lifo()` and its `Stealer`.
pub struct CrossbeamDeque;

impl<T: Send + 'static> DequeOwner<T> for crossbeam_deque::Worker<T> {
    type Stealer = crossbeam_deque::Stealer<T>;
    fn push(&self, value: T) {
        crossbeam_deque::Worker::push(self, value)
    }
    fn pop(&self) -> Option<T> {
        crossbeam_deque::Worker::pop(self)
    }
    fn is_empty(&self) -> bool {
        crossbeam_deque::Worker::is_empty(self)
    }
    fn stealer(&self) -> Self::Stealer {
        crossbeam_deque::Worker::stealer(self)
    }
}

impl<T: Send + 'static> DequeStealer<T> for crossbeam_deque::Stealer<T> {
    fn steal(&self) -> Steal<T> {
        match crossbeam_deque::Stealer::steal(self) {
            crossbeam_deque::Steal::Success(v) => Steal::Success(v),
            crossbeam_deque::Steal::Empty => Steal::Empty,
            crossbeam_deque::Steal::Retry => Steal::Retry,
        }
    }
    fn is_empty(&self) -> bool {
        crossbeam_deque::Stealer::is_empty(self)
    }
}

impl WorkDeque for CrossbeamDeque {
    const NAME: &'static str = "crossbeam-deque";
    type Owner<T: Send + 'static> = crossbeam_deque::Worker<T>;
    type Stealer<T: Send + 'static> = crossbeam_deque::Stealer<T>;
    fn new<T: Send + 'static>() -> Self::Owner<T> {
        crossbeam_deque::Worker::new_lifo()
    }
}
