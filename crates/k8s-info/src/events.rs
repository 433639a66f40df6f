//! `events`: what the cluster said about its objects. Kubernetes repeats an event many times
//! (a back-off is reported on every retry), so events are deduplicated by object, reason and
//! message, with their counts summed and the first and last time kept; newest first.

use std::collections::HashMap;

use common::ToolError;
use serde_json::{Value, json};

use crate::{
    access::ClusterApi,
    shape::{message, text, time_ms},
};

/// Most events read before deduplication.
pub const MAX_EVENTS_READ: usize = 2_000;

/// When an event last happened: `lastTimestamp`, `eventTime` (events.k8s.io writers) or
/// `metadata.creationTimestamp`.
fn last_seen(event: &Value) -> Option<i64> {
    time_ms(event, "/lastTimestamp")
        .or_else(|| time_ms(event, "/eventTime"))
        .or_else(|| time_ms(event, "/metadata/creationTimestamp"))
}

/// One deduplicated event.
struct Seen {
    event: Value,
    count: u64,
    first: Option<i64>,
    last: Option<i64>,
}

fn iso(ms: Option<i64>) -> Option<String> {
    ms.map(common::time::format_rfc3339)
}

/// Deduplicates `events` newer than `since_ms`, newest first, at most `max`. Returns the
/// events and how many distinct ones there were.
pub fn dedupe(events: &[Value], since_ms: i64, max: usize) -> (Vec<Value>, usize) {
    let mut seen: HashMap<(String, String, String), Seen> = HashMap::new();
    for e in events {
        let last = last_seen(e);
        if last.is_some_and(|t| t < since_ms) {
            continue;
        }
        let object = format!(
            "{}/{}",
            text(e, "/involvedObject/kind").unwrap_or_default(),
            text(e, "/involvedObject/name").unwrap_or_default()
        );
        let key = (
            object,
            text(e, "/reason").unwrap_or_default(),
            message(e, "/message").unwrap_or_default(),
        );
        let count = e["count"].as_u64().unwrap_or(1).max(1);
        let first = time_ms(e, "/firstTimestamp").or(last);
        let entry = seen.entry(key).or_insert(Seen {
            event: e.clone(),
            count: 0,
            first,
            last,
        });
        entry.count += count;
        entry.first = match (entry.first, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        entry.last = entry.last.max(last);
    }
    let distinct = seen.len();
    let mut all: Vec<((String, String, String), Seen)> = seen.into_iter().collect();
    all.sort_by(|a, b| b.1.last.cmp(&a.1.last).then_with(|| a.0.cmp(&b.0)));
    let out = all
        .into_iter()
        .take(max)
        .map(|((object, reason, message), s)| {
            json!({
                "type": text(&s.event, "/type"),
                "reason": reason,
                "message": message,
                "object": object,
                "namespace": text(&s.event, "/involvedObject/namespace")
                    .or_else(|| text(&s.event, "/metadata/namespace")),
                "count": s.count,
                "first_seen": iso(s.first),
                "last_seen": iso(s.last),
            })
        })
        .collect();
    (out, distinct)
}

fn events_path(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/events"),
        None => "/api/v1/events".to_owned(),
    }
}

/// Reads events (the API filters by type and object) and deduplicates them.
pub async fn read(
    api: &ClusterApi<'_>,
    namespace: Option<&str>,
    object: Option<(&str, &str)>,
    warnings_only: bool,
    since: std::time::Duration,
    max: usize,
) -> Result<(Vec<Value>, usize, bool), ToolError> {
    let mut selector = Vec::new();
    if warnings_only {
        selector.push("type=Warning".to_owned());
    }
    if let Some((kind, name)) = object {
        selector.push(format!("involvedObject.kind={kind}"));
        selector.push(format!("involvedObject.name={name}"));
    }
    let selector = selector.join(",");
    let query: Vec<(&str, &str)> = if selector.is_empty() {
        Vec::new()
    } else {
        vec![("fieldSelector", selector.as_str())]
    };
    let (events, cut) = api
        .list(&events_path(namespace), &query, MAX_EVENTS_READ, |_| true)
        .await?;
    let since_ms = common::time::now_ms() - since.as_millis() as i64;
    let (events, distinct) = dedupe(&events, since_ms, max);
    Ok((events, distinct, cut || distinct > max))
}

/// The recent events of one object (all types), for `describe_pod`.
pub async fn for_object(
    api: &ClusterApi<'_>,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Value, ToolError> {
    let (events, _, _) = read(
        api,
        Some(namespace),
        Some((kind, name)),
        false,
        crate::input::MAX_SINCE,
        20,
    )
    .await?;
    Ok(json!(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_merged_and_the_newest_comes_first() {
        let e = |name: &str, reason: &str, count: u64, first: &str, last: &str| {
            json!({"involvedObject": {"kind": "Pod", "name": name, "namespace": "prod"},
                   "reason": reason, "message": "Back-off restarting failed container",
                   "type": "Warning", "count": count,
                   "firstTimestamp": first, "lastTimestamp": last})
        };
        let events = [
            e(
                "api-1",
                "BackOff",
                3,
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:10:00Z",
            ),
            e(
                "api-1",
                "BackOff",
                4,
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:20:00Z",
            ),
            e(
                "api-2",
                "BackOff",
                1,
                "2026-01-01T00:15:00Z",
                "2026-01-01T00:15:00Z",
            ),
            e(
                "old",
                "BackOff",
                1,
                "2025-01-01T00:00:00Z",
                "2025-01-01T00:00:00Z",
            ),
        ];
        let since = common::time::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let (out, distinct) = dedupe(&events, since, 10);
        assert_eq!(distinct, 2);
        assert_eq!(out[0]["object"], "Pod/api-1");
        assert_eq!(out[0]["count"], 7);
        assert_eq!(out[0]["first_seen"], "2026-01-01T00:00:00Z");
        assert_eq!(out[0]["last_seen"], "2026-01-01T00:20:00Z");
        assert_eq!(out[1]["object"], "Pod/api-2");
        let (out, distinct) = dedupe(&events, since, 1);
        assert_eq!((out.len(), distinct), (1, 2));
    }
}
