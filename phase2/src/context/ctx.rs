//! The cancellation tree. Go: `context.Context` — `WithCancel`, `WithDeadline`, `Done()`, `Err()`; a
//! parent's cancel closes every descendant's `Done` channel, and a child's cancel stays below it.
//! Rust: no standard type; tokio-util's `CancellationToken` is the tree without deadlines. Here the
//! tree is built from scratch on `phase1::shim` so loom can check cancel racing `wait` and `child`.
//!
//! Shape: a [`Context`] is a shared handle on a node. A node holds a strong link to its parent's
//! handle (for the deadline and to deregister) and its parent holds its live children in a map, so a
//! cancel can walk down. That is a reference cycle, broken in two ways: cancelling a node empties its
//! children map, and dropping the last handle of a child removes it from its parent's map. So a
//! long-lived parent does not accumulate dead children (`children()` counts them).
//!
//! Deadlines are enforced lazily, without a timer thread: a node's effective deadline is the earliest
//! of its own and its ancestors', fixed at creation; whoever looks ([`Context::is_cancelled`],
//! [`Context::wait`], the `cancelled()` future) after that instant cancels the node with
//! [`Reason::DeadlineExceeded`], which then propagates down like any cancel.
use phase1::shim::sync::atomic::{AtomicBool, Ordering};
use phase1::shim::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Why a context is done. Go: `context.Canceled` / `context.DeadlineExceeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// [`Context::cancel`] was called on this context or an ancestor.
    Cancelled,
    /// The effective deadline passed.
    DeadlineExceeded,
}

/// A node of the tree.
pub(crate) struct Node {
    /// The parent's handle: keeps the parent alive while this node lives. `None` for a root.
    parent: Option<Context>,
    /// This node's key in the parent's `children` map (unused for a root).
    key: u64,
    /// The earliest of this node's own deadline and every ancestor's. Immutable.
    deadline: Option<Instant>,
    /// Fast path of `state.reason.is_some()`: false until the cancel, then true forever.
    done: AtomicBool,
    /// Everything that changes, under one lock.
    state: Mutex<State>,
    /// Blocking waiters sleep here; notified once, by the cancel.
    cv: Condvar,
}

/// The mutable part of a node.
#[derive(Default)]
pub(crate) struct State {
    /// `None` while live; `Some` forever after the first cancel (the first reason wins).
    reason: Option<Reason>,
    /// Live children to cancel with this node. Emptied by the cancel; an entry leaves when the
    /// child's last handle drops.
    children: HashMap<u64, Arc<Node>>,
    /// Key for the next child.
    next_key: u64,
    /// Threads blocked on `cv` right now. The cancel notifies only if there are any: std's
    /// `notify_all` is a futex-wake system call even when nobody waits.
    sleepers: usize,
    /// Async waiters' wakers, keyed by waiter id; drained and woken by the cancel.
    #[cfg(not(loom))]
    wakers: HashMap<u64, std::task::Waker>,
    /// Id for the next async waiter.
    #[cfg(not(loom))]
    next_waker: u64,
}

/// The handle's shared part; its `Drop` deregisters the node from its parent.
struct Handle(Arc<Node>);

/// A cancellation scope with an optional deadline. Cheap to clone (clones share the node).
#[derive(Clone)]
pub struct Context {
    h: Arc<Handle>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("deadline", &self.node().deadline)
            .field("reason", &self.reason())
            .finish()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(parent) = &self.0.parent {
            parent.node().lock().children.remove(&self.0.key);
        }
    }
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels this node and, after releasing its lock, every child (no lock is ever held while
    /// another is taken, so there is no lock order to get wrong). Returns false if it was already done.
    fn cancel(&self, reason: Reason) -> bool {
        let children = {
            let mut st = self.lock();
            if st.reason.is_some() {
                return false;
            }
            st.reason = Some(reason);
            // Release: publishes `reason` (written above under the lock) to `is_cancelled`'s Acquire
            // load, which may then read `reason()` — it takes the lock anyway, so this flag only has to
            // be monotonic and ordered after the state change.
            self.done.store(true, Ordering::Release);
            if st.sleepers > 0 {
                self.cv.notify_all();
            }
            #[cfg(not(loom))]
            for (_, w) in st.wakers.drain() {
                w.wake();
            }
            std::mem::take(&mut st.children)
        };
        for child in children.into_values() {
            child.cancel(reason);
        }
        true
    }

    /// Cancels with `DeadlineExceeded` if the deadline has passed at `now`.
    fn expire(&self, now: Instant) -> bool {
        match self.deadline {
            Some(d) if now >= d => {
                self.cancel(Reason::DeadlineExceeded);
                true
            }
            _ => false,
        }
    }
}

impl Context {
    /// A root: never cancelled unless [`Context::cancel`] is called, no deadline. Go: `context.Background()`.
    pub fn background() -> Context {
        Context::from_node(Node {
            parent: None,
            key: 0,
            deadline: None,
            done: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        })
    }

    fn from_node(node: Node) -> Context {
        Context {
            h: Arc::new(Handle(Arc::new(node))),
        }
    }

    pub(crate) fn node(&self) -> &Node {
        &self.h.0
    }

    /// A child: cancelled when this context is; cancelling it leaves this one alone.
    /// Go: `context.WithCancel(parent)`.
    pub fn child(&self) -> Context {
        self.child_with(None)
    }

    /// A child whose deadline is the earlier of `deadline` and this context's. Go: `WithDeadline`.
    pub fn with_deadline(&self, deadline: Instant) -> Context {
        self.child_with(Some(deadline))
    }

    /// [`Context::with_deadline`] at now + `timeout`. Go: `WithTimeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        self.with_deadline(Instant::now() + timeout)
    }

    fn child_with(&self, own: Option<Instant>) -> Context {
        let parent = self.node();
        let deadline = match (parent.deadline, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Check and register under the parent's one lock: a concurrent cancel either runs before
        // (we see its reason and start cancelled) or after (it finds us in the map). See
        // `broken::child_check_then_register` for what happens when the two are split.
        let mut st = parent.lock();
        let key = st.next_key;
        st.next_key += 1;
        let inherited = st.reason;
        let child = Context::from_node(Node {
            parent: Some(self.clone()),
            key,
            deadline,
            done: AtomicBool::new(inherited.is_some()),
            state: Mutex::new(State {
                reason: inherited,
                ..State::default()
            }),
            cv: Condvar::new(),
        });
        if inherited.is_none() {
            st.children.insert(key, child.h.0.clone());
        }
        drop(st);
        child
    }

    /// Cancels this context and every descendant with [`Reason::Cancelled`]; the ancestors are not
    /// touched. Idempotent: returns false if it was already done. Go: the `CancelFunc`.
    pub fn cancel(&self) -> bool {
        self.node().cancel(Reason::Cancelled)
    }

    /// True once cancelled or past the effective deadline (which it then enforces).
    pub fn is_cancelled(&self) -> bool {
        let node = self.node();
        // Acquire: pairs with the Release in `cancel`; a true here happens-after the cancel.
        // The clock is read only when there is a deadline to compare it with.
        node.done.load(Ordering::Acquire)
            || (node.deadline.is_some() && node.expire(Instant::now()))
    }

    /// Why it is done, or `None` while live. Go: `ctx.Err()`.
    pub fn reason(&self) -> Option<Reason> {
        self.is_cancelled();
        self.node().lock().reason
    }

    /// The effective deadline: the earliest of this context's and its ancestors'. Go: `ctx.Deadline()`.
    pub fn deadline(&self) -> Option<Instant> {
        self.node().deadline
    }

    /// Time left until the effective deadline (zero if passed), `None` if there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline()
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Live registered children (diagnostics: shows that dropped children deregister).
    pub fn children(&self) -> usize {
        self.node().lock().children.len()
    }

    /// Blocks until done; returns the reason. Go: `<-ctx.Done()`.
    pub fn wait(&self) -> Reason {
        loop {
            if let Some(r) = self.wait_until(None) {
                return r;
            }
        }
    }

    /// Blocks until done or `limit` has passed; `None` on timeout.
    pub fn wait_timeout(&self, limit: Duration) -> Option<Reason> {
        self.wait_until(Some(Instant::now() + limit))
    }

    /// One wait: until done, the effective deadline, or `limit`.
    fn wait_until(&self, limit: Option<Instant>) -> Option<Reason> {
        let node = self.node();
        let mut st = node.lock();
        loop {
            if let Some(r) = st.reason {
                return Some(r);
            }
            let now = Instant::now();
            if node.deadline.is_some_and(|d| now >= d) {
                drop(st);
                node.expire(now);
                return node.lock().reason;
            }
            let until = match (node.deadline, limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if until.is_some_and(|u| now >= u) {
                return None;
            }
            // Counted under the lock, so a cancel (which needs the lock) sees this sleeper.
            st.sleepers += 1;
            st = match until {
                None => node.cv.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(u) => {
                    node.cv
                        .wait_timeout(st, u - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            st.sleepers -= 1;
        }
    }

    /// Registers `waker` to be woken by the cancel, under waiter id `*slot` (allocated on first use).
    /// Returns the reason instead if already done.
    #[cfg(not(loom))]
    pub(crate) fn register(
        &self,
        slot: &mut Option<u64>,
        waker: &std::task::Waker,
    ) -> Option<Reason> {
        let mut st = self.node().lock();
        if let Some(r) = st.reason {
            return Some(r);
        }
        let id = *slot.get_or_insert_with(|| {
            st.next_waker += 1;
            st.next_waker
        });
        match st.wakers.get_mut(&id) {
            Some(w) if w.will_wake(waker) => {}
            _ => {
                st.wakers.insert(id, waker.clone());
            }
        }
        None
    }

    /// Async waiters registered right now (diagnostics: shows that dropped futures unregister).
    #[cfg(not(loom))]
    pub fn waiting_tasks(&self) -> usize {
        self.node().lock().wakers.len()
    }

    /// Forgets the waker under `id` (a dropped future).
    #[cfg(not(loom))]
    pub(crate) fn unregister(&self, id: u64) {
        self.node().lock().wakers.remove(&id);
    }

    /// Enforces the deadline if it passed (used by the async future's timer).
    #[cfg(not(loom))]
    pub(crate) fn expire_now(&self) {
        self.node().expire(Instant::now());
    }

    /// This node's state, locked (for `broken`, which builds children step by step).
    pub(crate) fn parent_lock(&self) -> MutexGuard<'_, State> {
        self.node().lock()
    }

    /// Builds a live child node without registering it (for `broken`).
    pub(crate) fn unregistered_child(&self, key: u64) -> Context {
        Context::from_node(Node {
            parent: Some(self.clone()),
            key,
            deadline: self.node().deadline,
            done: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        })
    }

    /// Inserts `child` in this node's map (for `broken`).
    pub(crate) fn insert_child(st: &mut State, child: &Context) {
        st.children.insert(child.node().key, child.h.0.clone());
    }

    /// A fresh key for a child (for `broken`).
    pub(crate) fn next_key(st: &mut State) -> u64 {
        st.next_key += 1;
        st.next_key - 1
    }

    /// Whether this node's reason is set (for `broken`).
    pub(crate) fn state_done(st: &State) -> bool {
        st.reason.is_some()
    }

    /// Cancels at a given instant if the deadline has passed: lets tests check deadline arithmetic
    /// exactly, without sleeping. Returns whether the context is done afterwards.
    pub fn is_cancelled_at(&self, now: Instant) -> bool {
        self.node().done.load(Ordering::Acquire) || self.node().expire(now)
    }
}
