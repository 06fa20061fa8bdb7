//! `tinykube serve` as a process: applied through the API, its controllers and scheduler make and
//! bind the pods; stopped with SIGTERM it exits in time; restarted on the same store it has the
//! same pods, bound to the same nodes, and no duplicates.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::tempdir::TempDir;
use harness::wait::poll_value;
use tinykube::parse_manifests;
use tinykube::server::Client;
use tinykube::store::Expect;

const WAIT: Duration = Duration::from_secs(30);

/// A running `tinykube serve`, killed (SIGKILL) and reaped if the test fails before `stop`: a
/// leaked control plane would hold the test's output pipe open.
struct Serve(Option<Child>);

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `tinykube serve` on `store`; the child and a client of the address it printed.
fn start(store: &Path) -> (Serve, Client) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tinykube"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(store)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The first line says where it listens.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(WAIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tinykube serve printed no address within {WAIT:?}");
        }
    };
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (Serve(Some(child)), Client::new(&url).unwrap())
}

/// SIGTERM, then the exit within 10 s; its status.
fn stop(mut serve: Serve) -> std::process::ExitStatus {
    let mut child = serve.0.take().expect("running");
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid, which is not reaped yet (we wait below).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tinykube serve did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pods (name → node) once `count` of them are bound, within the wait.
fn bound_pods(client: &Client, count: usize) -> Vec<(String, String)> {
    poll_value(
        WAIT,
        || {
            client
                .list("pods")
                .unwrap()
                .items
                .into_iter()
                .map(|i| {
                    (
                        i.name,
                        i.object["spec"]["nodeName"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect::<Vec<_>>()
        },
        |pods| pods.len() == count && pods.iter().all(|(_, node)| !node.is_empty()),
    )
}

const MANIFEST: &str = "
kind: Node
metadata: {name: n1}
spec: {capacity: {cpu: 2, memory: 1Gi}}
---
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec: {command: [sleep, '60'], requests: {cpu: 500m}}
";

#[test]
fn the_control_plane_keeps_its_state_across_a_restart() {
    let dir = TempDir::new("tinykube-serve").unwrap();
    let store = dir.path().join("state.redb");
    let (child, client) = start(&store);
    for object in parse_manifests("web.yaml", MANIFEST).unwrap() {
        client.put(&object, Expect::Absent).unwrap();
    }
    let before = bound_pods(&client, 2);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before
            .iter()
            .all(|(name, node)| name.starts_with("web-") && node == "n1"),
        "{before:?}"
    );
    assert!(stop(child).success());

    let (child, client) = start(&store);
    let after: Vec<(String, String)> = client
        .list("pods")
        .unwrap()
        .items
        .into_iter()
        .map(|i| {
            (
                i.name,
                i.object["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        after, before,
        "the pods and their bindings survive the restart"
    );
    // The loops run again: a second deployment gets its pod; `web` keeps exactly its two.
    let api = MANIFEST
        .split("---")
        .nth(1)
        .unwrap()
        .replace("web", "api")
        .replace("replicas: 2", "replicas: 1");
    for object in parse_manifests("api.yaml", &api).unwrap() {
        client.put(&object, Expect::Absent).unwrap();
    }
    let all = bound_pods(&client, 3);
    assert_eq!(all.len(), 3, "{all:?}");
    let web: Vec<_> = all
        .iter()
        .filter(|(n, _)| n.starts_with("web-"))
        .cloned()
        .collect();
    assert_eq!(web, before, "no duplicate pods of `web`");
    assert!(stop(child).success());
}
