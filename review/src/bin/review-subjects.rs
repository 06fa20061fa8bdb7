//! Reviews the channels this repository ships, for the diagnosis tests and for a look at what a
//! review says: `cargo run -p review --bin review-subjects -- flawed:lost-wakeup`.
//!
//! Subjects: `naive` (the attempt template), `ours` (phase 1), `std` (`std::sync::mpsc`),
//! `crossbeam`, and `flawed:<flaw>` for each catalogued flaw (`flawed:none` has no mistake).
use std::process::ExitCode;

use clap::Parser;
use harness::contracts::channel::{ChannelFlavor, Crossbeam, StdMpsc};
use phase1::channels::contract::Ours;
use review::driver::ReviewArgs;
use review::kinds::channel::{self, flawed, flawed::Flawed, naive};

#[derive(Debug, Parser)]
#[command(about = "Review one of the channels this repository ships")]
struct Cli {
    /// naive, ours, std, crossbeam, or flawed:<flaw id> (flawed:none for the switch-free one).
    subject: String,
    #[command(flatten)]
    args: ReviewArgs,
}

fn flawed_ids() -> Vec<String> {
    flawed::SWITCHES
        .iter()
        .map(|(_, id)| format!("flawed:{}", id.unwrap_or("none")))
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let a = &cli.args;
    fn go<F: ChannelFlavor>(a: &ReviewArgs) -> ExitCode {
        channel::review::<F>(a)
    }
    match cli.subject.as_str() {
        "naive" => go::<naive::Attempt>(a),
        "ours" => go::<Ours>(a),
        "std" => go::<StdMpsc>(a),
        "crossbeam" => go::<Crossbeam>(a),
        "flawed:none" => go::<Flawed<{ flawed::CORRECT }>>(a),
        "flawed:sender-not-woken-on-close" => {
            go::<Flawed<{ flawed::SENDER_NOT_WOKEN_ON_CLOSE }>>(a)
        }
        "flawed:receiver-not-woken-on-close" => {
            go::<Flawed<{ flawed::RECEIVER_NOT_WOKEN_ON_CLOSE }>>(a)
        }
        "flawed:buffered-values-leak" => go::<Flawed<{ flawed::BUFFERED_VALUES_LEAK }>>(a),
        "flawed:fifo-violated" => go::<Flawed<{ flawed::FIFO_VIOLATED }>>(a),
        "flawed:lost-wakeup" => go::<Flawed<{ flawed::LOST_WAKEUP }>>(a),
        "flawed:capacity-exceeded" => go::<Flawed<{ flawed::CAPACITY_EXCEEDED }>>(a),
        "flawed:close-before-drain" => go::<Flawed<{ flawed::CLOSE_BEFORE_DRAIN }>>(a),
        other => {
            eprintln!(
                "review-subjects: unknown subject '{other}'; valid: naive, ours, std, crossbeam, {}",
                flawed_ids().join(", ")
            );
            ExitCode::from(2)
        }
    }
}
