//! The pool conformance suite on the ecosystem's pools: if one of them fails a case it has the
//! feature for, the suite is wrong. What each lacks is printed as `SKIP <case> on <peer>: <reason>`
//! (run with `--nocapture` to read them); a declared lack is still checked, and must fail.
use harness::contracts::pool::{RayonFlavor, RustyPoolFlavor, ThreadpoolFlavor};
use harness::pool_conformance;

pool_conformance!(threadpool, ThreadpoolFlavor);
pool_conformance!(rusty_pool, RustyPoolFlavor);
pool_conformance!(rayon, RayonFlavor);

#[cfg(not(loom))]
pool_conformance!(
    tokio_spawn_blocking,
    harness::contracts::pool::TokioBlockingFlavor
);
