//! A leak in the making: a subscriber thread (or task) that waits for events from a registry.
//!
//! Go's classic leak is a goroutine blocked on a channel nobody will ever use again. Rust's channels
//! disconnect when the other side is dropped, which ends most such waits by itself; the leak survives
//! wherever the other side is *kept*: here a registry (an event bus) keeps every subscriber's sender,
//! so when the subscriber's owner goes away the thread keeps waiting, forever. The fix is ownership:
//! the subscription removes its sender from the registry and joins its thread when dropped.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// Subscribers' senders, each with its subscription id.
type Senders = Vec<(u64, Sender<u64>)>;

/// The registry: one sender per subscriber, keyed by subscription id.
#[derive(Debug, Default, Clone)]
pub struct EventBus {
    subscribers: Arc<Mutex<Senders>>,
    next_id: Arc<AtomicU64>,
}

impl EventBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `event` to every subscriber; returns how many received it.
    pub fn publish(&self, event: u64) -> usize {
        let subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.iter().filter(|(_, tx)| tx.send(event).is_ok()).count()
    }

    /// How many senders the bus holds.
    pub fn len(&self) -> usize {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// True when no subscriber is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every sender: each subscriber's `recv` then fails and its thread ends. The containment
    /// of the leaky demo; a real bus would rarely have this switch.
    pub fn clear(&self) {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn register(&self) -> (u64, std::sync::mpsc::Receiver<u64>) {
        let (tx, rx) = channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed); // Relaxed: only uniqueness matters.
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, tx));
        (id, rx)
    }

    fn unregister(&self, id: u64) {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(i, _)| *i != id);
    }
}

/// Counts the events a subscriber handled.
fn spawn_subscriber(rx: std::sync::mpsc::Receiver<u64>, seen: Arc<AtomicU64>) -> JoinHandle<()> {
    // Unnamed on purpose: a `LeakGuard` recognises it by the name it inherits from its creator.
    thread::spawn(move || {
        // `recv` fails only when every sender is gone: the bus's copy decides when this ends.
        while rx.recv().is_ok() {
            seen.fetch_add(1, Ordering::Relaxed); // Relaxed: a count, read after the thread ends.
        }
    })
}

/// **Leaks**: the subscription registers with the bus and forgets its thread; dropping it changes
/// nothing, the bus still holds the sender, the thread waits on.
#[derive(Debug)]
pub struct LeakySubscription {
    /// Events handled by the subscriber thread.
    pub seen: Arc<AtomicU64>,
}

impl LeakySubscription {
    /// Subscribes a thread to `bus`.
    pub fn subscribe(bus: &EventBus) -> Self {
        let (_id, rx) = bus.register();
        let seen = Arc::new(AtomicU64::new(0));
        drop(spawn_subscriber(rx, seen.clone())); // the mistake: the JoinHandle, and the thread, are let go
        LeakySubscription { seen }
    }
}

/// The fix: dropping the subscription unregisters its sender (so the thread's `recv` fails) and
/// joins the thread.
#[derive(Debug)]
pub struct Subscription {
    bus: EventBus,
    id: u64,
    thread: Option<JoinHandle<()>>,
    /// Events handled by the subscriber thread.
    pub seen: Arc<AtomicU64>,
}

impl Subscription {
    /// Subscribes a thread to `bus`.
    pub fn subscribe(bus: &EventBus) -> Self {
        let (id, rx) = bus.register();
        let seen = Arc::new(AtomicU64::new(0));
        let thread = Some(spawn_subscriber(rx, seen.clone()));
        Subscription {
            bus: bus.clone(),
            id,
            thread,
            seen,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.bus.unregister(self.id);
        if let Some(t) = self.thread.take() {
            let _ = t.join(); // Ends at once: its only sender was just dropped.
        }
    }
}

/// The same two shapes as tokio tasks: a task awaiting a channel whose sender the bus keeps.
pub mod tasks {
    use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
    use tokio::task::JoinHandle;

    /// A bus of tokio senders.
    pub type TaskBus = std::sync::Arc<std::sync::Mutex<Vec<UnboundedSender<u64>>>>;

    /// **Leaks**: a detached task waiting on a channel whose sender stays in `bus`.
    pub fn subscribe_detached(bus: &TaskBus) {
        let (tx, mut rx) = unbounded_channel::<u64>();
        bus.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        drop(tokio::spawn(
            async move { while rx.recv().await.is_some() {} },
        ));
    }

    /// The fix: the task is owned; dropping the returned handle aborts it.
    pub fn subscribe_owned(bus: &TaskBus) -> AbortOnDrop {
        let (tx, mut rx) = unbounded_channel::<u64>();
        bus.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
        AbortOnDrop(tokio::spawn(
            async move { while rx.recv().await.is_some() {} },
        ))
    }

    /// Aborts the task when dropped.
    #[derive(Debug)]
    pub struct AbortOnDrop(JoinHandle<()>);

    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
}
