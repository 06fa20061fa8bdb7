//! The experiments `exercise3` runs, one file per section.
mod backpressure;
mod consumer_group;
mod dlq;
mod idempotency;

use harness::Section;

pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "consumer-group",
        summary: "partitions, a group, rebalance on join/leave, commit of the finished prefix",
        run: consumer_group::run,
    },
    Section {
        name: "backpressure",
        summary: "bounded in-flight per partition: a full window pauses the fetch",
        run: backpressure::run,
    },
    Section {
        name: "idempotency",
        summary: "a consumer process SIGKILLed mid-batch, restarted: every message applied once",
        run: idempotency::run,
    },
    Section {
        name: "dlq",
        summary: "poison messages retried with backoff, dead-lettered with their error, replayed",
        run: dlq::run,
    },
];
