//! `tkctl` as a user runs it: the built binary against an API server on a loopback port, the
//! store behind the server read directly as the oracle.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use harness::smoke::{Ran, run_with_deadline};
use harness::tempdir::TempDir;
use tinykube::controller::{DeploymentController, ReplicaSetController, write_pod_status};
use tinykube::scheduler::list_pods;
use tinykube::server::{ApiServer, ServerConfig};
use tinykube::store::{MemStore, Store};
use tinykube::{PodPhase, PodStatus};

const DEADLINE: Duration = Duration::from_secs(60);

struct Cluster {
    store: Arc<MemStore>,
    server: ApiServer,
    dir: TempDir,
}

fn cluster() -> Cluster {
    let dir = TempDir::new("tinykube-tkctl").unwrap();
    let store = Arc::new(MemStore::new());
    let config = ServerConfig {
        log_dir: Some(dir.path().to_path_buf()),
    };
    let server = ApiServer::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).unwrap();
    Cluster { store, server, dir }
}

impl Cluster {
    fn tkctl(&self, args: &[&str]) -> Ran {
        tkctl_at(&format!("http://{}", self.server.addr()), args)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }
}

fn tkctl_at(server: &str, args: &[&str]) -> Ran {
    let mut all = vec!["--server", server];
    all.extend_from_slice(args);
    run_with_deadline(Path::new(env!("CARGO_BIN_EXE_tkctl")), &all, DEADLINE)
}

/// A failure as the user sees it: the exit code, one line on stderr, no panic.
fn assert_one_line_error(ran: &Ran, code: i32, needle: &str) {
    assert_eq!(ran.code, Some(code), "{ran:?}");
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {ran:?}");
    assert!(lines[0].starts_with("tkctl: error: "), "{ran:?}");
    assert!(lines[0].contains(needle), "`{needle}` expected: {ran:?}");
    assert!(!ran.stderr.contains("panicked"), "{ran:?}");
}

/// Three nodes and two pods (`fixtures/three_nodes_two_pods.yaml`), shared with the other API test.
const CLUSTER: &str = include_str!("fixtures/three_nodes_two_pods.yaml");

#[test]
fn apply_creates_then_leaves_unchanged_then_configures() {
    let c = cluster();
    let file = c.write("cluster.yaml", CLUSTER);
    let first = c.tkctl(&["apply", "-f", &file]);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert_eq!(
        first.stdout.lines().collect::<Vec<_>>(),
        [
            "node/small created",
            "node/big created",
            "node/gpu created",
            "pod/web created",
            "pod/huge created"
        ]
    );
    let revision = c.store.revision().unwrap();
    let again = c.tkctl(&["apply", "-f", &file]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(
        again.stdout.lines().all(|l| l.ends_with(" unchanged")),
        "{again:?}"
    );
    assert_eq!(
        c.store.revision().unwrap(),
        revision,
        "an unchanged apply writes nothing"
    );
    let file = c.write("cluster.yaml", &CLUSTER.replace("cpu: 6,", "cpu: 7,"));
    let changed = c.tkctl(&["apply", "-f", &file]);
    assert!(
        changed.stdout.contains("pod/huge configured"),
        "{changed:?}"
    );
    assert_eq!(c.store.revision().unwrap(), revision + 1);
    let stored = c.store.get("/pods/huge").unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&stored.value).contains("7000")
            || String::from_utf8_lossy(&stored.value).contains("\"7\""),
        "{:?}",
        String::from_utf8_lossy(&stored.value)
    );
}

#[test]
fn get_prints_a_table_per_kind() {
    let c = cluster();
    let file = c.write("cluster.yaml", CLUSTER);
    assert_eq!(c.tkctl(&["apply", "-f", &file]).code, Some(0));
    let pods = c.tkctl(&["get", "pods"]);
    assert_eq!(pods.code, Some(0), "{pods:?}");
    let lines: Vec<Vec<&str>> = pods
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "NODE", "PHASE", "READY", "RESTARTS"]);
    assert_eq!(lines[1], ["huge", "<none>", "Pending", "0/1", "0"]);
    assert_eq!(lines[2], ["web", "<none>", "Pending", "0/1", "0"]);
    let nodes = c.tkctl(&["get", "no"]);
    assert!(nodes.stdout.contains("gpu=yes:NoSchedule"), "{nodes:?}");
    assert_eq!(nodes.stdout.lines().count(), 4, "{nodes:?}");
    let none = c.tkctl(&["get", "deployments"]);
    assert!(none.stdout.starts_with("no deployments"), "{none:?}");
}

#[test]
fn describe_pod_shows_the_filters_the_scores_and_why_pending() {
    let c = cluster();
    let file = c.write("cluster.yaml", CLUSTER);
    assert_eq!(c.tkctl(&["apply", "-f", &file]).code, Some(0));
    let web = c.tkctl(&["describe", "pod", "web"]);
    assert_eq!(web.code, Some(0), "{web:?}");
    let row = |node: &str| {
        web.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(node))
            .unwrap_or_else(|| panic!("no row for {node}: {}", web.stdout))
            .to_string()
    };
    assert!(
        row("small").contains("removed by ResourcesFit"),
        "{}",
        web.stdout
    );
    assert!(
        row("gpu").contains("removed by TaintToleration"),
        "{}",
        web.stdout
    );
    assert!(row("big").contains("score "), "{}", web.stdout);
    assert!(web.stdout.contains("best node: big"), "{}", web.stdout);
    assert!(!web.stdout.contains("Why pending"), "{}", web.stdout);
    let huge = c.tkctl(&["describe", "pod", "huge"]);
    assert!(
        huge.stdout.contains("no node passes every filter"),
        "{huge:?}"
    );
    assert!(
        huge.stdout
            .contains("  tolerating taint gpu=yes:NoSchedule admits 1 node"),
        "{huge:?}"
    );
    assert_one_line_error(
        &c.tkctl(&["describe", "pod", "ghost"]),
        1,
        "pod/ghost not found",
    );
    assert_one_line_error(
        &c.tkctl(&["describe", "node", "big"]),
        2,
        "describe supports pods only",
    );
}

#[test]
fn delete_removes_and_a_second_delete_fails() {
    let c = cluster();
    let file = c.write("cluster.yaml", CLUSTER);
    assert_eq!(c.tkctl(&["apply", "-f", &file]).code, Some(0));
    let deleted = c.tkctl(&["delete", "pod", "web"]);
    assert_eq!(
        (deleted.code, deleted.stdout.trim()),
        (Some(0), "pod/web deleted"),
        "{deleted:?}"
    );
    assert_eq!(c.store.get("/pods/web").unwrap(), None);
    assert!(c.store.get("/pods/huge").unwrap().is_some());
    assert_one_line_error(&c.tkctl(&["delete", "pod", "web"]), 1, "pod/web not found");
}

#[test]
fn logs_prints_what_the_agent_wrote() {
    let c = cluster();
    let file = c.write("cluster.yaml", CLUSTER);
    assert_eq!(c.tkctl(&["apply", "-f", &file]).code, Some(0));
    c.write(
        "web.log",
        "line one\n--- tinykube: restart 1 ---\nline two\n",
    );
    let logs = c.tkctl(&["logs", "web"]);
    assert_eq!(logs.code, Some(0), "{logs:?}");
    assert_eq!(
        logs.stdout,
        "line one\n--- tinykube: restart 1 ---\nline two\n"
    );
    assert_one_line_error(&c.tkctl(&["logs", "huge"]), 1, "no log for pod `huge`");
}

#[test]
fn rollout_status_follows_the_deployment() {
    let c = cluster();
    let file = c.write(
        "web.yaml",
        "
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
    spec: {command: [sleep, '60']}
",
    );
    assert_eq!(c.tkctl(&["apply", "-f", &file]).code, Some(0));
    DeploymentController::new(&*c.store).step().unwrap();
    ReplicaSetController::new(&*c.store).step().unwrap();
    let waiting = c.tkctl(&["rollout", "status", "deployment", "web"]);
    assert_eq!(waiting.code, Some(0), "{waiting:?}");
    assert!(
        waiting.stdout.contains("0 of 2 updated replicas are ready"),
        "{waiting:?}"
    );
    let timed_out = c.tkctl(&["rollout", "status", "deployment", "web", "--timeout", "1"]);
    assert_one_line_error(&timed_out, 1, "not complete after 1s");
    for (pod, _) in list_pods(&*c.store).unwrap() {
        let running = PodStatus {
            node: "n1".into(),
            phase: PodPhase::Running,
            ready: true,
            restarts: 0,
            last_exit: None,
            since: Duration::ZERO,
            reason: None,
        };
        write_pod_status(&*c.store, &pod.metadata.name, &running).unwrap();
    }
    let done = c.tkctl(&["rollout", "status", "deploy", "web", "--timeout", "30"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(
        done.stdout.contains("successfully rolled out (2 of 2"),
        "{done:?}"
    );
    let table = c.tkctl(&["get", "deployments"]);
    assert!(
        table
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .eq(["web", "2", "2", "2", "0", "true"]),
        "{table:?}"
    );
}

#[test]
fn bad_input_is_one_line_and_a_non_zero_exit() {
    let c = cluster();
    let bad = c.write(
        "web.yaml",
        "kind: Pod
metadata: {name: web}
spec:
  command: [sleep, '60']
  requests: {cpu: 200m, memory: 64MB}
",
    );
    let ran = c.tkctl(&["apply", "-f", &bad]);
    assert_one_line_error(&ran, 2, "web.yaml:5:");
    assert!(
        ran.stderr
            .contains("spec.requests.memory: unknown suffix `MB`"),
        "{ran:?}"
    );
    assert_eq!(c.store.revision().unwrap(), 0, "nothing applied");
    let missing = c.dir.path().join("missing.yaml");
    assert_one_line_error(
        &c.tkctl(&["apply", "-f", missing.to_str().unwrap()]),
        2,
        "missing.yaml: No such file",
    );
    assert_one_line_error(&c.tkctl(&["get", "widgets"]), 2, "unknown kind `widgets`");
    assert_one_line_error(
        &c.tkctl(&["delete", "widget", "x"]),
        2,
        "unknown kind `widget`",
    );
    assert_one_line_error(
        &tkctl_at("localhost:80", &["get", "pods"]),
        2,
        "invalid server URL",
    );
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_one_line_error(
        &tkctl_at(&format!("http://127.0.0.1:{port}"), &["get", "pods"]),
        1,
        "cannot reach the API server",
    );
}
