//! Good manifests parse into the right objects; bad ones get an error naming the file, the line and
//! the field.
use tinykube::{
    Cpu, IntOrPercent, Memory, Object, ProbeAction, RestartPolicy, TaintEffect, parse_manifests,
};

const GOOD: &str = "\
kind: Node
metadata: {name: node-1, labels: {zone: a}}
spec:
  capacity: {cpu: 4, memory: 8Gi}
  taints: [{key: gpu, value: 'yes', effect: NoSchedule}]
---
kind: Pod
metadata: {name: web}
spec:
  command: [sleep]
  args: ['60']
  env: {MODE: fast}
  requests: {cpu: 200m, memory: 64Mi}
  restartPolicy: OnFailure
  priority: 10
  nodeSelector: {zone: a}
  tolerations: [{key: gpu, operator: Exists}]
  livenessProbe:
    httpGet: {port: 8080, path: /healthz}
    periodSeconds: 5
---
kind: Deployment
metadata: {name: api}
spec:
  replicas: 4
  selector: {app: api}
  rollingUpdate: {maxSurge: 1, maxUnavailable: '50%'}
  template:
    metadata: {labels: {app: api}}
    spec: {command: [sleep, '60']}
---
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 2
  selector: {app: rs}
  template:
    metadata: {labels: {app: rs}}
    spec: {command: ['true']}
";

#[test]
fn a_good_manifest_parses_into_its_objects() {
    let objects = parse_manifests("good.yaml", GOOD).unwrap();
    assert_eq!(objects.len(), 4);
    let Object::Node(node) = &objects[0] else {
        panic!("{:?}", objects[0])
    };
    assert_eq!(node.spec.capacity.cpu, Cpu(4000));
    assert_eq!(node.spec.capacity.memory, Memory(8 << 30));
    assert_eq!(node.spec.taints[0].effect, TaintEffect::NoSchedule);
    let Object::Pod(pod) = &objects[1] else {
        panic!()
    };
    assert_eq!(pod.spec.requests.cpu, Cpu(200));
    assert_eq!(pod.spec.requests.memory, Memory(64 << 20));
    assert_eq!(pod.spec.restart_policy, RestartPolicy::OnFailure);
    assert_eq!(pod.spec.priority, 10);
    let probe = pod.spec.liveness_probe.as_ref().unwrap();
    assert_eq!(
        probe.action(),
        Some(ProbeAction::HttpGet {
            port: 8080,
            path: "/healthz".into()
        })
    );
    assert_eq!((probe.period_seconds, probe.failure_threshold), (5, 3));
    let Object::Deployment(d) = &objects[2] else {
        panic!()
    };
    assert_eq!(d.spec.rolling_update.max_surge, IntOrPercent::Count(1));
    assert_eq!(
        d.spec.rolling_update.max_unavailable,
        IntOrPercent::Percent(50)
    );
    let Object::ReplicaSet(rs) = &objects[3] else {
        panic!()
    };
    assert_eq!(rs.spec.replicas, 2);
    // Objects at rest are JSON: the round trip keeps them whole.
    for o in &objects {
        let back: Object = serde_json::from_str(&serde_json::to_string(o).unwrap()).unwrap();
        assert_eq!(&back, o);
    }
}

/// (what is wrong, manifest, line, field, a word the message must contain)
const BAD: &[(&str, &str, usize, &str, &str)] = &[
    (
        "a selector the template's labels do not match",
        "kind: ReplicaSet\nmetadata: {name: r}\nspec:\n  replicas: 1\n  selector: {app: a}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {command: [x]}\n",
        4,
        "spec",
        "does not match",
    ),
    (
        "an empty command",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  command: []\n",
        4,
        "spec.command",
        "no program",
    ),
    (
        "a probe with two actions",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  command: [x]\n  livenessProbe:\n    exec: {command: [x]}\n    tcpSocket: {port: 80}\n",
        6,
        "spec.livenessProbe",
        "exactly one",
    ),
    (
        "cpu suffix",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  command: [x]\n  requests:\n    cpu: 200x\n",
        6,
        "spec.requests.cpu",
        "suffix",
    ),
    (
        "memory suffix",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  command: [x]\n  requests: {memory: 64MB}\n",
        5,
        "spec.requests.memory",
        "MB",
    ),
    (
        "cpu below a millicore",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  command: [x]\n  requests:\n    cpu: 0.0001\n",
        6,
        "spec.requests.cpu",
        "finer",
    ),
    (
        "a typo in a field name",
        "kind: Deployment\nmetadata: {name: d}\nspec:\n  replica: 3\n",
        4,
        "spec.replica",
        "unknown field",
    ),
    (
        "a missing required field",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  args: [x]\n",
        4,
        "spec",
        "command",
    ),
    (
        "a wrong type",
        "kind: ReplicaSet\nmetadata: {name: r}\nspec:\n  replicas: many\n  selector: {app: r}\n  template: {metadata: {labels: {app: r}}, spec: {command: [x]}}\n",
        4,
        "spec.replicas",
        "invalid",
    ),
    (
        "a bad percentage",
        "kind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1\n  selector: {app: d}\n  template: {metadata: {labels: {app: d}}, spec: {command: [x]}}\n  rollingUpdate: {maxSurge: 150%}\n",
        7,
        "spec.rollingUpdate.maxSurge",
        "percentage",
    ),
    (
        "an unknown taint effect",
        "---\nkind: Node\nmetadata: {name: n}\nspec:\n  capacity: {cpu: 1, memory: 1Gi}\n  taints:\n  - {key: a, effect: Never}\n",
        7,
        "spec.taints[0].effect",
        "Never",
    ),
    (
        "an error in the second document",
        "kind: Node\nmetadata: {name: n}\nspec: {capacity: {cpu: 1, memory: 1Gi}}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  command: [x]\n  priority: high\n",
        9,
        "spec.priority",
        "invalid",
    ),
];

#[test]
fn every_bad_manifest_names_the_file_the_line_and_the_field() {
    for &(what, text, line, field, word) in BAD {
        let err = parse_manifests("bad.yaml", text).expect_err(what);
        assert_eq!(err.file.to_str(), Some("bad.yaml"), "{what}: {err}");
        assert_eq!(err.line, Some(line), "{what}: {err}");
        assert_eq!(err.field, field, "{what}: {err}");
        assert!(
            err.message.contains(word),
            "{what}: `{}` lacks `{word}`",
            err.message
        );
        assert!(
            err.to_string().starts_with(&format!("bad.yaml:{line}:")),
            "{what}: {err}"
        );
    }
}

#[test]
fn an_unknown_or_missing_kind_is_named() {
    let err = parse_manifests("k.yaml", "kind: Service\nmetadata: {name: s}\n").unwrap_err();
    assert_eq!(err.field, "kind");
    assert!(err.message.contains("Service"), "{err}");
    let err = parse_manifests("k.yaml", "metadata: {name: s}\n").unwrap_err();
    assert_eq!(err.field, "kind");
    let err = parse_manifests("k.yaml", "kind: Pod\nmetadata: [\n").unwrap_err();
    assert!(err.line.is_some(), "a syntax error has a line: {err}");
}
