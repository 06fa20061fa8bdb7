//! # The tour of `ratelimit` (phase5/exercise3)
//!
//! Go programs reach for `golang.org/x/time/rate`: a token bucket behind a mutex, with reservations.
//! The `ratelimit` crate puts every classic algorithm behind one trait, each reading an injectable
//! clock, so this tour can check exact admissions on virtual time instead of sleeping, and judge an
//! algorithm by replaying traces against the ideal limiter.
mod api;
mod distributed;
mod http;
mod keyed;
mod multi;
mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use harness::Section;
use harness::exercise::Before;

/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase5/exercise3",
    title: "Capstone: a rate limiter library (ratelimit)",
    goal: "Every rate limiter behind one trait, judged on virtual time against the ideal limiter: what \
           each admits, where it breaks the quota, what it rejects that it should not.",
    go_vs_rust: "Go's x/time/rate is one token bucket behind a mutex, read through time.Now(); here the \
        algorithms share a trait and take their clock as a parameter, so a replay on a virtual clock \
        decides exactly what a production run would have.",
    sections: SECTIONS,
};

static SECTIONS: &[Section] = &[
    Section {
        name: "api",
        summary: "check, reservations (cancel, settle), wait under a timeout, quota changes, snapshots — on a manual clock",
        run: api::run,
    },
    Section {
        name: "keyed",
        summary: "a million keys: memory per key, idle keys forgotten, the hard cap (deny new keys vs evict least debt)",
        run: keyed::run,
    },
    Section {
        name: "multi-quota",
        summary: "user ∧ org ∧ global quotas all-or-nothing: a denial consumes none; threads stay within every bound",
        run: multi::run,
    },
    Section {
        name: "http",
        summary: "the tower layer on an axum server over loopback: RateLimit-* headers, 429 + Retry-After, 413, N connections held to one quota",
        run: http::run,
    },
    Section {
        name: "distributed",
        summary: "RedisGcra: clients sharing one quota, a check vs an INCR round trip, OnError with the server killed and restarted (--redis URL, or a redis-server on PATH)",
        run: distributed::run,
    },
    Section {
        name: "verify",
        summary: "request traces replayed on a virtual clock: worst window, largest burst, false rejects",
        run: verify::run,
    },
];

/// The binary's own flag, read before the harness parses the rest: `--redis URL` (or `--redis=URL`)
/// runs the `distributed` section against that server instead of starting one.
pub fn before(args: Vec<OsString>) -> Before {
    let mut rest = Vec::with_capacity(args.len());
    let mut url = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--redis") => match it.next().and_then(|v| v.into_string().ok()) {
                Some(v) => url = Some(v),
                None => return usage("--redis needs a URL (redis://HOST:PORT/)"),
            },
            Some(s) if s.starts_with("--redis=") => url = Some(s["--redis=".len()..].to_owned()),
            _ => rest.push(a),
        }
    }
    if let Some(url) = url {
        // Parsed once now, so a bad URL is one line and exit 2, not a failed section.
        if let Err(e) = ::redis::Client::open(url.as_str()) {
            return usage(&format!("--redis {url:?}: {e}"));
        }
        let _ = distributed::REDIS_URL.set(url);
    }
    Before::Run(rest)
}

fn usage(message: &str) -> Before {
    eprintln!("error: {message}");
    Before::Exit(ExitCode::from(2))
}
