//! `prometheus-query`: one instant PromQL query (`/api/v1/query`), answered with what
//! Prometheus returned, cut to what a model can use.
//!
//! Input (docs/contract.md §2.3): `query` (1–10,000 characters), `time` (RFC 3339, Unix seconds, `now`,
//! `now-<duration>`; default now), `workspace_id` (`ws-…`, default from configuration),
//! `timeout` (a duration up to 30 s; default 15 s), `max_series` (1–500, default 100).
//! Every field is checked before any request goes out. The PromQL itself is not filtered:
//! Prometheus is the judge of PromQL, and its `bad_data` message comes back as
//! `INVALID_INPUT` so the model can correct the query.
//!
//! Output: `{"query", "result_type", "result", "series_count", "truncated", "warnings",
//! "endpoint"}`, where `result` is Prometheus' own JSON, at most `max_series` series and at
//! most [`RESULT_BUDGET_BYTES`], and `series_count` counts all series Prometheus returned. An
//! empty vector carries a `hint` ([`NO_SERIES_HINT`]): how a selector can miss.

use std::time::Duration;

use common::{
    Handler, Invocation, ToolError,
    error::ErrorCode,
    prometheus::{
        ApiData, PrometheusTool, RESULT_BUDGET_BYTES, check_max_series, check_query, check_timeout,
        check_workspace_id,
    },
    time::{TimeSpec, duration_field, format_seconds, now_ms},
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `timeout` when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// `max_series` when none is given.
pub const DEFAULT_MAX_SERIES: u32 = 100;

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryInput {
    /// PromQL.
    pub query: String,
    /// Evaluation time; default now.
    #[serde(default)]
    pub time: Option<TimeSpec>,
    /// An AMP workspace other than the configured one.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// How long Prometheus may take.
    #[serde(default, deserialize_with = "duration_field")]
    pub timeout: Option<Duration>,
    /// Most series returned.
    #[serde(default)]
    pub max_series: Option<u32>,
}

/// The function's output.
#[derive(Debug, Serialize)]
pub struct QueryOutput {
    /// The query, as run.
    pub query: String,
    /// `vector`, `matrix`, `scalar` or `string`.
    pub result_type: String,
    /// Prometheus' result: an array of series, or a `[time, "value"]` pair.
    pub result: Box<RawValue>,
    /// Series Prometheus returned (before `max_series`); 1 for a scalar or string.
    pub series_count: usize,
    /// Whether series were left out (by `max_series` or the size budget).
    pub truncated: bool,
    /// Prometheus' warnings.
    pub warnings: Vec<String>,
    /// `amp` or `prometheus`.
    pub endpoint: &'static str,
    /// With no series: why a selector may have matched nothing, so an empty result is not
    /// read as "the metric is zero" or "it does not exist".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// The hint of a vector with no series.
pub const NO_SERIES_HINT: &str = "no series: metric and label names and values are exact and case-sensitive, =~ must match the whole value, and a series with no sample in the 5 minutes before time is absent; prometheus_metadata lists metrics and label values";

/// Input after validation.
struct Checked {
    timeout: Duration,
    max_series: usize,
}

impl QueryInput {
    /// Checks every field against the contract's limits.
    fn check(&self) -> Result<Checked, ToolError> {
        check_query(&self.query)?;
        check_workspace_id(self.workspace_id.as_deref())?;
        let timeout = check_timeout(self.timeout, DEFAULT_TIMEOUT)?;
        let max_series = check_max_series(self.max_series, DEFAULT_MAX_SERIES)?;
        Ok(Checked {
            timeout,
            max_series,
        })
    }
}

/// The handler, holding the clients `main` built once per cold start.
#[derive(Debug)]
pub struct PrometheusQuery {
    /// The Prometheus client and the configuration naming the target.
    pub prometheus: PrometheusTool,
}

impl Handler for PrometheusQuery {
    const NAME: &'static str = "prometheus_query";
    type Input = QueryInput;
    type Output = QueryOutput;

    async fn handle(
        &self,
        input: QueryInput,
        invocation: &Invocation,
    ) -> Result<QueryOutput, ToolError> {
        let checked = input.check()?;
        let target = self
            .prometheus
            .target(input.workspace_id.as_deref())
            .await?;
        let time = format_seconds(
            input
                .time
                .as_ref()
                .map_or_else(now_ms, |t| t.resolve(now_ms())),
        );
        let timeout = format!("{}ms", checked.timeout.as_millis());
        let form = [
            ("query", input.query.as_str()),
            ("time", time.as_str()),
            ("timeout", timeout.as_str()),
        ];
        let answer = self
            .prometheus
            .api
            .post(
                &target,
                "/api/v1/query",
                &form,
                checked.timeout,
                &invocation.deadline,
            )
            .await?;
        let (result_type, result, series_count, truncated) =
            cut_series(&answer, checked.max_series)?;
        let hint = (series_count == 0 && matches!(result_type.as_str(), "vector" | "matrix"))
            .then_some(NO_SERIES_HINT);
        Ok(QueryOutput {
            hint,
            query: input.query,
            result_type,
            result,
            series_count,
            truncated,
            warnings: answer.warnings,
            endpoint: target.backend.as_str(),
        })
    }
}

#[derive(Deserialize)]
struct InstantData<'a> {
    #[serde(rename = "resultType")]
    result_type: &'a str,
    #[serde(borrow)]
    result: &'a RawValue,
}

/// Cuts the result to `max_series` and the byte budget without re-building the series:
/// each stays the slice of JSON Prometheus sent.
pub fn cut_series(
    answer: &ApiData,
    max_series: usize,
) -> Result<(String, Box<RawValue>, usize, bool), ToolError> {
    let unexpected = || {
        ToolError::new(
            ErrorCode::UpstreamError,
            "Prometheus answered with an unexpected result shape",
        )
    };
    let data: InstantData = serde_json::from_str(answer.data.get()).map_err(|_| unexpected())?;
    match data.result_type {
        "vector" | "matrix" => {
            let series: Vec<&RawValue> =
                serde_json::from_str(data.result.get()).map_err(|_| unexpected())?;
            let total = series.len();
            let mut kept: Vec<&RawValue> = Vec::with_capacity(total.min(max_series));
            let mut bytes = 0;
            for s in series.iter().take(max_series) {
                if bytes + s.get().len() > RESULT_BUDGET_BYTES {
                    break;
                }
                bytes += s.get().len() + 1;
                kept.push(s);
            }
            if kept.is_empty() && total > 0 {
                return Err(ToolError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "one series alone is over the {RESULT_BUDGET_BYTES}-byte budget; aggregate the query"
                    ),
                ));
            }
            let truncated = kept.len() < total;
            let result = serde_json::value::to_raw_value(&kept).map_err(|_| unexpected())?;
            Ok((data.result_type.to_owned(), result, total, truncated))
        }
        "scalar" | "string" => Ok((
            data.result_type.to_owned(),
            data.result.to_owned(),
            1,
            false,
        )),
        _ => Err(unexpected()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: serde_json::Value) -> Result<Checked, ToolError> {
        serde_json::from_value::<QueryInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    fn accepted(input: serde_json::Value) -> Checked {
        match check(input.clone()) {
            Ok(checked) => checked,
            Err(e) => panic!("{input}: {e}"),
        }
    }

    fn refused(input: serde_json::Value, part: &str) {
        let Err(e) = check(input.clone()) else {
            panic!("{input} was accepted")
        };
        assert_eq!(e.code, ErrorCode::InvalidInput, "{input}");
        assert!(e.message.contains(part), "{input}: {}", e.message);
    }

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<QueryInput>(&common::tools::PROMETHEUS_QUERY).unwrap();
    }

    #[test]
    fn defaults_are_15s_and_100_series() {
        let checked = accepted(json!({"query": "up"}));
        assert_eq!(
            (checked.timeout, checked.max_series),
            (Duration::from_secs(15), 100)
        );
    }

    #[test]
    fn query_must_not_be_blank() {
        refused(json!({"query": ""}), "query must not be empty");
        refused(json!({"query": " \n\t"}), "query must not be empty");
        accepted(json!({"query": "1"}));
    }

    #[test]
    fn query_is_at_most_10000_characters() {
        accepted(json!({"query": "a".repeat(10_000)}));
        // Characters, not bytes.
        accepted(json!({"query": "é".repeat(10_000)}));
        refused(
            json!({"query": "a".repeat(10_001)}),
            "query must be at most 10000 characters, got 10001",
        );
    }

    #[test]
    fn workspace_id_is_ws_and_1_to_64_letters_digits_or_dashes() {
        for ok in ["ws-1", "ws-a-B-3", &format!("ws-{}", "a".repeat(64))] {
            accepted(json!({"query": "up", "workspace_id": ok}));
        }
        for bad in [
            "ws-",
            "ws1",
            "WS-1",
            "ws-a_b",
            "ws-ü",
            &format!("ws-{}", "a".repeat(65)),
        ] {
            refused(
                json!({"query": "up", "workspace_id": bad}),
                "workspace_id must be `ws-` followed by 1 to 64 letters, digits or dashes",
            );
        }
    }

    #[test]
    fn timeout_is_more_than_0_and_at_most_30s() {
        for (timeout, ms) in [
            (json!("1ms"), 1),
            (json!("30s"), 30_000),
            (json!(30), 30_000),
        ] {
            let checked = accepted(json!({"query": "up", "timeout": timeout}));
            assert_eq!(checked.timeout, Duration::from_millis(ms));
        }
        for (timeout, got) in [
            (json!(0), "got 0ms"),
            (json!("0s"), "got 0ms"),
            (json!("30001ms"), "got 30001ms"),
            (json!(30.001), "got 30001ms"),
            (json!("1m"), "got 60000ms"),
        ] {
            refused(
                json!({"query": "up", "timeout": timeout}),
                &format!("timeout must be more than 0 and at most 30s, {got}"),
            );
        }
    }

    #[test]
    fn max_series_is_between_1_and_500() {
        assert_eq!(
            accepted(json!({"query": "up", "max_series": 1})).max_series,
            1
        );
        assert_eq!(
            accepted(json!({"query": "up", "max_series": 500})).max_series,
            500
        );
        refused(
            json!({"query": "up", "max_series": 0}),
            "max_series must be between 1 and 500, got 0",
        );
        refused(
            json!({"query": "up", "max_series": 501}),
            "max_series must be between 1 and 500, got 501",
        );
    }
}
