//! `stages`: a typed graph source → map → batch → sink, with the map stage run ordered and then
//! unordered at the same parallelism and the same per-item delays.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::Ctx;
use pipeline::{Pipeline, Report, Stage};

const BATCH: usize = 64;

/// A per-item delay that varies from item to item (0 to 12 virtual µs×100), so that parallel
/// items finish out of their input order.
fn delay(x: u64) -> Duration {
    Duration::from_micros(100 * (x.wrapping_mul(7919) % 13))
}

/// Runs `0..n` through `map(x → 3x + 1)` (8 workers, ordered or not), a batch of `BATCH` and a sink
/// that records the batches. Returns the items in arrival order, the batch sizes, and the report.
async fn run_chain(n: u64, ordered: bool) -> Option<(Vec<u64>, Vec<usize>, Report)> {
    let seen = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let sink = Arc::clone(&seen);
    let stage = Stage::new("square").with_parallelism(8);
    let stage = if ordered {
        stage.ordered()
    } else {
        stage.unordered()
    };
    let report = Pipeline::from_iter(0..n)
        .map(stage, |x| async move {
            tokio::time::sleep(delay(x)).await;
            3 * x + 1
        })
        .batch(Stage::new("batch"), BATCH, Duration::from_millis(5))
        .for_each(Stage::new("sink"), move |batch: Vec<u64>| {
            let mut g = sink.lock().unwrap_or_else(|e| e.into_inner());
            g.1.push(batch.len());
            g.0.extend(batch);
            async {}
        })
        .run()
        .await
        .ok()?;
    let (items, sizes) = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    Some((items, sizes, report))
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n: u64 = ctx.pick(20_000, 2_000);
    ctx.say(format!(
        "Pipeline::from_iter(0..{n}) → map \"square\" (x → 3x+1, 8 workers, a per-item delay of \
         0–1.2 ms that differs from item to item) → batch({BATCH}, 5 ms) → sink, on tokio's paused \
         clock; the map stage ordered, then unordered. The types carry through: u64 → u64 → Vec<u64>."
    ));
    let model: Vec<u64> = (0..n).map(|x| 3 * x + 1).collect();
    let mut table = ctx.table(
        "the same chain, the map stage ordered vs unordered",
        &[
            "mode",
            "items at sink",
            "batches",
            "largest batch",
            "out of place",
            "virtual time",
        ],
    );
    let mut results = Vec::new();
    for ordered in [true, false] {
        let Some((items, sizes, report)) = paused(n, ordered) else {
            ctx.check_with("the pipeline runs to its end", false, "watchdog or error");
            return;
        };
        let out_of_place = items.iter().zip(&model).filter(|(a, b)| a != b).count();
        table.row([
            if ordered { "ordered" } else { "unordered" }.to_string(),
            items.len().to_string(),
            sizes.len().to_string(),
            sizes.iter().max().copied().unwrap_or(0).to_string(),
            out_of_place.to_string(),
            format!("{:?}", report.elapsed),
        ]);
        ctx.record(
            if ordered {
                "ordered_out_of_place"
            } else {
                "unordered_out_of_place"
            },
            out_of_place as u64,
        );
        results.push((items, sizes, report, out_of_place));
    }
    ctx.show(table);
    let (o_items, o_sizes, o_report, _) = &results[0];
    let (u_items, u_sizes, u_report, u_out) = &results[1];
    ctx.check_with(
        "ordered: the sink receives exactly 3x+1 for x in input order",
        o_items == &model,
        format!(
            "{} items, first difference at {:?}",
            o_items.len(),
            o_items.iter().zip(&model).position(|(a, b)| a != b)
        ),
    );
    let mut sorted = u_items.clone();
    sorted.sort_unstable();
    ctx.check_with(
        "unordered: the sink receives the exact multiset (each 3x+1 once), in the order items finished",
        sorted == model && *u_out > 0,
        format!("{} items, {u_out} out of place", u_items.len()),
    );
    ctx.check_with(
        "batches: none larger than 64, their sizes sum to every item",
        [o_sizes, u_sizes].iter().all(|s| {
            s.iter().all(|&b| (1..=BATCH).contains(&b)) && s.iter().sum::<usize>() == n as usize
        }),
        format!("{} and {} batches", o_sizes.len(), u_sizes.len()),
    );
    ctx.check_with(
        "the reports account for every item at every stage",
        super::accounted(o_report) && super::accounted(u_report),
        format!(
            "sink completed {} / {}",
            o_report.stage("sink").map_or(0, |s| s.completed),
            o_sizes.len()
        ),
    );
    ctx.takeaway(
        "Order is a property of the stage, chosen on purpose: an ordered stage holds finished items \
         until their predecessors are out; an unordered one gives up the order, never an item.",
    );
}

fn paused(n: u64, ordered: bool) -> Option<(Vec<u64>, Vec<usize>, Report)> {
    super::paused(run_chain(n, ordered)).flatten()
}
