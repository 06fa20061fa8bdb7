//! The group coordinator: membership, range assignment, and hand-over of partitions on rebalance.
//!
//! Kafka's coordinator lives in the broker; Redis leaves it to the application (its consumer groups
//! share one stream's entries, they do not own partitions). Here it is one in-process object both
//! backends use. Every join or leave starts a new *generation* with a fresh range assignment. A
//! partition moves only by hand-over: the old owner stops fetching it, lets its in-flight work finish,
//! commits, and releases it; only then can the new owner acquire it. So no partition is ever consumed
//! by two members at once, and per-partition order survives a rebalance.
use parking_lot::Mutex;

/// One generation of the group: why it started and who was assigned what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// 1, 2, …
    pub number: u64,
    /// `join a`, `leave b`.
    pub event: String,
    /// (member, partitions), members sorted by name.
    pub assignment: Vec<(String, Vec<u32>)>,
}

struct State {
    members: Vec<String>,
    owner: Vec<Option<String>>,
    generations: Vec<Generation>,
    overlaps: u64,
}

/// An in-process group coordinator for one topic (see the module docs).
pub struct GroupCoordinator {
    partitions: u32,
    state: Mutex<State>,
}

/// Kafka's range assignor: members sorted by name, partitions cut into contiguous runs, the first
/// `partitions % members` members getting one more.
pub fn range_assignment(members: &[String], partitions: u32) -> Vec<(String, Vec<u32>)> {
    let mut sorted = members.to_vec();
    sorted.sort();
    let m = sorted.len() as u32;
    let mut next = 0;
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let n = partitions / m + u32::from((i as u32) < partitions % m);
            let ps = (next..next + n).collect();
            next += n;
            (name, ps)
        })
        .collect()
}

impl GroupCoordinator {
    /// A coordinator for a topic of `partitions` partitions.
    pub fn new(partitions: u32) -> GroupCoordinator {
        GroupCoordinator {
            partitions,
            state: Mutex::new(State {
                members: Vec::new(),
                owner: vec![None; partitions as usize],
                generations: Vec::new(),
                overlaps: 0,
            }),
        }
    }

    fn rebalance(&self, s: &mut State, event: String) {
        let assignment = if s.members.is_empty() {
            Vec::new()
        } else {
            range_assignment(&s.members, self.partitions)
        };
        let number = s.generations.len() as u64 + 1;
        s.generations.push(Generation {
            number,
            event,
            assignment,
        });
    }

    /// `member` joins: a new generation.
    pub fn join(&self, member: &str) {
        let mut s = self.state.lock();
        if !s.members.iter().any(|m| m == member) {
            s.members.push(member.to_string());
            self.rebalance(&mut s, format!("join {member}"));
        }
    }

    /// `member` leaves: a new generation (it still has to release what it owns).
    pub fn leave(&self, member: &str) {
        let mut s = self.state.lock();
        if let Some(i) = s.members.iter().position(|m| m == member) {
            s.members.remove(i);
            self.rebalance(&mut s, format!("leave {member}"));
        }
    }

    /// The partitions the current generation assigns to `member`.
    pub fn target(&self, member: &str) -> Vec<u32> {
        let s = self.state.lock();
        s.generations
            .last()
            .and_then(|g| g.assignment.iter().find(|(m, _)| m == member))
            .map(|(_, ps)| ps.clone())
            .unwrap_or_default()
    }

    /// Takes `partition` for `member` if it is assigned to it and nobody holds it.
    pub fn try_acquire(&self, member: &str, partition: u32) -> bool {
        let assigned = self.target(member).contains(&partition);
        let mut s = self.state.lock();
        match &s.owner[partition as usize] {
            None if assigned => {
                s.owner[partition as usize] = Some(member.to_string());
                true
            }
            Some(o) if o != member && assigned => false,
            _ => false,
        }
    }

    /// `member` hands `partition` back (after draining and committing it).
    pub fn release(&self, member: &str, partition: u32) {
        let mut s = self.state.lock();
        match &s.owner[partition as usize] {
            Some(o) if o == member => s.owner[partition as usize] = None,
            // Releasing what one does not hold would mean two owners at some point: counted.
            _ => s.overlaps += 1,
        }
    }

    /// Every generation so far.
    pub fn generations(&self) -> Vec<Generation> {
        self.state.lock().generations.clone()
    }

    /// Releases of a partition by a member that did not hold it (must stay 0).
    pub fn ownership_errors(&self) -> u64 {
        self.state.lock().overlaps
    }
}
