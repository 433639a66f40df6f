//! Keeping LookupEvents under CloudTrail's rate: 2 requests per second per account and region.
//!
//! That limit is CloudTrail's, shared by everyone in the account, and small enough that
//! paging at full speed (a page answers in tens of milliseconds) would be throttled on the
//! third page. So the function never sends two requests less than [`REQUEST_SPACING`] apart:
//! every request, first pages, next pages and retries alike, takes a slot from one
//! [`Pacer`], which lives in the handler and therefore across the invocations of a warm
//! sandbox (a second question right after the first does not burst either).
//!
//! The spacing is 600 ms, not exactly half a second: whoever counts requests (CloudTrail,
//! or the test double) sees them arrive with some jitter, and two requests sent exactly
//! 500 ms apart can arrive 499 ms apart, making three in one second. The margin costs little:
//! the 4 pages of a 200-event answer take 1.8 s instead of 1.5 s.
//!
//! Other sandboxes and other callers in the account share the same 2 per second, which no
//! spacing here can see: their load shows up as `ThrottlingException`, which the handler
//! retries with [`crate::THROTTLE_BACKOFF`], each retry again through the pacer.

use std::time::{Duration, Instant};

use common::{
    Deadline, ErrorCode, ToolError,
    deadline::{ANSWER_RESERVE, MIN_UPSTREAM_BUDGET},
};

/// Least time between two LookupEvents requests: CloudTrail allows 2 per second per account;
/// 100 ms more is the margin for arrival jitter.
pub const REQUEST_SPACING: Duration = Duration::from_millis(600);

/// Hands out request slots at least `spacing` apart.
#[derive(Debug)]
pub struct Pacer {
    spacing: Duration,
    /// When the last request was let through.
    last: tokio::sync::Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer whose first request goes at once.
    pub fn new(spacing: Duration) -> Self {
        Self {
            spacing,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until a request may be sent, and counts it as sent. Fails at once, with
    /// `UPSTREAM_TIMEOUT`, when the wait would leave the request less than
    /// [`MIN_UPSTREAM_BUDGET`] before the deadline's answer reserve: the caller then answers
    /// with what it has instead of sleeping into its deadline.
    pub async fn slot(&self, deadline: &Deadline) -> Result<(), ToolError> {
        // Held while waiting: concurrent callers (one process serving several requests in
        // a test) queue up and each gets its own slot.
        let mut last = self.last.lock().await;
        let wait = last.map_or(Duration::ZERO, |at| {
            (at + self.spacing).saturating_duration_since(Instant::now())
        });
        if deadline.remaining() < wait + ANSWER_RESERVE + MIN_UPSTREAM_BUDGET {
            return Err(ToolError::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "the function has {} ms left before its deadline, too little for another CloudTrail request {} ms after the last",
                    deadline.remaining().as_millis(),
                    self.spacing.as_millis()
                ),
            ));
        }
        // Even a zero sleep waits for the timer wheel's next tick (up to a millisecond):
        // the first request of a cold start must not.
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        *last = Some(Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_and_the_first_is_immediate() {
        let pacer = Pacer::new(Duration::from_millis(40));
        let deadline = Deadline::after(Duration::from_secs(30));
        let start = Instant::now();
        pacer.slot(&deadline).await.unwrap();
        assert!(start.elapsed() < Duration::from_millis(40));
        let mut times = vec![Instant::now()];
        for _ in 0..3 {
            pacer.slot(&deadline).await.unwrap();
            times.push(Instant::now());
        }
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(40), "{times:?}");
        }
    }

    #[tokio::test]
    async fn no_slot_that_would_end_past_the_deadline() {
        let pacer = Pacer::new(Duration::from_secs(5));
        let deadline = Deadline::after(Duration::from_secs(2));
        pacer.slot(&deadline).await.unwrap();
        let start = Instant::now();
        let e = pacer.slot(&deadline).await.unwrap_err();
        assert_eq!((e.code, e.retryable), (ErrorCode::UpstreamTimeout, true));
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "refused without waiting"
        );
    }
}
