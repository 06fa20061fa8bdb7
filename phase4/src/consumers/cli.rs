//! The exercise binary's own command line, handled before the harness sees it:
//! `--broker URL` (which backend the sections use), `replay-dlq` (put dead letters back) and the
//! hidden `consume-child` (the consumer process the idempotency section kills).
use harness::exercise::Before;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::broker::{BrokerError, open_broker, replay_dead_letters};
use super::engine::{ConsumerConfig, Handler, Probe, run_member};
use super::group::GroupCoordinator;
use super::scenarios::message_id;
use super::sink::FileSink;

static BROKER_URL: OnceLock<String> = OnceLock::new();

/// The broker URL the sections use: `--broker`, else `embedded`.
pub fn broker_url() -> &'static str {
    BROKER_URL.get().map_or("embedded", String::as_str)
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// `--name value` pairs; every name must be in `known`.
fn flags(
    args: &[OsString],
    known: &[&str],
    switches: &[&str],
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a
            .to_str()
            .ok_or_else(|| format!("argument {a:?} is not UTF-8"))?;
        let name = a.strip_prefix("--").ok_or_else(|| {
            format!(
                "unexpected argument {a:?} (options: --{})",
                known.join(", --")
            )
        })?;
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None if switches.contains(&name) => (name.to_string(), "true".to_string()),
            None => {
                let v = it
                    .next()
                    .and_then(|v| v.to_str())
                    .ok_or_else(|| format!("--{name} needs a value"))?;
                (name.to_string(), v.to_string())
            }
        };
        if !known.contains(&name.as_str()) && !switches.contains(&name.as_str()) {
            return Err(format!(
                "unknown option --{name} (options: --{})",
                known.join(", --")
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn get<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn need<'a>(f: &'a [(String, String)], name: &str, cmd: &str) -> Result<&'a str, String> {
    get(f, name).ok_or_else(|| format!("{cmd} needs --{name}"))
}

/// The binary's hook (`exercise_main!(…, before = …)`): the subcommands and `--broker` first; the
/// rest of the command line goes to the harness.
pub fn before(args: Vec<OsString>) -> Before {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("consume-child") => return Before::Exit(consume_child(&args[2..])),
        Some("replay-dlq") => return Before::Exit(replay_dlq(&args[2..])),
        _ => {}
    }
    let mut rest = Vec::with_capacity(args.len());
    let mut url = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--broker") => match it.next().and_then(|v| v.into_string().ok()) {
                Some(v) => url = Some(v),
                None => {
                    return Before::Exit(fail(
                        "--broker needs a URL (embedded, file:///DIR or redis://HOST:PORT)",
                    ));
                }
            },
            Some(s) if s.starts_with("--broker=") => url = Some(s["--broker=".len()..].to_string()),
            _ => rest.push(a),
        }
    }
    if let Some(u) = url {
        // Open it once now, so a bad URL or an unreachable server is one line and exit 2, not a
        // failed check in every section.
        if let Err(e) = open_broker(&u) {
            return Before::Exit(fail(e));
        }
        let _ = BROKER_URL.set(u);
    }
    Before::Run(rest)
}

/// `replay-dlq --broker URL --topic T [--list]`: lists the topic's dead letters, or puts them back.
fn replay_dlq(args: &[OsString]) -> ExitCode {
    let run = || -> Result<(), String> {
        let f = flags(args, &["broker", "topic"], &["list"])?;
        let url = need(&f, "broker", "replay-dlq")?;
        if url == "embedded" {
            return Err(
                "replay-dlq needs a broker that outlives one run: file:///DIR or redis://HOST:PORT"
                    .into(),
            );
        }
        let topic = need(&f, "topic", "replay-dlq")?;
        let broker = open_broker(url).map_err(|e| e.to_string())?;
        broker.partitions(topic).map_err(|e| e.to_string())?;
        let letters = broker.dead_letters(topic).map_err(|e| e.to_string())?;
        for d in &letters {
            println!(
                "{}  p{}@{}  attempts={}  error={:?}  payload={:?}",
                d.id,
                d.partition,
                d.offset,
                d.attempts,
                d.error,
                String::from_utf8_lossy(&d.payload)
            );
        }
        match get(&f, "list") {
            Some(_) => {
                println!("{} dead letter(s) in {topic}", letters.len());
            }
            None => {
                let n = replay_dead_letters(&*broker, topic).map_err(|e| e.to_string())?;
                println!("replayed {n} dead letter(s) into {topic}");
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// The consumer process of the idempotency section: consumes `--topic` into the file sink `--sink`
/// until every partition is committed to its end, then prints one `consume-child:` report line.
/// With `--stall-after K` it stops making progress once K messages are applied and waits to be
/// killed (at most a minute, then it exits 3 on its own).
fn consume_child(args: &[OsString]) -> ExitCode {
    let run = || -> Result<String, String> {
        let f = flags(
            args,
            &[
                "broker",
                "topic",
                "group",
                "member",
                "sink",
                "commit-every",
                "stall-after",
                "workers",
            ],
            &[],
        )?;
        let cmd = "consume-child";
        let num = |name: &str, default: usize| -> Result<usize, String> {
            get(&f, name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| format!("--{name} takes a number, not {v:?}"))
            })
        };
        let broker = open_broker(need(&f, "broker", cmd)?).map_err(|e| e.to_string())?;
        let topic = need(&f, "topic", cmd)?;
        let sink =
            Arc::new(FileSink::open(need(&f, "sink", cmd)?).map_err(|e| format!("sink: {e}"))?);
        let stall_after = get(&f, "stall-after")
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("--stall-after takes a number, not {v:?}"))
            })
            .transpose()?;
        let partitions = broker.partitions(topic).map_err(|e| e.to_string())?;
        let mut cfg = ConsumerConfig::new(topic, need(&f, "group", cmd)?, need(&f, "member", cmd)?);
        cfg.workers = num("workers", 3)?.clamp(1, 4);
        cfg.commit_every = num("commit-every", 25)?.max(1);
        cfg.exit_when_drained = true;
        let handler: Handler = {
            let sink = sink.clone();
            Arc::new(move |r| {
                if stall_after.is_some_and(|k| sink.applied() >= k) {
                    // Stalled mid-batch: the parent SIGKILLs us now. Never hang for ever.
                    std::thread::sleep(Duration::from_secs(60));
                    eprintln!("consume-child: stalled for 60 s and nobody killed me; exiting");
                    std::process::exit(3);
                }
                std::thread::sleep(Duration::from_micros(50 * (r.offset % 3)));
                sink.apply(&message_id(&r.payload))
                    .map(|_| ())
                    .map_err(|e| format!("sink write failed: {e}"))
            })
        };
        let report = run_member(
            broker,
            Arc::new(GroupCoordinator::new(partitions)),
            cfg,
            handler,
            Probe::new(partitions),
            Arc::new(AtomicBool::new(false)),
        )
        .map_err(|e: BrokerError| e.to_string())?;
        Ok(format!(
            "consume-child: applied={} duplicates={} reclaimed={} dispatched={}",
            sink.applied(),
            sink.duplicates(),
            report.reclaimed,
            report.dispatched
        ))
    };
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
