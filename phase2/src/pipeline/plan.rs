//! What a pipeline run is asked to do ([`Plan`]) and what it reports ([`Run`]), shared by the thread
//! and the async versions so that they are compared on exactly the same terms.
use std::fmt;
use std::time::{Duration, Instant};

use super::corpus::Counts;

/// The four stages, in flow order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Emits the corpus lines, numbered.
    Generate,
    /// Splits a line into tokens.
    Parse,
    /// Normalises tokens into words.
    Transform,
    /// Counts words (the sink).
    Aggregate,
}

impl Stage {
    /// Every stage, in flow order.
    pub const ALL: [Stage; 4] = [
        Stage::Generate,
        Stage::Parse,
        Stage::Transform,
        Stage::Aggregate,
    ];

    /// Short name, also the suffix of the stage's thread name (`pipe-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Generate => "gen",
            Stage::Parse => "parse",
            Stage::Transform => "xform",
            Stage::Aggregate => "agg",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The injected failure: `stage` fails when it handles item number `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageError {
    /// The stage that failed.
    pub stage: Stage,
    /// The item it failed on.
    pub seq: u64,
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage {} failed on item {}", self.stage, self.seq)
    }
}

impl std::error::Error for StageError {}

/// How to run a pipeline.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The input lines.
    pub lines: Vec<String>,
    /// Capacity of each of the three inter-stage channels; `None` = unbounded.
    pub bound: Option<usize>,
    /// Time the generator spends per line (a producer with a finite rate); zero = as fast as it can.
    pub source_delay: Duration,
    /// Time the sink spends per item (a slow consumer); zero = as fast as it can.
    pub sink_delay: Duration,
    /// A failure to inject, if any.
    pub fail: Option<StageError>,
    /// Sample the depth of every channel this often; `None` = no sampler.
    pub sample_every: Option<Duration>,
}

impl Plan {
    /// A plain run: no failure, no slow sink, no sampling.
    pub fn new(lines: Vec<String>, bound: Option<usize>) -> Self {
        Plan {
            lines,
            bound,
            source_delay: Duration::ZERO,
            sink_delay: Duration::ZERO,
            fail: None,
            sample_every: None,
        }
    }
}

/// One sample of the three channel depths (items queued), `at` since the start.
#[derive(Clone, Copy, Debug)]
pub struct DepthSample {
    /// Time since the pipeline started.
    pub at: Duration,
    /// Items queued in gen→parse, parse→xform, xform→agg.
    pub depth: [usize; 3],
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    /// The word counts the sink accumulated (partial if the run was cancelled).
    pub counts: Counts,
    /// The sequence numbers of the items the sink received, in arrival order.
    pub delivered: Vec<u64>,
    /// The first error, if any stage failed.
    pub error: Option<StageError>,
    /// When the first error was raised (None without an error).
    pub failed_at: Option<Instant>,
    /// When the last stage had exited (all joined).
    pub all_exited_at: Instant,
    /// How many stages were joined (4 when every stage exited).
    pub stages_exited: usize,
    /// Channel depths over time (empty without a sampler).
    pub samples: Vec<DepthSample>,
    /// Wall time from start to the last stage's exit.
    pub elapsed: Duration,
}

impl Run {
    /// True if no sequence number reached the sink twice (items flow FIFO through single-threaded
    /// stages, so a strictly increasing sequence is the expected shape).
    pub fn strictly_increasing(&self) -> bool {
        self.delivered.windows(2).all(|w| w[0] < w[1])
    }

    /// How many items reached the sink more than once.
    pub fn duplicates(&self) -> usize {
        let mut v = self.delivered.clone();
        v.sort_unstable();
        v.windows(2).filter(|w| w[0] == w[1]).count()
    }

    /// Time from the first error to the exit of the last stage.
    pub fn cancel_latency(&self) -> Option<Duration> {
        self.failed_at
            .map(|t| self.all_exited_at.saturating_duration_since(t))
    }

    /// The highest depth seen in channel `i` over all samples.
    pub fn peak_depth(&self, i: usize) -> usize {
        self.samples.iter().map(|s| s.depth[i]).max().unwrap_or(0)
    }
}
