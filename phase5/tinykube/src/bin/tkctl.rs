//! `tkctl`: tinykube's kubectl. It talks to the API server (`--server`, `http://127.0.0.1:6443` by
//! default) with the library's blocking client; manifests are parsed here first, so an error names
//! the file, line and field before anything is sent.
//!
//! Exit status: 0 done, 1 the server refused or could not be reached (or a rollout waited on did
//! not complete), 2 bad input (usage, unknown kind, a manifest error).
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::Value;
use tinykube::server::{Client, ClientError, Kind};
use tinykube::store::Expect;
use tinykube::{Object, load_manifests};

/// tinykube's command line: apply manifests, list and describe objects, read logs, follow rollouts.
#[derive(Debug, Parser)]
#[command(name = "tkctl", version)]
struct Cli {
    /// The API server.
    #[arg(long, global = true, default_value = "http://127.0.0.1:6443")]
    server: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates or updates the objects of a manifest (several YAML documents allowed).
    Apply {
        /// The manifest file.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
    /// Lists the objects of a kind as a table: pods, nodes, replicasets, deployments.
    Get {
        /// The kind.
        kind: String,
    },
    /// A pod's spec, status, and scheduling decision: which nodes each filter removed, the
    /// scores, and for a pending pod the smallest change that would let it fit.
    Describe {
        /// The kind (pod).
        kind: String,
        /// The pod's name.
        name: String,
    },
    /// Deletes an object.
    Delete {
        /// The kind.
        kind: String,
        /// Its name.
        name: String,
    },
    /// Prints a pod's log, as its node agent wrote it.
    Logs {
        /// The pod.
        pod: String,
    },
    /// Rollouts of deployments.
    Rollout {
        #[command(subcommand)]
        command: RolloutCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// Where a deployment's rolling update stands.
    Status {
        /// The kind (deployment).
        kind: String,
        /// The deployment's name.
        name: String,
        /// Wait up to this many seconds for the rollout to complete (exit 1 if it does not).
        #[arg(long, default_value_t = 0)]
        timeout: u64,
    },
}

/// What went wrong, and which exit status says so.
enum Failure {
    /// Bad input: exit 2.
    Usage(String),
    /// The server refused, or could not be reached: exit 1.
    Failed(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Url(_) => Failure::Usage(e.to_string()),
            ClientError::Connect { .. } => Failure::Failed(format!(
                "{e} (is a control plane running? `tinykube serve --listen ADDR` starts one)"
            )),
            other => Failure::Failed(other.to_string()),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("tkctl: error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("tkctl: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn kind(text: &str) -> Result<Kind, Failure> {
    Kind::parse(text)
        .ok_or_else(|| Failure::Usage(format!("unknown kind `{text}` (known: {})", Kind::known())))
}

fn singular(kind: Kind) -> &'static str {
    match kind {
        Kind::Pods => "pod",
        Kind::Nodes => "node",
        Kind::ReplicaSets => "replicaset",
        Kind::Deployments => "deployment",
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let client = Client::new(&cli.server)?;
    match cli.command {
        Command::Apply { file } => apply(&client, &file)?,
        Command::Get { kind: k } => get(&client, kind(&k)?)?,
        Command::Describe { kind: k, name } => {
            if kind(&k)? != Kind::Pods {
                return Err(Failure::Usage(format!(
                    "describe supports pods only, not `{k}`"
                )));
            }
            describe(&client, &name)?;
        }
        Command::Delete { kind: k, name } => {
            let kind = kind(&k)?;
            match client.delete(kind.plural(), &name, Expect::Any)? {
                Some(_) => println!("{}/{name} deleted", singular(kind)),
                None => {
                    return Err(Failure::Failed(format!(
                        "{}/{name} not found",
                        singular(kind)
                    )));
                }
            }
        }
        Command::Logs { pod } => {
            let bytes = client.logs(&pod)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Failed(format!("writing the log: {e}")))?;
        }
        Command::Rollout {
            command:
                RolloutCommand::Status {
                    kind: k,
                    name,
                    timeout,
                },
        } => {
            if kind(&k)? != Kind::Deployments {
                return Err(Failure::Usage(format!(
                    "rollout status supports deployments only, not `{k}`"
                )));
            }
            return rollout_status(&client, &name, Duration::from_secs(timeout));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn apply(client: &Client, file: &std::path::Path) -> Result<(), Failure> {
    let objects = load_manifests(file).map_err(|e| Failure::Usage(e.to_string()))?;
    for mut object in objects {
        let kind = Kind::of(&object);
        let name = object.name().to_string();
        let what = format!("{}/{name}", singular(kind));
        let existing = client.get(kind.plural(), &name)?;
        let Some(existing) = existing else {
            client.put(&object, Expect::Absent)?;
            println!("{what} created");
            continue;
        };
        // A manifest does not say where a pod runs: keep the binding the scheduler made.
        if let Object::Pod(pod) = &mut object
            && pod.spec.node_name.is_none()
        {
            pod.spec.node_name = existing.object["spec"]["nodeName"]
                .as_str()
                .map(str::to_string);
        }
        let new = match &object {
            Object::Pod(o) => serde_json::to_value(o),
            Object::Node(o) => serde_json::to_value(o),
            Object::ReplicaSet(o) => serde_json::to_value(o),
            Object::Deployment(o) => serde_json::to_value(o),
        }
        .map_err(|e| Failure::Failed(e.to_string()))?;
        if new == existing.object {
            println!("{what} unchanged");
            continue;
        }
        match client.put(&object, Expect::Revision(existing.revision)) {
            Ok(_) => println!("{what} configured"),
            Err(e) if e.status() == Some(409) => {
                return Err(Failure::Failed(format!(
                    "{what} changed on the server while applying; apply again ({e})"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Prints rows as aligned columns, the first row the header.
fn table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[c]));
            }
        }
        println!("{}", line.trim_end());
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "<none>".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn get(client: &Client, kind: Kind) -> Result<(), Failure> {
    let listing = client.list(kind.plural())?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    match kind {
        Kind::Pods => {
            rows.push(
                vec!["NAME", "NODE", "PHASE", "READY", "RESTARTS"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            );
            for item in &listing.items {
                let status = item.status.as_ref();
                let phase = status.map_or("Pending".to_string(), |s| text(&s["phase"]));
                let ready = status.is_some_and(|s| s["ready"] == true);
                let restarts = status.map_or("0".to_string(), |s| text(&s["restarts"]));
                rows.push(vec![
                    item.name.clone(),
                    text(&item.object["spec"]["nodeName"]),
                    phase,
                    if ready { "1/1" } else { "0/1" }.into(),
                    restarts,
                ]);
            }
        }
        Kind::Nodes => {
            rows.push(
                vec!["NAME", "STATUS", "CPU", "MEMORY", "TAINTS"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            );
            for item in &listing.items {
                let status = match item.status.as_ref().map(|s| s["ready"] == true) {
                    Some(true) => "Ready",
                    Some(false) => "NotReady",
                    None => "Unknown",
                };
                let capacity = &item.object["spec"]["capacity"];
                let taints = item.object["spec"]["taints"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .map(|t| {
                                format!(
                                    "{}={}:{}",
                                    text(&t["key"]),
                                    text(&t["value"]),
                                    text(&t["effect"])
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_else(|| "<none>".into());
                rows.push(vec![
                    item.name.clone(),
                    status.into(),
                    text(&capacity["cpu"]),
                    text(&capacity["memory"]),
                    taints,
                ]);
            }
        }
        Kind::ReplicaSets => {
            rows.push(vec!["NAME".to_string(), "REPLICAS".to_string()]);
            for item in &listing.items {
                rows.push(vec![
                    item.name.clone(),
                    text(&item.object["spec"]["replicas"]),
                ]);
            }
        }
        Kind::Deployments => {
            rows.push(
                vec!["NAME", "DESIRED", "UPDATED", "READY", "OLD", "COMPLETE"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            );
            for item in &listing.items {
                let r = client.rollout_status(&item.name)?;
                rows.push(vec![
                    item.name.clone(),
                    text(&r["desired"]),
                    text(&r["updated"]),
                    text(&r["ready"]),
                    text(&r["old"]),
                    text(&r["complete"]),
                ]);
            }
        }
    }
    if listing.items.is_empty() {
        println!("no {} (revision {})", kind.plural(), listing.revision);
    } else {
        table(&rows);
    }
    Ok(())
}

fn describe(client: &Client, name: &str) -> Result<(), Failure> {
    let d = match client.describe_pod(name) {
        Err(e) if e.status() == Some(404) => {
            return Err(Failure::Failed(format!("pod/{name} not found")));
        }
        other => other?,
    };
    let spec = &d["object"]["spec"];
    let words = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(text).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    println!("Name:       {name}");
    println!("Revision:   {}", text(&d["revision"]));
    println!("Node:       {}", text(&spec["nodeName"]));
    println!(
        "Command:    {}",
        [words(&spec["command"]), words(&spec["args"])]
            .join(" ")
            .trim_end()
    );
    println!(
        "Requests:   cpu {}, memory {}",
        text(&spec["requests"]["cpu"]),
        text(&spec["requests"]["memory"])
    );
    println!("Priority:   {}", spec["priority"].as_i64().unwrap_or(0));
    match &d["status"] {
        Value::Null => println!("Status:     none reported by a node agent"),
        s => println!(
            "Status:     {} on {}, ready: {}, restarts: {}, last exit: {}",
            text(&s["phase"]),
            text(&s["node"]),
            text(&s["ready"]),
            text(&s["restarts"]),
            text(&s["lastExit"]),
        ),
    }
    println!("Scheduling (the scheduler's decision against the cluster as it is now):");
    let mut rows = vec![vec![
        "  NODE".to_string(),
        "RESULT".to_string(),
        "WHY".to_string(),
    ]];
    for r in d["decision"]["rejected"].as_array().into_iter().flatten() {
        rows.push(vec![
            format!("  {}", text(&r["node"])),
            format!("removed by {}", text(&r["filter"])),
            text(&r["reason"]),
        ]);
    }
    for s in d["decision"]["scores"].as_array().into_iter().flatten() {
        let parts: Vec<String> = s["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{} {}", text(&p["score"]), text(&p["value"])))
            .collect();
        rows.push(vec![
            format!("  {}", text(&s["node"])),
            format!("score {}", text(&s["total"])),
            parts.join(", "),
        ]);
    }
    if rows.len() == 1 {
        println!("  no nodes");
    } else {
        table(&rows);
    }
    match &d["decision"]["chosen"] {
        Value::Null => println!("  no node passes every filter"),
        chosen => println!("  best node: {}", text(chosen)),
    }
    let why: Vec<String> = d["whyPending"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if !why.is_empty() {
        println!("Why pending (each the smallest change of its kind):");
        for line in why {
            println!("  {line}");
        }
    }
    println!("Events:     <none> (tinykube stores each pod's latest status, not an event log)");
    Ok(())
}

fn rollout_status(client: &Client, name: &str, timeout: Duration) -> Result<ExitCode, Failure> {
    let end = Instant::now() + timeout;
    loop {
        let r = match client.rollout_status(name) {
            Err(e) if e.status() == Some(404) => {
                return Err(Failure::Failed(format!("deployment/{name} not found")));
            }
            other => other?,
        };
        let complete = r["complete"] == true;
        let past = Instant::now() >= end;
        if complete || past {
            if complete {
                println!(
                    "deployment \"{name}\" successfully rolled out ({} of {} updated replicas ready)",
                    text(&r["updatedReady"]),
                    text(&r["desired"])
                );
            } else {
                println!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} of {} updated replicas are ready, {} old replicas remain",
                    text(&r["updatedReady"]),
                    text(&r["desired"]),
                    text(&r["old"])
                );
            }
            return Ok(if complete || timeout.is_zero() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "tkctl: error: rollout of deployment/{name} not complete after {}s",
                    timeout.as_secs()
                );
                ExitCode::from(1)
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
