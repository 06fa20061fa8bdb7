//! The typed builder (`Pipeline<T>`: a source and the stages so far, whose output is `T`) and the
//! runner (`Runnable`: the whole graph, ending in a sink).
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Mode, Overflow, Stage};
use crate::edge::{Edge, Leftovers, Sender};
use crate::error::PipelineError;
use crate::file_source::{self, FileSource};
use crate::retry::{DeadLetter, Retry};
use crate::spill_queue::Spilled;
use crate::stats::{Nack, NackLog, Report, StageReport, StageStats};
use crate::workers::{self, BoxFuture, Out, Step, Tokens};

/// A task not yet spawned: its stage's name, and the future it runs given the pipeline's start.
type Task = (String, Box<dyn FnOnce(Instant) -> BoxFuture<()> + Send>);

/// What the last stage so far still needs: the edge its output goes to.
type Tail<T> = Box<dyn FnOnce(Arc<Edge<T>>) -> Vec<Task> + Send>;

/// Everything built so far, whatever the current item type.
struct Parts {
    tokens: Tokens,
    /// The tokens of pipelines merged into this one: cancelled with `tokens`.
    linked: Vec<Tokens>,
    /// How many sources feed the pipeline (`source`, `source#2`, …).
    sources: usize,
    nacks: Arc<NackLog>,
    tasks: Vec<Task>,
    stages: Vec<(String, usize, Arc<StageStats>)>,
    edges: Vec<Arc<dyn Leftovers>>,
    names: HashSet<String>,
    error: Option<PipelineError>,
    /// The sources that ack: their last checkpoint is written once every task has ended.
    acking: Vec<Arc<file_source::Shared>>,
}

/// A pipeline under construction whose last stage emits `T`. Nothing runs until
/// [`Runnable::run`]; every stage then runs as spawned tokio tasks, joined by bounded edges.
///
/// ```
/// use pipeline::{Pipeline, Stage};
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&seen);
/// let report = Pipeline::from_iter(1..=10u32)
///     .map(Stage::new("square").with_parallelism(4), |x| async move { x * x })
///     .filter(Stage::new("odd"), |x| x % 2 == 1)
///     .batch(Stage::new("batch"), 2, Duration::from_millis(10))
///     .for_each(Stage::new("sink"), move |batch| {
///         sink.lock().unwrap().push(batch);
///         async {}
///     })
///     .run()
///     .await?;
/// // "square" is ordered (the default): its outputs keep the input order.
/// assert_eq!(*seen.lock().unwrap(), vec![vec![1, 9], vec![25, 49], vec![81]]);
/// assert_eq!(report.stage("odd").unwrap().items_out, 5);
/// # Ok::<(), pipeline::PipelineError>(())
/// # }).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pipeline<T> {
    parts: Parts,
    tail: Tail<T>,
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.stages.iter().map(|s| s.0.as_str()).collect();
        f.debug_struct("Pipeline").field("stages", &names).finish()
    }
}

fn source_parts() -> (Parts, Arc<StageStats>) {
    let stats = Arc::new(StageStats::new());
    let parts = Parts {
        tokens: Tokens::default(),
        nacks: Arc::new(NackLog::default()),
        linked: Vec::new(),
        sources: 1,
        tasks: Vec::new(),
        stages: vec![("source".to_string(), 1, Arc::clone(&stats))],
        edges: Vec::new(),
        names: HashSet::from(["source".to_string()]),
        error: None,
        acking: Vec::new(),
    };
    (parts, stats)
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline whose source is an iterator (item `n` of it has sequence number `n`). The source
    /// stops when the iterator ends or when the pipeline's token is cancelled.
    #[allow(clippy::should_implement_trait)] // a constructor, not FromIterator: it builds a source
    pub fn from_iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        let iter = items.into_iter();
        Self::with_source(move |out, stats, tokens, start| {
            workers::iter_source(iter, out, stats, tokens, start)
        })
    }

    /// A pipeline whose source is a channel: it ends when every sender is dropped, or when the
    /// pipeline's token is cancelled.
    pub fn from_receiver(rx: mpsc::Receiver<T>) -> Self {
        Self::with_source(move |out, stats, tokens, start| {
            workers::channel_source(rx, out, stats, tokens, start)
        })
    }

    /// A pipeline whose source task is `run(output, its stats, the tokens, the start)`.
    fn with_source<F, Fut>(run: F) -> Self
    where
        F: FnOnce(Sender<T>, Arc<StageStats>, Tokens, Instant) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (parts, stats) = source_parts();
        let tokens = parts.tokens.clone();
        let tail: Tail<T> = Box::new(move |edge: Arc<Edge<T>>| {
            let out = edge.sender(Arc::clone(&stats));
            let task = move |start| -> BoxFuture<()> { Box::pin(run(out, stats, tokens, start)) };
            vec![("source".to_string(), Box::new(task) as _)]
        });
        Pipeline { parts, tail }
    }

    /// Fan-in: the items of `other` go, with this pipeline's, into the edge of the next stage added
    /// (in no particular order between the two). Its sources are renamed after this pipeline's
    /// (`source#2`, `source#3`, …); its other stages keep their names, which must differ from this
    /// pipeline's. The cancellation token and the drain deadline apply to both; a nack's sequence
    /// number is that of its own source. In the report, this pipeline's stages come first, then
    /// `other`'s, then the stages after the merge.
    ///
    /// ```
    /// use pipeline::{Pipeline, Stage};
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// use std::sync::Arc;
    ///
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let sum = Arc::new(AtomicU64::new(0));
    /// let total = Arc::clone(&sum);
    /// let clicks = Pipeline::from_iter(0..10u64);
    /// let views = Pipeline::from_iter(100..110u64).map(Stage::new("views"), |x| async move { x * 2 });
    /// let report = clicks
    ///     .merge(views)
    ///     .for_each(Stage::new("sink"), move |x| {
    ///         total.fetch_add(x, Relaxed);
    ///         async {}
    ///     })
    ///     .run()
    ///     .await?;
    /// assert_eq!(sum.load(Relaxed), (0..10).sum::<u64>() + (100..110).map(|x| x * 2).sum::<u64>());
    /// assert_eq!(report.stage("source#2").unwrap().completed, 10);
    /// # Ok::<(), pipeline::PipelineError>(())
    /// # }).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(self, other: Pipeline<T>) -> Pipeline<T> {
        let mut parts = self.parts;
        let mut theirs = other.parts;
        let offset = parts.sources;
        // `source` is source number 1, `source#k` number k: theirs are numbered after ours.
        let rename = move |name: &str| -> String {
            let number = match name.strip_prefix("source") {
                Some("") => Some(1),
                Some(rest) => rest.strip_prefix('#').and_then(|k| k.parse::<usize>().ok()),
                None => None,
            };
            match number {
                Some(k) => format!("source#{}", k + offset),
                None => name.to_string(),
            }
        };
        for stage in &mut theirs.stages {
            stage.0 = rename(&stage.0);
        }
        for task in &mut theirs.tasks {
            task.0 = rename(&task.0);
        }
        for (name, ..) in &theirs.stages {
            if !parts.names.insert(name.clone()) && parts.error.is_none() {
                parts.error = Some(PipelineError::DuplicateStage {
                    stage: name.clone(),
                });
            }
        }
        if parts.error.is_none() {
            parts.error = theirs.error;
        }
        theirs.nacks.forward_to(Arc::clone(&parts.nacks));
        parts.sources += theirs.sources;
        parts.linked.push(theirs.tokens);
        parts.linked.extend(theirs.linked);
        parts.tasks.extend(theirs.tasks);
        parts.stages.extend(theirs.stages);
        parts.edges.extend(theirs.edges);
        parts.acking.extend(theirs.acking);
        let (ours, their_tail) = (self.tail, other.tail);
        let tail: Tail<T> = Box::new(move |edge: Arc<Edge<T>>| {
            let mut tasks = ours(Arc::clone(&edge));
            for (name, task) in their_tail(edge) {
                tasks.push((rename(&name), task));
            }
            tasks
        });
        Pipeline { parts, tail }
    }

    /// Adds a stage: a new edge in front of it, and its tasks.
    fn stage<U: Send + 'static>(self, cfg: Stage, step: Step<T, U>) -> Pipeline<U> {
        self.stage_with(cfg, |_| step)
    }

    /// Adds a stage whose function needs the stage's stats (to count its retries).
    fn stage_with<U: Send + 'static>(
        self,
        cfg: Stage,
        make_step: impl FnOnce(&Arc<StageStats>) -> Step<T, U>,
    ) -> Pipeline<U> {
        let (parts, stats, edge) = self.open(&cfg);
        let step = make_step(&stats);
        let name = cfg.name().to_string();
        let parallelism = cfg.parallelism().max(1);
        let tokens = parts.tokens.clone();
        let tail: Tail<U> = Box::new(move |out_edge: Arc<Edge<U>>| match cfg.mode() {
            Mode::Unordered => (0..parallelism)
                .map(|_| {
                    let (input, out) = (Arc::clone(&edge), out_edge.sender(Arc::clone(&stats)));
                    let (step, stats, tokens) =
                        (Arc::clone(&step), Arc::clone(&stats), tokens.clone());
                    let run = move |start| -> BoxFuture<()> {
                        Box::pin(workers::unordered_worker(
                            input, out, step, stats, tokens, start,
                        ))
                    };
                    (name.clone(), Box::new(run) as _)
                })
                .collect(),
            Mode::Ordered => {
                let out = out_edge.sender(Arc::clone(&stats)).weighted(parallelism);
                let (d, c) = workers::ordered_stage(edge, out, step, parallelism, stats, tokens);
                vec![(name.clone(), Box::new(d) as _), (name, Box::new(c) as _)]
            }
        });
        Pipeline { parts, tail }
    }

    /// Validates `cfg`, creates the edge into the new stage and resolves the previous stage's tail.
    fn open(self, cfg: &Stage) -> (Parts, Arc<StageStats>, Arc<Edge<T>>) {
        let mut parts = self.parts;
        let name = cfg.name().to_string();
        let err = if cfg.parallelism() == 0 {
            Some(PipelineError::ZeroParallelism {
                stage: name.clone(),
            })
        } else if cfg.edge_capacity() == 0 {
            Some(PipelineError::ZeroCapacity {
                stage: name.clone(),
            })
        } else if !parts.names.insert(name.clone()) {
            Some(PipelineError::DuplicateStage {
                stage: name.clone(),
            })
        } else {
            None
        };
        if parts.error.is_none() {
            parts.error = err;
        }
        let spill = match cfg.overflow_policy() {
            Overflow::SpillToDisk(spill) => match Spilled::open(spill, &name) {
                Ok(s) => Some(s),
                Err(e) => {
                    parts.error.get_or_insert(e);
                    None
                }
            },
            _ => None,
        };
        let stats = Arc::new(StageStats::new());
        let edge = Arc::new(Edge::new(
            cfg.edge_capacity().max(1),
            cfg.overflow_policy().clone(),
            spill,
            Arc::clone(&stats),
            name.clone(),
            Arc::clone(&parts.nacks),
        ));
        let tasks = (self.tail)(Arc::clone(&edge));
        parts.tasks.extend(tasks);
        parts.edges.push(Arc::clone(&edge) as Arc<dyn Leftovers>);
        parts
            .stages
            .push((name, cfg.parallelism().max(1), Arc::clone(&stats)));
        (parts, stats, edge)
    }

    /// Transforms every item with an async function.
    pub fn map<U, F, Fut>(self, stage: Stage, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.stage(
            stage,
            Arc::new(move |_seq, x| -> BoxFuture<Out<U>> {
                let fut = f(x);
                Box::pin(async move { Out::One(fut.await) })
            }),
        )
    }

    /// Transforms every item with an async function that may fail: a failed item is counted in the
    /// stage's `failed` and goes no further.
    pub fn try_map<U, E, F, Fut>(self, stage: Stage, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        E: Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        self.stage(
            stage,
            Arc::new(move |_seq, x| -> BoxFuture<Out<U>> {
                let fut = f(x);
                Box::pin(async move {
                    match fut.await {
                        Ok(u) => Out::One(u),
                        Err(_) => Out::Failed,
                    }
                })
            }),
        )
    }

    /// Like [`Pipeline::try_map`], but a failing item is tried again by `retry` (each retry counted in
    /// the stage's `retried`), and an item every attempt failed on goes to `dead_letter` with its last
    /// error (counted in `failed`). The dead-letter sink runs in the item's slot: while it waits, the
    /// slot is taken.
    ///
    /// ```
    /// use pipeline::{DeadLetter, Pipeline, Retry, Stage};
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let dead = Arc::new(Mutex::new(Vec::new()));
    /// let dlq = Arc::clone(&dead);
    /// let report = Pipeline::from_iter(0..10u32)
    ///     .try_map_retry(
    ///         Stage::new("call").with_parallelism(4),
    ///         Retry::exponential(3, Duration::from_millis(1), Duration::from_millis(4)),
    ///         |x| async move { if x == 7 { Err("refused") } else { Ok(x) } },
    ///         move |d: DeadLetter<u32, &str>| {
    ///             dlq.lock().unwrap().push((d.item, d.error, d.attempts));
    ///             async {}
    ///         },
    ///     )
    ///     .for_each(Stage::new("sink"), |_| async {})
    ///     .run()
    ///     .await?;
    /// assert_eq!(*dead.lock().unwrap(), [(7, "refused", 3)]);
    /// let call = report.stage("call").unwrap();
    /// assert_eq!((call.retried, call.failed, call.completed), (2, 1, 9));
    /// # Ok::<(), pipeline::PipelineError>(())
    /// # }).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_map_retry<U, E, F, Fut, D, DFut>(
        self,
        stage: Stage,
        retry: Retry,
        f: F,
        dead_letter: D,
    ) -> Pipeline<U>
    where
        T: Clone,
        U: Send + 'static,
        E: Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
        D: Fn(DeadLetter<T, E>) -> DFut + Send + Sync + 'static,
        DFut: Future<Output = ()> + Send + 'static,
    {
        let (f, dead_letter) = (Arc::new(f), Arc::new(dead_letter));
        self.stage_with(stage, move |stats| {
            let stats = Arc::clone(stats);
            Arc::new(move |seq, x: T| -> BoxFuture<Out<U>> {
                let (f, dead_letter, stats) =
                    (Arc::clone(&f), Arc::clone(&dead_letter), Arc::clone(&stats));
                Box::pin(async move {
                    let mut attempt = 1;
                    loop {
                        match f(x.clone()).await {
                            Ok(u) => return Out::One(u),
                            Err(error) if attempt >= retry.attempts() => {
                                dead_letter(DeadLetter {
                                    seq,
                                    item: x,
                                    error,
                                    attempts: attempt,
                                })
                                .await;
                                return Out::Failed;
                            }
                            Err(_) => {
                                tokio::time::sleep(retry.backoff(attempt)).await;
                                StageStats::add(&stats.retried, 1);
                                attempt += 1;
                            }
                        }
                    }
                })
            })
        })
    }

    /// Keeps the items for which `keep` is true.
    pub fn filter<F>(self, stage: Stage, keep: F) -> Pipeline<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.stage(
            stage,
            Arc::new(move |_seq, x| -> BoxFuture<Out<T>> {
                let o = if keep(&x) { Out::One(x) } else { Out::Nothing };
                Box::pin(std::future::ready(o))
            }),
        )
    }

    /// Replaces every item by the items `f` returns, in order.
    pub fn flat_map<U, I, F>(self, stage: Stage, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        I: IntoIterator<Item = U>,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        self.stage(
            stage,
            Arc::new(move |_seq, x| -> BoxFuture<Out<U>> {
                Box::pin(std::future::ready(Out::Many(f(x).into_iter().collect())))
            }),
        )
    }

    /// Groups items into batches of `max_items`, or fewer when `max_wait` has passed since a batch's
    /// first item (or the input ends). One task: the stage's parallelism is ignored.
    pub fn batch(self, stage: Stage, max_items: usize, max_wait: Duration) -> Pipeline<Vec<T>> {
        let zero = max_items == 0;
        let stage = stage.with_parallelism(1); // one task: the report divides its time by 1
        let (mut parts, stats, edge) = self.open(&stage);
        if zero && parts.error.is_none() {
            parts.error = Some(PipelineError::ZeroBatch {
                stage: stage.name().to_string(),
            });
        }
        let tokens = parts.tokens.clone();
        let name = stage.name().to_string();
        let tail: Tail<Vec<T>> = Box::new(move |out_edge: Arc<Edge<Vec<T>>>| {
            let out = out_edge.sender(Arc::clone(&stats));
            let max_items = max_items.max(1);
            let run = move |start| -> BoxFuture<()> {
                Box::pin(workers::batcher(
                    edge, out, max_items, max_wait, stats, tokens, start,
                ))
            };
            vec![(name, Box::new(run) as _)]
        });
        Pipeline { parts, tail }
    }

    /// Ends the pipeline in a sink: `f` is called for every item (by `parallelism` workers).
    pub fn for_each<F, Fut>(self, stage: Stage, f: F) -> Runnable
    where
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let sink: Pipeline<()> = self.stage(
            stage,
            Arc::new(move |_seq, x| -> BoxFuture<Out<()>> {
                let fut = f(x);
                Box::pin(async move {
                    fut.await;
                    Out::Nothing
                })
            }),
        );
        let mut parts = sink.parts;
        // The sink sends nothing: its output edge is never read, and not part of the report.
        let nowhere = Arc::new(Edge::new(
            1,
            Overflow::DropNewest,
            None,
            Arc::new(StageStats::new()),
            String::new(),
            Arc::clone(&parts.nacks),
        ));
        parts.tasks.extend((sink.tail)(nowhere));
        Runnable { parts }
    }
}

impl Pipeline<Vec<u8>> {
    /// A pipeline whose source is the lines of a file (each without its line ending), acked end to
    /// end: a line is acked once every sink has finished it — the sink returned, or a stage ended its
    /// journey on purpose (filtered out, dropped by a `Drop*` policy, failed or dead-lettered); a line
    /// fanned out by `flat_map` or merged into a batch is finished when all its parts are. The
    /// contiguous prefix of acked lines is checkpointed durably ([`Checkpoint::store`]), and a run
    /// resumes from the checkpoint it finds. A line cancelled, or refused by
    /// [`Overflow::Reject`], is never acked: the checkpoint stops before it and the next run reads it
    /// again. [`Report::acks`] says what was read, acked and left unacked. Item `n` of the run
    /// has the sequence number of its line (from 0 at the start of the file).
    ///
    /// A missing input or an unreadable checkpoint is an error from [`Runnable::run`].
    ///
    /// [`Checkpoint::store`]: crate::Checkpoint::store
    pub fn from_file(source: FileSource) -> Self {
        match source.open() {
            Ok(opened) => {
                let shared = opened.shared();
                let running = Arc::clone(&shared);
                let mut p = Self::with_source(move |out, stats, tokens, start| {
                    file_source::run(opened, running, out, stats, tokens, start)
                });
                p.parts.acking.push(shared);
                p
            }
            Err(e) => {
                let mut p = Self::from_iter(std::iter::empty());
                p.parts.error = Some(e);
                p
            }
        }
    }
}

/// A complete pipeline, ready to run.
pub struct Runnable {
    parts: Parts,
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.parts.stages.iter().map(|s| s.0.as_str()).collect();
        f.debug_struct("Runnable").field("stages", &names).finish()
    }
}

impl Runnable {
    /// Runs until the source runs dry and every item has left the pipeline. Must be called within a
    /// tokio runtime: every stage is spawned on it.
    pub async fn run(self) -> Result<Report, PipelineError> {
        self.run_until(CancellationToken::new(), Duration::MAX)
            .await
    }

    /// Runs until the source runs dry, or until `token` is cancelled: then the source stops, the
    /// items inside drain for up to `drain` (through every stage to the sink), and whatever is
    /// still inside after that is cancelled (counted per stage in the report). A panic in a stage
    /// cancels everything at once and is returned as [`PipelineError::StagePanicked`].
    ///
    /// Dropping the returned future aborts every task of the pipeline.
    ///
    /// ```
    /// use pipeline::{Pipeline, Stage};
    /// use std::time::Duration;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let token = CancellationToken::new();
    /// let stop = token.clone();
    /// let report = Pipeline::from_iter(0u64..) // endless
    ///     .map(Stage::new("work"), |x| async move { x + 1 })
    ///     .for_each(Stage::new("sink"), move |x| {
    ///         if x == 100 { stop.cancel(); }
    ///         async {}
    ///     })
    ///     .run_until(token, Duration::from_secs(1))
    ///     .await?;
    /// assert!(report.cancelled && !report.drain_timed_out);
    /// let sink = report.stage("sink").unwrap();
    /// assert!(sink.completed >= 100 && sink.cancelled == 0); // drained: nothing abandoned
    /// # Ok::<(), pipeline::PipelineError>(())
    /// # }).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn run_until(
        self,
        token: CancellationToken,
        drain: Duration,
    ) -> Result<Report, PipelineError> {
        supervise(self.parts, token, drain, Instant::now()).await
    }

    /// Starts the pipeline on a task of its own, as [`Runnable::run_until`] would run it, and returns
    /// a handle to watch it ([`Running::snapshot`]) and to [join](Running::join) it. Must be called
    /// within a tokio runtime. Dropping the handle aborts the pipeline.
    ///
    /// ```
    /// use pipeline::{Pipeline, Stage};
    /// use std::time::Duration;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let running = Pipeline::from_iter(0..100u32)
    ///     .map(Stage::new("slow"), |x| async move {
    ///         tokio::time::sleep(Duration::from_millis(1)).await;
    ///         x
    ///     })
    ///     .for_each(Stage::new("sink"), |_| async {})
    ///     .spawn(CancellationToken::new(), Duration::from_secs(1));
    /// let now = running.snapshot(); // live counts, depths and shares, the source first
    /// assert_eq!(now[1].name, "slow");
    /// let report = running.join().await?;
    /// assert_eq!(report.stage("sink").unwrap().completed, 100);
    /// # Ok::<(), pipeline::PipelineError>(())
    /// # }).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(self, token: CancellationToken, drain: Duration) -> Running {
        let start = Instant::now();
        let stages = self.parts.stages.clone();
        let nacks = Arc::clone(&self.parts.nacks);
        let task = tokio::spawn(supervise(self.parts, token, drain, start));
        Running {
            task: Some(task),
            stages,
            nacks,
            start,
        }
    }
}

/// A pipeline started by [`Runnable::spawn`].
pub struct Running {
    /// `None` only after [`Running::join`] took it.
    task: Option<JoinHandle<Result<Report, PipelineError>>>,
    stages: Vec<(String, usize, Arc<StageStats>)>,
    nacks: Arc<NackLog>,
    start: Instant,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.stages.iter().map(|s| s.0.as_str()).collect();
        f.debug_struct("Running").field("stages", &names).finish()
    }
}

impl Running {
    /// Every stage's row as of now, the source first: counts, the depth of its edge, and its busy /
    /// backpressured / idle shares since the start. The counters are read one by one while the
    /// stages run, so a row may be a few items out of step with itself; [`Running::join`]'s report
    /// is exact.
    pub fn snapshot(&self) -> Vec<StageReport> {
        let elapsed = self.start.elapsed();
        self.stages
            .iter()
            .map(|(name, p, stats)| StageReport::from_stats(name, *p, stats, Some(elapsed)))
            .collect()
    }

    /// The items refused so far (under [`Overflow::Reject`]), in the order they were refused,
    /// starting at the `from`-th: a source that resends refused items polls this with the count it
    /// has already seen. The final report holds them all.
    pub fn nacks(&self, from: usize) -> Vec<Nack> {
        self.nacks.since(from)
    }

    /// Waits for the pipeline to end, and returns its report.
    pub async fn join(mut self) -> Result<Report, PipelineError> {
        let task = self.task.take().expect("joined once: join takes self");
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => unreachable!("only Drop aborts the supervisor, and join holds self: {e}"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort(); // its JoinSet goes with it, aborting every stage task
        }
    }
}

/// Spawns every stage, watches the token, the drain deadline and the tasks' ends, and builds the
/// report once every task has ended.
async fn supervise(
    mut parts: Parts,
    token: CancellationToken,
    drain: Duration,
    start: Instant,
) -> Result<Report, PipelineError> {
    if let Some(e) = parts.error.take() {
        return Err(e);
    }
    let tokens: Vec<Tokens> = std::iter::once(parts.tokens.clone())
        .chain(parts.linked.iter().cloned())
        .collect();
    let mut set = JoinSet::new();
    let mut names = HashMap::new();
    for (name, task) in parts.tasks.drain(..) {
        let id = set.spawn(task(start)).id();
        names.insert(id, name);
    }
    let mut failure = None;
    let mut cancelled = false;
    let mut drain_timed_out = false;
    let mut drain_by: Option<Instant> = None;
    loop {
        let deadline = drain_by.filter(|_| !tokens[0].hard.is_cancelled());
        tokio::select! {
            joined = set.join_next_with_id() => match joined {
                None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if e.is_panic() && failure.is_none() {
                        let stage = names.get(&e.id()).cloned().unwrap_or_default();
                        let message = shim::panic_message(&*e.into_panic());
                        failure = Some(PipelineError::StagePanicked { stage, message });
                    }
                    every(&tokens, |t| t.source_stop.cancel());
                    every(&tokens, |t| t.hard.cancel());
                }
            },
            _ = token.cancelled(), if !cancelled => {
                cancelled = true;
                every(&tokens, |t| t.source_stop.cancel());
                drain_by = Instant::now().checked_add(drain);
            }
            _ = sleep_until_opt(deadline), if deadline.is_some() => {
                drain_timed_out = true;
                every(&tokens, |t| t.source_stop.cancel());
                every(&tokens, |t| t.hard.cancel());
            }
        }
    }
    // Every task has ended: what is still queued will never be read.
    for edge in &parts.edges {
        edge.cancel_rest();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // Every claim is settled now (finished, or abandoned with its item): the last checkpoints.
    let mut acks = Vec::with_capacity(parts.acking.len());
    for source in &parts.acking {
        acks.push(source.finish()?);
    }
    let elapsed = start.elapsed();
    let stages = parts
        .stages
        .iter()
        .map(|(name, p, stats)| StageReport::from_stats(name, *p, stats, None))
        .collect();
    let nacks = parts.nacks.take();
    Ok(Report {
        stages,
        nacks,
        cancelled,
        drain_timed_out,
        elapsed,
        acks,
    })
}

/// Applies `f` to the tokens of every merged part.
fn every(tokens: &[Tokens], f: impl Fn(&Tokens)) {
    tokens.iter().for_each(f);
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
