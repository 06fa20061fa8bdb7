//! A leak is a number: live threads of this process, alive tokio tasks.
//!
//! Go's goroutine leak is a goroutine blocked forever on a channel nobody will touch again; Rust's is
//! the same thing with a thread (or a task). Linux lists this process's threads in `/proc/self/task`,
//! each with its name in `comm` (15 bytes at most), so a leak check is: remember which threads exist,
//! run the code, give it a grace period to wind down, and name the threads that are new and still there.
//!
//! Tests in one binary run on parallel threads, so a check can be narrowed to the threads whose name
//! starts with a prefix the code under test uses ([`ThreadLeakCheck::named`]).
use std::collections::HashSet;
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

/// A live thread of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveThread {
    /// Kernel thread id.
    pub tid: u32,
    /// Name as the kernel keeps it (the first 15 bytes of the Rust thread name).
    pub name: String,
}

/// The live threads of this process, from `/proc/self/task`.
pub fn live_threads() -> Vec<LiveThread> {
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

/// Snapshot of the threads alive at its creation; later asks which new ones are still alive.
#[derive(Debug)]
pub struct ThreadLeakCheck {
    before: HashSet<u32>,
    prefix: Option<String>,
}

impl ThreadLeakCheck {
    /// Watches every thread of the process created after now.
    pub fn start() -> Self {
        ThreadLeakCheck {
            before: live_threads().into_iter().map(|t| t.tid).collect(),
            prefix: None,
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

    fn new_threads(&self) -> Vec<LiveThread> {
        live_threads()
            .into_iter()
            .filter(|t| !self.before.contains(&t.tid))
            .filter(|t| {
                self.prefix
                    .as_ref()
                    .is_none_or(|p| t.name.starts_with(p.as_str()))
            })
            .collect()
    }

    /// Threads created since the snapshot that are still alive now.
    pub fn alive_now(&self) -> Vec<LiveThread> {
        self.new_threads()
    }

    /// Waits up to `grace` for the new threads to exit; returns the ones that did not.
    pub fn leaked_after(&self, grace: Duration) -> Vec<LiveThread> {
        let end = Instant::now() + grace;
        loop {
            let alive = self.new_threads();
            if alive.is_empty() || Instant::now() >= end {
                return alive;
            }
            thread::sleep(Duration::from_millis(2));
        }
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
    let end = Instant::now() + grace;
    loop {
        let n = alive_tasks(handle);
        if n <= expected || Instant::now() >= end {
            return n;
        }
        thread::sleep(Duration::from_millis(2));
    }
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
}
