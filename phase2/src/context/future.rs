//! The async side: `ctx.cancelled().await`. Go: `case <-ctx.Done():` in a `select`; Rust: a future
//! to put in `tokio::select!`, woken by the cancel (its waker is registered in the node) or by a
//! tokio timer at the effective deadline.
use super::{Context, Reason};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskCx, Poll};

/// Resolves when the context is done, with the reason. Created by [`Context::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct Cancelled<'a> {
    /// The context waited on.
    ctx: &'a Context,
    /// This waiter's id in the node's waker map, once registered.
    slot: Option<u64>,
    /// The deadline timer, created on first poll if there is a deadline.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Context {
    /// A future resolving when this context is cancelled or its deadline passes (needs a tokio
    /// runtime with time enabled if there is a deadline). Go: `<-ctx.Done()` in a `select`.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            ctx: self,
            slot: None,
            timer: None,
        }
    }
}

impl Future for Cancelled<'_> {
    type Output = Reason;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Reason> {
        let this = self.get_mut();
        if let Some(r) = this.ctx.register(&mut this.slot, cx.waker()) {
            return Poll::Ready(r);
        }
        if let Some(deadline) = this.ctx.deadline() {
            let timer = this.timer.get_or_insert_with(|| {
                Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                    deadline,
                )))
            });
            // tokio's timer rounds up to the millisecond, so it cannot fire early in principle; if it
            // ever did, re-arm it rather than return Pending with no wake-up scheduled.
            while timer.as_mut().poll(cx).is_ready() {
                this.ctx.expire_now();
                if let Some(r) = this.ctx.reason() {
                    return Poll::Ready(r);
                }
                let again = tokio::time::Instant::now() + std::time::Duration::from_millis(1);
                timer.as_mut().reset(again);
            }
        }
        Poll::Pending
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.slot {
            self.ctx.unregister(id);
        }
    }
}
