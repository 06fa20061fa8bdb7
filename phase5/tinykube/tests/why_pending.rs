//! "Why pending" names the smallest change that lets a pod fit: a table of clusters and pods, each
//! with the suggestions expected, in order.
use tinykube::scheduler::{Snapshot, Weights, schedule, why_pending};
use tinykube::{Cpu, Memory, Node, Pod, PodSpec, Taint, TaintEffect};

const GI: u64 = 1 << 30;

fn node(name: &str, cpu: u64) -> Node {
    Node::new(name, Cpu(cpu), Memory(4 * GI))
}

fn tainted(mut n: Node, key: &str, value: &str) -> Node {
    n.spec.taints.push(Taint {
        key: key.into(),
        value: value.into(),
        effect: TaintEffect::NoSchedule,
    });
    n
}

fn labelled(mut n: Node, key: &str, value: &str) -> Node {
    n.metadata.labels.insert(key.into(), value.into());
    n
}

fn pod(name: &str, cpu: u64, priority: i32) -> Pod {
    let mut p = Pod::new(
        name,
        PodSpec::new(["true"]).with_requests(Cpu(cpu), Memory(0)),
    );
    p.spec.priority = priority;
    p
}

fn on(mut p: Pod, node: &str) -> Pod {
    p.spec.node_name = Some(node.into());
    p
}

struct Case {
    what: &'static str,
    nodes: Vec<Node>,
    bound: Vec<Pod>,
    pod: Pod,
    expect: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "fits already",
            nodes: vec![node("n1", 1000)],
            bound: vec![],
            pod: pod("p", 500, 0),
            expect: &[],
        },
        Case {
            what: "short of CPU: the node closest to fitting",
            nodes: vec![node("n1", 1000), node("n2", 2000), node("n3", 1000)],
            bound: vec![on(pod("x", 500, 0), "n2")],
            pod: pod("p", 1800, 0),
            expect: &["needs 300m more CPU on n2"],
        },
        Case {
            what: "one taint blocks two nodes",
            nodes: vec![
                tainted(node("n1", 1000), "gpu", "yes"),
                tainted(node("n2", 1000), "gpu", "yes"),
                tainted(node("n3", 1000), "spot", "1"),
                tainted(tainted(node("n4", 1000), "gpu", "yes"), "spot", "1"),
            ],
            bound: vec![],
            pod: pod("p", 500, 0),
            expect: &["tolerating taint gpu=yes:NoSchedule admits 2 nodes"],
        },
        Case {
            what: "a selector label no node has",
            nodes: vec![
                labelled(node("n1", 1000), "zone", "a"),
                labelled(node("n2", 1000), "zone", "a"),
                node("n3", 1000),
            ],
            bound: vec![],
            pod: {
                let mut p = pod("p", 500, 0);
                p.spec.node_selector.insert("zone".into(), "b".into());
                p
            },
            expect: &["dropping nodeSelector zone=b admits 3 nodes"],
        },
        Case {
            what: "preemption: fewest victims, and the more-resources alternative",
            nodes: vec![node("n1", 1000), node("n2", 1000)],
            bound: vec![
                on(pod("a", 300, 0), "n1"),
                on(pod("b", 400, 0), "n1"),
                on(pod("c", 200, 20), "n1"),
                on(pod("d", 900, 5), "n2"),
            ],
            pod: pod("p", 800, 10),
            expect: &[
                "preempting 1 priority-5 pod on n2 frees it",
                "needs 700m more CPU on n1",
            ],
        },
        Case {
            what: "no preemption when evicting every lower-priority pod is not enough",
            nodes: vec![node("n1", 1000)],
            bound: vec![on(pod("a", 200, 0), "n1")],
            pod: pod("p", 1200, 10),
            expect: &["needs 400m more CPU on n1"],
        },
        Case {
            what: "no preemption of equal or higher priority",
            nodes: vec![node("n1", 1000)],
            bound: vec![on(pod("a", 600, 10), "n1")],
            pod: pod("p", 600, 10),
            expect: &["needs 200m more CPU on n1"],
        },
        Case {
            what: "a taint and a shortfall on one node is not a one-step fix there",
            nodes: vec![tainted(node("n1", 500), "gpu", "yes"), node("n2", 600)],
            bound: vec![],
            pod: pod("p", 800, 0),
            expect: &["needs 200m more CPU on n2"],
        },
    ]
}

#[test]
fn why_pending_names_the_smallest_change() {
    for case in cases() {
        let snapshot = Snapshot::new(case.nodes, &case.bound);
        let said: Vec<String> = why_pending(&case.pod, &snapshot)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(said, case.expect, "{}", case.what);
        // Pending exactly when there is something to suggest.
        let chosen = schedule(&case.pod, &snapshot, &Weights::default())
            .chosen()
            .is_some();
        assert_eq!(chosen, case.expect.is_empty(), "{}", case.what);
    }
}
