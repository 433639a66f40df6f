//! `prometheus-range-query`: one PromQL range query (`/api/v1/query_range`), answered with a
//! summary of every series and a downsampled view a model can read.
//!
//! Input (docs/contract.md §2.4): `query` (1–10,000 characters); `start` (default `end` − 1h); `end`
//! (default now); `step` (a duration; default: the smallest of 15s, 30s, 1m, 5m, 15m, 30m,
//! 1h, 6h, 1d that gives at most 120 points); `workspace_id`; `timeout` (≤ 30 s);
//! `max_series` (1–500, default 50); `max_points` (2–1,000, default 120). Refused before any
//! request: `end` before `start`, a zero step, more than 11,000 points per series
//! (Prometheus' own limit).
//!
//! Output: `{"query", "start", "end", "step", "series": [{"metric", "summary": {"min",
//! "max", "avg", "first", "last", "count"}, "values": [[t, "v"], …]}], "series_count",
//! "data_points", "truncated", "warnings"}`. `summary` covers every point; NaN and ±Inf are
//! left out of min/max/avg (which are `null` when no finite value exists) and kept in `first`,
//! `last` and `values` as Prometheus spells them. `values` is cut to `max_points` by keeping,
//! per time bucket, the lowest and the highest point, so spikes and dips survive. No series
//! at all gets a `hint` ([`NO_SERIES_HINT`]): how a selector can miss.

use std::time::Duration;

use common::{
    Handler, Invocation, ToolError,
    error::ErrorCode,
    prometheus::{
        PrometheusTool, RESULT_BUDGET_BYTES, check_max_series, check_query, check_timeout,
        check_workspace_id,
    },
    series::{Stats, downsample, finite_stats},
    time::{TimeSpec, duration_field, format_seconds, now_ms},
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `timeout` when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// `max_series` when none is given.
pub const DEFAULT_MAX_SERIES: u32 = 50;
/// Range of `max_points`.
pub const MAX_POINTS: u32 = 1_000;
/// `max_points` when none is given (also the target of the default step).
pub const DEFAULT_MAX_POINTS: u32 = 120;
/// Prometheus refuses a range of more steps than this (`(end - start) / step > 11000` in its
/// API): at most 11,001 points per series.
pub const PROMETHEUS_MAX_STEPS: i64 = 11_000;
/// Default range when no `start` is given.
pub const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// The steps a default is chosen from, in seconds.
pub const STEP_LADDER: [i64; 9] = [15, 30, 60, 300, 900, 1800, 3600, 21_600, 86_400];

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeInput {
    /// PromQL.
    pub query: String,
    /// Range start; default `end` − 1h.
    #[serde(default)]
    pub start: Option<TimeSpec>,
    /// Range end; default now.
    #[serde(default)]
    pub end: Option<TimeSpec>,
    /// Resolution; default from [`default_step`].
    #[serde(default, deserialize_with = "duration_field")]
    pub step: Option<Duration>,
    /// An AMP workspace other than the configured one.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// How long Prometheus may take.
    #[serde(default, deserialize_with = "duration_field")]
    pub timeout: Option<Duration>,
    /// Most series returned.
    #[serde(default)]
    pub max_series: Option<u32>,
    /// Most values returned per series.
    #[serde(default)]
    pub max_points: Option<u32>,
}

/// A validated range: Unix milliseconds and a step in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// Step, ms.
    pub step_ms: i64,
}

/// The smallest step of [`STEP_LADDER`] that gives at most `points` points over
/// `range_ms` (the largest rung if none does).
pub fn default_step(range_ms: i64, points: i64) -> i64 {
    let wanted = range_ms / (points - 1).max(1);
    STEP_LADDER
        .iter()
        .map(|s| s * 1000)
        .find(|s| *s >= wanted)
        .unwrap_or(86_400_000)
}

struct Checked {
    range: Range,
    timeout: Duration,
    max_series: usize,
    max_points: usize,
}

impl RangeInput {
    fn check(&self, now_ms: i64) -> Result<Checked, ToolError> {
        check_query(&self.query)?;
        check_workspace_id(self.workspace_id.as_deref())?;
        let timeout = check_timeout(self.timeout, DEFAULT_TIMEOUT)?;
        let max_series = check_max_series(self.max_series, DEFAULT_MAX_SERIES)?;
        let max_points = self.max_points.unwrap_or(DEFAULT_MAX_POINTS);
        if !(2..=MAX_POINTS).contains(&max_points) {
            return Err(ToolError::invalid_input(format!(
                "max_points must be between 2 and {MAX_POINTS}, got {max_points}"
            )));
        }
        let end_ms = self.end.as_ref().map_or(now_ms, |t| t.resolve(now_ms));
        let start_ms = match &self.start {
            Some(t) => t.resolve(now_ms),
            None => end_ms - DEFAULT_RANGE.as_millis() as i64,
        };
        if end_ms < start_ms {
            return Err(ToolError::invalid_input(format!(
                "end ({}) is before start ({})",
                format_seconds(end_ms),
                format_seconds(start_ms)
            )));
        }
        let step_ms = match self.step {
            Some(step) if step.as_millis() == 0 => {
                return Err(ToolError::invalid_input("step must be more than 0"));
            }
            Some(step) => step.as_millis() as i64,
            None => default_step(end_ms - start_ms, i64::from(DEFAULT_MAX_POINTS)),
        };
        let steps = (end_ms - start_ms) / step_ms;
        if steps > PROMETHEUS_MAX_STEPS {
            return Err(ToolError::invalid_input(format!(
                "the range and step give {} points per series; Prometheus allows at most {}: widen the step or shorten the range",
                steps + 1,
                PROMETHEUS_MAX_STEPS + 1
            )));
        }
        Ok(Checked {
            range: Range {
                start_ms,
                end_ms,
                step_ms,
            },
            timeout,
            max_series,
            max_points: max_points as usize,
        })
    }
}

/// Min, max and mean of the finite values, first and last as spelled, and the count.
#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Smallest finite value; `null` if none.
    pub min: Option<f64>,
    /// Largest finite value; `null` if none.
    pub max: Option<f64>,
    /// Mean of the finite values; `null` if none.
    pub avg: Option<f64>,
    /// The first value, as Prometheus spells it.
    pub first: String,
    /// The last value, as Prometheus spells it.
    pub last: String,
    /// Every point of the series.
    pub count: usize,
}

/// One series of the answer.
#[derive(Debug, Serialize)]
pub struct SeriesOut {
    /// Labels, as Prometheus sent them.
    pub metric: Box<RawValue>,
    /// Over every point.
    pub summary: Summary,
    /// At most `max_points` values, `[time, "value"]`, times as Prometheus sent them.
    pub values: Vec<(Box<RawValue>, String)>,
}

/// The function's output.
#[derive(Debug, Serialize)]
pub struct RangeOutput {
    /// The query, as run.
    pub query: String,
    /// Start, Unix seconds.
    pub start: f64,
    /// End, Unix seconds.
    pub end: f64,
    /// Step, seconds.
    pub step: f64,
    /// The series.
    pub series: Vec<SeriesOut>,
    /// Series Prometheus returned.
    pub series_count: usize,
    /// Values returned over all series.
    pub data_points: usize,
    /// Whether series were left out or values downsampled.
    pub truncated: bool,
    /// Prometheus' warnings.
    pub warnings: Vec<String>,
    /// With no series: why a selector may have matched nothing, so an empty result is not
    /// read as "the metric is zero" or "it does not exist".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// The hint of a range with no series.
pub const NO_SERIES_HINT: &str = "no series: metric and label names and values are exact and case-sensitive, =~ must match the whole value, and a series needs samples in the range; prometheus_metadata lists metrics and label values";

#[derive(Deserialize)]
struct MatrixData<'a> {
    #[serde(rename = "resultType")]
    result_type: &'a str,
    #[serde(borrow)]
    result: Vec<Series<'a>>,
}

#[derive(Deserialize)]
struct Series<'a> {
    #[serde(borrow)]
    metric: &'a RawValue,
    // `&str`, not `Cow`: serde borrows a `Cow` only when it is the field itself, so inside a
    // tuple every value became an allocated String (half the time of a large answer).
    // Prometheus writes values as plain numerals, never with escapes, so borrowing works.
    #[serde(borrow, default)]
    values: Vec<(&'a RawValue, &'a str)>,
}

/// The condensed result: series, Prometheus' series count, values kept, truncated.
pub struct Condensed {
    /// Series kept.
    pub series: Vec<SeriesOut>,
    /// Series Prometheus returned.
    pub series_count: usize,
    /// Values kept over all series.
    pub data_points: usize,
    /// Whether anything was left out.
    pub truncated: bool,
}

/// Parses Prometheus' matrix `data` and condenses it: summaries over every point, values
/// downsampled to `max_points`, at most `max_series` series and [`RESULT_BUDGET_BYTES`].
/// Values are parsed in place (borrowed), never rebuilt as JSON trees.
pub fn condense(data: &str, max_series: usize, max_points: usize) -> Result<Condensed, ToolError> {
    let unexpected = || {
        ToolError::new(
            ErrorCode::UpstreamError,
            "Prometheus answered with an unexpected result shape",
        )
    };
    let matrix: MatrixData = serde_json::from_str(data).map_err(|_| unexpected())?;
    if matrix.result_type != "matrix" {
        return Err(unexpected());
    }
    let series_count = matrix.result.len();
    let mut out = Vec::with_capacity(series_count.min(max_series));
    let (mut bytes, mut data_points, mut truncated) = (0usize, 0usize, series_count > max_series);
    for series in matrix.result.iter().take(max_series) {
        let numbers: Vec<f64> = series.values.iter().map(|(_, v)| parse_value(v)).collect();
        let summary = summarize(&series.values, &numbers);
        let keep = downsample(&numbers, max_points);
        truncated |= keep.len() < numbers.len();
        let values: Vec<(Box<RawValue>, String)> = keep
            .iter()
            .map(|&i| (series.values[i].0.to_owned(), series.values[i].1.to_owned()))
            .collect();
        let size = series.metric.get().len()
            + values
                .iter()
                .map(|(t, v)| t.get().len() + v.len() + 8)
                .sum::<usize>()
            + 160;
        if bytes + size > RESULT_BUDGET_BYTES {
            truncated = true;
            break;
        }
        bytes += size;
        data_points += values.len();
        out.push(SeriesOut {
            metric: series.metric.to_owned(),
            summary,
            values,
        });
    }
    if out.is_empty() && series_count > 0 {
        return Err(ToolError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "one series alone is over the {RESULT_BUDGET_BYTES}-byte budget; aggregate the query"
            ),
        ));
    }
    Ok(Condensed {
        series: out,
        series_count,
        data_points,
        truncated,
    })
}

/// Prometheus spells special values `NaN`, `+Inf`, `-Inf`; Rust's parser wants `inf`.
fn parse_value(v: &str) -> f64 {
    match v {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => v.parse().unwrap_or(f64::NAN),
    }
}

fn summarize(values: &[(&RawValue, &str)], numbers: &[f64]) -> Summary {
    let Stats { min, max, avg } = finite_stats(numbers);
    Summary {
        min,
        max,
        avg,
        first: values
            .first()
            .map(|(_, v)| v.to_string())
            .unwrap_or_default(),
        last: values
            .last()
            .map(|(_, v)| v.to_string())
            .unwrap_or_default(),
        count: values.len(),
    }
}

/// The handler, holding the clients `main` built once per cold start.
#[derive(Debug)]
pub struct PrometheusRangeQuery {
    /// The Prometheus client and the configuration naming the target.
    pub prometheus: PrometheusTool,
}

impl Handler for PrometheusRangeQuery {
    const NAME: &'static str = "prometheus_range_query";
    type Input = RangeInput;
    type Output = RangeOutput;

    async fn handle(
        &self,
        input: RangeInput,
        invocation: &Invocation,
    ) -> Result<RangeOutput, ToolError> {
        let checked = input.check(now_ms())?;
        let target = self
            .prometheus
            .target(input.workspace_id.as_deref())
            .await?;
        let Range {
            start_ms,
            end_ms,
            step_ms,
        } = checked.range;
        let (start, end, step) = (
            format_seconds(start_ms),
            format_seconds(end_ms),
            format_seconds(step_ms),
        );
        let timeout = format!("{}ms", checked.timeout.as_millis());
        let form = [
            ("query", input.query.as_str()),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step.as_str()),
            ("timeout", timeout.as_str()),
        ];
        let answer = self
            .prometheus
            .api
            .post(
                &target,
                "/api/v1/query_range",
                &form,
                checked.timeout,
                &invocation.deadline,
            )
            .await?;
        let condensed = condense(answer.data.get(), checked.max_series, checked.max_points)?;
        Ok(RangeOutput {
            query: input.query,
            start: start_ms as f64 / 1000.0,
            end: end_ms as f64 / 1000.0,
            step: step_ms as f64 / 1000.0,
            series: condensed.series,
            series_count: condensed.series_count,
            data_points: condensed.data_points,
            truncated: condensed.truncated,
            warnings: answer.warnings,
            hint: (condensed.series_count == 0).then_some(NO_SERIES_HINT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-01-01T00:00:00Z, the "now" of the checks.
    const NOW_MS: i64 = 1_767_225_600_000;
    const NOW_S: i64 = NOW_MS / 1000;

    fn check(input: serde_json::Value) -> Result<Checked, ToolError> {
        serde_json::from_value::<RangeInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check(NOW_MS)
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
        common::tools::conforms::<RangeInput>(&common::tools::PROMETHEUS_RANGE_QUERY).unwrap();
    }

    #[test]
    fn defaults_are_the_last_hour_at_1m_20s_50_series_and_120_points() {
        let checked = accepted(json!({"query": "up"}));
        assert_eq!(
            checked.range,
            Range {
                start_ms: NOW_MS - 3_600_000,
                end_ms: NOW_MS,
                step_ms: 60_000
            }
        );
        assert_eq!(
            (checked.timeout, checked.max_series, checked.max_points),
            (Duration::from_secs(20), 50, 120)
        );
        // Without a start the range is the hour before `end`.
        let checked = accepted(json!({"query": "up", "end": NOW_S - 86_400}));
        assert_eq!(
            (checked.range.start_ms, checked.range.end_ms),
            (NOW_MS - 86_400_000 - 3_600_000, NOW_MS - 86_400_000)
        );
    }

    #[test]
    fn query_is_1_to_10000_characters() {
        refused(json!({"query": ""}), "query must not be empty");
        refused(json!({"query": "  "}), "query must not be empty");
        accepted(json!({"query": "a".repeat(10_000)}));
        refused(
            json!({"query": "a".repeat(10_001)}),
            "query must be at most 10000 characters, got 10001",
        );
    }

    #[test]
    fn workspace_id_is_ws_and_1_to_64_letters_digits_or_dashes() {
        accepted(json!({"query": "up", "workspace_id": format!("ws-{}", "a".repeat(64))}));
        for bad in ["ws-", "ws-a_b", &format!("ws-{}", "a".repeat(65))] {
            refused(
                json!({"query": "up", "workspace_id": bad}),
                "workspace_id must be `ws-` followed by 1 to 64 letters, digits or dashes",
            );
        }
    }

    #[test]
    fn timeout_is_more_than_0_and_at_most_30s() {
        assert_eq!(
            accepted(json!({"query": "up", "timeout": "1ms"})).timeout,
            Duration::from_millis(1)
        );
        assert_eq!(
            accepted(json!({"query": "up", "timeout": "30s"})).timeout,
            Duration::from_secs(30)
        );
        refused(
            json!({"query": "up", "timeout": 0}),
            "timeout must be more than 0 and at most 30s, got 0ms",
        );
        refused(
            json!({"query": "up", "timeout": "30001ms"}),
            "timeout must be more than 0 and at most 30s, got 30001ms",
        );
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

    #[test]
    fn max_points_is_between_2_and_1000() {
        assert_eq!(
            accepted(json!({"query": "up", "max_points": 2})).max_points,
            2
        );
        assert_eq!(
            accepted(json!({"query": "up", "max_points": 1000})).max_points,
            1000
        );
        for (max_points, got) in [(0, 0), (1, 1), (1001, 1001)] {
            refused(
                json!({"query": "up", "max_points": max_points}),
                &format!("max_points must be between 2 and 1000, got {got}"),
            );
        }
    }

    #[test]
    fn end_must_not_be_before_start() {
        refused(
            json!({"query": "up", "start": NOW_S + 1, "end": NOW_S}),
            "end (1767225600) is before start (1767225601)",
        );
        // A start in the future with the default end (now).
        refused(
            json!({"query": "up", "start": NOW_S + 60}),
            "end (1767225600) is before start (1767225660)",
        );
        refused(
            json!({"query": "up", "start": "now", "end": "now-1ms"}),
            "end (1767225599.999) is before start (1767225600)",
        );
        // start == end is one point.
        let checked = accepted(json!({"query": "up", "start": NOW_S, "end": NOW_S, "step": "1s"}));
        assert_eq!(
            checked.range,
            Range {
                start_ms: NOW_MS,
                end_ms: NOW_MS,
                step_ms: 1000
            }
        );
    }

    #[test]
    fn step_must_be_more_than_0() {
        for step in [json!(0), json!("0s"), json!("0ms"), json!(0.0004)] {
            refused(
                json!({"query": "up", "step": step}),
                "step must be more than 0",
            );
        }
        assert_eq!(
            accepted(json!({"query": "up", "start": "now-1s", "step": "1ms"}))
                .range
                .step_ms,
            1
        );
    }

    #[test]
    fn at_most_11001_points_per_series_as_prometheus_allows() {
        // 11,000 steps of 1s: 11,001 points, which Prometheus answers.
        let checked = accepted(json!({"query": "up", "start": NOW_S - 11_000, "step": 1}));
        assert_eq!(
            (checked.range.end_ms - checked.range.start_ms) / checked.range.step_ms + 1,
            11_001
        );
        refused(
            json!({"query": "up", "start": NOW_S - 11_001, "step": 1}),
            "the range and step give 11002 points per series; Prometheus allows at most 11001: widen the step or shorten the range",
        );
        // The limit holds for the default step too: its largest rung (1d) over 56 years.
        refused(
            json!({"query": "up", "start": 0}),
            "the range and step give 20455 points per series; Prometheus allows at most 11001",
        );
    }

    #[test]
    fn default_steps_give_at_most_120_points_on_the_ladder() {
        for (range_s, step_s) in [
            (60, 15),
            (3600, 60),
            (6 * 3600, 300),
            (86_400, 900),
            (7 * 86_400, 21_600),
            (400 * 86_400, 86_400),
        ] {
            assert_eq!(
                default_step(range_s * 1000, 120),
                step_s * 1000,
                "{range_s}"
            );
        }
    }

    #[test]
    fn summaries_skip_special_values_but_keep_their_spelling() {
        let data = r#"{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"NaN"],[2,"1"],[3,"+Inf"],[4,"3"],[5,"-Inf"]]},{"metric":{},"values":[[1,"NaN"]]}]}"#;
        let condensed = condense(data, 10, 120).unwrap();
        assert_eq!(
            condensed.series[0].summary,
            Summary {
                min: Some(1.0),
                max: Some(3.0),
                avg: Some(2.0),
                first: "NaN".into(),
                last: "-Inf".into(),
                count: 5
            }
        );
        assert_eq!(condensed.series[1].summary.min, None);
        assert_eq!(
            (
                condensed.series_count,
                condensed.data_points,
                condensed.truncated
            ),
            (2, 6, false)
        );
    }
}
