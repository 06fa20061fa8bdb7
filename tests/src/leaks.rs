//! A leak is a number: live threads of this process, alive tokio tasks.
//!
//! Go's goroutine leak is a goroutine blocked forever on a channel nobody will touch again; Rust's is
//! the same thing with a thread (or a task). Linux lists this process's threads in `/proc/self/task`,
//! each with its name in `comm` (15 bytes at most), so a leak check is: remember which threads exist,
//! run the code, give it a grace period to wind down, and name the threads that are new and still there.
//!
//! Tests in one binary run on parallel threads, so a check can be narrowed to the threads whose name
//! starts with a prefix the code under test uses ([`ThreadLeakCheck::named`]).
//!
//! [`LeakGuard`] turns that into a test helper that fails the test. A whole-process thread count is
//! wrong under parallel tests (a neighbour test's threads come and go during ours), so the guard counts
//! only the threads *this test* started. It finds them by name: on Linux a new thread starts with its
//! creator's kernel name (`comm`) and keeps it unless it is given a name of its own. The guard renames
//! the calling thread to a tag unique in the process (`lg#00042`), so every unnamed thread the test
//! spawns, and every unnamed thread those spawn, carries the tag; named threads of the code under test
//! are added by prefix ([`LeakGuard::watch_prefix`]), and a tokio runtime's alive tasks by handle
//! ([`LeakGuard::watch_runtime`]). Tests that run their body under a watchdog use
//! [`LeakGuard::within`] (or [`within_no_leaks`]), whose watched thread is named with the tag.
use std::collections::HashSet;
use std::fs;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

/// A live thread of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveThread {
    /// Kernel thread id.
    pub tid: u32,
    /// Name as the kernel keeps it (the first 15 bytes of the Rust thread name).
    pub name: String,
}

/// The live threads of this process, from `/proc/self/task`. Under Miri, none: the interpreted
/// program's threads are not the host's, and isolation forbids the read; Miri itself fails a run
/// that ends with threads still running (and reports leaked memory), so nothing goes unchecked.
pub fn live_threads() -> Vec<LiveThread> {
    if cfg!(miri) {
        return Vec::new();
    }
    let Ok(dir) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid: u32 = e.file_name().to_str()?.parse().ok()?;
        let name = fs::read_to_string(e.path().join("comm"))
            .ok()?
            .trim_end()
            .to_string();
        Some(LiveThread { tid, name })
    })
    .collect()
}

/// How many threads this process has right now.
pub fn live_thread_count() -> usize {
    live_threads().len()
}

/// How many live threads have a (kernel) name starting with `prefix` (compared on at most 15 bytes):
/// a pool's worker count measured from outside the pool, when its threads carry the prefix.
pub fn threads_named(prefix: &str) -> usize {
    let p: String = prefix.chars().take(15).collect();
    live_threads()
        .iter()
        .filter(|t| t.name.starts_with(p.as_str()))
        .count()
}

/// Polls [`threads_named`] until `done(count)` holds or `limit` passes; returns the last count.
pub fn threads_named_until(prefix: &str, limit: Duration, done: impl Fn(usize) -> bool) -> usize {
    crate::wait::poll_value(limit, || threads_named(prefix), |&n| done(n))
}

/// Snapshot of the threads alive at its creation; later asks which new ones are still alive.
#[derive(Debug)]
pub struct ThreadLeakCheck {
    before: HashSet<u32>,
    prefix: Option<String>,
    /// More prefixes that also count (see [`ThreadLeakCheck::also_named`]).
    more: Vec<String>,
}

impl ThreadLeakCheck {
    /// Watches every thread of the process created after now.
    pub fn start() -> Self {
        ThreadLeakCheck {
            before: live_threads().into_iter().map(|t| t.tid).collect(),
            prefix: None,
            more: Vec::new(),
        }
    }

    /// Watches only threads whose name starts with `prefix` (compared on at most 15 bytes).
    pub fn named(prefix: &str) -> Self {
        let p: String = prefix.chars().take(15).collect();
        ThreadLeakCheck {
            prefix: Some(p),
            ..Self::start()
        }
    }

    /// Also watches threads whose name starts with `prefix` (a check made by [`ThreadLeakCheck::named`]
    /// then watches several prefixes; on one made by [`ThreadLeakCheck::start`] it changes nothing).
    pub fn also_named(mut self, prefix: &str) -> Self {
        self.more.push(prefix.chars().take(15).collect());
        self
    }

    fn new_threads(&self) -> Vec<LiveThread> {
        live_threads()
            .into_iter()
            .filter(|t| !self.before.contains(&t.tid))
            .filter(|t| {
                self.prefix.as_ref().is_none_or(|p| {
                    t.name.starts_with(p.as_str())
                        || self.more.iter().any(|m| t.name.starts_with(m.as_str()))
                })
            })
            .collect()
    }

    /// Threads created since the snapshot that are still alive now.
    pub fn alive_now(&self) -> Vec<LiveThread> {
        self.new_threads()
    }

    /// Waits up to `limit` for exactly `n` new threads to be alive; returns how many are.
    pub fn alive_after(&self, n: usize, limit: Duration) -> usize {
        crate::wait::poll_value(limit, || self.new_threads().len(), |&alive| alive == n)
    }

    /// Waits up to `grace` for the new threads to exit; returns the ones that did not.
    pub fn leaked_after(&self, grace: Duration) -> Vec<LiveThread> {
        crate::wait::poll_value(grace, || self.new_threads(), |alive| alive.is_empty())
    }

    /// Panics, naming them, if new threads are still alive after `grace`.
    #[track_caller]
    pub fn assert_no_leak(&self, grace: Duration) {
        let leaked = self.leaked_after(grace);
        assert!(
            leaked.is_empty(),
            "{} thread(s) leaked (still alive {:?} after the code under test returned): {:?}",
            leaked.len(),
            grace,
            leaked.iter().map(|t| t.name.as_str()).collect::<Vec<_>>()
        );
    }
}

/// The kernel name (`comm`) of the calling thread.
fn own_kernel_name() -> Option<String> {
    if cfg!(miri) {
        return None; // no `/proc` under Miri (see `live_threads`)
    }
    fs::read_to_string("/proc/thread-self/comm")
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Renames the calling thread in the kernel only (Rust's `Thread::name`, which panic messages and the
/// test harness use, is untouched). Returns false where that is not possible.
fn set_own_kernel_name(name: &str) -> bool {
    #[cfg(miri)]
    {
        // Miri has no `prctl`, and its threads are not the kernel's: nothing to rename, and
        // `live_threads` sees no thread to tell apart there.
        let _ = name;
        true
    }
    #[cfg(all(not(miri), target_os = "linux"))]
    {
        let mut bytes: Vec<u8> = name.bytes().filter(|b| *b != 0).take(15).collect();
        bytes.push(0);
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from the pointer,
        // which `bytes` provides and keeps alive for the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, bytes.as_ptr() as libc::c_ulong, 0, 0, 0) == 0 }
    }
    #[cfg(all(not(miri), not(target_os = "linux")))]
    {
        let _ = name;
        false
    }
}

static NEXT_TAG: AtomicU32 = AtomicU32::new(1);

/// What a [`LeakGuard`] found still alive after its grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakReport {
    /// Threads the test started that are still alive.
    pub threads: Vec<LiveThread>,
    /// For each watched tokio runtime: (alive tasks at the start, alive tasks now), when more are alive.
    pub tasks: Vec<(usize, usize)>,
}

impl LeakReport {
    /// True when nothing leaked.
    pub fn is_clean(&self) -> bool {
        self.threads.is_empty() && self.tasks.is_empty()
    }
}

impl std::fmt::Display for LeakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.threads.iter().map(|t| t.name.as_str()).collect();
        write!(f, "{} thread(s) still alive {names:?}", self.threads.len())?;
        for (before, now) in &self.tasks {
            write!(
                f,
                "; tokio runtime: {now} alive task(s), {before} at the start"
            )?;
        }
        Ok(())
    }
}

/// A test helper that fails the test when the test leaves a thread or a tokio task running.
///
/// ```
/// # use std::time::Duration;
/// let guard = harness::leaks::no_leaks();
/// let worker = std::thread::spawn(|| 2 + 2); // unnamed: carries the guard's tag
/// assert_eq!(worker.join().unwrap(), 4);
/// guard.finish(); // panics, naming the threads, if one is still alive after the grace period
/// ```
///
/// Dropping the guard checks too (unless the thread is already panicking, so a failing test reports
/// its own panic, not a second one). What it counts, and why that is correct while other tests run in
/// parallel, is in the [module docs](self). Nested guards on one thread are not supported: the inner
/// one renames the thread, so the outer one no longer sees what is spawned meanwhile.
#[derive(Debug)]
pub struct LeakGuard {
    tag: String,
    old_name: Option<String>,
    threads: Option<ThreadLeakCheck>,
    runtimes: Vec<(tokio_handle::Handle, usize)>,
    grace: Duration,
    done: bool,
}

#[cfg(not(loom))]
mod tokio_handle {
    pub type Handle = tokio::runtime::Handle;
    pub fn alive(h: &Handle) -> usize {
        super::alive_tasks(h)
    }
}

/// Under `--cfg loom` tokio is not linked; no runtime can be watched.
#[cfg(loom)]
mod tokio_handle {
    #[derive(Debug, Clone)]
    pub enum Handle {}
    pub fn alive(h: &Handle) -> usize {
        match *h {}
    }
}

/// A [`LeakGuard`] with the default grace period (2 s; a clean test waits only until its threads exit).
pub fn no_leaks() -> LeakGuard {
    LeakGuard::new()
}

/// Runs `f` under a deadline (like [`crate::watchdog::within`]) and fails if it leaves a thread behind.
#[track_caller]
pub fn within_no_leaks<T, F>(deadline: Duration, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let guard = no_leaks();
    let out = guard.within(deadline, f);
    guard.finish();
    out
}

impl LeakGuard {
    /// The default grace period: how long threads get to wind down before they count as leaked.
    pub const GRACE: Duration = Duration::from_secs(2);

    /// Tags the calling thread and starts watching what it spawns from now on.
    pub fn new() -> Self {
        let n = NEXT_TAG.fetch_add(1, Ordering::Relaxed) % 100_000; // Relaxed: only uniqueness matters.
        let tag = format!("lg#{n:05}");
        let old_name = own_kernel_name();
        let tagged = set_own_kernel_name(&tag);
        assert!(
            tagged,
            "LeakGuard: cannot rename this thread, so it cannot tell this test's threads apart"
        );
        LeakGuard {
            threads: Some(ThreadLeakCheck::named(&tag)),
            tag,
            old_name,
            runtimes: Vec::new(),
            grace: Self::GRACE,
            done: false,
        }
    }

    /// The tag; a thread named with it as a prefix is watched too.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Also watches threads named with `prefix` (named threads do not inherit the tag). Use a prefix
    /// no concurrently running test uses, or run such tests one at a time.
    pub fn watch_prefix(mut self, prefix: &str) -> Self {
        self.threads = self.threads.take().map(|c| c.also_named(prefix));
        self
    }

    /// Also checks that a tokio runtime has no more alive tasks at the end than now.
    #[cfg(not(loom))]
    pub fn watch_runtime(mut self, handle: &tokio::runtime::Handle) -> Self {
        let now = tokio_handle::alive(handle);
        self.runtimes.push((handle.clone(), now));
        self
    }

    /// Sets the grace period.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs `f` on a watchdog thread named with the tag (so what it spawns is watched), under a deadline;
    /// panics like [`crate::watchdog::within`] if it does not finish.
    #[track_caller]
    pub fn within<T, F>(&self, deadline: Duration, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        crate::watchdog::run(&self.tag, deadline, f).unwrap()
    }

    /// What is alive right now, without waiting.
    pub fn alive_now(&self) -> LeakReport {
        self.report(Duration::ZERO)
    }

    /// Waits up to the grace period for the watched threads and tasks to finish; reports what did not.
    pub fn leaks(&self) -> LeakReport {
        self.report(self.grace)
    }

    fn report(&self, grace: Duration) -> LeakReport {
        let look = || {
            let threads = self
                .threads
                .as_ref()
                .map(|c| c.alive_now())
                .unwrap_or_default();
            let tasks: Vec<(usize, usize)> = self
                .runtimes
                .iter()
                .map(|(h, before)| (*before, tokio_handle::alive(h)))
                .filter(|(before, now)| now > before)
                .collect();
            LeakReport { threads, tasks }
        };
        crate::wait::poll_value(grace, look, LeakReport::is_clean)
    }

    /// Ends the watch (restoring the thread's name) and returns what leaked, without panicking.
    pub fn into_report(mut self) -> LeakReport {
        self.done = true;
        self.restore_name();
        self.leaks()
    }

    /// Ends the watch; panics, naming what is still alive, if anything leaked.
    #[track_caller]
    pub fn finish(self) {
        let report = self.into_report();
        assert!(
            report.is_clean(),
            "leak: {report} after the test's grace period"
        );
    }

    fn restore_name(&mut self) {
        if let Some(old) = self.old_name.take() {
            set_own_kernel_name(&old);
        }
    }
}

impl Default for LeakGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LeakGuard {
    fn drop(&mut self) {
        self.restore_name();
        if self.done || thread::panicking() {
            return;
        }
        self.done = true;
        let report = self.leaks();
        assert!(
            report.is_clean(),
            "leak: {report} after the test's grace period"
        );
    }
}

/// Tokio's count of tasks spawned on a runtime and not yet completed.
#[cfg(not(loom))]
pub fn alive_tasks(handle: &tokio::runtime::Handle) -> usize {
    handle.metrics().num_alive_tasks()
}

/// Waits up to `grace` for a runtime's alive tasks to drop to `expected`; returns the last count.
#[cfg(not(loom))]
pub fn alive_tasks_after(
    handle: &tokio::runtime::Handle,
    expected: usize,
    grace: Duration,
) -> usize {
    crate::wait::poll_value(grace, || alive_tasks(handle), |&n| n <= expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn sees_this_thread() {
        assert!(live_thread_count() >= 1);
    }

    #[test]
    fn finds_a_leaked_thread_and_clears_when_it_exits() {
        let check = ThreadLeakCheck::named("leakcheck-a");
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let h = thread::Builder::new()
            .name("leakcheck-a-1".into())
            .spawn(move || {
                started_tx.send(()).unwrap();
                let _ = rx.recv();
            })
            .unwrap();
        // A thread names itself as it starts: wait until it runs before looking for its name.
        started_rx.recv().unwrap();
        let leaked = check.leaked_after(Duration::from_millis(30));
        assert_eq!(leaked.len(), 1, "{leaked:?}");
        assert_eq!(leaked[0].name, "leakcheck-a-1");
        drop(tx);
        h.join().unwrap();
        check.assert_no_leak(Duration::from_secs(5));
    }

    #[test]
    fn counts_alive_tokio_tasks() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = rx.await;
        });
        assert_eq!(alive_tasks(rt.handle()), 1);
        drop(tx);
        assert_eq!(alive_tasks_after(rt.handle(), 0, Duration::from_secs(5)), 0);
    }

    /// A thread that blocks until `release` is dropped or sent to, reporting when it has started.
    fn blocked_thread(name: Option<&str>) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let mut b = thread::Builder::new();
        if let Some(n) = name {
            b = b.name(n.into());
        }
        let h = b
            .spawn(move || {
                started_tx.send(()).unwrap();
                let _ = rx.recv();
            })
            .unwrap();
        started_rx.recv().unwrap();
        (tx, h)
    }

    #[test]
    fn the_guard_names_an_unnamed_leaked_thread_and_clears_when_it_exits() {
        let guard = no_leaks().grace(Duration::from_millis(30));
        let (release, h) = blocked_thread(None);
        let report = guard.leaks();
        assert_eq!(report.threads.len(), 1, "{report}");
        assert_eq!(report.threads[0].name, guard.tag());
        drop(release);
        h.join().unwrap();
        assert!(guard.into_report().is_clean());
    }

    #[test]
    fn the_guard_sees_grandchildren_and_named_threads_by_prefix() {
        let guard = no_leaks()
            .watch_prefix("lgtest-named")
            .grace(Duration::from_millis(30));
        let (release_named, named) = blocked_thread(Some("lgtest-named-1"));
        // An unnamed thread spawned by an unnamed thread of the test: still tagged.
        let (release_grand, grand) = thread::spawn(|| blocked_thread(None)).join().unwrap();
        assert_eq!(guard.leaks().threads.len(), 2);
        drop((release_named, release_grand));
        named.join().unwrap();
        grand.join().unwrap();
        guard.finish();
    }

    #[test]
    fn the_guard_ignores_threads_it_did_not_start() {
        // A neighbour's thread (started before the guard, on another test's behalf) is not ours.
        let (release, neighbour) = blocked_thread(None);
        let guard = no_leaks();
        let ours = thread::spawn(|| 1);
        assert_eq!(ours.join().unwrap(), 1);
        // A thread started now by a thread that is not under this guard (a neighbour test) is not ours
        // either: the neighbour is named, so its unnamed child inherits the neighbour's name.
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("lgtest-other".into())
            .spawn(move || tx.send(blocked_thread(None)).unwrap())
            .unwrap()
            .join()
            .unwrap();
        let (r2, h2) = rx.recv().unwrap();
        guard.finish();
        drop((release, r2));
        neighbour.join().unwrap();
        h2.join().unwrap();
    }

    #[test]
    #[should_panic(expected = "leak: 1 thread(s) still alive")]
    fn a_dropped_guard_fails_the_test_on_a_leak() {
        let _guard = no_leaks().grace(Duration::from_millis(20));
        // Contained: it exits by itself a moment after the check has failed.
        thread::spawn(|| thread::sleep(Duration::from_millis(300)));
    }

    #[test]
    fn within_watches_the_body_on_its_watchdog_thread() {
        let guard = no_leaks().grace(Duration::from_millis(30));
        let (release, h) = guard.within(Duration::from_secs(10), || blocked_thread(None));
        assert_eq!(guard.leaks().threads.len(), 1);
        drop(release);
        h.join().unwrap();
        guard.finish();
        within_no_leaks(Duration::from_secs(10), || {
            thread::spawn(|| ()).join().unwrap()
        });
    }

    #[test]
    fn the_guard_counts_tokio_tasks_left_alive() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let guard = no_leaks()
            .watch_runtime(rt.handle())
            .grace(Duration::from_millis(20));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(async move {
            let _ = rx.await;
        });
        let report = guard.leaks();
        assert_eq!(report.tasks, vec![(0, 1)], "{report}");
        drop(tx);
        rt.block_on(task).unwrap();
        guard.finish();
    }
}
