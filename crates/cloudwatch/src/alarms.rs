//! CloudWatch alarms: which fire, why, and since when.
//!
//! `alarms` lists metric and composite alarms together (DescribeAlarms with both types),
//! firing first, then most recently changed, because "what is firing?" is the first question of
//! an incident. Each says what it watches (namespace, metric, dimensions, statistic, threshold
//! and comparison; or a composite's rule) so the model can go straight to `metric_data`.
//! `alarm_history` reads an alarm's state changes (DescribeAlarmHistory, `StateUpdate` items,
//! newest first) as time, from → to and reason. Reasons are text CloudWatch composes from
//! data points and operators' descriptions: cleaned like every untrusted text.

use aws_sdk_cloudwatch::{
    Client,
    types::{AlarmType, HistoryItemType, ScanBy, StateValue},
};
use aws_smithy_types::DateTime;
use common::{Deadline, ErrorCode, ToolError};
use serde_json::{Map, Value, json};

use crate::{call, input::AlarmState, rfc3339, untrusted};

/// The service, as messages name it.
const SERVICE: &str = "CloudWatch";
/// DescribeAlarms' and DescribeAlarmHistory's largest page.
const PAGE: i32 = 100;
/// Pages read for one answer at most.
const MAX_PAGES: usize = 20;
/// Alarm names suggested when `alarm_history` names none that exists.
const SUGGESTIONS: usize = 10;

fn ms(t: Option<&DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

fn state_rank(state: &str) -> u8 {
    match state {
        "ALARM" => 0,
        "INSUFFICIENT_DATA" => 1,
        _ => 2,
    }
}

/// The alarms in `state` (every state when `None`) whose names start with `prefix`. When
/// none does (AWS's prefix is case-sensitive, and a model often gives a word from the middle
/// of a name: `checkout` for `prod-checkout-5xx`), the alarms whose names contain it in any
/// case, with a `hint` saying so.
pub async fn alarms(
    client: &Client,
    state: Option<AlarmState>,
    prefix: Option<&str>,
    max_results: u32,
    deadline: &Deadline,
) -> Result<Value, ToolError> {
    let max = max_results as usize;
    let mut got = read(client, state, Names::Prefix(prefix), max, deadline).await?;
    let mut hint = None;
    if let (true, Some(prefix)) = (got.found.is_empty(), prefix) {
        got = read(client, state, Names::Containing(prefix), max, deadline).await?;
        let which = state.map_or("any state", AlarmState::as_str);
        hint = Some(if got.found.is_empty() {
            format!(
                "no alarm in {which} has a name starting with {prefix} or containing it in any case; state any or no prefix shows more"
            )
        } else {
            format!(
                "no alarm in {which} has a name starting with {prefix} (a case-sensitive prefix); these contain it"
            )
        });
    }
    let Read {
        mut found,
        redactions,
        mut more,
    } = got;
    // Firing first, then the most recent change first.
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    more |= found.len() > max;
    found.truncate(max);
    let alarms: Vec<Value> = found.into_iter().map(|(_, _, a)| a).collect();
    let mut answer = json!({
        "state": state.map_or("any", AlarmState::as_str),
        "prefix": prefix,
        "count": alarms.len(),
        "alarms": alarms,
        "redactions": redactions,
        "truncated": more,
    });
    if let Some(hint) = hint {
        answer["hint"] = Value::from(hint);
    }
    Ok(answer)
}

/// Which alarm names a read keeps.
#[derive(Debug, Clone, Copy)]
enum Names<'a> {
    /// Those starting with this (CloudWatch filters), or all.
    Prefix(Option<&'a str>),
    /// Those containing this in any case (filtered here, over every alarm).
    Containing(&'a str),
}

/// Alarms as read: `(state rank, last change, alarm)`, unsorted.
struct Read {
    found: Vec<(u8, i64, Value)>,
    redactions: usize,
    /// Whether pages were left unread.
    more: bool,
}

/// Reads alarms page by page until `max` are kept or CloudWatch has no more.
async fn read(
    client: &Client,
    state: Option<AlarmState>,
    names: Names<'_>,
    max: usize,
    deadline: &Deadline,
) -> Result<Read, ToolError> {
    let (prefix, needle) = match names {
        Names::Prefix(prefix) => (prefix, None),
        Names::Containing(text) => (None, Some(text.to_lowercase())),
    };
    let keep = |name: Option<&str>| {
        needle
            .as_deref()
            .is_none_or(|n| name.is_some_and(|name| name.to_lowercase().contains(n)))
    };
    let mut found: Vec<(u8, i64, Value)> = Vec::new();
    let mut redactions = 0;
    let mut token: Option<String> = None;
    let mut more = false;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "cloudwatch:DescribeAlarms",
            client
                .describe_alarms()
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_state_value(state.map(|s| StateValue::from(s.as_str())))
                .set_alarm_name_prefix(prefix.map(str::to_owned))
                .max_records(PAGE)
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        for a in page.metric_alarms().iter().filter(|a| keep(a.alarm_name())) {
            let state = a.state_value().map_or("", StateValue::as_str).to_owned();
            let updated = ms(a.state_updated_timestamp()).unwrap_or(0);
            let dimensions: Map<String, Value> = a
                .dimensions()
                .iter()
                .filter_map(|d| Some((d.name()?.to_owned(), Value::from(d.value()?))))
                .collect();
            let mut alarm = json!({
                "name": a.alarm_name(),
                "type": "metric",
                "state": state,
                "reason": a.state_reason().map(|r| untrusted(r, &mut redactions)),
                "state_updated": ms(a.state_updated_timestamp()).map(rfc3339),
                "namespace": a.namespace(),
                "metric": a.metric_name(),
                "dimensions": dimensions,
                "statistic": a.statistic().map(|s| s.as_str()).or(a.extended_statistic()),
                "period_seconds": a.period(),
                "evaluation_periods": a.evaluation_periods(),
                "threshold": a.threshold(),
                "comparison": a.comparison_operator().map(|c| c.as_str()),
            });
            if !a.metrics().is_empty() {
                // A metric-math alarm: the expression that is compared, not one metric.
                alarm["expression"] = a
                    .metrics()
                    .iter()
                    .find(|m| m.return_data().unwrap_or(false))
                    .and_then(|m| m.expression().or(m.id()))
                    .map(|e| untrusted(e, &mut redactions))
                    .into();
            }
            found.push((state_rank(&state), updated, alarm));
        }
        for a in page
            .composite_alarms()
            .iter()
            .filter(|a| keep(a.alarm_name()))
        {
            let state = a.state_value().map_or("", StateValue::as_str).to_owned();
            let updated = ms(a.state_updated_timestamp()).unwrap_or(0);
            let alarm = json!({
                "name": a.alarm_name(),
                "type": "composite",
                "state": state,
                "reason": a.state_reason().map(|r| untrusted(r, &mut redactions)),
                "state_updated": ms(a.state_updated_timestamp()).map(rfc3339),
                "rule": a.alarm_rule().map(|r| untrusted(r, &mut redactions)),
            });
            found.push((state_rank(&state), updated, alarm));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        if found.len() >= max {
            more = true;
            break;
        }
    }
    Ok(Read {
        found,
        redactions,
        more,
    })
}

/// The state changes of `alarm_name` within `(start_ms, end_ms)`, newest first.
pub async fn history(
    client: &Client,
    alarm_name: &str,
    (start_ms, end_ms): (i64, i64),
    max_results: u32,
    deadline: &Deadline,
) -> Result<Value, ToolError> {
    let max = max_results as usize;
    let mut changes = Vec::new();
    let mut redactions = 0;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "cloudwatch:DescribeAlarmHistory",
            client
                .describe_alarm_history()
                .alarm_name(alarm_name)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .history_item_type(HistoryItemType::StateUpdate)
                .start_date(DateTime::from_millis(start_ms))
                .end_date(DateTime::from_millis(end_ms))
                .scan_by(ScanBy::TimestampDescending)
                .max_records(PAGE.min((max - changes.len()) as i32))
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        for item in page.alarm_history_items() {
            changes.push(change(item, &mut redactions));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() || changes.len() >= max {
            break;
        }
    }
    let more = token.is_some();
    changes.truncate(max);
    if changes.is_empty() {
        // DescribeAlarmHistory answers an unknown alarm with no items, like a quiet one: say
        // which it is, so "no changes" is never read about an alarm that does not exist.
        let exists = call(
            deadline,
            SERVICE,
            "cloudwatch:DescribeAlarms",
            client
                .describe_alarms()
                .alarm_names(alarm_name)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .send(),
        )
        .await?;
        if exists.metric_alarms().is_empty() && exists.composite_alarms().is_empty() {
            // Names are exact and case-sensitive: offer the ones the caller may have meant.
            let near = read(
                client,
                None,
                Names::Containing(alarm_name),
                SUGGESTIONS,
                deadline,
            )
            .await?;
            let names: Vec<&str> = near
                .found
                .iter()
                .filter_map(|(_, _, a)| a["name"].as_str())
                .collect();
            let message = if names.is_empty() {
                format!(
                    "there is no alarm named {alarm_name} (names are exact and case-sensitive), nor one whose name contains it; the alarms action with state any lists them"
                )
            } else {
                format!(
                    "there is no alarm named {alarm_name} (names are exact and case-sensitive); these contain it: {}",
                    names.join(", ")
                )
            };
            return Err(ToolError::new(ErrorCode::NotFound, message));
        }
    }
    Ok(json!({
        "alarm_name": alarm_name,
        "start": rfc3339(start_ms),
        "end": rfc3339(end_ms),
        "count": changes.len(),
        "changes": changes,
        "redactions": redactions,
        "truncated": more,
    }))
}

/// One state change: `HistoryData` (JSON AWS writes) says from and to; the summary is the
/// fallback when it cannot be read.
fn change(item: &aws_sdk_cloudwatch::types::AlarmHistoryItem, redactions: &mut usize) -> Value {
    let data: Value = item
        .history_data()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let state = |which: &str| data[which]["stateValue"].as_str().map(str::to_owned);
    json!({
        "time": ms(item.timestamp()).map(rfc3339),
        "from": state("oldState"),
        "to": state("newState"),
        "reason": data["newState"]["stateReason"]
            .as_str()
            .map(|r| untrusted(r, redactions)),
        "summary": item.history_summary().map(|s| untrusted(s, redactions)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_from_and_to_from_the_history_data() {
        let item = aws_sdk_cloudwatch::types::AlarmHistoryItem::builder()
            .alarm_name("checkout-5xx-high")
            .timestamp(DateTime::from_millis(1_780_000_000_000))
            .history_item_type(HistoryItemType::StateUpdate)
            .history_summary("Alarm updated from OK to ALARM")
            .history_data(r#"{"version":"1.0","oldState":{"stateValue":"OK","stateReason":"fine"},"newState":{"stateValue":"ALARM","stateReason":"Threshold Crossed: 3 datapoints [12.0, 15.0, 9.5] > 5.0\u0007 password=hunter2"}}"#)
            .build();
        let mut redactions = 0;
        let c = change(&item, &mut redactions);
        assert_eq!(
            (c["from"].as_str(), c["to"].as_str()),
            (Some("OK"), Some("ALARM"))
        );
        let reason = c["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("Threshold Crossed: 3 datapoints"),
            "{reason}"
        );
        assert!(
            !reason.contains('\u{7}') && !reason.contains("hunter2"),
            "{reason}"
        );
        assert_eq!(redactions, 1);
    }
}
