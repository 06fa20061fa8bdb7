//! The consumer scenarios against Redis Streams, on a `redis-server` each test starts on a free
//! loopback port and stops at the end. Without `redis-server` installed the tests say loudly that
//! they were skipped and pass — unless `REQUIRE_REDIS=1` (CI), which makes that a failure.
#![cfg(not(loom))]

mod common;

scenario_tests!(common::redis);

use std::time::{Duration, Instant};

use phase4::consumers::RedisBroker;
use phase4::consumers::resp::{Connection, Reply};

#[test]
fn resp_client_reads_every_reply_type() {
    let Some(b) = common::redis() else { return };
    let addr = b.url.trim_start_matches("redis://").to_string();
    let mut c = Connection::connect(&addr, Duration::from_secs(2)).expect("connect");
    assert_eq!(
        c.cmd(&["SET", "k", "v\r\nwith crlf"]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        c.cmd(&["GET", "k"]).unwrap(),
        Reply::Bulk(Some(b"v\r\nwith crlf".to_vec()))
    );
    assert_eq!(c.cmd(&["GET", "missing"]).unwrap(), Reply::Bulk(None));
    assert_eq!(c.cmd(&["INCR", "n"]).unwrap(), Reply::Int(1));
    assert!(
        matches!(c.cmd(&["INCR", "k"]).unwrap(), Reply::Error(e) if e.contains("not an integer"))
    );
    // The connection is still usable after an error reply.
    let arr = c.cmd(&["MGET", "k", "missing"]).unwrap();
    assert_eq!(arr.items().len(), 2);
    assert_eq!(arr.items()[1], Reply::Bulk(None));
    let bin: Vec<u8> = (0..=255).collect();
    assert_eq!(
        c.cmd(&[&b"SET"[..], b"bin", &bin]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(c.cmd(&["GET", "bin"]).unwrap().bytes(), Some(&bin[..]));
}

#[test]
fn unreachable_redis_is_an_error_within_the_timeout() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let t0 = Instant::now();
    let e = RedisBroker::connect(&format!("127.0.0.1:{port}"))
        .err()
        .expect("nothing listens there");
    assert!(e.0.contains("cannot reach redis"), "{e}");
    // Bounded by the client's timeouts (3 s), not by the OS's minutes-long connect timeout.
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn stream_offsets_match_the_embedded_log() {
    let Some(b) = common::redis() else { return };
    let broker = phase4::consumers::open_broker(&b.url).expect("broker");
    broker.create_topic("t", 2).unwrap();
    assert_eq!(broker.partitions("t").unwrap(), 2);
    assert!(
        broker.create_topic("t", 3).is_err(),
        "a topic keeps its partition count"
    );
    assert_eq!(broker.end_offset("t", 1).unwrap(), 0);
    for i in 0..5u64 {
        assert_eq!(
            broker.produce("t", 1, format!("x{i}").as_bytes()).unwrap(),
            i
        );
    }
    assert_eq!(broker.end_offset("t", 1).unwrap(), 5);
    broker.create_group("t", "g").unwrap();
    broker.create_group("t", "g").unwrap(); // idempotent (BUSYGROUP)
    let recs = broker.fetch("t", "g", "c", 1, 2).unwrap();
    assert_eq!(recs[1].payload, b"x1");
    assert_eq!(broker.committed("t", "g", 1).unwrap(), 0);
    broker.commit("t", "g", 1, &[0, 1]).unwrap();
    assert_eq!(broker.committed("t", "g", 1).unwrap(), 2);
    broker.delete_topic("t").unwrap();
    assert!(broker.partitions("t").is_err());
}

#[test]
fn a_member_whose_redis_goes_away_returns_an_error_instead_of_hanging() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use harness::tempdir::unique_name;
    use phase4::consumers::scenarios::produce_messages;
    use phase4::consumers::{ConsumerConfig, GroupCoordinator, Handler, Probe, run_member};

    let Some(backend) = common::redis() else {
        return;
    };
    let broker = phase4::consumers::open_broker(&backend.url).expect("broker");
    let topic = unique_name("vanishing");
    produce_messages(&*broker, &topic, 2, 200, &[]).expect("produce");
    let handler: Handler = Arc::new(|_| {
        std::thread::sleep(Duration::from_millis(2));
        Ok(())
    });
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.exit_when_drained = true;
    let member = std::thread::spawn(move || {
        run_member(
            broker,
            Arc::new(GroupCoordinator::new(2)),
            cfg,
            handler,
            Probe::new(2),
            Arc::new(AtomicBool::new(false)),
        )
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(backend); // SHUTDOWN NOSAVE: the server is gone mid-run.
    let t0 = Instant::now();
    while !member.is_finished() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the member hung on a dead server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let err = member
        .join()
        .expect("no panic")
        .expect_err("the server went away");
    assert!(err.0.contains("redis"), "{err}");
}
