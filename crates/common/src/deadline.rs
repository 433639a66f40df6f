//! How much time an upstream call may take before the Lambda itself is out of time.
//!
//! Lambda kills a function at its deadline without letting it answer. A tool that starts a
//! 30 s Prometheus query with 2 s left would be killed mid-request and the caller would see a
//! bare timeout instead of an `UPSTREAM_TIMEOUT` envelope. So every upstream call gets the
//! smaller of its own timeout and the time left, minus a reserve for writing the answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{ErrorCode, ToolError};

/// Time kept back from the deadline to serialise and post the answer to the Runtime API.
pub const ANSWER_RESERVE: Duration = Duration::from_millis(200);

/// An upstream call given less than this is not started: it could not do useful work.
pub const MIN_UPSTREAM_BUDGET: Duration = Duration::from_millis(50);

/// 2000-01-01T00:00:00Z in Unix milliseconds: a deadline header below this is a duration.
pub const EARLIEST_EPOCH_DEADLINE_MS: u64 = 946_684_800_000;

/// The instant a Lambda invocation must have answered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: SystemTime,
}

impl Deadline {
    /// From the Runtime API's `Lambda-Runtime-Deadline-Ms` (Unix epoch milliseconds), as in
    /// `lambda_runtime::Context::deadline`.
    ///
    /// cargo-lambda's emulator (1.9) sends the function timeout there instead (`600000`), which
    /// read as a timestamp is in 1970 and would make every local call look out of time. No
    /// real deadline lies before [`EARLIEST_EPOCH_DEADLINE_MS`], so smaller values are read
    /// as milliseconds from now.
    pub fn from_epoch_millis(ms: u64) -> Self {
        if ms < EARLIEST_EPOCH_DEADLINE_MS {
            return Self::after(Duration::from_millis(ms));
        }
        Self {
            at: UNIX_EPOCH + Duration::from_millis(ms),
        }
    }

    /// A deadline `after` from now (tests and local callers).
    pub fn after(after: Duration) -> Self {
        Self {
            at: SystemTime::now() + after,
        }
    }

    /// Time left until the deadline; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// The timeout for an upstream call that would like `wanted`: the smaller of `wanted` and
    /// the time left less [`ANSWER_RESERVE`]. Fails with `UPSTREAM_TIMEOUT` (retryable) when
    /// less than [`MIN_UPSTREAM_BUDGET`] would be left, so no call starts that cannot finish.
    pub fn budget(&self, wanted: Duration) -> Result<Duration, ToolError> {
        let left = self.remaining().saturating_sub(ANSWER_RESERVE);
        let budget = wanted.min(left);
        if budget < MIN_UPSTREAM_BUDGET {
            return Err(ToolError::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "the function has {} ms left before its deadline, too little to call upstream",
                    self.remaining().as_millis()
                ),
            ));
        }
        Ok(budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_the_smaller_of_wanted_and_time_left() {
        let far = Deadline::after(Duration::from_secs(60));
        assert_eq!(
            far.budget(Duration::from_secs(5)).unwrap(),
            Duration::from_secs(5)
        );

        let near = Deadline::after(Duration::from_secs(2));
        let b = near.budget(Duration::from_secs(30)).unwrap();
        assert!(b <= Duration::from_secs(2) - ANSWER_RESERVE, "{b:?}");
        assert!(b > Duration::from_secs(1), "{b:?}");
    }

    #[test]
    fn a_duration_in_the_deadline_header_counts_from_now() {
        // What cargo-lambda's emulator sends: its 600 s timeout.
        let local = Deadline::from_epoch_millis(600_000);
        let left = local.remaining();
        assert!(
            left > Duration::from_secs(590) && left <= Duration::from_secs(600),
            "{left:?}"
        );
    }

    #[test]
    fn a_spent_deadline_refuses_to_start_a_call() {
        let past = Deadline::from_epoch_millis(EARLIEST_EPOCH_DEADLINE_MS + 1_000);
        assert_eq!(past.remaining(), Duration::ZERO);
        let err = past.budget(Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.code, ErrorCode::UpstreamTimeout);
        assert!(err.retryable);

        let almost = Deadline::after(ANSWER_RESERVE + Duration::from_millis(10));
        assert_eq!(
            almost.budget(Duration::from_secs(5)).unwrap_err().code,
            ErrorCode::UpstreamTimeout
        );
    }
}
