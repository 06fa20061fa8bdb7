//! The wake-up round trip: two threads bounce a signal back and forth through one mechanism.
//!
//! Go's equivalent is two goroutines ping-ponging on unbuffered channels; in Go both usually sit on
//! the same P and the hand-off is a user-space context switch. Here each side is an OS thread, so a
//! round trip is two wake-ups, and the mechanism decides whether a wake-up is a futex syscall plus a
//! cross-core scheduler wake (park, Condvar, channels) or a cache-line transfer (spinning).
//!
//! [`Signal`] abstracts "one side waits, the other notifies"; [`PingPong`] keeps a partner thread
//! alive that answers every ping with a pong, so a benchmark can time round trips without timing a
//! thread spawn. [`TokioPingPong`] does the same between tasks with `tokio::sync::Notify`.
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use super::{CondvarEvent, Parker, Unparker};

/// A one-directional wake-up mechanism: a waiting half and a notifying half.
pub trait Signal {
    /// Shown in tables and used as the bench id.
    const NAME: &'static str;
    /// Stays on the thread that waits (created there: a parker binds that thread).
    type Waiter;
    /// Sent to the thread that notifies.
    type Notifier: Send + 'static;
    /// Makes a pair; called on the thread that will wait.
    fn pair() -> (Self::Waiter, Self::Notifier);
    /// Blocks (or spins) until notified; consumes the notification.
    fn wait(w: &mut Self::Waiter);
    /// Wakes the waiter (or lets its next `wait` return at once).
    fn notify(n: &Self::Notifier);
}

/// Our [`Parker`].
pub struct OursParker;
impl Signal for OursParker {
    const NAME: &'static str = "ours-parker";
    type Waiter = Parker;
    type Notifier = Unparker;
    fn pair() -> (Parker, Unparker) {
        let p = Parker::new();
        let u = p.unparker();
        (p, u)
    }
    fn wait(w: &mut Parker) {
        w.park()
    }
    fn notify(n: &Unparker) {
        n.unpark()
    }
}

/// Our [`CondvarEvent`].
pub struct OursCondvarEvent;
impl Signal for OursCondvarEvent {
    const NAME: &'static str = "ours-condvar-event";
    type Waiter = CondvarEvent;
    type Notifier = CondvarEvent;
    fn pair() -> (CondvarEvent, CondvarEvent) {
        let e = CondvarEvent::new();
        (e.clone(), e)
    }
    fn wait(w: &mut CondvarEvent) {
        w.wait()
    }
    fn notify(n: &CondvarEvent) {
        n.notify()
    }
}

/// Bare `std::thread::park` / `Thread::unpark`, with the minimal flag that makes it correct.
pub struct StdPark;
impl Signal for StdPark {
    const NAME: &'static str = "std-park";
    type Waiter = Arc<AtomicBool>;
    type Notifier = (Arc<AtomicBool>, Thread);
    fn pair() -> (Self::Waiter, Self::Notifier) {
        let flag = Arc::new(AtomicBool::new(false));
        (flag.clone(), (flag, thread::current()))
    }
    fn wait(w: &mut Self::Waiter) {
        // Acquire pairs with the Release store in `notify`.
        while !w.swap(false, Acquire) {
            thread::park();
        }
    }
    fn notify((flag, t): &Self::Notifier) {
        flag.store(true, Release); // Publishes the notifier's writes to the waiter's Acquire swap.
        t.unpark();
    }
}

/// `std::sync::Mutex<bool>` + `std::sync::Condvar`, written inline the way application code does.
pub struct StdCondvar;
impl Signal for StdCondvar {
    const NAME: &'static str = "std-condvar";
    type Waiter = Arc<(Mutex<bool>, Condvar)>;
    type Notifier = Arc<(Mutex<bool>, Condvar)>;
    fn pair() -> (Self::Waiter, Self::Notifier) {
        let s = Arc::new((Mutex::new(false), Condvar::new()));
        (s.clone(), s)
    }
    fn wait(w: &mut Self::Waiter) {
        let mut ready = w.0.lock().unwrap();
        while !*ready {
            ready = w.1.wait(ready).unwrap();
        }
        *ready = false;
    }
    fn notify(n: &Self::Notifier) {
        *n.0.lock().unwrap() = true;
        n.1.notify_one();
    }
}

/// A crossbeam zero-capacity channel: every send is a rendezvous.
pub struct Crossbeam;
impl Signal for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Waiter = crossbeam_channel::Receiver<()>;
    type Notifier = crossbeam_channel::Sender<()>;
    fn pair() -> (Self::Waiter, Self::Notifier) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (rx, tx)
    }
    fn wait(w: &mut Self::Waiter) {
        w.recv().expect("partner alive");
    }
    fn notify(n: &Self::Notifier) {
        n.send(()).expect("partner alive");
    }
}

/// A `std::sync::mpsc` channel (crossbeam's algorithm inside since Rust 1.67).
pub struct StdMpsc;
impl Signal for StdMpsc {
    const NAME: &'static str = "std-mpsc";
    type Waiter = mpsc::Receiver<()>;
    type Notifier = mpsc::SyncSender<()>;
    fn pair() -> (Self::Waiter, Self::Notifier) {
        let (tx, rx) = mpsc::sync_channel(1);
        (rx, tx)
    }
    fn wait(w: &mut Self::Waiter) {
        w.recv().expect("partner alive");
    }
    fn notify(n: &Self::Notifier) {
        n.send(()).expect("partner alive");
    }
}

/// A spin loop on an `AtomicBool`: no syscall, no sleep, one core burnt per waiter.
pub struct Spin;
impl Signal for Spin {
    const NAME: &'static str = "spin";
    type Waiter = Arc<AtomicBool>;
    type Notifier = Arc<AtomicBool>;
    fn pair() -> (Self::Waiter, Self::Notifier) {
        let flag = Arc::new(AtomicBool::new(false));
        (flag.clone(), flag)
    }
    fn wait(w: &mut Self::Waiter) {
        // Acquire pairs with the Release store in `notify`. Plain load first so the spinning core
        // only reads the line (no ownership ping-pong) until it changes.
        loop {
            if w.load(Relaxed) && w.swap(false, Acquire) {
                return;
            }
            std::hint::spin_loop();
        }
    }
    fn notify(n: &Self::Notifier) {
        n.store(true, Release); // Publishes the notifier's writes to the spinner's Acquire swap.
    }
}

pub use harness::affinity::Pinned;

/// A partner thread that answers every ping with a pong through `S`.
pub struct PingPong<S: Signal> {
    ping: S::Notifier,
    pong: S::Waiter,
    /// Set (Release) before the last ping; the partner reads it (Acquire) after every wake-up.
    stop: Arc<AtomicBool>,
    partner: Option<JoinHandle<()>>,
}

impl<S: Signal> PingPong<S> {
    /// Spawns the partner (thread name `wake-partner`) and waits until it is ready.
    pub fn start() -> PingPong<S> {
        Self::start_on(None)
    }

    /// Like [`start`](PingPong::start), with the partner pinned to `core` (see [`Pinned`]).
    pub fn start_on(core: Option<usize>) -> PingPong<S> {
        let (pong, pong_n) = S::pair();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stop2 = stop.clone();
        let partner = thread::Builder::new()
            .name("wake-partner".into())
            .spawn(move || {
                let _pin = core.map(Pinned::to);
                let (mut ping, ping_n) = S::pair();
                ready_tx.send(ping_n).expect("starter waits for us");
                loop {
                    S::wait(&mut ping);
                    // Acquire pairs with the Release store in `drop`: a stop ping is seen as one.
                    if stop2.load(Acquire) {
                        return;
                    }
                    S::notify(&pong_n);
                }
            })
            .expect("spawn partner");
        let ping = ready_rx.recv().expect("partner sends its notifier");
        PingPong {
            ping,
            pong,
            stop,
            partner: Some(partner),
        }
    }

    /// One round trip: ping the partner, wait for its pong.
    pub fn round_trip(&mut self) {
        S::notify(&self.ping);
        S::wait(&mut self.pong);
    }

    /// Time for `n` round trips.
    pub fn time(&mut self, n: u64) -> Duration {
        let t0 = Instant::now();
        for _ in 0..n {
            self.round_trip();
        }
        t0.elapsed()
    }
}

impl<S: Signal> Drop for PingPong<S> {
    fn drop(&mut self) {
        self.stop.store(true, Release); // Publishes "stop" to the partner's Acquire load.
        S::notify(&self.ping);
        if let Some(p) = self.partner.take() {
            let _ = p.join();
        }
    }
}

/// Two tasks on a 2-worker tokio runtime bouncing a `tokio::sync::Notify` permit.
pub struct TokioPingPong {
    rt: tokio::runtime::Runtime,
    ping: Arc<tokio::sync::Notify>,
    pong: Arc<tokio::sync::Notify>,
    partner: tokio::task::JoinHandle<()>,
}

impl TokioPingPong {
    /// Builds the runtime (worker threads `wake-tokio`) and spawns the partner task.
    pub fn start() -> TokioPingPong {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wake-tokio")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let ping = Arc::new(tokio::sync::Notify::new());
        let pong = Arc::new(tokio::sync::Notify::new());
        let (pi, po) = (ping.clone(), pong.clone());
        let partner = rt.spawn(async move {
            loop {
                pi.notified().await;
                po.notify_one(); // leaves a permit if the driver is not waiting yet
            }
        });
        TokioPingPong {
            rt,
            ping,
            pong,
            partner,
        }
    }

    /// Time for `n` round trips, driven by a task on the runtime (task ↔ task).
    pub fn time(&self, n: u64) -> Duration {
        let driver = self
            .rt
            .spawn(Self::drive(self.ping.clone(), self.pong.clone(), n));
        self.rt.block_on(driver).expect("driver task")
    }

    /// Time for `n` round trips driven from the calling thread inside `block_on` (thread ↔ task):
    /// every pong must wake this thread, which is not a worker and sleeps in between.
    pub fn time_from_thread(&self, n: u64) -> Duration {
        self.rt
            .block_on(Self::drive(self.ping.clone(), self.pong.clone(), n))
    }

    async fn drive(
        ping: Arc<tokio::sync::Notify>,
        pong: Arc<tokio::sync::Notify>,
        n: u64,
    ) -> Duration {
        let t0 = Instant::now();
        for _ in 0..n {
            ping.notify_one();
            pong.notified().await;
        }
        t0.elapsed()
    }
}

impl Drop for TokioPingPong {
    fn drop(&mut self) {
        self.partner.abort();
    }
}
