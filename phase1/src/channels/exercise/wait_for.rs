//! A wait-for graph for the deadlock demos: each party says "I wait for X (on channel C)" before it
//! blocks and takes it back after; on a timeout, the graph still holds the edges of everyone blocked,
//! and following them from any party finds the cycle.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One edge: `who` is blocked until `on_whom` acts on `channel`.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub who: &'static str,
    pub on_whom: &'static str,
    pub channel: &'static str,
}

/// The current edges.
#[derive(Clone, Default)]
pub(crate) struct WaitFor {
    edges: Arc<Mutex<Vec<Edge>>>,
}

/// Removes its edge when dropped (the wait is over).
pub(crate) struct Waiting {
    graph: WaitFor,
    who: &'static str,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.graph
            .edges
            .lock()
            .unwrap()
            .retain(|e| e.who != self.who);
    }
}

impl WaitFor {
    /// Records that `who` is about to block until `on_whom` acts on `channel`.
    pub(crate) fn wait(
        &self,
        who: &'static str,
        on_whom: &'static str,
        channel: &'static str,
    ) -> Waiting {
        self.edges.lock().unwrap().push(Edge {
            who,
            on_whom,
            channel,
        });
        Waiting {
            graph: self.clone(),
            who,
        }
    }

    /// The edges right now.
    pub(crate) fn edges(&self) -> Vec<Edge> {
        self.edges.lock().unwrap().clone()
    }

    /// A cycle, as "A → B → A", if the current edges contain one.
    pub(crate) fn cycle(&self) -> Option<String> {
        let edges = self.edges();
        let next: HashMap<&str, &Edge> = edges.iter().map(|e| (e.who, e)).collect();
        for start in edges.iter().map(|e| e.who) {
            let mut path = vec![start];
            let mut at = start;
            while let Some(e) = next.get(at) {
                at = e.on_whom;
                if let Some(pos) = path.iter().position(|p| *p == at) {
                    let mut text: Vec<String> = path[pos..]
                        .iter()
                        .map(|p| format!("{p} ─({})→", next[p].channel))
                        .collect();
                    text.push(at.to_string());
                    return Some(text.join(" "));
                }
                path.push(at);
            }
        }
        None
    }
}
