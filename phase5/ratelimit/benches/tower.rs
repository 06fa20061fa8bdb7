//! The tower layer's cost per request, ours vs tower_governor (governor behind a tower layer), on the
//! same trivial axum handler (`|| async { "hello" }`), one global limit. Each request goes through the
//! router in-process with `tower::ServiceExt::oneshot` (no sockets, no runtime): every future here is
//! ready on its first poll, so an iteration is the router, the layer and the handler, nothing else.
//! `baseline-no-layer` is the router without a layer: the difference is the layer's cost.
//!
//! - `ratelimit/tower [admit]`: every request admitted (a quota of 10^9 per second, burst 10^9).
//!   `ours` writes `RateLimit-Limit/Remaining/Reset` on every response (a snapshot per request), as
//!   does `tower_governor-headers` (`use_headers()`: `x-ratelimit-limit/remaining`); `ours-no-headers`
//!   and `tower_governor` (its default) add none. Each is measured against its like.
//! - `ratelimit/tower [deny]`: every request refused (burst 1, one per hour, spent before measuring):
//!   ours answers 429 with `Retry-After` and the three `RateLimit-*` headers, tower_governor 429 with
//!   `retry-after` and `x-ratelimit-after`.
//!
//! Both limit one global key: ours `Global<Gcra>` with `GlobalKey`, tower_governor its
//! `GlobalKeyExtractor` (a keyed governor limiter with the key `()`).
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use ratelimit::tower::{GlobalKey, RateLimitLayer};
use ratelimit::{Gcra, Global, Quota};
use tower::ServiceExt;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::GlobalKeyExtractor;

/// Polls `fut` once: every future of this bench completes without waiting, and one that does not is
/// an error, not a hang.
fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a request did not complete on its first poll"),
    }
}

fn request() -> Request<Body> {
    Request::builder().uri("/").body(Body::empty()).unwrap()
}

fn handler() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// Sends one request through `router`; returns the status so the work is not optimised away.
fn send(router: &Router) -> u16 {
    let response = now(router.clone().oneshot(request())).unwrap_or_else(|never| match never {});
    response.status().as_u16()
}

fn ours(quota: Quota, headers: bool) -> Router {
    let layer = RateLimitLayer::builder(Global(Gcra::new(quota)), GlobalKey)
        .admitted_headers(headers)
        .build();
    handler().layer(layer)
}

fn tower_governor(per: Duration, burst: u32, headers: bool) -> Router {
    let mut builder = GovernorConfigBuilder::default().key_extractor(GlobalKeyExtractor);
    builder.period(per).burst_size(burst);
    if headers {
        let config = builder
            .use_headers()
            .finish()
            .expect("a valid governor quota");
        handler().layer(GovernorLayer::<_, _, Body>::new(config))
    } else {
        let config = builder.finish().expect("a valid governor quota");
        handler().layer(GovernorLayer::<_, _, Body>::new(config))
    }
}

fn bench_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit/tower");

    // Admitted: one permit per ns, a burst of 10^9: no request of the run is refused.
    let burst = 1_000_000_000;
    let quota = Quota::new(1, Duration::from_nanos(1))
        .and_then(|q| q.with_burst(burst))
        .expect("a valid quota");
    let contenders = [
        ("baseline-no-layer", handler()),
        ("ours", ours(quota, true)),
        ("ours-no-headers", ours(quota, false)),
        (
            "tower_governor-headers",
            tower_governor(Duration::from_nanos(1), burst, true),
        ),
        (
            "tower_governor",
            tower_governor(Duration::from_nanos(1), burst, false),
        ),
    ];
    for (label, router) in &contenders {
        assert_eq!(send(router), 200, "{label}: the admit scenario refused");
        g.bench_function(benchkit::id(label, "admit"), |b| {
            b.iter(|| black_box(send(router)))
        });
    }

    // Refused: burst 1, one per hour; the first request spends it.
    let hourly = Quota::per_hour(1).expect("a valid quota");
    let contenders = [
        ("ours", ours(hourly, true)),
        (
            "tower_governor",
            tower_governor(Duration::from_secs(3600), 1, false),
        ),
    ];
    for (label, router) in &contenders {
        assert_eq!(send(router), 200, "{label}: the first request was refused");
        assert_eq!(send(router), 429, "{label}: the second request passed");
        g.bench_function(benchkit::id(label, "deny"), |b| {
            b.iter(|| black_box(send(router)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = bench_group
}
criterion_main!(benches);
