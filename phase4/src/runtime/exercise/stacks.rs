//! `stacks`: Go's growable stacks vs Rust's fixed thread stacks and stackless futures.
//!
//! A goroutine starts with a 2 KiB stack that the runtime grows by copying (up to 1 GB). A Rust thread
//! gets a fixed stack and a guard page; a Rust future has no stack: the compiler sizes the state
//! machine from what lives across its `.await`s, and recursion needs a `Box`.
use std::future::Future;
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::Ctx;

use crate::runtime::stack_child::CHILD_ENV;

async fn small() -> u32 {
    tokio::task::yield_now().await;
    1
}

async fn holds_a_kib() -> u32 {
    let buf = [7u8; 1024];
    tokio::task::yield_now().await;
    black_box(buf)[0] as u32
}

async fn nested() -> u32 {
    holds_a_kib().await + holds_a_kib().await + small().await
}

fn boxed_depth(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if n == 0 {
            0
        } else {
            boxed_depth(n - 1).await + 1
        }
    })
}

/// Bytes between two frames of a plain recursive function (stack grows down on x86-64 and aarch64).
#[inline(never)]
fn frame_bytes(depth: u32, prev: usize) -> usize {
    let here = black_box([0u8; 512]);
    let addr = here.as_ptr() as usize;
    if depth <= 1 {
        return prev.abs_diff(addr);
    }
    black_box(frame_bytes(depth - 1, addr))
}

pub(super) fn run(ctx: &mut Ctx) {
    let mut t = ctx.table(
        "future sizes (size_of_val, decided at compile time)",
        &["future", "bytes"],
    );
    let sizes = [
        (
            "async fn: one await, nothing held",
            std::mem::size_of_val(&small()),
        ),
        (
            "async fn holding [u8; 1024] across an await",
            std::mem::size_of_val(&holds_a_kib()),
        ),
        (
            "async fn awaiting three of those in sequence",
            std::mem::size_of_val(&nested()),
        ),
        (
            "Box::pin(recursive async fn): the handle only",
            std::mem::size_of_val(&boxed_depth(3)),
        ),
    ];
    for (name, n) in sizes {
        t.row([name.to_string(), n.to_string()]);
    }
    ctx.show(t);

    let depth = ctx.pick(20_000u32, 2_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let got = rt.block_on(boxed_depth(depth));
    drop(rt);

    let measured_frame = frame_bytes_pair();

    let stack = 256 * 1024usize;
    let exe = std::env::current_exe();
    let child = exe.and_then(|exe| {
        Command::new(exe)
            .env(CHILD_ENV, stack.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    });
    let (signal, last_depth, said_overflow, secs) = match child {
        Ok(mut c) => {
            let t0 = Instant::now();
            let deadline = Duration::from_secs(10);
            let status = loop {
                match c.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    Ok(None) if t0.elapsed() > deadline => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break None;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                    Err(_) => break None,
                }
            };
            let out = c.wait_with_output().ok();
            let stdout = out
                .as_ref()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let stderr = out
                .as_ref()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_default();
            let last = stdout
                .lines()
                .filter_map(|l| l.strip_prefix("depth ")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            (
                status.and_then(|s| s.signal()),
                last,
                stderr.contains("overflowed its stack"),
                t0.elapsed().as_secs_f64(),
            )
        }
        Err(e) => {
            ctx.check_with("child process started", false, e.to_string());
            return;
        }
    };
    let sig_name = match signal {
        Some(libc::SIGSEGV) => "SIGSEGV".to_string(),
        Some(libc::SIGABRT) => "SIGABRT".to_string(),
        Some(s) => format!("signal {s}"),
        None => "no signal (exited or killed at deadline)".to_string(),
    };
    let mut c = ctx.table(
        "the guard page, in a child process",
        &["measurement", "value"],
    );
    c.row([
        "thread stack_size of the child's thread".to_string(),
        format!("{} KiB", stack / 1024),
    ]);
    c.row([
        "deepest frame reported before death (512-byte locals each)".to_string(),
        last_depth.to_string(),
    ]);
    c.row([
        "≈ bytes per frame (stack / depth)".to_string(),
        (stack as u64 / last_depth.max(1)).to_string(),
    ]);
    c.row([
        "frame of a 512-byte-local fn measured in-process".to_string(),
        format!("{measured_frame} B"),
    ]);
    c.row(["the child died of".to_string(), sig_name.clone()]);
    c.row(["child run time".to_string(), format!("{secs:.2} s")]);
    ctx.show(c);

    ctx.check_with(
        "boxed async recursion ran to its full depth on the heap",
        got == depth,
        format!("{got}"),
    );
    ctx.check_with(
        "a future holding 1 KiB across an await is at least 1 KiB",
        sizes[1].1 >= 1024,
        format!("{} B", sizes[1].1),
    );
    ctx.check_with(
        "the overflowing child died of SIGSEGV or SIGABRT",
        matches!(signal, Some(libc::SIGSEGV) | Some(libc::SIGABRT)),
        sig_name,
    );
    ctx.check_with(
        "Rust's handler said the stack overflowed",
        said_overflow,
        "",
    );
    ctx.check_with(
        "the child got deep but not past its fixed stack",
        last_depth > 0 && last_depth * 512 <= stack as u64,
        format!("depth {last_depth}"),
    );
    ctx.takeaway(format!(
        "A thread's stack is fixed: {} KiB held ~{last_depth} frames of 512 B and then the guard page \
         killed the process; Go would have copied the stack bigger. Futures need no stack: boxed \
         recursion went {got} deep on the heap.",
        stack / 1024
    ));
}

#[inline(never)]
fn frame_bytes_pair() -> usize {
    let here = black_box([0u8; 512]);
    frame_bytes(1, here.as_ptr() as usize)
}
