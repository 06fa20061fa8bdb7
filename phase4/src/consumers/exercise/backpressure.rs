//! The `backpressure` section of phase4/exercise3.
use harness::Ctx;
use harness::stats::fmt_ms;

use crate::consumers::cli::broker_url;
use crate::consumers::scenarios::backpressure_scenario;

pub(super) fn run(ctx: &mut Ctx) {
    let url = broker_url();
    let n = ctx.pick(2000, 600);
    let bound = 4;
    let mut runs = Vec::new();
    for b in [Some(bound), None] {
        match backpressure_scenario(url, n, 4, b) {
            Ok(r) => runs.push(r),
            Err(e) => {
                ctx.check_with("the scenario ran", false, e.to_string());
                return;
            }
        }
    }
    ctx.say(format!(
        "{n} records on 4 partitions, one member, 2 workers of ~150 µs each: with a bound of {bound} \
         per partition, and without one."
    ));
    let mut t = ctx.table(
        "In-flight window per partition (dispatched, not yet committable)",
        &[
            "bound",
            "max in flight per partition (measured)",
            "fetches paused",
            "applied",
            "elapsed",
        ],
    );
    for r in &runs {
        t.row([
            r.bound.map_or("none".to_string(), |b| b.to_string()),
            format!("{:?}", r.max_in_flight),
            r.fetch_pauses.to_string(),
            r.applied.to_string(),
            fmt_ms(r.elapsed),
        ]);
    }
    ctx.show(t);
    let (bounded, unbounded) = (&runs[0], &runs[1]);
    let bmax = bounded.max_in_flight.iter().copied().max().unwrap_or(0);
    let umax = unbounded.max_in_flight.iter().copied().max().unwrap_or(0);
    ctx.record("bounded_max_in_flight", bmax);
    ctx.record("unbounded_max_in_flight", umax);
    ctx.check_with(
        "bounded: no partition ever had more than the bound in flight",
        bounded.max_in_flight.iter().all(|&m| m <= bound),
        format!("{:?} ≤ {bound}", bounded.max_in_flight),
    );
    ctx.check_with(
        "bounded: the fetch paused (the bound was what held the consumer back)",
        bounded.fetch_pauses > 0 && bmax == bound,
        format!("{} pauses, max {bmax}", bounded.fetch_pauses),
    );
    ctx.check_with(
        "unbounded: the window grew far past the bound",
        umax > 4 * bound,
        format!("max {umax}"),
    );
    ctx.check(
        "both runs applied every record",
        runs.iter().all(|r| r.applied == n),
    );
    ctx.takeaway(format!(
        "without a bound the consumer pulled up to {umax} records per partition into memory; with a \
         bound of {bound} it paused fetching {} times instead and finished the same work",
        bounded.fetch_pauses
    ));
}
