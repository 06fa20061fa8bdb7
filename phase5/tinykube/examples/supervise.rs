//! Runs every pod of a manifest under a node agent's supervisor for a few seconds, printing what
//! happens to each (starts, exits, probe failures, restarts with their backoff), then stops them all
//! and prints their logs.
//!
//! `cargo run -p tinykube --example supervise -- phase5/tinykube/examples/pods.yaml [SECONDS]`
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tinykube::agent::{Backoff, Supervisor, SupervisorConfig, become_subreaper, read_log};
use tinykube::{Object, load_manifests};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), seconds) = (args.next(), args.next()) else {
        eprintln!("usage: supervise MANIFEST.yaml [SECONDS]");
        return ExitCode::from(2);
    };
    let seconds = match seconds.map(|s| s.parse::<u64>()).transpose() {
        Ok(s) => s.unwrap_or(8),
        Err(e) => {
            eprintln!("SECONDS: {e}");
            return ExitCode::from(2);
        }
    };
    let pods: Vec<_> = match load_manifests(&path) {
        Ok(objects) => objects
            .into_iter()
            .filter_map(|o| match o {
                Object::Pod(pod) => Some(pod),
                _ => None,
            })
            .collect(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&pods, Duration::from_secs(seconds)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(pods: &[tinykube::Pod], for_how_long: Duration) -> Result<(), Box<dyn std::error::Error>> {
    become_subreaper()?; // a pod's orphaned grandchildren are ours to reap
    let logs = std::env::temp_dir().join(format!("tinykube-supervise-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    let mut config = SupervisorConfig::new(&logs);
    config.backoff = Backoff::new(
        Duration::from_secs(1),
        Duration::from_secs(4),
        Duration::from_secs(60),
    );
    config.grace = Duration::from_secs(2);
    let (events, seen) = mpsc::channel();
    let mut supervisors = Vec::new();
    for pod in pods {
        supervisors.push(Supervisor::start(pod, config.clone(), events.clone())?);
    }
    let end = Instant::now() + for_how_long;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if let Ok(e) = seen.recv_timeout(left) {
            println!("{:>7.3}s  {:<8} {:?}", e.at.as_secs_f64(), e.pod, e.kind);
        }
    }
    for supervisor in supervisors {
        let (name, path) = (
            supervisor.name().to_owned(),
            supervisor.log_path().to_owned(),
        );
        println!("{name}: {:?}", supervisor.status());
        supervisor.stop()?;
        println!(
            "--- {name}.log ---\n{}",
            String::from_utf8_lossy(&read_log(&path)?)
        );
    }
    std::fs::remove_dir_all(&logs)?;
    Ok(())
}
