//! Each filter and score on its own, and the decision trace.
use tinykube::scheduler::{Filter, Score, Snapshot, Usage, Weights, schedule};
use tinykube::{
    Cpu, Memory, Node, Pod, PodSpec, Taint, TaintEffect, Toleration, TolerationOperator,
};

fn node(name: &str, cpu: u64, memory_mi: u64) -> Node {
    Node::new(name, Cpu(cpu), Memory(memory_mi << 20))
}

fn pod(cpu: u64, memory_mi: u64) -> Pod {
    Pod::new(
        "p",
        PodSpec::new(["true"]).with_requests(Cpu(cpu), Memory(memory_mi << 20)),
    )
}

fn bound(mut p: Pod, name: &str, on: &str) -> Pod {
    p.metadata.name = name.into();
    p.spec.node_name = Some(on.into());
    p
}

#[test]
fn resources_fit_counts_what_is_bound_and_says_what_is_missing() {
    let nodes = vec![node("a", 1000, 1024), node("b", 1000, 1024)];
    let on_a = bound(pod(900, 100), "x", "a");
    let snapshot = Snapshot::new(nodes, &[on_a]);
    assert_eq!(
        snapshot.nodes[0].1,
        Usage {
            cpu: Cpu(900),
            memory: Memory(100 << 20)
        }
    );
    let d = schedule(&pod(300, 2000), &snapshot, &Weights::default());
    assert_eq!(d.chosen(), None);
    assert_eq!(d.rejected.len(), 2);
    assert!(d.rejected.iter().all(|r| r.filter == Filter::ResourcesFit));
    assert_eq!(
        d.rejected[0].reason,
        "needs 200m more CPU and 1076Mi more memory"
    );
    assert_eq!(d.rejected[1].reason, "needs 976Mi more memory");
    // Exactly the free amount fits.
    let d = schedule(&pod(100, 924), &snapshot, &Weights::default());
    assert_eq!(d.scores.len(), 2, "{d:?}");
}

#[test]
fn node_selector_needs_every_label() {
    let mut a = node("a", 1000, 1024);
    a.metadata.labels.insert("zone".into(), "x".into());
    let mut b = node("b", 1000, 1024);
    b.metadata.labels.insert("zone".into(), "y".into());
    let c = node("c", 1000, 1024);
    let mut p = pod(0, 0);
    p.spec.node_selector.insert("zone".into(), "y".into());
    let d = schedule(&p, &Snapshot::new(vec![a, b, c], &[]), &Weights::default());
    assert_eq!(d.chosen(), Some("b"));
    let removed: Vec<(&str, Filter)> = d
        .rejected
        .iter()
        .map(|r| (r.node.as_str(), r.filter))
        .collect();
    assert_eq!(
        removed,
        [("a", Filter::NodeSelector), ("c", Filter::NodeSelector)]
    );
}

#[test]
fn taints_need_tolerations_but_prefer_no_schedule_does_not_filter() {
    let taint = |key: &str, effect| Taint {
        key: key.into(),
        value: "1".into(),
        effect,
    };
    let mut a = node("a", 1000, 1024);
    a.spec.taints.push(taint("gpu", TaintEffect::NoSchedule));
    let mut b = node("b", 1000, 1024);
    b.spec
        .taints
        .push(taint("maintenance", TaintEffect::NoExecute));
    let mut c = node("c", 1000, 1024);
    c.spec
        .taints
        .push(taint("spot", TaintEffect::PreferNoSchedule));
    let nodes = vec![a, b, c];
    let d = schedule(
        &pod(0, 0),
        &Snapshot::new(nodes.clone(), &[]),
        &Weights::default(),
    );
    let removed: Vec<&str> = d.rejected.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(removed, ["a", "b"]);
    assert!(
        d.rejected
            .iter()
            .all(|r| r.filter == Filter::TaintToleration)
    );
    let mut tolerant = pod(0, 0);
    tolerant.spec.tolerations.push(Toleration {
        key: "gpu".into(),
        operator: TolerationOperator::Exists,
        ..Default::default()
    });
    let d = schedule(
        &tolerant,
        &Snapshot::new(nodes.clone(), &[]),
        &Weights::default(),
    );
    assert_eq!(d.rejected.len(), 1);
    assert_eq!(d.rejected[0].node, "b");
    // The wrong effect does not tolerate.
    tolerant.spec.tolerations[0].effect = Some(TaintEffect::NoExecute);
    let d = schedule(&tolerant, &Snapshot::new(nodes, &[]), &Weights::default());
    assert_eq!(d.rejected.len(), 2);
}

#[test]
fn least_allocated_spreads_most_allocated_packs() {
    let nodes = vec![node("busy", 1000, 1024), node("idle", 1000, 1024)];
    let on_busy = bound(pod(500, 512), "x", "busy");
    let snapshot = Snapshot::new(nodes, &[on_busy]);
    let p = pod(100, 128);
    let spread = schedule(&p, &snapshot, &Weights(vec![(Score::LeastAllocated, 1)]));
    assert_eq!(spread.chosen(), Some("idle"));
    // idle after placing: cpu 10%, memory 12.5% → free 90 and 87.5 → (900 + 875) / 20 = 88.
    assert_eq!(spread.scores[0].total, 88);
    let pack = schedule(&p, &snapshot, &Weights(vec![(Score::MostAllocated, 1)]));
    assert_eq!(pack.chosen(), Some("busy"));
    // busy after placing: cpu 60%, memory 62.5% → (600 + 625) / 20 = 61.
    assert_eq!(pack.scores[0].total, 61);
}

#[test]
fn balanced_prefers_the_node_where_cpu_and_memory_stay_in_step() {
    let nodes = vec![node("cpu-heavy", 1000, 1024), node("even", 1000, 1024)];
    let heavy = bound(pod(600, 0), "x", "cpu-heavy");
    let even = bound(pod(300, 307), "y", "even");
    let snapshot = Snapshot::new(nodes, &[heavy, even]);
    let d = schedule(
        &pod(100, 100),
        &snapshot,
        &Weights(vec![(Score::Balanced, 1)]),
    );
    assert_eq!(d.chosen(), Some("even"), "{d:?}");
    // cpu-heavy: cpu 70%, memory 9.7% → 100 - 60 = 40.
    assert_eq!(d.scores[1].total, 40);
}

#[test]
fn weights_multiply_and_the_trace_keeps_every_part() {
    let nodes = vec![node("busy", 1000, 1024), node("idle", 1000, 1024)];
    let snapshot = Snapshot::new(nodes, &[bound(pod(500, 512), "x", "busy")]);
    let w = Weights(vec![(Score::LeastAllocated, 1), (Score::MostAllocated, 3)]);
    let d = schedule(&pod(100, 128), &snapshot, &w);
    assert_eq!(d.chosen(), Some("busy"), "packing weighs 3x: {d:?}");
    let busy = &d.scores[0];
    assert_eq!(
        busy.parts,
        [(Score::LeastAllocated, 38), (Score::MostAllocated, 61)]
    );
    assert_eq!(busy.total, 38 + 3 * 61);
}
