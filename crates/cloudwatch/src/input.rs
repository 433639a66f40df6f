//! What a caller may ask, and the checks every field passes before any AWS call: each action
//! takes only its own fields (a field that does not apply is refused, so nobody believes a
//! filter was applied when it was not), every limit is named in its message, and times use
//! the project's syntax (`now-1h`, RFC 3339, Unix seconds).

use std::{collections::BTreeMap, time::Duration};

use common::{
    ToolError,
    time::{TimeSpec, duration_field, format_seconds},
};
use serde::Deserialize;

/// Longest Logs Insights query, in characters (CloudWatch's own limit).
pub const MAX_QUERY_CHARS: usize = 10_000;
/// Most log groups one query may name (CloudWatch's own limit).
pub const MAX_LOG_GROUPS: usize = 50;
/// Longest log group name or prefix (CloudWatch's own limit).
pub const MAX_LOG_GROUP_NAME: usize = 512;
/// Range of a query or of metric data without `start`.
pub const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// Range of `alarm_history` without `start`.
pub const DEFAULT_HISTORY_RANGE: Duration = Duration::from_secs(24 * 3600);
/// Longest range of a Logs Insights query.
pub const MAX_QUERY_RANGE: Duration = Duration::from_secs(31 * 24 * 3600);
/// `limit` of `logs_query` without one.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit` of `logs_query`: Logs Insights returns up to 10,000 rows, far more than a
/// model reads usefully.
pub const MAX_LIMIT: u32 = 1_000;
/// `max_results` without one.
pub const DEFAULT_MAX_RESULTS: u32 = 50;
/// Largest `max_results` of `log_groups` and `list_metrics`.
pub const MAX_LIST_RESULTS: u32 = 500;
/// Largest `max_results` of `alarms` and `alarm_history`.
pub const MAX_ALARM_RESULTS: u32 = 100;
/// Longest alarm name or prefix, namespace, metric or dimension name (CloudWatch's limit).
pub const MAX_NAME_CHARS: usize = 255;
/// Longest dimension value (CloudWatch's limit).
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1_024;
/// Most dimensions of a metric (CloudWatch's limit).
pub const MAX_DIMENSIONS: usize = 30;
/// `max_points` of `metric_data` without one (as prometheus-range-query).
pub const DEFAULT_MAX_POINTS: u32 = 120;
/// Largest `max_points`.
pub const MAX_POINTS: u32 = 1_000;
/// Most data points one metric may span (GetMetricData's per-call limit).
pub const MAX_DATAPOINTS: i64 = 100_800;
/// Periods a default is chosen from, in seconds.
pub const PERIOD_LADDER: [i64; 7] = [60, 300, 900, 3600, 21_600, 86_400, 604_800];

/// The function's input: `action` and the fields that action takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchInput {
    /// What to do.
    pub action: String,
    /// `logs_query`: the Logs Insights query.
    #[serde(default)]
    pub query: Option<String>,
    /// `logs_query`: the log groups to search.
    #[serde(default)]
    pub log_groups: Option<Vec<String>>,
    /// `logs_query`: search the log groups whose names start with this.
    #[serde(default)]
    pub log_group_prefix: Option<String>,
    /// `logs_query`, `alarm_history`, `metric_data`: range start.
    #[serde(default)]
    pub start: Option<TimeSpec>,
    /// `logs_query`, `alarm_history`, `metric_data`: range end; default now.
    #[serde(default)]
    pub end: Option<TimeSpec>,
    /// `logs_query`: most rows.
    #[serde(default)]
    pub limit: Option<u32>,
    /// `log_groups`: name prefix; `alarms`: alarm name prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Most entries of a list.
    #[serde(default)]
    pub max_results: Option<u32>,
    /// `alarms`: `ALARM` (default), `OK`, `INSUFFICIENT_DATA` or `any`.
    #[serde(default)]
    pub state: Option<String>,
    /// `alarm_history`: the alarm.
    #[serde(default)]
    pub alarm_name: Option<String>,
    /// `list_metrics`, `metric_data`: e.g. `ContainerInsights`, `AWS/ApplicationELB`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `list_metrics`, `metric_data`: e.g. `pod_cpu_utilization`.
    #[serde(default)]
    pub metric_name: Option<String>,
    /// `list_metrics`, `metric_data`: dimension name → value.
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
    /// `metric_data`: `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount` or `pNN`.
    #[serde(default)]
    pub stat: Option<String>,
    /// `metric_data`: the period of each point (a duration, a multiple of 60 s).
    #[serde(default, deserialize_with = "duration_field")]
    pub period: Option<Duration>,
    /// `metric_data`: most values returned.
    #[serde(default)]
    pub max_points: Option<u32>,
}

/// Where a Logs Insights query looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogGroups {
    /// These groups.
    Names(Vec<String>),
    /// The groups whose names start with this (resolved with DescribeLogGroups).
    Prefix(String),
}

/// Which alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// Firing.
    Alarm,
    /// Not firing.
    Ok,
    /// Not enough data to decide.
    InsufficientData,
}

impl AlarmState {
    /// As CloudWatch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A checked request, one per action.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Run a Logs Insights query.
    LogsQuery {
        /// The query.
        query: String,
        /// Where.
        log_groups: LogGroups,
        /// Range, Unix ms.
        start_ms: i64,
        /// Range end, Unix ms.
        end_ms: i64,
        /// Most rows.
        limit: u32,
    },
    /// List log groups.
    LogGroups {
        /// Name prefix.
        prefix: Option<String>,
        /// Most groups.
        max_results: u32,
    },
    /// Metric and composite alarms.
    Alarms {
        /// `None`: every state.
        state: Option<AlarmState>,
        /// Alarm name prefix.
        prefix: Option<String>,
        /// Most alarms.
        max_results: u32,
    },
    /// An alarm's state changes.
    AlarmHistory {
        /// The alarm.
        alarm_name: String,
        /// Range, Unix ms.
        start_ms: i64,
        /// Range end, Unix ms.
        end_ms: i64,
        /// Most changes.
        max_results: u32,
    },
    /// Metrics that exist.
    ListMetrics {
        /// Namespace filter.
        namespace: Option<String>,
        /// Metric name filter.
        metric_name: Option<String>,
        /// Dimension filters.
        dimensions: BTreeMap<String, String>,
        /// Most metrics.
        max_results: u32,
    },
    /// One metric's values.
    MetricData {
        /// Namespace.
        namespace: String,
        /// Metric name.
        metric_name: String,
        /// Dimensions, exactly as the metric has them.
        dimensions: BTreeMap<String, String>,
        /// The statistic.
        stat: String,
        /// Period, seconds.
        period_s: i64,
        /// Range, Unix ms.
        start_ms: i64,
        /// Range end, Unix ms.
        end_ms: i64,
        /// Most values returned.
        max_points: u32,
    },
}

/// The actions, with the fields each takes besides `action`.
const ACTIONS: [(&str, &[&str]); 6] = [
    (
        "logs_query",
        &[
            "query",
            "log_groups",
            "log_group_prefix",
            "start",
            "end",
            "limit",
        ],
    ),
    ("log_groups", &["prefix", "max_results"]),
    ("alarms", &["state", "prefix", "max_results"]),
    (
        "alarm_history",
        &["alarm_name", "start", "end", "max_results"],
    ),
    (
        "list_metrics",
        &["namespace", "metric_name", "dimensions", "max_results"],
    ),
    (
        "metric_data",
        &[
            "namespace",
            "metric_name",
            "dimensions",
            "stat",
            "period",
            "start",
            "end",
            "max_points",
        ],
    ),
];

impl CloudWatchInput {
    /// The fields given, by name.
    fn given(&self) -> Vec<&'static str> {
        [
            ("query", self.query.is_some()),
            ("log_groups", self.log_groups.is_some()),
            ("log_group_prefix", self.log_group_prefix.is_some()),
            ("start", self.start.is_some()),
            ("end", self.end.is_some()),
            ("limit", self.limit.is_some()),
            ("prefix", self.prefix.is_some()),
            ("max_results", self.max_results.is_some()),
            ("state", self.state.is_some()),
            ("alarm_name", self.alarm_name.is_some()),
            ("namespace", self.namespace.is_some()),
            ("metric_name", self.metric_name.is_some()),
            ("dimensions", self.dimensions.is_some()),
            ("stat", self.stat.is_some()),
            ("period", self.period.is_some()),
            ("max_points", self.max_points.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }

    /// Checks every field against `action`'s rules (times resolved against `now_ms`).
    pub fn check(&self, now_ms: i64) -> Result<Request, ToolError> {
        // `Alarms` means `alarms`: the case does not change the meaning.
        let action = self.action.trim().to_ascii_lowercase();
        let action = action.as_str();
        let Some((_, fields)) = ACTIONS.iter().find(|(name, _)| *name == action) else {
            return Err(ToolError::invalid_input(format!(
                "action must be one of {}, got `{}`",
                ACTIONS.map(|(name, _)| name).join(", "),
                cut(action)
            )));
        };
        if let Some(stray) = self.given().into_iter().find(|f| !fields.contains(f)) {
            return Err(ToolError::invalid_input(format!(
                "{stray} does not apply to action {action}; it takes {}",
                fields.join(", ")
            )));
        }
        match action {
            "logs_query" => self.logs_query(now_ms),
            "log_groups" => Ok(Request::LogGroups {
                prefix: self
                    .prefix
                    .as_deref()
                    .map(|p| name("prefix", p, MAX_LOG_GROUP_NAME))
                    .transpose()?,
                max_results: max_results(self.max_results, MAX_LIST_RESULTS)?,
            }),
            "alarms" => Ok(Request::Alarms {
                state: alarm_state(self.state.as_deref())?,
                prefix: self
                    .prefix
                    .as_deref()
                    .map(|p| name("prefix", p, MAX_NAME_CHARS))
                    .transpose()?,
                max_results: max_results(self.max_results, MAX_ALARM_RESULTS)?,
            }),
            "alarm_history" => {
                let alarm_name = self
                    .alarm_name
                    .as_deref()
                    .ok_or_else(|| ToolError::invalid_input("alarm_history needs alarm_name"))?;
                let (start_ms, end_ms) = self.range(now_ms, DEFAULT_HISTORY_RANGE)?;
                Ok(Request::AlarmHistory {
                    alarm_name: name("alarm_name", alarm_name, MAX_NAME_CHARS)?,
                    start_ms,
                    end_ms,
                    max_results: max_results(self.max_results, MAX_ALARM_RESULTS)?,
                })
            }
            "list_metrics" => Ok(Request::ListMetrics {
                namespace: self
                    .namespace
                    .as_deref()
                    .map(|n| name("namespace", n, MAX_NAME_CHARS))
                    .transpose()?,
                metric_name: self
                    .metric_name
                    .as_deref()
                    .map(|n| name("metric_name", n, MAX_NAME_CHARS))
                    .transpose()?,
                dimensions: dimensions(self.dimensions.as_ref())?,
                max_results: max_results(self.max_results, MAX_LIST_RESULTS)?,
            }),
            _ => self.metric_data(now_ms),
        }
    }

    fn logs_query(&self, now_ms: i64) -> Result<Request, ToolError> {
        let query = self
            .query
            .as_deref()
            .ok_or_else(|| ToolError::invalid_input("logs_query needs query"))?;
        let chars = query.chars().count();
        if query.trim().is_empty() || chars > MAX_QUERY_CHARS {
            return Err(ToolError::invalid_input(format!(
                "query must be 1 to {MAX_QUERY_CHARS} characters (not only spaces), got {chars}"
            )));
        }
        let log_groups = match (&self.log_groups, &self.log_group_prefix) {
            (Some(_), Some(_)) => {
                return Err(ToolError::invalid_input(
                    "give log_groups or log_group_prefix, not both",
                ));
            }
            (None, None) => {
                return Err(ToolError::invalid_input(
                    "logs_query needs log_groups (1 to 50 names) or log_group_prefix, e.g. /aws/containerinsights/<cluster>/application",
                ));
            }
            (Some(names), None) => {
                if names.is_empty() || names.len() > MAX_LOG_GROUPS {
                    return Err(ToolError::invalid_input(format!(
                        "log_groups must name 1 to {MAX_LOG_GROUPS} log groups, got {}",
                        names.len()
                    )));
                }
                LogGroups::Names(
                    names
                        .iter()
                        .map(|n| log_group_name("log_groups", n))
                        .collect::<Result<_, _>>()?,
                )
            }
            (None, Some(prefix)) => LogGroups::Prefix(log_group_name("log_group_prefix", prefix)?),
        };
        let (start_ms, end_ms) = self.range(now_ms, DEFAULT_RANGE)?;
        if end_ms - start_ms > MAX_QUERY_RANGE.as_millis() as i64 {
            return Err(ToolError::invalid_input(
                "the range from start to end must be at most 31 days",
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ToolError::invalid_input(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        Ok(Request::LogsQuery {
            query: query.to_owned(),
            log_groups,
            start_ms,
            end_ms,
            limit,
        })
    }

    fn metric_data(&self, now_ms: i64) -> Result<Request, ToolError> {
        let namespace = self
            .namespace
            .as_deref()
            .ok_or_else(|| ToolError::invalid_input("metric_data needs namespace"))?;
        let metric_name = self
            .metric_name
            .as_deref()
            .ok_or_else(|| ToolError::invalid_input("metric_data needs metric_name"))?;
        let stat = stat(self.stat.as_deref().unwrap_or("Average"))?;
        let max_points = self.max_points.unwrap_or(DEFAULT_MAX_POINTS);
        if !(2..=MAX_POINTS).contains(&max_points) {
            return Err(ToolError::invalid_input(format!(
                "max_points must be between 2 and {MAX_POINTS}, got {max_points}"
            )));
        }
        let (start_ms, end_ms) = self.range(now_ms, DEFAULT_RANGE)?;
        let range_s = ((end_ms - start_ms) / 1000).max(1);
        let period_s = match self.period {
            Some(p) => {
                let s = p.as_secs() as i64;
                let valid = p.subsec_nanos() == 0
                    && ([1, 5, 10, 30].contains(&s) || (s >= 60 && s % 60 == 0));
                if !valid {
                    return Err(ToolError::invalid_input(format!(
                        "period must be 1, 5, 10 or 30 seconds or a multiple of 60 seconds, got {} s",
                        format_seconds(p.as_millis() as i64)
                    )));
                }
                s
            }
            None => default_period(range_s, i64::from(DEFAULT_MAX_POINTS)),
        };
        if range_s / period_s > MAX_DATAPOINTS {
            return Err(ToolError::invalid_input(format!(
                "the range and period give {} points; CloudWatch returns at most {MAX_DATAPOINTS} per metric: widen the period or shorten the range",
                range_s / period_s
            )));
        }
        Ok(Request::MetricData {
            namespace: name("namespace", namespace, MAX_NAME_CHARS)?,
            metric_name: name("metric_name", metric_name, MAX_NAME_CHARS)?,
            dimensions: dimensions(self.dimensions.as_ref())?,
            stat,
            period_s,
            start_ms,
            end_ms,
            max_points,
        })
    }

    /// `start` and `end` in Unix ms; `end` defaults to now, `start` to `end` − `default`.
    fn range(&self, now_ms: i64, default: Duration) -> Result<(i64, i64), ToolError> {
        let end_ms = self.end.as_ref().map_or(now_ms, |t| t.resolve(now_ms));
        let start_ms = match &self.start {
            Some(t) => t.resolve(now_ms),
            None => end_ms - default.as_millis() as i64,
        };
        if end_ms <= start_ms {
            return Err(ToolError::invalid_input(format!(
                "end ({}) must be after start ({})",
                format_seconds(end_ms),
                format_seconds(start_ms)
            )));
        }
        Ok((start_ms, end_ms))
    }
}

/// The smallest period of [`PERIOD_LADDER`] that gives at most `points` points over
/// `range_s` (the largest rung if none does).
pub fn default_period(range_s: i64, points: i64) -> i64 {
    PERIOD_LADDER
        .into_iter()
        .find(|p| range_s / p < points)
        .unwrap_or(PERIOD_LADDER[PERIOD_LADDER.len() - 1])
}

fn max_results(given: Option<u32>, max: u32) -> Result<u32, ToolError> {
    let n = given.unwrap_or(DEFAULT_MAX_RESULTS.min(max));
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(ToolError::invalid_input(format!(
            "max_results must be between 1 and {max}, got {n}"
        )))
    }
}

/// A name: not blank, at most `max` characters, no control characters.
fn name(field: &str, value: &str, max: usize) -> Result<String, ToolError> {
    let chars = value.chars().count();
    if value.trim().is_empty() || chars > max || value.chars().any(char::is_control) {
        return Err(ToolError::invalid_input(format!(
            "{field} must be 1 to {max} characters without control characters, got {chars}"
        )));
    }
    Ok(value.to_owned())
}

/// A log group name or prefix: CloudWatch's characters (`[\.\-_/#A-Za-z0-9]+`).
fn log_group_name(field: &str, value: &str) -> Result<String, ToolError> {
    let valid = (1..=MAX_LOG_GROUP_NAME).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(ToolError::invalid_input(format!(
            "{field}: a log group name is 1 to {MAX_LOG_GROUP_NAME} of [A-Za-z0-9._-/#], got `{}`",
            cut(value)
        )))
    }
}

fn alarm_state(state: Option<&str>) -> Result<Option<AlarmState>, ToolError> {
    // A model writes `alarm` as often as `ALARM`: the case does not change the meaning.
    match state.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        None | Some("ALARM") => Ok(Some(AlarmState::Alarm)),
        Some("OK") => Ok(Some(AlarmState::Ok)),
        Some("INSUFFICIENT_DATA") => Ok(Some(AlarmState::InsufficientData)),
        Some("ANY") => Ok(None),
        Some(other) => Err(ToolError::invalid_input(format!(
            "state must be ALARM, OK, INSUFFICIENT_DATA or any, got `{}`",
            cut(other)
        ))),
    }
}

fn stat(stat: &str) -> Result<String, ToolError> {
    let stat = stat.trim();
    let named = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(stat));
    if let Some(named) = named {
        return Ok(named.to_owned());
    }
    // Percentiles: p0 to p100 with up to two decimals (p99, p99.9, p50).
    let percentile = stat
        .strip_prefix(['p', 'P'])
        .filter(|n| {
            let (whole, frac) = n.split_once('.').unwrap_or((n, ""));
            (1..=3).contains(&whole.len())
                && whole.bytes().all(|b| b.is_ascii_digit())
                && frac.len() <= 2
                && frac.bytes().all(|b| b.is_ascii_digit())
                && (n.split_once('.').is_none() || !frac.is_empty())
        })
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|p| (0.0..=100.0).contains(&p));
    if percentile {
        return Ok(format!("p{}", &stat[1..]));
    }
    Err(ToolError::invalid_input(format!(
        "stat must be Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99, got `{}`",
        cut(stat)
    )))
}

fn dimensions(
    given: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, ToolError> {
    let Some(given) = given else {
        return Ok(BTreeMap::new());
    };
    if given.len() > MAX_DIMENSIONS {
        return Err(ToolError::invalid_input(format!(
            "dimensions may hold at most {MAX_DIMENSIONS} entries, got {}",
            given.len()
        )));
    }
    for (key, value) in given {
        name("a dimension name", key, MAX_NAME_CHARS)?;
        name("a dimension value", value, MAX_DIMENSION_VALUE_CHARS)?;
    }
    Ok(given.clone())
}

/// An input echoed in a message, cut so the message stays short.
fn cut(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn check(input: Value) -> Result<Request, ToolError> {
        serde_json::from_value::<CloudWatchInput>(input)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check(NOW)
    }

    fn refused(input: Value, phrase: &str) {
        let e = check(input.clone()).unwrap_err();
        assert_eq!(e.code, common::ErrorCode::InvalidInput, "{input}");
        assert!(e.message.contains(phrase), "{input}: {}", e.message);
    }

    #[test]
    fn a_query_gets_the_last_hour_and_100_rows_by_default() {
        let r = check(json!({"action": "logs_query", "query": "fields @message",
                             "log_groups": ["/aws/containerinsights/prod-eu/application"]}))
        .unwrap();
        assert_eq!(
            r,
            Request::LogsQuery {
                query: "fields @message".into(),
                log_groups: LogGroups::Names(vec![
                    "/aws/containerinsights/prod-eu/application".into()
                ]),
                start_ms: NOW - 3_600_000,
                end_ms: NOW,
                limit: 100,
            }
        );
    }

    #[test]
    fn every_logs_query_limit_is_named() {
        let base = |extra: Value| {
            let mut v = json!({"action": "logs_query", "query": "fields @message", "log_group_prefix": "/aws/eks"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        refused(
            json!({"action": "logs_query", "log_group_prefix": "/aws"}),
            "needs query",
        );
        refused(
            base(json!({"query": " "})),
            "query must be 1 to 10000 characters",
        );
        refused(base(json!({"query": "x".repeat(10_001)})), "got 10001");
        refused(
            json!({"action": "logs_query", "query": "q"}),
            "needs log_groups (1 to 50 names) or log_group_prefix",
        );
        refused(base(json!({"log_groups": ["a"]})), "not both");
        let fifty_one: Vec<String> = (0..51).map(|i| format!("g{i}")).collect();
        refused(
            json!({"action": "logs_query", "query": "q", "log_groups": fifty_one}),
            "1 to 50 log groups, got 51",
        );
        refused(
            json!({"action": "logs_query", "query": "q", "log_groups": ["bad name"]}),
            "[A-Za-z0-9._-/#]",
        );
        refused(base(json!({"start": "now-32d"})), "at most 31 days");
        assert!(check(base(json!({"start": "now-31d"}))).is_ok());
        refused(
            base(json!({"limit": 0})),
            "limit must be between 1 and 1000, got 0",
        );
        refused(base(json!({"limit": 1001})), "got 1001");
        refused(
            base(json!({"start": "now-1h", "end": "now-2h"})),
            "must be after start",
        );
        refused(
            base(json!({"max_results": 5})),
            "max_results does not apply to action logs_query",
        );
    }

    #[test]
    fn actions_and_their_fields() {
        refused(
            json!({"action": "describe"}),
            "action must be one of logs_query, log_groups",
        );
        refused(
            json!({"action": "alarms", "alarm_name": "x"}),
            "alarm_name does not apply to action alarms; it takes state, prefix, max_results",
        );
        refused(
            json!({"action": "log_groups", "max_results": 501}),
            "between 1 and 500, got 501",
        );
        refused(
            json!({"action": "alarms", "max_results": 101}),
            "between 1 and 100, got 101",
        );
        refused(json!({"action": "alarm_history"}), "needs alarm_name");
        refused(
            json!({"action": "alarms", "state": "FIRING"}),
            "state must be ALARM, OK",
        );
        assert_eq!(
            check(json!({"action": "alarms", "state": "alarm"})).unwrap(),
            Request::Alarms {
                state: Some(AlarmState::Alarm),
                prefix: None,
                max_results: 50
            }
        );
        // The action's case does not change its meaning.
        assert!(matches!(
            check(json!({"action": " Alarms", "state": "ANY"})).unwrap(),
            Request::Alarms { state: None, .. }
        ));
        assert!(matches!(
            check(json!({"action": "alarms", "state": "any"})).unwrap(),
            Request::Alarms { state: None, .. }
        ));
        let Request::AlarmHistory {
            start_ms, end_ms, ..
        } = check(json!({"action": "alarm_history", "alarm_name": "a"})).unwrap()
        else {
            panic!()
        };
        assert_eq!((start_ms, end_ms), (NOW - 86_400_000, NOW));
    }

    #[test]
    fn metric_data_checks_stat_period_and_points() {
        let base = json!({"action": "metric_data", "namespace": "ContainerInsights", "metric_name": "pod_cpu_utilization"});
        let Request::MetricData {
            stat,
            period_s,
            max_points,
            ..
        } = check(base.clone()).unwrap()
        else {
            panic!()
        };
        assert_eq!((stat.as_str(), period_s, max_points), ("Average", 60, 120));
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        for good in ["p99", "p99.9", "P50", "sum", "SampleCount", "p100"] {
            assert!(check(with(json!({"stat": good}))).is_ok(), "{good}");
        }
        for bad in ["p101", "p", "mean", "p9.999", "p99."] {
            refused(with(json!({"stat": bad})), "stat must be Average");
        }
        refused(
            with(json!({"period": "45s"})),
            "multiple of 60 seconds, got 45 s",
        );
        assert!(check(with(json!({"period": "5m"}))).is_ok());
        assert!(check(with(json!({"period": "10s"}))).is_ok());
        refused(
            with(json!({"period": "1s", "start": "now-30d"})),
            "CloudWatch returns at most 100800",
        );
        refused(
            with(json!({"max_points": 1})),
            "max_points must be between 2 and 1000",
        );
        refused(
            json!({"action": "metric_data", "namespace": "n"}),
            "needs metric_name",
        );
        let many: BTreeMap<String, String> =
            (0..31).map(|i| (format!("d{i}"), "v".into())).collect();
        refused(
            with(json!({"dimensions": many})),
            "at most 30 entries, got 31",
        );
        refused(
            with(json!({"dimensions": {"": "v"}})),
            "a dimension name must be 1 to 255",
        );
    }

    #[test]
    fn the_default_period_gives_at_most_120_points() {
        assert_eq!(default_period(3600, 120), 60);
        assert_eq!(default_period(24 * 3600, 120), 900);
        assert_eq!(default_period(7 * 86_400, 120), 21_600);
    }
}
