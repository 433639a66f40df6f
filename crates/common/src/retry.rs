//! Retrying what is worth retrying, inside the deadline.
//!
//! Only errors marked `retryable` (throttling, 5xx, refused connections, timeouts) are tried
//! again, at most [`Backoff::retries`] times, after an exponential backoff with full jitter
//! (a random wait between zero and `min(cap, base * 2^attempt)`, so that many callers
//! throttled together do not come back together). A retry is skipped when the wait would
//! leave too little of the Lambda's time for the call itself: the caller then gets the last
//! error, while there is still time to answer with it.

use std::{
    future::Future,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use crate::{
    deadline::{ANSWER_RESERVE, Deadline, MIN_UPSTREAM_BUDGET},
    error::ToolError,
};

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Ceiling of the first wait.
    pub base: Duration,
    /// Ceiling of any wait.
    pub cap: Duration,
}

impl Backoff {
    /// For a tool's upstream call: two retries, waits of up to 100 ms then 200 ms.
    pub const UPSTREAM: Self = Self {
        retries: 2,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    };

    /// The ceiling of the wait before retry number `retry` (0-based).
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.cap)
    }

    /// A random wait in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        if ceiling == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(random_u64() % (ceiling + 1))
    }
}

/// Runs `attempt(n)` for n = 0, 1, … until it succeeds, fails with a non-retryable error,
/// runs out of retries, or the deadline is too near for another try.
pub async fn with_retries<T, F, Fut>(
    backoff: &Backoff,
    deadline: &Deadline,
    mut attempt: F,
) -> Result<T, ToolError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ToolError>>,
{
    let mut retry = 0;
    loop {
        let error = match attempt(retry).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !error.retryable || retry >= backoff.retries {
            return Err(error);
        }
        let wait = backoff.delay(retry);
        if deadline.remaining() < wait + ANSWER_RESERVE + MIN_UPSTREAM_BUDGET {
            return Err(error);
        }
        tracing::debug!(
            retry = retry + 1,
            wait_ms = wait.as_millis() as u64,
            code = error.code.as_str(),
            "retrying"
        );
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

/// A random number (jitter, ids): each `RandomState::new()` gets fresh keys from the standard library's
/// per-process random seed, so hashing a counter with it is random enough for jitter,
/// without an extra crate.
pub fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::error::ErrorCode;

    fn throttled() -> ToolError {
        ToolError::new(ErrorCode::Throttled, "slow down")
    }

    /// UPSTREAM's retry count with millisecond waits: these tests are about which errors
    /// are tried again and how often, and wait on the real clock.
    const QUICK: Backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(2),
        ..Backoff::UPSTREAM
    };

    #[test]
    fn waits_grow_exponentially_with_full_jitter_up_to_the_cap() {
        let b = Backoff {
            retries: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(350),
        };
        assert_eq!(
            (0..4).map(|r| b.ceiling(r).as_millis()).collect::<Vec<_>>(),
            [100, 200, 350, 350]
        );
        assert_eq!(b.ceiling(40), b.cap, "no overflow for large retry counts");
        let samples: Vec<Duration> = (0..200).map(|_| b.delay(1)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(200)));
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(
            distinct.len() > 100,
            "jittered, not constant: {} distinct",
            distinct.len()
        );
    }

    #[tokio::test]
    async fn retries_retryable_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let deadline = Deadline::after(Duration::from_secs(30));
        let result = with_retries(&QUICK, &deadline, |n| {
            calls.fetch_add(1, Ordering::Relaxed);
            async move { if n < 2 { Err(throttled()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_retries_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let deadline = Deadline::after(Duration::from_secs(30));
        let err = with_retries(&QUICK, &deadline, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(throttled()) }
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.code, calls.load(Ordering::Relaxed)),
            (ErrorCode::Throttled, 3)
        );
    }

    #[tokio::test]
    async fn never_retries_what_is_not_retryable() {
        let calls = AtomicU32::new(0);
        let deadline = Deadline::after(Duration::from_secs(30));
        let err = with_retries(&QUICK, &deadline, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(ToolError::invalid_input("bad PromQL")) }
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.code, calls.load(Ordering::Relaxed)),
            (ErrorCode::InvalidInput, 1)
        );
    }

    #[tokio::test]
    async fn does_not_retry_into_the_deadline() {
        let calls = AtomicU32::new(0);
        // Less than reserve + minimum budget left: answering now beats one more try.
        let deadline = Deadline::after(ANSWER_RESERVE + MIN_UPSTREAM_BUDGET / 2);
        let err = with_retries(&QUICK, &deadline, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(throttled()) }
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.code, calls.load(Ordering::Relaxed)),
            (ErrorCode::Throttled, 1)
        );
    }
}
