//! The exercise binary's own command line: `replay-dlq` on a persistent embedded log, and bad input
//! (`--broker` URLs, missing options, an unreachable Redis) as a one-line error with exit code 2.
#![cfg(not(loom))]

use std::path::Path;
use std::time::Duration;

use harness::smoke::{Ran, run_with_deadline};
use harness::tempdir::TempDir;
use phase4::consumers::{Broker, EmbeddedBroker, Record};

const DEADLINE: Duration = Duration::from_secs(60);

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_exercise3"))
}

fn assert_clean_error(r: &Ran, contains: &str) {
    assert_eq!(r.code, Some(2), "exit code; stderr: {}", r.stderr);
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "one line: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(
        r.stderr.contains(contains),
        "expected {contains:?} in {}",
        r.stderr
    );
}

#[test]
fn replay_dlq_lists_then_puts_dead_letters_back() {
    let dir = TempDir::new("cli-replay").unwrap();
    {
        let b = EmbeddedBroker::open(dir.path()).unwrap();
        b.create_topic("payments", 2).unwrap();
        b.produce("payments", 1, b"m1|k1|poison").unwrap();
        let rec = Record {
            partition: 1,
            offset: 0,
            payload: b"m1|k1|poison".to_vec(),
        };
        b.dead_letter("payments", &rec, 3, "amount is NaN").unwrap();
    }
    let url = format!("file://{}", dir.path().display());
    let list = run_with_deadline(
        exe(),
        &[
            "replay-dlq",
            "--broker",
            &url,
            "--topic",
            "payments",
            "--list",
        ],
        DEADLINE,
    );
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert!(list.stdout.contains("1 dead letter(s)"), "{}", list.stdout);
    assert!(list.stdout.contains("amount is NaN"), "{}", list.stdout);

    let replay = run_with_deadline(
        exe(),
        &["replay-dlq", "--broker", &url, "--topic", "payments"],
        DEADLINE,
    );
    assert_eq!(replay.code, Some(0), "{}", replay.stderr);
    assert!(replay.stdout.contains("replayed 1"), "{}", replay.stdout);

    let b = EmbeddedBroker::open(dir.path()).unwrap();
    assert!(b.dead_letters("payments").unwrap().is_empty());
    assert_eq!(
        b.end_offset("payments", 1).unwrap(),
        2,
        "appended to its partition"
    );
    b.create_group("payments", "g").unwrap();
    let recs = b.fetch("payments", "g", "c", 1, 10).unwrap();
    assert_eq!(recs[1].payload, b"m1|k1|poison");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = TempDir::new("cli-bad").unwrap();
    let file_url = format!("file://{}", dir.path().display());
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let sink = dir.path().join("sink.txt").display().to_string();
    let unreachable = format!("redis://127.0.0.1:{free_port}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--broker", "ftp://example"], "bad broker URL"),
        (vec!["--broker", "redis://no-port"], "bad broker URL"),
        (vec!["--broker"], "--broker needs a URL"),
        (
            vec!["--broker", &unreachable, "--quick"],
            "cannot reach redis",
        ),
        (vec!["replay-dlq", "--topic", "t"], "needs --broker"),
        (vec!["replay-dlq", "--broker", &file_url], "needs --topic"),
        (
            vec!["replay-dlq", "--broker", "embedded", "--topic", "t"],
            "outlives one run",
        ),
        (
            vec!["replay-dlq", "--broker", &file_url, "--topic", "nope"],
            "no topic",
        ),
        (vec!["replay-dlq", "--frob", "1"], "unknown option --frob"),
        (vec!["consume-child"], "needs --broker"),
        (
            vec![
                "consume-child",
                "--broker",
                &file_url,
                "--topic",
                "t",
                "--stall-after",
                "x",
            ],
            "needs --sink",
        ),
        (
            vec![
                "consume-child",
                "--broker",
                &file_url,
                "--topic",
                "t",
                "--sink",
                &sink,
                "--stall-after",
                "x",
            ],
            "--stall-after takes a number",
        ),
    ];
    for (args, expect) in cases {
        let r = run_with_deadline(exe(), &args, DEADLINE);
        assert_clean_error(&r, expect);
    }
}

#[test]
fn a_section_runs_on_an_explicit_broker_url() {
    let dir = TempDir::new("cli-section").unwrap();
    let url = format!("--broker=file://{}", dir.path().display());
    let r = run_with_deadline(exe(), &[&url, "dlq", "--quick", "--json"], DEADLINE);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["sections"][0]["name"], "dlq");
}
