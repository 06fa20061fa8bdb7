//! The `dlq` section of phase4/exercise3.
use std::time::Duration;

use harness::Ctx;
use harness::stats::fmt_ms;

use crate::consumers::cli::broker_url;
use crate::consumers::scenarios::dlq_scenario;

pub(super) fn run(ctx: &mut Ctx) {
    let url = broker_url();
    let n = ctx.pick(200, 60);
    let poison = [7usize, 31];
    let attempts = 3;
    let backoff = Duration::from_millis(2);
    let r = match dlq_scenario(url, n, 3, &poison, attempts, backoff) {
        Ok(r) => r,
        Err(e) => {
            ctx.check_with("the scenario ran", false, e.to_string());
            return;
        }
    };
    let mut t = ctx.table(
        "Dead-letter stream after the first pass",
        &["id", "from", "attempts", "error", "gaps between attempts"],
    );
    for (i, d) in r.dead_letters.iter().enumerate() {
        let gaps = r
            .retry_gaps
            .get(i)
            .map(|g| g.iter().map(|d| fmt_ms(*d)).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        t.row([
            d.id.clone(),
            format!("p{}@{}", d.partition, d.offset),
            d.attempts.to_string(),
            d.error.clone(),
            gaps,
        ]);
    }
    ctx.show(t);
    let mut s = ctx.table("Passes", &["pass", "applied", "dead letters"]);
    s.row([
        "1: poison fails".to_string(),
        r.applied_first_pass.to_string(),
        r.dead_letters.len().to_string(),
    ]);
    s.row([
        format!("2: handler fixed, {} replayed", r.replayed),
        r.applied_after_replay.to_string(),
        r.dead_letters_after.to_string(),
    ]);
    ctx.show(s);
    let mut dl_ids: Vec<String> = r
        .dead_letters
        .iter()
        .map(|d| crate::consumers::scenarios::message_id(&d.payload))
        .collect();
    dl_ids.sort();
    ctx.check_with(
        "exactly the poison messages were dead-lettered, after every attempt, with their error",
        dl_ids == r.poison
            && r.dead_letters
                .iter()
                .all(|d| d.attempts == attempts && d.error.contains("NaN")),
        format!("{dl_ids:?}"),
    );
    let scheduled: Vec<Duration> = (0..attempts - 1).map(|k| backoff * 2u32.pow(k)).collect();
    ctx.check_with(
        "retries backed off exponentially (each gap at least its scheduled delay)",
        r.retry_gaps.len() == poison.len()
            && r.retry_gaps.iter().all(|g| {
                g.len() == scheduled.len()
                    && g.iter().zip(&scheduled).all(|(got, want)| got >= want)
            }),
        format!("scheduled {scheduled:?}"),
    );
    ctx.check_with(
        "poison did not block its partitions: the rest applied, every partition committed to its end",
        r.applied_first_pass == n - poison.len() && r.committed_to_end,
        format!("{} applied", r.applied_first_pass),
    );
    ctx.check_with(
        "after the replay every message is applied and the dead-letter stream is empty",
        r.replayed == poison.len() && r.applied_after_replay == n && r.dead_letters_after == 0,
        format!(
            "{} replayed, {} applied, {} left",
            r.replayed, r.applied_after_replay, r.dead_letters_after
        ),
    );
    ctx.takeaway(format!(
        "{} poison messages took {attempts} attempts each, then moved aside with their error while \
         their partitions kept flowing; `exercise3 replay-dlq` put them back once the handler was fixed",
        r.poison.len()
    ));
}
