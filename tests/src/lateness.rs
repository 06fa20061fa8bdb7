//! How late a tokio runtime runs a timer: a heartbeat, and the blocking-in-async probe built on it.
//!
//! Go: a goroutine blocked in a syscall gives its P to another M (sysmon sees to it), and one that
//! computes for too long is preempted, so a timer goroutine still wakes on time. tokio does neither: a
//! task that blocks keeps its worker thread. The probe shows it the same way wherever a lesson needs
//! it: a [`heartbeat`] task asks to wake every `beat` and notes how late it woke, on a 2-worker runtime,
//! next to load tasks that make a blocking call one of the [`Call`] ways. Phase 1's `blocking` section
//! reads the result as the scheduler's lesson, phase 4's `syscalls` as the runtime's; phase 4's
//! `preemption` points the bare heartbeat at a busy task.
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::exercise::Ctx;
use crate::stats::{Summary, fmt_ms};
use crate::watchdog::{self, Outcome};

/// Worker threads of the probe's runtime: two, as many as the cores of the machines the lessons are
/// written on, so that two blocked tasks are all of them.
pub const WORKERS: usize = 2;

/// Beats until `until`: each beat sleeps until `beat` after the previous wake-up (the first one until
/// `beat` after `origin`), notes how late it woke and counts itself in `beats`. Returns the lateness
/// of every beat, the one that passes `until` included (so there is always at least one).
pub async fn heartbeat(
    beat: Duration,
    origin: Instant,
    until: Instant,
    beats: Arc<AtomicU64>,
) -> Summary {
    let mut late = Vec::new();
    let mut due = origin + beat;
    loop {
        tokio::time::sleep_until(due.into()).await;
        let now = Instant::now();
        late.push(now.saturating_duration_since(due));
        beats.fetch_add(1, Relaxed); // A count others read as a statistic; no memory hangs on it.
        if now >= until {
            return Summary::of(&mut late);
        }
        due = now + beat;
    }
}

/// How each load task makes its blocking call (`std::thread::sleep`, standing for a syscall, blocking
/// IO or a long computation), or does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// No load at all: the heartbeat's baseline (the timer's own resolution and the machine's noise).
    Idle,
    /// `std::thread::sleep` in the task itself: the worker is held for the whole call (the bug).
    StdSleep,
    /// `tokio::time::sleep(..).await`: the async version, which blocks nothing.
    TokioSleep,
    /// `tokio::task::spawn_blocking(|| std::thread::sleep(..)).await`: the call runs on the blocking
    /// pool, the task waits for it without holding its worker.
    SpawnBlocking,
    /// `tokio::task::block_in_place(|| std::thread::sleep(..))`: the worker hands its queue to a new
    /// thread, then blocks.
    BlockInPlace,
    /// A dedicated `std::thread` makes the call and answers through a `tokio::sync::oneshot`.
    Thread,
}

impl Call {
    /// Every way, the baseline first.
    pub const ALL: [Call; 6] = [
        Call::Idle,
        Call::StdSleep,
        Call::TokioSleep,
        Call::SpawnBlocking,
        Call::BlockInPlace,
        Call::Thread,
    ];

    /// The label of this way's row in a table.
    pub fn label(self) -> &'static str {
        match self {
            Call::Idle => "no load (baseline)",
            Call::StdSleep => "std::thread::sleep in the task",
            Call::TokioSleep => "tokio::time::sleep(..).await",
            Call::SpawnBlocking => "spawn_blocking(std sleep).await",
            Call::BlockInPlace => "block_in_place(std sleep)",
            Call::Thread => "own std::thread + oneshot",
        }
    }

    /// Makes one call of `length` this way (nothing for [`Call::Idle`]).
    async fn make(self, length: Duration) {
        match self {
            Call::Idle => {}
            Call::StdSleep => std::thread::sleep(length),
            Call::TokioSleep => tokio::time::sleep(length).await,
            Call::SpawnBlocking => tokio::task::spawn_blocking(move || std::thread::sleep(length))
                .await
                .expect("a sleep does not panic"),
            Call::BlockInPlace => tokio::task::block_in_place(|| std::thread::sleep(length)),
            Call::Thread => {
                let (done, finished) = tokio::sync::oneshot::channel();
                let thread = std::thread::Builder::new()
                    .name("probe-call".into())
                    .spawn(move || {
                        std::thread::sleep(length);
                        let _ = done.send(());
                    })
                    .expect("spawn the call's thread");
                let _ = finished.await;
                // The thread's send was its last act: this waits for its exit, not for the call.
                let _ = thread.join();
            }
        }
    }
}

/// One run's shape: a heartbeat beating every `beat` for `span`, next to `tasks` load tasks that each
/// repeat a `call`-long blocking call until `span` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The heartbeat's period.
    pub beat: Duration,
    /// Load tasks: [`WORKERS`] block every worker while they all call at once; twice as many keep them
    /// blocked through the moments a task spends between two calls.
    pub tasks: usize,
    /// The length of one blocking call.
    pub call: Duration,
    /// How long the run lasts. Each load task makes at least one call and starts no call after `span`;
    /// the heartbeat's last beat is the first that wakes after `span`.
    pub span: Duration,
}

impl Probe {
    /// Runs the heartbeat next to the load on a fresh [`WORKERS`]-worker runtime and returns its
    /// lateness; the error is the runtime's, when it cannot be built.
    ///
    /// A run with [`Call::StdSleep`] holds every worker for most of `span`: run it under a deadline
    /// ([`Probe::measure_all`] does).
    pub fn measure(&self, call: Call) -> std::io::Result<Summary> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("lateness-probe")
            .enable_all()
            .build()?;
        let Probe {
            beat, tasks, span, ..
        } = *self;
        let length = self.call;
        let lateness = rt.block_on(async move {
            let origin = Instant::now();
            let end = origin + span;
            let heartbeat = tokio::spawn(heartbeat(beat, origin, end, Arc::default()));
            let load: Vec<_> = (0..if call == Call::Idle { 0 } else { tasks })
                .map(|_| {
                    tokio::spawn(async move {
                        loop {
                            call.make(length).await;
                            // Between calls the task returns to the scheduler once, as a request
                            // loop would between requests; without it a task that blocks inline
                            // would never let its worker go, nor the worker run the timers.
                            tokio::task::yield_now().await;
                            if Instant::now() >= end {
                                return;
                            }
                        }
                    })
                })
                .collect();
            let lateness = heartbeat.await.expect("the heartbeat does not panic");
            for task in load {
                task.await.expect("a load task does not panic");
            }
            lateness
        });
        rt.shutdown_timeout(Duration::from_secs(1));
        Ok(lateness)
    }

    /// For a section: measures `calls` within `deadline` ([`Probe::measure_all`]) and shows them as the
    /// table `title` ([`Measured::show`]); when there is no measurement, fails a check that says why
    /// and returns `None`.
    pub fn run_in(
        &self,
        ctx: &mut Ctx,
        title: &str,
        calls: &[Call],
        deadline: Duration,
    ) -> Option<Measured> {
        self.run_until(ctx, title, calls, deadline, 1, |_| true)
    }

    /// As [`Probe::run_in`], but measures again, up to `attempts` times in all (each within
    /// `deadline`), while `settled` is false of the measurement: on a loaded machine a whole run can
    /// be late (the heartbeat's own process descheduled), which says nothing about the calls. The
    /// section shows and checks the last measurement, and says how many it took; a probe that never
    /// settles (the calls behave unlike the lesson says) still fails the section's checks.
    pub fn run_until(
        &self,
        ctx: &mut Ctx,
        title: &str,
        calls: &[Call],
        deadline: Duration,
        attempts: usize,
        settled: impl Fn(&Measured) -> bool,
    ) -> Option<Measured> {
        let mut taken = 0;
        let measured = loop {
            taken += 1;
            match self.measure_all(calls, deadline) {
                Ok(m) if taken >= attempts || settled(&m) => break m,
                Ok(_) => {}
                Err(e) => {
                    ctx.check_with(format!("{title}: measured"), false, e.to_string());
                    return None;
                }
            }
        };
        measured.show(ctx, title);
        ctx.record("lateness_attempts", taken as u64);
        if taken > 1 {
            ctx.say(format!(
                "(measured {taken} times, at most {attempts}: the earlier runs were out of the range \
                 the checks below expect, as happens when the machine is loaded; this is the last)"
            ));
        }
        Some(measured)
    }

    /// Measures each of `calls` in turn, each on a fresh runtime, all on one watched thread that must
    /// finish within `deadline` (a runtime whose workers never come back is reported, not waited on).
    pub fn measure_all(&self, calls: &[Call], deadline: Duration) -> Result<Measured, ProbeError> {
        let (probe, wanted) = (*self, calls.to_vec());
        let outcome = watchdog::run("lateness-probe", deadline, move || {
            let mut rows = Vec::with_capacity(wanted.len());
            for call in wanted {
                match probe.measure(call) {
                    Ok(lateness) => rows.push((call, lateness)),
                    Err(e) => return Err(ProbeError::Runtime(call, e)),
                }
            }
            Ok(Measured { rows })
        });
        match outcome {
            Outcome::Finished(result) => result,
            Outcome::Panicked(message) => Err(ProbeError::Panicked(message)),
            Outcome::TimedOut(_stuck) => Err(ProbeError::TimedOut(deadline)),
        }
    }
}

/// What [`Probe::measure_all`] measured: the heartbeat's lateness for each way, in the order asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    rows: Vec<(Call, Summary)>,
}

impl Measured {
    /// The lateness measured with `call`.
    ///
    /// # Panics
    /// When `call` was not among the ways measured: the section asked for a row it did not measure.
    pub fn of(&self, call: Call) -> Summary {
        match self.rows.iter().find(|(c, _)| *c == call) {
            Some((_, lateness)) => *lateness,
            None => panic!("{call:?} was not measured (measured: {self:?})"),
        }
    }

    /// Prints one row a way (beats, p50, p99 and max lateness) under `title`, and records
    /// `lateness_p50_us/<Call>` and `lateness_max_us/<Call>` for `--json`.
    pub fn show(&self, ctx: &mut Ctx, title: &str) {
        let mut table = ctx.table(title, &["the load's call", "beats", "p50", "p99", "max"]);
        for (call, lateness) in &self.rows {
            table.row([
                call.label().to_string(),
                lateness.n.to_string(),
                fmt_ms(lateness.p50),
                fmt_ms(lateness.p99),
                fmt_ms(lateness.max),
            ]);
            let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            ctx.record(format!("lateness_p50_us/{call:?}"), us(lateness.p50));
            ctx.record(format!("lateness_max_us/{call:?}"), us(lateness.max));
        }
        ctx.show(table);
    }
}

/// Why [`Probe::measure_all`] has no measurement.
#[derive(Debug)]
pub enum ProbeError {
    /// The runtime for this way could not be built.
    Runtime(Call, std::io::Error),
    /// A run panicked; the message.
    Panicked(String),
    /// The runs did not finish within this deadline; the watched thread is reported and left behind.
    TimedOut(Duration),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Runtime(call, e) => write!(f, "no tokio runtime for {call:?}: {e}"),
            ProbeError::Panicked(message) => write!(f, "a probe run panicked: {message}"),
            ProbeError::TimedOut(deadline) => {
                write!(f, "the probe runs did not finish within {deadline:?}")
            }
        }
    }
}

impl std::error::Error for ProbeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProbeError::Runtime(_, e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both workers blocked by inline sleeps, against every remedy, in one run: only relative figures.
    /// Half, not merely less: a remedy that made half its call inline would still be below the inline
    /// sleep's maximum, by a hair.
    #[test]
    fn inline_sleep_is_later_than_every_remedy() {
        let probe = Probe {
            beat: Duration::from_millis(2),
            tasks: WORKERS,
            call: Duration::from_millis(40),
            span: Duration::from_millis(80),
        };
        let measured = probe
            .measure_all(&Call::ALL, Duration::from_secs(30))
            .expect("the probe runs");
        let inline = measured.of(Call::StdSleep);
        for call in Call::ALL {
            let lateness = measured.of(call);
            assert!(lateness.n >= 1, "{call:?}: no beat at all");
            if call != Call::StdSleep {
                assert!(
                    lateness.max * 2 < inline.max,
                    "{call:?}: max lateness {:?} is not below half the inline sleep's {:?}",
                    lateness.max,
                    inline.max
                );
            }
        }
    }

    /// The heartbeat counts every beat it returns, and stops at the first beat past `until`.
    #[test]
    fn heartbeat_counts_its_beats_and_stops() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let beats = Arc::new(AtomicU64::new(0));
        let origin = Instant::now();
        let lateness = rt.block_on(heartbeat(
            Duration::from_millis(1),
            origin,
            origin + Duration::from_millis(10),
            Arc::clone(&beats),
        ));
        assert_eq!(lateness.n as u64, beats.load(Relaxed));
        assert!(
            (1..=10).contains(&lateness.n),
            "{} beats of ≥ 1 ms in 10 ms",
            lateness.n
        );
    }

    #[test]
    #[should_panic(expected = "Thread was not measured")]
    fn asking_for_an_unmeasured_way_names_it() {
        Measured {
            rows: vec![(Call::Idle, Summary::of(&mut []))],
        }
        .of(Call::Thread);
    }
}
