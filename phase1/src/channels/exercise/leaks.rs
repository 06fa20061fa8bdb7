//! `leaks`: a goroutine blocked forever on a channel is Go's most common leak, and a thread blocked
//! forever is Rust's. Two of them, each counted with the live-thread checker before, during and after
//! its fix, and each finally released and joined.
use std::thread;
use std::time::Duration;

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;

use crate::channels::{SendTimeoutError, bounded};

const GRACE: Duration = Duration::from_secs(2);

pub(crate) fn run(ctx: &mut Ctx) {
    let pause = Duration::from_millis(ctx.pick(50, 20));
    let mut t = ctx.table(
        "threads alive (named ch-leak-*)",
        &["leak", "before", "during", "after the fix", "values"],
    );

    // 1. A stray Sender clone keeps the consumer's `for v in rx` alive forever.
    let check = ThreadLeakCheck::named("ch-leak-");
    let before = check.alive_now().len();
    let (tx, rx) = bounded::<u32>(8);
    let consumer = thread::Builder::new()
        .name("ch-leak-rx".into())
        .spawn(move || rx.iter().count())
        .expect("spawn");
    let stray = tx.clone(); // e.g. kept in a struct "for later", or captured by a callback
    for v in 0..10 {
        tx.send(v).expect("consumer alive");
    }
    drop(tx); // the producer is done and closes... but the stray clone keeps the channel open
    thread::sleep(pause);
    let during = check.alive_after(1, GRACE);
    drop(stray); // the fix: drop every Sender clone (own them in one place)
    let received = consumer.join().expect("consumer");
    let after = check.alive_after(0, GRACE);
    t.row([
        "receiver waiting on a stray Sender clone".to_string(),
        before.to_string(),
        during.to_string(),
        format!("{after} (stray clone dropped)"),
        format!("{received} received, then the loop ended"),
    ]);
    ctx.record("stray_sender_threads_during", during);
    ctx.record("stray_sender_threads_after", after);
    ctx.check(
        "stray Sender: the consumer stayed blocked after the producer finished",
        during == 1,
    );
    ctx.check(
        "stray Sender: dropping it ended the loop with all 10 values and the thread exited",
        received == 10 && after == before,
    );

    // 2. A sender blocked on a full channel whose consumer returned early but kept the Receiver.
    let check = ThreadLeakCheck::named("ch-leak-");
    let before = check.alive_now().len();
    let (tx, rx) = bounded::<u32>(2);
    let producer = thread::Builder::new()
        .name("ch-leak-tx".into())
        .spawn(move || (0..10).take_while(|v| tx.send(*v).is_ok()).count())
        .expect("spawn");
    let first_two: Vec<u32> = rx.iter().take(2).collect(); // "found what I needed", returns early
    thread::sleep(pause);
    let during = check.alive_after(1, GRACE);
    drop(rx); // the fix: let the Receiver go, so the blocked send fails and returns its value
    let sent = producer.join().expect("producer");
    let after = check.alive_after(0, GRACE);
    t.row([
        "sender blocked on a full channel (consumer left early)".to_string(),
        before.to_string(),
        during.to_string(),
        format!("{after} (Receiver dropped)"),
        format!(
            "{} taken, {sent} sent, the 5th send failed",
            first_two.len()
        ),
    ]);
    ctx.record("full_channel_threads_during", during);
    ctx.record("full_channel_threads_after", after);
    ctx.check(
        "full channel: the producer stayed blocked while the Receiver lived",
        during == 1,
    );
    // 2 taken + 2 buffered + nothing else: the fifth send blocks and then fails.
    ctx.check(
        "full channel: dropping the Receiver failed the blocked send; the thread exited",
        sent == 4 && after == before,
    );

    // 2b. The same producer written with send_timeout: it gives up by itself, no fix needed outside.
    let check = ThreadLeakCheck::named("ch-leak-");
    let (tx, rx) = bounded::<u32>(2);
    let producer = thread::Builder::new()
        .name("ch-leak-to".into())
        .spawn(move || {
            let mut sent = 0;
            for v in 0..10 {
                match tx.send_timeout(v, Duration::from_millis(20)) {
                    Ok(()) => sent += 1,
                    Err(SendTimeoutError::Timeout(_)) | Err(SendTimeoutError::Disconnected(_)) => {
                        break;
                    }
                }
            }
            sent
        })
        .expect("spawn");
    let _first_two: Vec<u32> = rx.iter().take(2).collect();
    let sent = producer.join().expect("producer"); // the Receiver is still alive here
    let after = check.alive_after(0, GRACE);
    t.row([
        "same producer with send_timeout(20 ms)".to_string(),
        "0".into(),
        "-".into(),
        format!("{after} (gave up by itself)"),
        format!("{sent} sent, then Timeout"),
    ]);
    ctx.check(
        "send_timeout: the producer gave up and exited while the Receiver was still alive",
        sent == 4 && after == 0,
    );
    drop(rx);
    ctx.show(t);
    ctx.takeaway(
        "A thread blocked on a channel is a leak no compiler sees: every one here was found by counting \
         live threads, and each fix was about ownership (drop the stray handle) or a deadline.",
    );
}
