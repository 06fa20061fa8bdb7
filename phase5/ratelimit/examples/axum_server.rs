//! An axum server on loopback, rate-limited per client IP address by `ratelimit::tower`.
//!
//! ```text
//! cargo run -p ratelimit --features axum --example axum_server -- [--serve-for SECS] [--port PORT]
//! ```
//! It prints the curl commands to try, serves for `--serve-for` seconds (default 5; 0 = until
//! Ctrl-C), then shuts down gracefully. Each address may make 5 requests at once, then one every
//! 200 ms; the sixth request of a quick loop gets a 429 with `Retry-After`.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use ratelimit::tower::{PeerIp, RateLimitLayer};
use ratelimit::{Denied, Gcra, KeyedRateLimiter, Quota, RateLimiter, Snapshot};

/// One GCRA per client address. It grows by one entry per address seen: fine on loopback; a server
/// facing the internet needs a keyed limiter that bounds its memory.
struct PerIp {
    quota: Quota,
    limiters: Mutex<HashMap<IpAddr, Arc<Gcra>>>,
}

impl PerIp {
    fn limiter(&self, ip: &IpAddr) -> Arc<Gcra> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            limiters
                .entry(*ip)
                .or_insert_with(|| Arc::new(Gcra::new(self.quota))),
        )
    }
}

impl KeyedRateLimiter<IpAddr> for PerIp {
    fn check_key_n(&self, ip: &IpAddr, n: u32) -> Result<(), Denied> {
        self.limiter(ip).check_n(n)
    }
    fn snapshot_key(&self, ip: &IpAddr) -> Snapshot {
        self.limiter(ip).snapshot()
    }
    fn quota(&self) -> Quota {
        self.quota
    }
}

struct Args {
    serve_for: Duration,
    port: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        serve_for: Duration::from_secs(5),
        port: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value ({what})"))
        };
        match flag.as_str() {
            "--serve-for" => {
                let v = value("seconds")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--serve-for: {v:?} is not a whole number of seconds"))?;
                args.serve_for = Duration::from_secs(secs);
            }
            "--port" => {
                let v = value("a TCP port")?;
                args.port = v
                    .parse()
                    .map_err(|_| format!("--port: {v:?} is not a port number"))?;
            }
            "--quick" => args.serve_for = Duration::from_secs(1),
            "-h" | "--help" => {
                return Err(String::from(
                    "usage: axum_server [--serve-for SECS (0: until Ctrl-C)] [--port PORT] [--quick]",
                ));
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let quota = Quota::new(5, Duration::from_secs(1)).expect("5 per second is a valid quota");
    let limiter = PerIp {
        quota,
        limiters: Mutex::default(),
    };
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(RateLimitLayer::new(limiter, PeerIp));

    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("no local address: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on http://{addr}/ — 5 requests at once per client address, then 1 every 200 ms"
    );
    println!("try:");
    println!("  curl -i http://{addr}/");
    println!(
        "  for i in $(seq 8); do curl -s -o /dev/null -w '%{{http_code}} retry-after=%header{{retry-after}}\\n' http://{addr}/; done"
    );
    if args.serve_for.is_zero() {
        println!("serving until Ctrl-C");
    } else {
        println!(
            "serving for {} s (or until Ctrl-C)",
            args.serve_for.as_secs()
        );
    }

    let serve_for = args.serve_for;
    let stop = async move {
        let timer = async {
            if serve_for.is_zero() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(serve_for).await
            }
        };
        tokio::select! {
            _ = timer => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await;
    match served {
        Ok(()) => {
            println!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
