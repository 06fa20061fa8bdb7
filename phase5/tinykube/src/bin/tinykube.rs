//! `tinykube serve`: the control plane in one process, as k3s is one binary. A redb store (the
//! state survives a restart), the API server, the scheduler loop and the controllers on threads of
//! their own. SIGTERM or ctrl-c stops it: the loops finish their step, the server its requests.
//!
//! ```text
//! tinykube serve --store /tmp/tinykube.redb --listen 127.0.0.1:6443 [--log-dir DIR]
//! ```
//! It prints `serving on http://ADDR` once the socket is bound (with `--listen 127.0.0.1:0`, the
//! port chosen), which is when `tkctl --server http://ADDR` may talk to it.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand};
use tinykube::RedbStore;
use tinykube::controller::{
    DeploymentController, GarbageCollector, NodeLifecycleController, ReplicaSetController,
    SchedulerConfig, SchedulerLoop, Timings,
};
use tinykube::server::{ApiServer, ServerConfig};
use tinykube::store::{Clock, Store, SystemClock};

/// tinykube's control plane.
#[derive(Debug, Parser)]
#[command(name = "tinykube", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the store, the API server, the scheduler and the controllers until SIGTERM / ctrl-c.
    Serve {
        /// The redb file holding the cluster's state (created if absent).
        #[arg(long)]
        store: PathBuf,
        /// The address the API server binds (port 0: any free port, printed).
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: SocketAddr,
        /// Where the node agents write pod logs (`tkctl logs` reads them from there).
        #[arg(long)]
        log_dir: Option<PathBuf>,
    },
}

/// Set by the signal handler; the main thread polls it.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Relaxed: a flag with no data behind it; the main thread only needs to see it eventually. A
    // store to an atomic is async-signal-safe.
    SIGNALLED.store(true, Ordering::Relaxed);
}

fn install_handlers() -> std::io::Result<()> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `on_signal` only stores to an atomic (async-signal-safe); `sigaction` is given a
        // zeroed, then filled, struct that lives across the call, and an empty signal mask.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// One line on stdout, flushed; a write error (stdout closed) is ignored.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn main() -> ExitCode {
    let Cli {
        command:
            Command::Serve {
                store,
                listen,
                log_dir,
            },
    } = Cli::parse();
    match serve(store, listen, log_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tinykube: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn serve(path: PathBuf, listen: SocketAddr, log_dir: Option<PathBuf>) -> Result<(), String> {
    install_handlers().map_err(|e| format!("installing signal handlers: {e}"))?;
    let store = Arc::new(
        RedbStore::open(&path).map_err(|e| format!("opening the store {}: {e}", path.display()))?,
    );
    let server = ApiServer::start(store.clone(), listen, ServerConfig { log_dir })
        .map_err(|e| format!("binding {listen}: {e}"))?;
    println!(
        "serving on http://{} (store {})",
        server.addr(),
        path.display()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let scheduler = {
        let (store, stop, clock) = (store.clone(), stop.clone(), clock.clone());
        std::thread::spawn(move || {
            let mut scheduler = SchedulerLoop::new(&*store, SchedulerConfig::default(), clock);
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = scheduler.run(&stop, Duration::from_millis(200)) {
                    eprintln!("tinykube: scheduler: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        })
    };
    let controllers = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let store = &*store;
            let mut lifecycle = NodeLifecycleController::new(store, clock, Timings::default());
            // Relaxed: the flag carries no data (see `on_signal`).
            while !stop.load(Ordering::Relaxed) {
                let before = store.revision().unwrap_or(0);
                let steps = [
                    DeploymentController::new(store).step().map(drop),
                    ReplicaSetController::new(store).step().map(drop),
                    lifecycle.step().map(drop),
                    GarbageCollector::new(store).step().map(drop),
                ];
                for e in steps.into_iter().filter_map(Result::err) {
                    eprintln!("tinykube: controller: {e}");
                }
                // Step again as soon as anything is written (ours included), at least twice a
                // second for the lifecycle's clock.
                store.wait_for_revision(before + 1, Duration::from_millis(500));
            }
        })
    };
    // Relaxed: see `on_signal`.
    while !SIGNALLED.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = scheduler.join();
    let _ = controllers.join();
    server.stop();
    say("stopped");
    Ok(())
}
