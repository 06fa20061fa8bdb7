//! The `idempotency` section of phase4/exercise3.
use harness::Ctx;

use crate::consumers::cli::broker_url;
use crate::consumers::scenarios::crash_restart_scenario;

pub(super) fn run(ctx: &mut Ctx) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            ctx.check_with(
                "found the exercise binary to re-execute",
                false,
                e.to_string(),
            );
            return;
        }
    };
    let url = broker_url();
    let n = ctx.pick(600, 300);
    let r = match crash_restart_scenario(&exe, url, n, 4) {
        Ok(r) => r,
        Err(e) => {
            ctx.check_with("the scenario ran", false, e);
            return;
        }
    };
    ctx.say(format!(
        "{n} messages on 4 partitions. A child process (`exercise3 consume-child`) applies them to a \
         file sink and commits every 25 completions; it stalls after {} applied — mid-batch — and is \
         SIGKILLed. A second child restarts the group.",
        r.stall_after
    ));
    let mut t = ctx.table("Crash and restart", &["quantity", "value"]);
    t.row([
        "applied when killed".to_string(),
        r.applied_at_kill.to_string(),
    ]);
    t.row([
        "committed when killed (sum of offsets)".to_string(),
        r.committed_at_kill.to_string(),
    ]);
    t.row([
        "delivered again after restart, skipped by the sink".to_string(),
        r.duplicates_skipped.to_string(),
    ]);
    t.row([
        "reclaimed from the dead consumer (XAUTOCLAIM; 0 on the embedded log)".to_string(),
        r.reclaimed.to_string(),
    ]);
    t.row([
        "sink lines / distinct / missing".to_string(),
        format!("{} / {} / {}", r.sink_lines, r.distinct, r.missing),
    ]);
    ctx.show(t);
    ctx.record("duplicates_skipped", r.duplicates_skipped);
    ctx.check("the first child died of SIGKILL", r.killed_by_sigkill);
    let window = r.applied_at_kill as u64 - r.committed_at_kill.min(r.applied_at_kill as u64);
    ctx.check_with(
        "the kill landed between apply and commit",
        r.applied_at_kill as u64 > r.committed_at_kill,
        format!(
            "{} applied, {} committed",
            r.applied_at_kill, r.committed_at_kill
        ),
    );
    ctx.check_with(
        "exactly the applied-but-uncommitted messages were delivered again (at least once)",
        r.duplicates_skipped == window,
        format!("{} redelivered, {window} expected", r.duplicates_skipped),
    );
    ctx.check_with(
        "the idempotent sink holds every message exactly once",
        r.sink_lines == n && r.distinct == n && r.missing == 0,
        format!(
            "{} lines, {} distinct, {} missing",
            r.sink_lines, r.distinct, r.missing
        ),
    );
    ctx.check(
        "every partition committed to its end after the restart",
        r.committed_to_end,
    );
    ctx.takeaway(format!(
        "the crash left {window} messages applied but uncommitted; the restart delivered them again \
         and the idempotent sink skipped them: at-least-once delivery, exactly-once effect"
    ));
}
