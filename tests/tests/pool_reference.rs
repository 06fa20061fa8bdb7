//! A deliberately plain reference pool (one mutex, two condvars) that implements the whole pool
//! contract, run through the conformance suite. It exists to prove the suite honest where no peer can:
//! none of threadpool, rusty_pool, rayon or tokio's blocking pool has a bounded queue, overflow
//! policies, groups, a shutdown report or priorities, so without this model those cases would meet
//! their first implementation in `workpool` itself. It is test code, not a library: simple over fast.
//!
//! Its mutants are how the suite was seen to fail: `POOL_MUTANT=<name> cargo test -p harness --test
//! pool_reference` breaks one rule of the model (the names are in [`MUTANTS`]), and the case that
//! checks that rule must fail. All of them, one line each:
//! `for m in $(grep -oE '^    "[a-z-]+",' tests/tests/pool_reference.rs | tr -d ' ",'); do
//! POOL_MUTANT=$m cargo test -q -p harness --test pool_reference 2>&1 | grep -E '^test .*FAILED' |
//! sed "s/^/$m: /"; done`
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::contracts::pool::{
    ContractPool, GroupError, GroupJob, Job, Overflow, PoolFlavor, PoolSpec, Priority, QueueBound,
    ShutdownMode, ShutdownReport, SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};
use harness::exercise::panic_message;
use harness::pool_conformance;

/// The mutants, by name, each with the rule it breaks.
pub const MUTANTS: &[&str] = &[
    "lost-task",          // every 37th task is reported cancelled and never runs
    "serial",             // never more than one worker thread
    "over-admit",         // the queue admits one task more than its capacity
    "block-admits",       // Block admits on a full queue instead of waiting
    "caller-queues", // CallerRuns queues the task (admits past the bound) instead of running it
    "drop-newest",   // DropOldest evicts the newest queued task
    "timeout-early", // Timeout(d) refuses at once
    "panic-kills-worker", // a panicking task's worker exits and is not replaced
    "cancel-ignored", // cancel() has no effect
    "detach-drop",   // Drop does not join the workers
    "no-reaping",    // idle workers above min never exit
    "shrink-ignored", // resize never retires surplus workers
    "group-no-cancel", // a group's error does not cancel its unstarted tasks
    "abandon-drains", // shutdown(Abandon) runs the queued tasks
    "priority-fifo", // priorities are ignored
    "priority-starves", // no aging: a low task waits for every high one
];

fn mutant(name: &str) -> bool {
    debug_assert!(MUTANTS.contains(&name), "unlisted mutant {name}");
    std::env::var("POOL_MUTANT").is_ok_and(|m| {
        assert!(
            MUTANTS.contains(&m.as_str()),
            "POOL_MUTANT={m}: no such mutant"
        );
        m == name
    })
}

/// The model's starvation bound: a queued task is passed over by at most this many later tasks.
const STARVATION_BOUND: usize = 4;

type Work = Box<dyn FnOnce() -> TaskOutcome + Send + 'static>;

/// Where a task's outcome lands. `None` until it ends.
#[derive(Default)]
struct Slot {
    outcome: Mutex<Option<TaskOutcome>>,
    ended: Condvar,
    /// Set by `cancel`; a worker that dequeues the task then skips it.
    cancel: AtomicBool,
}

impl Slot {
    fn finish(&self, o: TaskOutcome) {
        let mut g = self.outcome.lock().unwrap();
        if g.is_none() {
            *g = Some(o);
        }
        self.ended.notify_all();
    }
}

struct Entry {
    work: Work,
    slot: Arc<Slot>,
    priority: Priority,
    /// How many later-submitted tasks started ahead of this one.
    passed: usize,
}

struct State {
    queue: VecDeque<Entry>,
    /// Live worker threads.
    workers: usize,
    /// Workers waiting for a task.
    idle: usize,
    min: usize,
    max: usize,
    shutdown: bool,
    /// Tasks that ended (ran or panicked), ever.
    ran: usize,
    /// Tasks running now.
    running: usize,
    threads: Vec<JoinHandle<()>>,
    next_thread: usize,
    /// Tasks submitted, ever (for the `lost-task` mutant).
    submitted: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Workers wait here for tasks (and for shutdown / resize).
    work: Condvar,
    /// Blocked submitters wait here for room; shutdown waits here for workers to exit.
    room: Condvar,
    cap: Option<usize>,
    overflow: Overflow,
    keep_alive: Duration,
    name: String,
}

/// The reference pool.
pub struct ModelPool(Arc<Shared>);

/// Its handle.
pub struct ModelHandle(Arc<Slot>);

impl TaskHandle for ModelHandle {
    fn join(self) -> TaskOutcome {
        let g = self.0.outcome.lock().unwrap();
        let g = self.0.ended.wait_while(g, |o| o.is_none()).unwrap();
        g.clone().unwrap()
    }
    fn cancel(&self) -> Result<(), Unsupported> {
        self.0.cancel.store(true, SeqCst);
        Ok(())
    }
}

fn wrap(job: Job) -> Work {
    Box::new(move || match catch_unwind(AssertUnwindSafe(job)) {
        Ok(v) => TaskOutcome::Done(v),
        Err(p) => TaskOutcome::Panicked(Some(panic_message(&*p))),
    })
}

impl Shared {
    fn full(&self, s: &State) -> bool {
        let Some(cap) = self.cap else { return false };
        let cap = cap + usize::from(mutant("over-admit"));
        // Room: an idle worker for the task (or one that may still be started), or a queue slot.
        let can_grow = s.workers < s.max && !(mutant("serial") && s.workers >= 1);
        !can_grow && s.queue.len() >= s.idle + cap
    }

    fn spawn_worker(self: &Arc<Self>, s: &mut State) {
        s.workers += 1;
        let name = format!("{}{}", self.name, s.next_thread);
        s.next_thread += 1;
        let shared = self.clone();
        let h = thread::Builder::new()
            .name(name)
            .spawn(move || shared.work_loop())
            .expect("spawn a worker");
        s.threads.push(h);
    }

    /// The next task: the oldest one passed over `STARVATION_BOUND` times, else the highest
    /// priority (oldest first among equals); everything older it jumps is marked passed.
    fn pick(s: &mut State) -> Entry {
        let i = s
            .queue
            .iter()
            .position(|e| e.passed >= STARVATION_BOUND && !mutant("priority-starves"))
            .unwrap_or_else(|| {
                let top = s.queue.iter().map(|e| e.priority).max().unwrap();
                if mutant("priority-fifo") {
                    return 0;
                }
                s.queue.iter().position(|e| e.priority == top).unwrap()
            });
        for e in s.queue.iter_mut().take(i) {
            e.passed += 1;
        }
        s.queue.remove(i).unwrap()
    }

    fn work_loop(self: Arc<Self>) {
        let mut s = self.state.lock().unwrap();
        loop {
            let surplus = s.workers > s.max && !mutant("shrink-ignored");
            if surplus || (s.shutdown && s.queue.is_empty()) {
                break;
            }
            if s.queue.is_empty() {
                s.idle += 1;
                let reapable = s.workers > s.min && !mutant("no-reaping");
                let (g, timeout) = if reapable {
                    let (g, t) = self.work.wait_timeout(s, self.keep_alive).unwrap();
                    (g, t.timed_out())
                } else {
                    (self.work.wait(s).unwrap(), false)
                };
                s = g;
                s.idle -= 1;
                if timeout && s.queue.is_empty() && s.workers > s.min {
                    break;
                }
                continue;
            }
            let entry = Self::pick(&mut s);
            self.room.notify_all();
            if entry.slot.cancel.load(SeqCst) && !mutant("cancel-ignored") {
                entry.slot.finish(TaskOutcome::Cancelled);
                continue;
            }
            s.running += 1;
            drop(s);
            let outcome = (entry.work)();
            let panicked = matches!(outcome, TaskOutcome::Panicked(_));
            entry.slot.finish(outcome);
            s = self.state.lock().unwrap();
            s.running -= 1;
            s.ran += 1;
            if panicked && mutant("panic-kills-worker") {
                break;
            }
        }
        s.workers -= 1;
        self.room.notify_all();
    }

    fn submit_work(
        self: &Arc<Self>,
        work: Work,
        priority: Priority,
    ) -> Result<ModelHandle, SubmitRefused> {
        let slot = Arc::new(Slot::default());
        let mut s = self.state.lock().unwrap();
        if s.shutdown {
            return Err(SubmitRefused::ShutDown);
        }
        if self.full(&s) {
            match self.overflow {
                Overflow::Block if mutant("block-admits") => {}
                Overflow::Block => {
                    s = self
                        .room
                        .wait_while(s, |s| !s.shutdown && self.full(s))
                        .unwrap();
                    if s.shutdown {
                        return Err(SubmitRefused::ShutDown);
                    }
                }
                Overflow::Reject => return Err(SubmitRefused::Rejected),
                Overflow::Timeout(_) if mutant("timeout-early") => {
                    return Err(SubmitRefused::TimedOut);
                }
                Overflow::Timeout(d) => {
                    let (g, _) = self
                        .room
                        .wait_timeout_while(s, d, |s| !s.shutdown && self.full(s))
                        .unwrap();
                    s = g;
                    if s.shutdown {
                        return Err(SubmitRefused::ShutDown);
                    }
                    if self.full(&s) {
                        return Err(SubmitRefused::TimedOut);
                    }
                }
                Overflow::CallerRuns if mutant("caller-queues") => {}
                Overflow::CallerRuns => {
                    drop(s);
                    slot.finish(work());
                    return Ok(ModelHandle(slot));
                }
                Overflow::DropOldest if mutant("drop-newest") => match s.queue.pop_back() {
                    Some(newest) => newest.slot.finish(TaskOutcome::Dropped),
                    None => return Err(SubmitRefused::Rejected),
                },
                Overflow::DropOldest => match s.queue.pop_front() {
                    Some(oldest) => oldest.slot.finish(TaskOutcome::Dropped),
                    None => return Err(SubmitRefused::Rejected),
                },
            }
        }
        s.submitted += 1;
        if mutant("lost-task") && s.submitted.is_multiple_of(37) {
            slot.finish(TaskOutcome::Cancelled);
            return Ok(ModelHandle(slot));
        }
        let serial = mutant("serial") && s.workers >= 1;
        if s.idle <= s.queue.len() && s.workers < s.max && !serial {
            self.spawn_worker(&mut s);
        }
        s.queue.push_back(Entry {
            work,
            slot: slot.clone(),
            priority,
            passed: 0,
        });
        self.work.notify_one();
        Ok(ModelHandle(slot))
    }
}

impl ContractPool for ModelPool {
    type Handle = ModelHandle;
    fn submit(&self, job: Job) -> Result<ModelHandle, SubmitRefused> {
        self.0.submit_work(wrap(job), Priority::Normal)
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.0.name)
    }
    fn resize(&self, max: usize) -> Result<(), Unsupported> {
        let mut s = self.0.state.lock().unwrap();
        s.max = max.max(1);
        s.min = s.min.min(s.max);
        while s.workers < s.min {
            self.0.spawn_worker(&mut s);
        }
        self.0.work.notify_all(); // surplus idle workers see `workers > max` and leave
        Ok(())
    }
    fn group(&self, jobs: Vec<GroupJob>) -> Result<Result<Vec<u64>, GroupError>, Unsupported> {
        // The first failure, by time; once set, members that have not started are skipped.
        let first: Arc<Mutex<Option<GroupError>>> = Arc::default();
        let handles: Vec<_> = jobs
            .into_iter()
            .enumerate()
            .map(|(index, job)| {
                let first = first.clone();
                let work: Work = Box::new(move || {
                    if first.lock().unwrap().is_some() && !mutant("group-no-cancel") {
                        return TaskOutcome::Cancelled;
                    }
                    let failure = match catch_unwind(AssertUnwindSafe(job)) {
                        Ok(Ok(v)) => return TaskOutcome::Done(v),
                        Ok(Err(error)) => GroupError::Failed { index, error },
                        Err(p) => GroupError::Panicked {
                            index,
                            message: panic_message(&*p),
                        },
                    };
                    first.lock().unwrap().get_or_insert(failure);
                    TaskOutcome::Done(0)
                });
                (index, self.0.submit_work(work, Priority::Normal))
            })
            .collect();
        let mut values = Vec::new();
        for (index, h) in handles {
            match h.map(ModelHandle::join) {
                Ok(TaskOutcome::Done(v)) => values.push(v),
                Ok(TaskOutcome::Cancelled) => {}
                _ => {
                    first
                        .lock()
                        .unwrap()
                        .get_or_insert(GroupError::NotRun { index });
                }
            }
        }
        let first = first.lock().unwrap().take();
        Ok(match first {
            Some(e) => Err(e),
            None => Ok(values),
        })
    }
    fn starvation_bound(&self) -> Result<usize, Unsupported> {
        Ok(STARVATION_BOUND)
    }
    fn submit_prioritized(
        &self,
        job: Job,
        priority: Priority,
    ) -> Result<Result<ModelHandle, SubmitRefused>, Unsupported> {
        Ok(self.0.submit_work(wrap(job), priority))
    }
    fn shutdown(
        &self,
        mode: ShutdownMode,
        deadline: Duration,
    ) -> Result<ShutdownReport, Unsupported> {
        let end = Instant::now() + deadline;
        let mut s = self.0.state.lock().unwrap();
        s.shutdown = true;
        let abandoned = match mode {
            ShutdownMode::Abandon if mutant("abandon-drains") => 0,
            ShutdownMode::Drain => 0,
            ShutdownMode::Abandon => {
                let n = s.queue.len();
                for e in s.queue.drain(..) {
                    e.slot.finish(TaskOutcome::Cancelled);
                }
                n
            }
        };
        self.0.work.notify_all();
        self.0.room.notify_all();
        while s.workers > 0 {
            let now = Instant::now();
            if now >= end {
                break;
            }
            s = self.0.room.wait_timeout(s, end - now).unwrap().0;
        }
        Ok(ShutdownReport {
            ran: s.ran,
            abandoned,
            still_running: s.running,
        })
    }
}

impl Drop for ModelPool {
    fn drop(&mut self) {
        let threads = {
            let mut s = self.0.state.lock().unwrap();
            s.shutdown = true;
            self.0.work.notify_all();
            self.0.room.notify_all();
            std::mem::take(&mut s.threads)
        };
        if mutant("detach-drop") {
            return;
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

/// The reference model as a flavor.
pub struct Model;

impl PoolFlavor for Model {
    const NAME: &'static str = "reference-model";
    type Pool = ModelPool;
    fn build(spec: &PoolSpec) -> Result<ModelPool, Unsupported> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                workers: 0,
                idle: 0,
                min: spec.min_workers,
                max: spec.max_workers,
                shutdown: false,
                ran: 0,
                running: 0,
                threads: Vec::new(),
                next_thread: 0,
                submitted: 0,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            cap: match spec.queue {
                QueueBound::Bounded(n) => Some(n),
                QueueBound::Unbounded => None,
            },
            overflow: spec.overflow,
            keep_alive: spec.keep_alive,
            name: spec.name.clone(),
        });
        {
            let mut s = shared.state.lock().unwrap();
            let min = if mutant("serial") {
                spec.min_workers.min(1)
            } else {
                spec.min_workers
            };
            for _ in 0..min {
                shared.spawn_worker(&mut s);
            }
        }
        Ok(ModelPool(shared))
    }
}

pool_conformance!(reference_model, Model);
