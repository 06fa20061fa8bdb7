//! The API server against a real socket: a server on a free loopback port, the blocking client,
//! and the store the server serves, read directly as the oracle where it matters (CAS, compaction).
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::tempdir::TempDir;
use harness::watchdog::within;
use serde_json::Value;
use tinykube::controller::{DeploymentController, ReplicaSetController};
use tinykube::server::{ApiServer, Client, ClientError, ServerConfig, WatchLine, WatchStream};
use tinykube::store::{Expect, MemStore, Store};
use tinykube::{Cpu, Memory, Node, Object, Pod, PodSpec, parse_manifests};

const DEADLINE: Duration = Duration::from_secs(60);

fn serve(config: ServerConfig) -> (Arc<MemStore>, ApiServer, Client) {
    let store = Arc::new(MemStore::new());
    let server = ApiServer::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).unwrap();
    let client = Client::new(&format!("http://{}", server.addr())).unwrap();
    (store, server, client)
}

fn pod(name: &str) -> Object {
    Object::Pod(Pod::new(name, PodSpec::new(["sleep", "60"])))
}

/// The next line of a watch, within 10 s.
fn next_line(watch: &mut WatchStream) -> WatchLine {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Some(line) = watch.next_timeout(Duration::from_millis(200)).unwrap() {
            return line;
        }
    }
    panic!("no watch line within 10 s");
}

#[test]
fn apply_then_get_returns_the_object_at_its_revision() {
    within(DEADLINE, || {
        let (store, _server, client) = serve(ServerConfig::default());
        let node = Node::new("n1", Cpu(2000), Memory(1 << 30));
        let revision = client
            .put(&Object::Node(node.clone()), Expect::Absent)
            .unwrap();
        let item = client.get("nodes", "n1").unwrap().expect("stored");
        assert_eq!(item.revision, revision);
        assert_eq!(item.object, serde_json::to_value(&node).unwrap());
        // What the store holds is the object, under the node's key.
        let kv = store.get("/nodes/n1").unwrap().unwrap();
        assert_eq!(kv.mod_revision, revision);
        assert_eq!(serde_json::from_slice::<Node>(&kv.value).unwrap(), node);
        assert_eq!(client.get("nodes", "n2").unwrap(), None);
    });
}

#[test]
fn list_returns_the_objects_of_one_kind_with_the_revision_read_at() {
    within(DEADLINE, || {
        let (_store, _server, client) = serve(ServerConfig::default());
        client.put(&pod("b"), Expect::Any).unwrap();
        client.put(&pod("a"), Expect::Any).unwrap();
        let last = client
            .put(
                &Object::Node(Node::new("n1", Cpu(1000), Memory(1 << 30))),
                Expect::Any,
            )
            .unwrap();
        let pods = client.list("pods").unwrap();
        let names: Vec<&str> = pods.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(pods.revision, last);
        assert_eq!(client.list("deployments").unwrap().items, []);
    });
}

#[test]
fn delete_removes_the_object_and_a_second_delete_finds_nothing() {
    within(DEADLINE, || {
        let (store, _server, client) = serve(ServerConfig::default());
        let created = client.put(&pod("web"), Expect::Absent).unwrap();
        let deleted = client.delete("pods", "web", Expect::Any).unwrap();
        assert_eq!(deleted, Some(created + 1));
        assert_eq!(store.get("/pods/web").unwrap(), None);
        assert_eq!(client.get("pods", "web").unwrap(), None);
        assert_eq!(client.delete("pods", "web", Expect::Any).unwrap(), None);
        let (status, body) = client.raw("DELETE", "/api/v1/pods/web", None).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 404);
        assert!(
            body["error"].as_str().unwrap().contains("not found"),
            "{body}"
        );
    });
}

#[test]
fn a_stale_compare_and_swap_is_a_409_naming_the_revision_found() {
    within(DEADLINE, || {
        let (store, _server, client) = serve(ServerConfig::default());
        let r1 = client.put(&pod("web"), Expect::Absent).unwrap();
        let r2 = client.put(&pod("web"), Expect::Revision(r1)).unwrap();
        assert!(r2 > r1);
        let stale = client.put(&pod("web"), Expect::Revision(r1)).unwrap_err();
        match &stale {
            ClientError::Http { status, body, .. } => {
                assert_eq!(*status, 409, "{stale}");
                assert_eq!(body["found"], r2, "{body}");
                assert_eq!(body["key"], "/pods/web", "{body}");
            }
            other => panic!("expected a 409, got {other}"),
        }
        // Create on an existing key, and a stale delete, conflict too; the store is unchanged.
        assert_eq!(
            client
                .put(&pod("web"), Expect::Absent)
                .unwrap_err()
                .status(),
            Some(409)
        );
        assert_eq!(
            client
                .delete("pods", "web", Expect::Revision(r1))
                .unwrap_err()
                .status(),
            Some(409)
        );
        assert_eq!(store.get("/pods/web").unwrap().unwrap().mod_revision, r2);
        assert_eq!(store.revision().unwrap(), r2);
    });
}

#[test]
fn a_watch_sees_puts_and_deletes_of_its_kind_in_revision_order() {
    within(DEADLINE, || {
        let (_store, _server, client) = serve(ServerConfig::default());
        client.put(&pod("before"), Expect::Any).unwrap();
        let listed = client.list("pods").unwrap();
        let mut watch = client.watch("pods", listed.revision + 1).unwrap();
        assert_eq!(
            next_line(&mut watch),
            WatchLine::Bookmark {
                revision: listed.revision
            }
        );
        let a = client.put(&pod("a"), Expect::Any).unwrap();
        client
            .put(
                &Object::Node(Node::new("n1", Cpu(1000), Memory(1 << 30))),
                Expect::Any,
            )
            .unwrap(); // another kind: not in this watch
        let b = client.put(&pod("b"), Expect::Any).unwrap();
        let gone = client.delete("pods", "a", Expect::Any).unwrap().unwrap();
        let seen: Vec<(String, String, u64)> = (0..3)
            .map(|_| match next_line(&mut watch) {
                WatchLine::Put { name, revision, .. } => ("PUT".into(), name, revision),
                WatchLine::Delete { name, revision } => ("DELETE".into(), name, revision),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let expected: Vec<(String, String, u64)> = vec![
            ("PUT".into(), "a".into(), a),
            ("PUT".into(), "b".into(), b),
            ("DELETE".into(), "a".into(), gone),
        ];
        assert_eq!(seen, expected);
        // A watch opened later from the same revision replays the same history.
        let mut replay = client.watch("pods", listed.revision + 1).unwrap();
        assert!(matches!(next_line(&mut replay), WatchLine::Bookmark { .. }));
        for (_, name, revision) in &expected {
            let line = next_line(&mut replay);
            let got = match &line {
                WatchLine::Put { name, revision, .. } | WatchLine::Delete { name, revision } => {
                    (name.clone(), *revision)
                }
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(got, (name.clone(), *revision));
        }
    });
}

#[test]
fn a_watch_from_a_compacted_revision_is_410_relist() {
    within(DEADLINE, || {
        let (store, _server, client) = serve(ServerConfig::default());
        let first = client.put(&pod("a"), Expect::Any).unwrap();
        let last = client.put(&pod("b"), Expect::Any).unwrap();
        store.compact(last).unwrap();
        let err = client.watch("pods", first).unwrap_err();
        match &err {
            ClientError::Http { status, body, .. } => {
                assert_eq!(*status, 410, "{err}");
                assert_eq!(body["relist"], true, "{body}");
                assert_eq!(body["compacted"], last, "{body}");
            }
            other => panic!("expected 410, got {other}"),
        }
        // The relist: list, watch from its revision + 1, and the next write arrives.
        let listed = client.list("pods").unwrap();
        let mut watch = client.watch("pods", listed.revision + 1).unwrap();
        assert!(matches!(next_line(&mut watch), WatchLine::Bookmark { .. }));
        let c = client.put(&pod("c"), Expect::Any).unwrap();
        assert!(
            matches!(next_line(&mut watch), WatchLine::Put { name, revision, .. } if name == "c" && revision == c)
        );
    });
}

#[test]
fn bad_requests_get_json_errors_with_their_status() {
    within(DEADLINE, || {
        let (_store, _server, client) = serve(ServerConfig::default());
        let web = serde_json::to_vec(&Pod::new("web", PodSpec::new(["true"]))).unwrap();
        // method, path, body, the status, a part of the message
        let cases: Vec<Case<'_>> = vec![
            (
                "GET",
                "/api/v1/widgets",
                None,
                404,
                "unknown kind `widgets`",
            ),
            ("GET", "/api/v1/pod", None, 404, "unknown kind `pod`"),
            ("GET", "/nothing/here", None, 404, "no such route"),
            (
                "PUT",
                "/api/v1/pods/web",
                Some(b"{not json"),
                400,
                "invalid object",
            ),
            (
                "PUT",
                "/api/v1/pods/web",
                Some(br#"{"metadata":{"name":"web"},"spec":{"command":["true"],"replica":1}}"#),
                400,
                "unknown field `replica`",
            ),
            (
                "PUT",
                "/api/v1/pods/other",
                Some(&web),
                400,
                "does not match",
            ),
            (
                "PUT",
                "/api/v1/pods/web?revision=abc",
                Some(&web),
                400,
                "must be a revision",
            ),
            (
                "PUT",
                "/api/v1/pods/web?revision=1&create=true",
                Some(&web),
                400,
                "exclude each other",
            ),
            (
                "PUT",
                "/api/v1/nodes/web",
                Some(&web),
                400,
                "invalid object",
            ),
            (
                "GET",
                "/api/v1/watch/pods?from=x",
                None,
                400,
                "must be a revision",
            ),
            ("GET", "/api/v1/pods/ghost/describe", None, 404, "not found"),
            (
                "GET",
                "/api/v1/deployments/ghost/rollout",
                None,
                404,
                "not found",
            ),
        ];
        for (method, path, body, want_status, want_text) in cases {
            let (status, bytes) = client.raw(method, path, body).unwrap();
            let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {path}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(status, want_status, "{method} {path}: {json}");
            let message = json["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: {json}"));
            assert!(message.contains(want_text), "{method} {path}: {message}");
        }
    });
}

type Case<'a> = (&'a str, &'a str, Option<&'a [u8]>, u16, &'a str);

/// Three nodes and two pods (`fixtures/three_nodes_two_pods.yaml`), shared with the other API test.
const CLUSTER: &str = include_str!("fixtures/three_nodes_two_pods.yaml");

#[test]
fn describe_shows_which_filter_removed_each_node_the_scores_and_why_pending() {
    within(DEADLINE, || {
        let (_store, _server, client) = serve(ServerConfig::default());
        for object in parse_manifests("cluster.yaml", CLUSTER).unwrap() {
            client.put(&object, Expect::Absent).unwrap();
        }
        let web = client.describe_pod("web").unwrap();
        let rejected: Vec<(&str, &str)> = web["decision"]["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["node"].as_str().unwrap(), r["filter"].as_str().unwrap()))
            .collect();
        assert_eq!(
            rejected,
            [("gpu", "TaintToleration"), ("small", "ResourcesFit")]
        ); // in key order
        assert_eq!(web["decision"]["chosen"], "big");
        assert_eq!(web["decision"]["scores"][0]["node"], "big");
        assert_eq!(web["whyPending"], Value::Array(vec![]));

        let huge = client.describe_pod("huge").unwrap();
        assert_eq!(huge["decision"]["chosen"], Value::Null);
        let why: Vec<&str> = huge["whyPending"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(
            why[0], "tolerating taint gpu=yes:NoSchedule admits 1 node",
            "{why:?}"
        );
    });
}

#[test]
fn rollout_status_reports_the_counts_of_the_controllers() {
    within(DEADLINE, || {
        let (store, _server, client) = serve(ServerConfig::default());
        let manifest = "
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec: {command: [sleep, '60']}
";
        for object in parse_manifests("web.yaml", manifest).unwrap() {
            client.put(&object, Expect::Absent).unwrap();
        }
        let before = client.rollout_status("web").unwrap();
        assert_eq!(
            (before["desired"].as_u64(), before["updated"].as_u64()),
            (Some(2), Some(0))
        );
        DeploymentController::new(&*store).step().unwrap();
        ReplicaSetController::new(&*store).step().unwrap();
        let after = client.rollout_status("web").unwrap();
        assert_eq!(after["updated"], 2, "{after}");
        assert_eq!(after["complete"], false, "{after}"); // no agent reported them ready
        assert_eq!(client.list("pods").unwrap().items.len(), 2);
    });
}

#[test]
fn logs_are_read_from_the_agent_log_directory() {
    within(DEADLINE, || {
        let dir = TempDir::new("tinykube-api-logs").unwrap();
        let (_store, _server, client) = serve(ServerConfig {
            log_dir: Some(dir.path().to_path_buf()),
        });
        client.put(&pod("web"), Expect::Any).unwrap();
        client.put(&pod("quiet"), Expect::Any).unwrap();
        std::fs::write(dir.path().join("web.log.1"), "older\n").unwrap();
        std::fs::write(dir.path().join("web.log"), "hello\n").unwrap();
        assert_eq!(client.logs("web").unwrap(), b"older\nhello\n");
        let err = client.logs("quiet").unwrap_err();
        assert_eq!(err.status(), Some(404), "{err}");
        assert_eq!(client.logs("ghost").unwrap_err().status(), Some(404));
    });
}
