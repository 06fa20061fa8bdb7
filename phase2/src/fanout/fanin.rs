//! Fan-in: many sources merged into one stream.
//!
//! Go's `merge(cs ...<-chan T) <-chan T` starts one goroutine per input that copies into a shared
//! output channel and closes the output when a WaitGroup reaches zero. Here each forwarder is a named
//! thread holding a clone of the output [`Sender`]; the output closes by itself when the last
//! forwarder drops its clone — Rust's close is the drop of the last Sender, so no WaitGroup is needed.
use std::thread::{self, JoinHandle};

use phase1::channels::{Receiver, Sender, bounded};

/// A merged stream and the forwarder threads feeding it.
#[derive(Debug)]
pub struct Merged<T> {
    /// The merged output; disconnects once every input has disconnected and been drained.
    pub output: Receiver<T>,
    forwarders: Vec<JoinHandle<usize>>,
}

impl<T> Merged<T> {
    /// Joins the forwarders (after the output was drained or dropped); returns how many values each
    /// forwarded.
    pub fn join(self) -> Vec<usize> {
        drop(self.output);
        self.forwarders
            .into_iter()
            .map(|h| h.join().expect("a forwarder panicked"))
            .collect()
    }
}

/// Merges `inputs` into one bounded channel of capacity `cap`, one forwarder thread (`fan-in-<i>`) per
/// input. A forwarder stops when its input disconnects or when the output's receiver is dropped.
pub fn merge<T: Send + 'static>(inputs: Vec<Receiver<T>>, cap: usize) -> Merged<T> {
    let (tx, output): (Sender<T>, Receiver<T>) = bounded(cap);
    let forwarders = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let tx = tx.clone();
            thread::Builder::new()
                .name(format!("fan-in-{i}"))
                .spawn(move || {
                    let mut n = 0;
                    for v in input.iter() {
                        if tx.send(v).is_err() {
                            break; // nobody reads the output any more
                        }
                        n += 1;
                    }
                    n
                })
                .expect("spawn a forwarder")
        })
        .collect();
    Merged { output, forwarders }
}
