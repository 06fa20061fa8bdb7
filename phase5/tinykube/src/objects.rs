//! The objects of the cluster, shaped like Kubernetes' (`metadata` + `spec`, camelCase fields) but
//! only with what tinykube runs: pods as real processes, replica sets, deployments, nodes.
//!
//! Every struct denies unknown fields, so a typo (`replica: 3`) is an error, not a silent default.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantity::{Cpu, Memory};

/// Name and labels, shared by every object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Unique among objects of one kind.
    pub name: String,
    /// Key/value labels that selectors match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// What a pod asks the scheduler to reserve on its node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// CPU reserved (millicores).
    #[serde(default)]
    pub cpu: Cpu,
    /// Memory reserved (bytes).
    #[serde(default)]
    pub memory: Memory,
}

/// When the node agent restarts a pod's process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    /// Whatever the exit status (the default, as in Kubernetes).
    #[default]
    Always,
    /// Only after a non-zero exit.
    OnFailure,
    /// Never: the pod ends with its process.
    Never,
}

/// How a liveness probe checks a running pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeAction {
    /// Run a command; alive when it exits 0.
    Exec(Vec<String>),
    /// Connect to a TCP port on loopback; alive when it accepts.
    TcpSocket(u16),
    /// GET a path on loopback; alive on a 2xx or 3xx status.
    HttpGet {
        /// The port.
        port: u16,
        /// The path.
        path: String,
    },
}

/// `exec: {command: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecAction {
    /// Program and arguments.
    pub command: Vec<String>,
}

/// `tcpSocket: {port: 8080}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSocketAction {
    /// The port on loopback.
    pub port: u16,
}

/// `httpGet: {port: 8080, path: /healthz}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGetAction {
    /// The port on loopback.
    pub port: u16,
    /// The path, `/` by default.
    #[serde(default = "root_path")]
    pub path: String,
}

fn root_path() -> String {
    "/".to_string()
}

/// A liveness probe: one action (exactly one of `exec`, `tcpSocket`, `httpGet`) and its timing, with
/// Kubernetes' defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Run a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// Connect to a port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
    /// GET a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    /// Seconds after start before the first check.
    #[serde(default)]
    pub initial_delay_seconds: u32,
    /// Seconds between checks.
    #[serde(default = "ten")]
    pub period_seconds: u32,
    /// Consecutive failures that kill the process.
    #[serde(default = "three")]
    pub failure_threshold: u32,
}

/// A probe as written, before the check that it names exactly one action.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProbeFields {
    /// Run a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exec: Option<ExecAction>,
    /// Connect to a port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tcp_socket: Option<TcpSocketAction>,
    /// GET a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http_get: Option<HttpGetAction>,
    /// Seconds after start before the first check.
    #[serde(default)]
    initial_delay_seconds: u32,
    /// Seconds between checks.
    #[serde(default = "ten")]
    period_seconds: u32,
    /// Consecutive failures that kill the process.
    #[serde(default = "three")]
    failure_threshold: u32,
}

impl TryFrom<ProbeFields> for Probe {
    type Error = String;
    fn try_from(f: ProbeFields) -> Result<Probe, String> {
        let probe = Probe {
            exec: f.exec,
            tcp_socket: f.tcp_socket,
            http_get: f.http_get,
            initial_delay_seconds: f.initial_delay_seconds,
            period_seconds: f.period_seconds,
            failure_threshold: f.failure_threshold,
        };
        if probe.action().is_none() {
            return Err("a probe names exactly one of `exec`, `tcpSocket`, `httpGet`".into());
        }
        if probe.period_seconds == 0 || probe.failure_threshold == 0 {
            return Err("`periodSeconds` and `failureThreshold` must be at least 1".into());
        }
        Ok(probe)
    }
}

impl Probe {
    /// The one action this probe runs; `None` when it names none or several (the manifest loader
    /// rejects both).
    pub fn action(&self) -> Option<ProbeAction> {
        match (&self.exec, &self.tcp_socket, &self.http_get) {
            (Some(e), None, None) => Some(ProbeAction::Exec(e.command.clone())),
            (None, Some(t), None) => Some(ProbeAction::TcpSocket(t.port)),
            (None, None, Some(h)) => Some(ProbeAction::HttpGet {
                port: h.port,
                path: h.path.clone(),
            }),
            _ => None,
        }
    }
}

fn ten() -> u32 {
    10
}
fn three() -> u32 {
    3
}

/// The effect of a taint on pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    /// No new pod is scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node when it can (scored, not filtered).
    PreferNoSchedule,
    /// No new pod, and running ones are evicted.
    NoExecute,
}

/// A node's taint: pods must tolerate it to be scheduled there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    /// The key.
    pub key: String,
    /// The value (may be empty).
    #[serde(default)]
    pub value: String,
    /// What it does.
    pub effect: TaintEffect,
}

/// How a toleration matches a taint's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TolerationOperator {
    /// Key and value equal (the default).
    #[default]
    Equal,
    /// Key equal, any value; an empty key tolerates every taint.
    Exists,
}

/// A pod's toleration of taints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// The taint key (empty with `Exists`: every key).
    #[serde(default)]
    pub key: String,
    /// How the value is compared.
    #[serde(default)]
    pub operator: TolerationOperator,
    /// The value, with `Equal`.
    #[serde(default)]
    pub value: String,
    /// The effect tolerated; none: every effect.
    #[serde(default)]
    pub effect: Option<TaintEffect>,
    /// With `NoExecute`: seconds the pod stays on a node after the taint appears; none: forever.
    #[serde(default)]
    pub toleration_seconds: Option<u64>,
}

impl Toleration {
    /// Whether this toleration admits `taint` (Kubernetes' matching rules).
    ///
    /// ```
    /// use tinykube::{Taint, TaintEffect, Toleration, TolerationOperator};
    /// let gpu = Taint { key: "gpu".into(), value: "yes".into(), effect: TaintEffect::NoSchedule };
    /// let any_gpu = Toleration { key: "gpu".into(), operator: TolerationOperator::Exists, ..Default::default() };
    /// assert!(any_gpu.tolerates(&gpu));
    /// let wrong = Toleration { key: "gpu".into(), value: "no".into(), ..Default::default() };
    /// assert!(!wrong.tolerates(&gpu));
    /// ```
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => self.key.is_empty() || self.key == taint.key,
            TolerationOperator::Equal => self.key == taint.key && self.value == taint.value,
        }
    }
}

/// What a pod runs and what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSpec {
    /// The program and its leading arguments (required, not empty).
    #[serde(deserialize_with = "non_empty")]
    pub command: Vec<String>,
    /// Further arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// What the scheduler reserves.
    #[serde(default)]
    pub requests: Requests,
    /// When the process is restarted.
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// The liveness probe, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Higher is more important: it may preempt lower ones.
    #[serde(default)]
    pub priority: i32,
    /// Labels the node must carry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pod tolerates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// The node it is bound to; set by the scheduler's bind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

impl PodSpec {
    /// A spec that runs `command` with every other field at its default (no requests, restart
    /// `Always`, priority 0, unbound).
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> PodSpec {
        PodSpec {
            command: command.into_iter().map(Into::into).collect(),
            args: Vec::new(),
            env: BTreeMap::new(),
            requests: Requests::default(),
            restart_policy: RestartPolicy::default(),
            liveness_probe: None,
            priority: 0,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            node_name: None,
        }
    }

    /// The same, requesting `cpu` and `memory`.
    pub fn with_requests(mut self, cpu: Cpu, memory: Memory) -> PodSpec {
        self.requests = Requests { cpu, memory };
        self
    }
}

fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let command = Vec::<String>::deserialize(d)?;
    if command.first().is_none_or(String::is_empty) {
        return Err(serde::de::Error::custom("the command names no program"));
    }
    Ok(command)
}

/// A pod: one process, scheduled onto one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    /// Name and labels.
    pub metadata: ObjectMeta,
    /// What it runs.
    pub spec: PodSpec,
}

impl Pod {
    /// A pod named `name` with `spec`, no labels.
    ///
    /// ```
    /// use tinykube::{Cpu, Memory, Pod, PodSpec};
    /// let pod = Pod::new("web", PodSpec::new(["sleep", "60"]).with_requests(Cpu(200), Memory(64 << 20)));
    /// assert_eq!(pod.spec.command, ["sleep", "60"]);
    /// ```
    pub fn new(name: impl Into<String>, spec: PodSpec) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: name.into(),
                labels: BTreeMap::new(),
            },
            spec,
        }
    }
}

/// The pod a controller stamps out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodTemplate {
    /// Labels (the name is generated).
    #[serde(default)]
    pub metadata: TemplateMeta,
    /// The pods' spec.
    pub spec: PodSpec,
}

/// A template's metadata: labels only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMeta {
    /// Labels every stamped pod carries.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Keeps `replicas` pods matching `selector` running.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaSetSpec {
    /// How many pods.
    pub replicas: u32,
    /// Labels that make a pod one of ours.
    pub selector: BTreeMap<String, String>,
    /// What a new pod looks like.
    pub template: PodTemplate,
}

/// A replica set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSet {
    /// Name and labels.
    pub metadata: ObjectMeta,
    /// Its spec.
    pub spec: ReplicaSetSpec,
}

/// A count of pods or a percentage of the replicas (`1` or `"25%"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    /// A count.
    Count(u32),
    /// A percentage, written `"25%"`.
    Percent(u32),
}

impl IntOrPercent {
    /// The count for `replicas`; a percentage rounds up for surge and down for unavailability, as in
    /// Kubernetes (`round_up`).
    ///
    /// ```
    /// use tinykube::IntOrPercent;
    /// assert_eq!(IntOrPercent::Percent(25).of(10, true), 3);
    /// assert_eq!(IntOrPercent::Percent(25).of(10, false), 2);
    /// ```
    pub fn of(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Count(n) => n,
            IntOrPercent::Percent(p) => {
                let scaled = u64::from(replicas) * u64::from(p);
                let n = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(n).unwrap_or(u32::MAX)
            }
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Count(n) => s.serialize_u32(*n),
            IntOrPercent::Percent(p) => s.collect_str(&format_args!("{p}%")),
        }
    }
}

struct IntOrPercentVisitor;

impl serde::de::Visitor<'_> for IntOrPercentVisitor {
    type Value = IntOrPercent;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a count (`1`) or a percentage (`\"25%\"`)")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntOrPercent, E> {
        u32::try_from(v)
            .map(IntOrPercent::Count)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntOrPercent, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("{v} is negative")))
            .and_then(|v| self.visit_u64(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntOrPercent, E> {
        v.strip_suffix('%')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|&n| n <= 100)
            .map(IntOrPercent::Percent)
            .ok_or_else(|| E::custom(format!("`{v}` is not a count nor a percentage (0%-100%)")))
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntOrPercentVisitor)
    }
}

/// How a deployment replaces its pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollingUpdate {
    /// Pods allowed above `replicas` during an update.
    #[serde(default = "quarter")]
    pub max_surge: IntOrPercent,
    /// Pods allowed below `replicas` during an update.
    #[serde(default = "quarter")]
    pub max_unavailable: IntOrPercent,
}

fn quarter() -> IntOrPercent {
    IntOrPercent::Percent(25)
}

impl Default for RollingUpdate {
    fn default() -> Self {
        RollingUpdate {
            max_surge: quarter(),
            max_unavailable: quarter(),
        }
    }
}

/// A deployment: a replica set per template version, rolled within bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// How many pods.
    pub replicas: u32,
    /// Labels that make a pod one of ours.
    pub selector: BTreeMap<String, String>,
    /// What a pod looks like.
    pub template: PodTemplate,
    /// The rolling update's bounds (25% / 25% by default).
    #[serde(default)]
    pub rolling_update: RollingUpdate,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Name and labels.
    pub metadata: ObjectMeta,
    /// Its spec.
    pub spec: DeploymentSpec,
}

/// What a node offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// CPU (millicores).
    pub cpu: Cpu,
    /// Memory (bytes).
    pub memory: Memory,
}

/// A node's capacity and taints (its labels are in the metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// What pods may reserve in all.
    pub capacity: Capacity,
    /// Taints pods must tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

/// A node: a machine (here, an agent process) that runs pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Name and labels.
    pub metadata: ObjectMeta,
    /// Capacity and taints.
    pub spec: NodeSpec,
}

impl Node {
    /// A node named `name` offering `cpu` and `memory`, no labels, no taints.
    pub fn new(name: impl Into<String>, cpu: Cpu, memory: Memory) -> Node {
        Node {
            metadata: ObjectMeta {
                name: name.into(),
                labels: BTreeMap::new(),
            },
            spec: NodeSpec {
                capacity: Capacity { cpu, memory },
                taints: Vec::new(),
            },
        }
    }
}

/// Any object a manifest may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Object {
    /// A pod.
    Pod(Pod),
    /// A replica set.
    ReplicaSet(ReplicaSet),
    /// A deployment.
    Deployment(Deployment),
    /// A node.
    Node(Node),
}

impl Object {
    /// The kind, as written in a manifest.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Pod(_) => "Pod",
            Object::ReplicaSet(_) => "ReplicaSet",
            Object::Deployment(_) => "Deployment",
            Object::Node(_) => "Node",
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        match self {
            Object::Pod(o) => &o.metadata.name,
            Object::ReplicaSet(o) => &o.metadata.name,
            Object::Deployment(o) => &o.metadata.name,
            Object::Node(o) => &o.metadata.name,
        }
    }
}

/// A controller's pods must carry its selector's labels, or it would never see the pods it makes
/// (Kubernetes: "selector does not match template labels").
fn selector_matches(
    selector: &BTreeMap<String, String>,
    template: &PodTemplate,
) -> Result<(), String> {
    if selector.is_empty() {
        return Err("the selector is empty: it would adopt every pod".into());
    }
    for (key, value) in selector {
        if template.metadata.labels.get(key) != Some(value) {
            return Err(format!(
                "selector {key}={value} does not match the template's labels"
            ));
        }
    }
    Ok(())
}

/// A replica set's spec as written, before the selector check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicaSetFields {
    replicas: u32,
    selector: BTreeMap<String, String>,
    template: PodTemplate,
}

impl TryFrom<ReplicaSetFields> for ReplicaSetSpec {
    type Error = String;
    fn try_from(f: ReplicaSetFields) -> Result<Self, String> {
        selector_matches(&f.selector, &f.template)?;
        Ok(ReplicaSetSpec {
            replicas: f.replicas,
            selector: f.selector,
            template: f.template,
        })
    }
}

/// A deployment's spec as written, before the selector check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeploymentFields {
    replicas: u32,
    selector: BTreeMap<String, String>,
    template: PodTemplate,
    #[serde(default)]
    rolling_update: RollingUpdate,
}

impl TryFrom<DeploymentFields> for DeploymentSpec {
    type Error = String;
    fn try_from(f: DeploymentFields) -> Result<Self, String> {
        selector_matches(&f.selector, &f.template)?;
        Ok(DeploymentSpec {
            replicas: f.replicas,
            selector: f.selector,
            template: f.template,
            rolling_update: f.rolling_update,
        })
    }
}

/// Deserialises `F` (the fields as written) and checks them into `T` inside the map visitor, so the
/// YAML deserializer marks a failed check with the line of the object's own mapping.
struct CheckedVisitor<F, T>(std::marker::PhantomData<(F, T)>);

impl<'de, F: Deserialize<'de>, T: TryFrom<F, Error = String>> serde::de::Visitor<'de>
    for CheckedVisitor<F, T>
{
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let fields = F::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        T::try_from(fields).map_err(serde::de::Error::custom)
    }
}

fn deserialize_checked<'de, D, F, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    F: Deserialize<'de>,
    T: TryFrom<F, Error = String>,
{
    d.deserialize_map(CheckedVisitor::<F, T>(std::marker::PhantomData))
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked::<D, ProbeFields, Probe>(d)
    }
}

impl<'de> Deserialize<'de> for ReplicaSetSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked::<D, ReplicaSetFields, ReplicaSetSpec>(d)
    }
}

impl<'de> Deserialize<'de> for DeploymentSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked::<D, DeploymentFields, DeploymentSpec>(d)
    }
}

/// Where a pod is in its life, as its node agent reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PodPhase {
    /// Accepted by the agent, not started yet (or waiting out a restart backoff).
    #[default]
    Pending,
    /// Its process is running.
    Running,
    /// Its process exited 0 and will not be restarted.
    Succeeded,
    /// Its process failed and will not be restarted: its ReplicaSet replaces it.
    Failed,
}

/// A pod's status, written by the agent of the node it runs on under its own key
/// (`/status/pods/<name>`), so the pod's spec (and the revision bind compares) never moves when the
/// process does; controllers read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodStatus {
    /// The node whose agent wrote it.
    pub node: String,
    /// The phase.
    pub phase: PodPhase,
    /// Running and passing its liveness probe: counted as available.
    pub ready: bool,
    /// Restarts so far.
    #[serde(default)]
    pub restarts: u32,
    /// The exit code of the last run that ended (`None`: none ended, or killed by a signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<i32>,
    /// When the phase last changed, on the writer's clock.
    pub since: std::time::Duration,
    /// Why the agent set the phase, when it was the agent's decision and not the process's own
    /// (`CrashLoopOnNode`: it gave up on the pod after too many restarts on its node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A node's readiness as the node-lifecycle controller decides it (`/status/nodes/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeStatus {
    /// Whether its lease was renewed within the grace period.
    pub ready: bool,
    /// When `ready` last changed, on the controller's clock.
    pub since: std::time::Duration,
}
