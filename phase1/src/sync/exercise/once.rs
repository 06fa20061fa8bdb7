//! `once`: `Once`, `OnceLock`, `LazyLock` and our `OnceCell` under concurrent first use, and what
//! each does after a panicking initialiser.
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, LazyLock, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::exercise::expect_panic;

use crate::sync::OnceCell;

const THREADS: usize = 4;

/// The first use of a fresh primitive, shared by the racing threads.
type Racer = Box<dyn Fn() -> u64 + Send + Sync>;

/// Starts `THREADS` threads at once (a barrier) on `first_use`; returns how many saw the value 42.
fn race(first_use: Racer) -> usize {
    let f: Arc<Racer> = Arc::new(first_use);
    let barrier = Arc::new(Barrier::new(THREADS));
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let (f, barrier) = (f.clone(), barrier.clone());
            thread::Builder::new()
                .name("once-racer".into())
                .spawn(move || {
                    barrier.wait();
                    f()
                })
                .expect("spawn")
        })
        .collect();
    hs.into_iter()
        .map(|h| h.join().expect("racer"))
        .filter(|v| *v == 42)
        .count()
}

/// The initialiser every primitive runs: slow enough that the racers really overlap.
fn init(runs: &AtomicUsize) -> u64 {
    runs.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(2));
    42
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "Go's sync.Once runs a function once; the other callers block until it returns. Rust splits the\n\
         idea: Once (run a side effect), OnceLock<T> (compute a value on first get), LazyLock<T> (a value\n\
         with its initialiser attached). Ours is a OnceCell on one atomic word whose waiters sleep on a futex.\n\
         4 threads released together by a barrier all ask for the value; the initialiser counts its runs.",
    );
    let rounds = ctx.pick(20, 3);
    let mut t = ctx.table(
        format!("{THREADS} threads race to initialise, {rounds} rounds"),
        &[
            "primitive",
            "initialiser runs",
            "threads that got the value",
            "get once set",
        ],
    );
    let expected = (rounds, rounds * THREADS);
    // One row per primitive: `first_use(runs)` builds a fresh instance whose first use runs `init`;
    // `warm_get` is one get on an instance already initialised.
    let mut row =
        |name: &str, first_use: &dyn Fn(Arc<AtomicUsize>) -> Racer, warm_get: &mut dyn FnMut()| {
            let (mut runs_total, mut seen) = (0, 0);
            for _ in 0..rounds {
                let runs = Arc::new(AtomicUsize::new(0));
                seen += race(first_use(runs.clone()));
                runs_total += runs.load(SeqCst);
            }
            let get = ns_per_call(warm_get);
            t.row([
                name.to_string(),
                runs_total.to_string(),
                seen.to_string(),
                format!("{get:.2} ns"),
            ]);
            ((runs_total, seen) == expected, get)
        };

    let once = Once::new();
    once.call_once(|| {});
    let std_once = row(
        "std::sync::Once",
        &|r| {
            let once = (Once::new(), OnceLock::<u64>::new());
            Box::new(move || {
                once.0.call_once(|| {
                    let _ = once.1.set(init(&r));
                });
                *once.1.get().expect("set by call_once")
            })
        },
        &mut || std::hint::black_box(&once).call_once(|| unreachable!()),
    );
    let lock = OnceLock::new();
    lock.get_or_init(|| 42u64);
    let std_once_lock = row(
        "std::sync::OnceLock",
        &|r| {
            let cell = OnceLock::new();
            Box::new(move || *cell.get_or_init(|| init(&r)))
        },
        &mut || {
            std::hint::black_box(std::hint::black_box(&lock).get_or_init(|| 0));
        },
    );
    let lazy = LazyLock::new(|| 42u64);
    LazyLock::force(&lazy);
    let std_lazy = row(
        "std::sync::LazyLock",
        &|r| {
            let lazy = LazyLock::new(move || init(&r));
            Box::new(move || *lazy)
        },
        &mut || {
            std::hint::black_box(**std::hint::black_box(&lazy));
        },
    );
    let cell = OnceCell::new();
    cell.get_or_init(|| 42u64);
    let ours = row(
        "ours: OnceCell",
        &|r| {
            let cell = OnceCell::new();
            Box::new(move || *cell.get_or_init(|| init(&r)))
        },
        &mut || {
            std::hint::black_box(std::hint::black_box(&cell).get_or_init(|| 0));
        },
    );
    let all = [std_once, std_once_lock, std_lazy, ours];
    let exactly_once = all.iter().all(|(ok, _)| *ok);
    let slowest_get = all.iter().map(|(_, get)| *get).fold(0f64, f64::max);
    let (expected_runs, expected_seen) = expected;
    ctx.show(t);
    ctx.record("rounds", rounds);
    ctx.check_with(
        "every primitive ran its initialiser exactly once per round, and every thread got the value",
        exactly_once,
        format!("expected {expected_runs} runs, {expected_seen} values"),
    );

    // Poisoning.
    let mut p = ctx.table(
        "after an initialiser that panics",
        &["primitive", "first call", "next call"],
    );
    let once = Once::new();
    let first = expect_panic(|| once.call_once(|| panic!("init failed")));
    let next = expect_panic(|| once.call_once(|| {}));
    p.row([
        "Once".to_string(),
        describe(&first.map(|_| "returned")),
        format!(
            "{} (is_completed={}; call_once_force can recover)",
            describe(&next.map(|_| "ran")),
            once.is_completed()
        ),
    ]);
    let lock = OnceLock::<u64>::new();
    let first = expect_panic(|| *lock.get_or_init(|| panic!("init failed")));
    let next = expect_panic(|| *lock.get_or_init(|| 7));
    let once_lock_retried = next == Ok(7);
    p.row([
        "OnceLock".to_string(),
        describe(&first.map(|v| v.to_string())),
        format!(
            "{}: not poisoned, the next caller retries",
            describe(&next.map(|v| format!("returned {v}")))
        ),
    ]);
    let lazy: LazyLock<u64> = LazyLock::new(|| panic!("init failed"));
    let first = expect_panic(|| *lazy);
    let next = expect_panic(|| *lazy);
    p.row([
        "LazyLock".to_string(),
        describe(&first.map(|v| v.to_string())),
        describe(&next.map(|v| v.to_string())),
    ]);
    let ours = OnceCell::<u64>::new();
    let first = expect_panic(|| *ours.get_or_init(|| panic!("init failed")));
    let next = ours.try_get_or_init(|| 7).copied();
    let next_panics = expect_panic(|| *ours.get_or_init(|| 7));
    let ours_poisoned = next.is_err() && ours.is_poisoned() && next_panics.is_err();
    p.row([
        "ours: OnceCell".to_string(),
        describe(&first.map(|v| v.to_string())),
        format!(
            "try_get_or_init → {:?}; get_or_init {}",
            next,
            describe(&next_panics.map(|v| v.to_string()))
        ),
    ]);
    ctx.show(p);
    ctx.check(
        "ours: a panicking initialiser poisons the cell and later calls report it",
        ours_poisoned,
    );
    ctx.check(
        "OnceLock: a panicking initialiser leaves it empty and the next call retries",
        once_lock_retried,
    );
    ctx.takeaway(format!(
        "all four ran the initialiser exactly once and a get after init costs ≤ {slowest_get:.2} ns: pick by failure policy (OnceLock retries; Once, LazyLock and ours poison)"
    ));
}

/// Nanoseconds per call of `f` (median of 5 rounds of 1M calls), as a float: a get on an initialised
/// cell is a load and a compare, well under 1 ns when the branch is predicted.
fn ns_per_call(f: &mut dyn FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..1_000_000 {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e9 / 1e6
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn describe<T: std::fmt::Display>(r: &Result<T, String>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(msg) => format!("panics: \"{msg}\""),
    }
}
