//! CloudWatch Logs: Logs Insights queries and the log groups there are.
//!
//! A query is asynchronous in CloudWatch: StartQuery returns an id, GetQueryResults says
//! `Scheduled`/`Running` until the query ends, with the rows found so far. [`query`] polls
//! with growing waits ([`FIRST_POLL_WAIT`] doubling up to [`MAX_POLL_WAIT`]) while the
//! deadline allows, keeping [`STOP_RESERVE`] for the end: when time runs out it calls
//! StopQuery (a query left running keeps scanning, and is billed, after nobody reads it) and
//! answers with the rows that arrived, `status: "Timeout"` and `truncated: true`, or
//! `UPSTREAM_TIMEOUT` when none did. A query Logs Insights refuses (`MalformedQueryException`)
//! is `INVALID_INPUT` with its message, so the model can correct it.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::{Client, types::QueryStatus};
use common::{Deadline, ErrorCode, ToolError};
use serde_json::{Map, Value, json};

use crate::{
    call,
    input::{LogGroups, MAX_LOG_GROUPS, Request},
    rfc3339, untrusted,
};

/// The service, as messages name it.
const SERVICE: &str = "CloudWatch Logs";
/// The first wait between two GetQueryResults.
pub const FIRST_POLL_WAIT: Duration = Duration::from_millis(250);
/// The longest wait between two GetQueryResults.
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(2);
/// Time kept at the end for StopQuery and the answer.
pub const STOP_RESERVE: Duration = Duration::from_millis(1_500);
/// Groups DescribeLogGroups returns per page at most.
const GROUPS_PAGE: i32 = 50;
/// Pages read for one list at most.
const MAX_PAGES: usize = 20;
/// Group names suggested when a query's prefix matches none.
const SUGGESTIONS: usize = 10;

/// Runs a [`Request::LogsQuery`].
pub async fn query(
    client: &Client,
    request: &Request,
    deadline: &Deadline,
    first_wait: Duration,
) -> Result<Value, ToolError> {
    let Request::LogsQuery {
        query,
        log_groups,
        start_ms,
        end_ms,
        limit,
    } = request
    else {
        unreachable!("query is only called for logs_query")
    };
    let names = match log_groups {
        LogGroups::Names(names) => names.clone(),
        LogGroups::Prefix(prefix) => {
            let (groups, _) = group_names(client, prefix, deadline).await?;
            if groups.is_empty() {
                // A prefix is exact and case-sensitive, and Insights is billed by the bytes it
                // scans, so the query does not widen itself: it names the groups that contain
                // the text, for the caller to choose.
                let found = containing(client, prefix, SUGGESTIONS, deadline).await?;
                let names: Vec<&str> = found
                    .groups
                    .iter()
                    .filter_map(|g| g.log_group_name())
                    .collect();
                let message = if names.is_empty() {
                    format!(
                        "no log group's name starts with {prefix}, nor contains it in any case ({} groups searched); log_groups lists them",
                        found.scanned
                    )
                } else {
                    format!(
                        "no log group's name starts with {prefix} (a case-sensitive prefix); these contain it: {}; give them as log_groups",
                        names.join(", ")
                    )
                };
                return Err(ToolError::new(ErrorCode::NotFound, message));
            }
            groups
        }
    };
    let started = call(
        deadline,
        SERVICE,
        "logs:StartQuery",
        client
            .start_query()
            .set_log_group_names(Some(names.clone()))
            .query_string(query)
            .start_time(start_ms / 1000)
            .end_time((end_ms + 999) / 1000)
            .limit(*limit as i32)
            .send(),
    )
    .await?;
    let id = started
        .query_id()
        .ok_or_else(|| ToolError::new(ErrorCode::UpstreamError, "StartQuery returned no query id"))?
        .to_owned();
    let mut wait = first_wait;
    loop {
        let results = call(
            deadline,
            SERVICE,
            "logs:GetQueryResults",
            client.get_query_results().query_id(&id).send(),
        )
        .await?;
        match results.status() {
            Some(QueryStatus::Failed) => {
                return Err(ToolError::new(
                    ErrorCode::UpstreamError,
                    "the Logs Insights query failed in CloudWatch",
                ));
            }
            Some(
                status @ (QueryStatus::Complete | QueryStatus::Cancelled | QueryStatus::Timeout),
            ) => {
                let truncated = *status != QueryStatus::Complete;
                return Ok(answer(
                    &results,
                    status.as_str(),
                    truncated,
                    &names,
                    *start_ms,
                    *end_ms,
                ));
            }
            // Scheduled, Running, or a status this SDK does not know yet: still going.
            _ => {}
        }
        if deadline.remaining() < wait + STOP_RESERVE {
            // Out of time: stop the scan and answer with what arrived.
            let _ = call(
                deadline,
                SERVICE,
                "logs:StopQuery",
                client.stop_query().query_id(&id).send(),
            )
            .await;
            if results.results().is_empty() {
                return Err(ToolError::new(
                    ErrorCode::UpstreamTimeout,
                    "the Logs Insights query did not return any row before the function's deadline; it was stopped: narrow the range or the log groups",
                ));
            }
            return Ok(answer(
                &results, "Timeout", true, &names, *start_ms, *end_ms,
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_POLL_WAIT);
    }
}

fn answer(
    results: &aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput,
    status: &str,
    truncated: bool,
    groups: &[String],
    start_ms: i64,
    end_ms: i64,
) -> Value {
    let mut redactions = 0;
    let rows: Vec<Value> = results
        .results()
        .iter()
        .map(|fields| {
            let mut row = Map::new();
            for f in fields {
                let (Some(name), Some(value)) = (f.field(), f.value()) else {
                    continue;
                };
                // `@ptr` is an opaque handle to the record, of no use to a reader.
                if name == "@ptr" {
                    continue;
                }
                row.insert(
                    name.to_owned(),
                    Value::String(untrusted(value, &mut redactions)),
                );
            }
            Value::Object(row)
        })
        .collect();
    let stats = results.statistics();
    let scanned = stats.map(|s| s.records_scanned());
    let mut answer = json!({
        "status": status,
        "log_groups": groups,
        "start": rfc3339(start_ms),
        "end": rfc3339(end_ms),
        "row_count": rows.len(),
        "rows": rows,
        "records_matched": stats.map(|s| s.records_matched() as u64),
        "records_scanned": stats.map(|s| s.records_scanned() as u64),
        "bytes_scanned": stats.map(|s| s.bytes_scanned() as u64),
        "redactions": redactions,
        "truncated": truncated,
    });
    if rows.is_empty() && status == "Complete" {
        answer["hint"] = Value::from(empty_query_hint(scanned));
    }
    answer
}

/// Why a finished query may have found no row, so "no rows" is not read as "it never
/// happened": either the groups hold nothing in the range, or the filter matched nothing,
/// and Insights' `like "text"` and `/regex/` are case-sensitive.
pub fn empty_query_hint(records_scanned: Option<f64>) -> &'static str {
    match records_scanned {
        Some(n) if n > 0.0 => {
            "no row matched, though records were scanned: Insights filters are case-sensitive (like /(?i)error/ ignores case), and field names such as @message or kubernetes.pod_name must be spelt as the logs have them"
        }
        _ => {
            "the log groups hold no events between start and end: widen the range, or check the groups with log_groups"
        }
    }
}

/// The names of the log groups starting with `prefix`, at most [`MAX_LOG_GROUPS`], and
/// whether more exist.
async fn group_names(
    client: &Client,
    prefix: &str,
    deadline: &Deadline,
) -> Result<(Vec<String>, bool), ToolError> {
    let (groups, more) = describe(client, Some(prefix), MAX_LOG_GROUPS, deadline).await?;
    Ok((
        groups
            .into_iter()
            .filter_map(|g| g.log_group_name)
            .collect(),
        more,
    ))
}

async fn describe(
    client: &Client,
    prefix: Option<&str>,
    max: usize,
    deadline: &Deadline,
) -> Result<(Vec<aws_sdk_cloudwatchlogs::types::LogGroup>, bool), ToolError> {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "logs:DescribeLogGroups",
            client
                .describe_log_groups()
                .set_log_group_name_prefix(prefix.map(str::to_owned))
                .limit(GROUPS_PAGE.min((max - groups.len()) as i32))
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        groups.extend(page.log_groups().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if groups.len() >= max || token.is_none() {
            break;
        }
    }
    let more = token.is_some() || groups.len() > max;
    groups.truncate(max);
    Ok((groups, more))
}

/// The log groups whose names contain `needle` in any case, read from every group's name
/// (at most [`MAX_PAGES`] pages): what a caller meant when a prefix matched nothing.
struct Containing {
    /// At most the `max` asked for.
    groups: Vec<aws_sdk_cloudwatchlogs::types::LogGroup>,
    /// Groups whose names were read.
    scanned: usize,
    /// Whether more groups (matching or not) were left unread, or more matched than `max`.
    more: bool,
}

async fn containing(
    client: &Client,
    needle: &str,
    max: usize,
    deadline: &Deadline,
) -> Result<Containing, ToolError> {
    let needle = needle.to_lowercase();
    let mut found = Containing {
        groups: Vec::new(),
        scanned: 0,
        more: false,
    };
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "logs:DescribeLogGroups",
            client
                .describe_log_groups()
                .limit(GROUPS_PAGE)
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        found.scanned += page.log_groups().len();
        for group in page.log_groups() {
            let hit = group
                .log_group_name()
                .is_some_and(|n| n.to_lowercase().contains(&needle));
            if hit {
                if found.groups.len() == max {
                    found.more = true;
                } else {
                    found.groups.push(group.clone());
                }
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() || found.more {
            break;
        }
    }
    found.more |= token.is_some();
    Ok(found)
}

/// The log groups (`log_groups`): name, stored bytes, retention and creation time. When no
/// name starts with `prefix` (which is case-sensitive), the groups whose names contain it in
/// any case, with a `hint` saying so.
pub async fn groups(
    client: &Client,
    prefix: Option<&str>,
    max_results: u32,
    deadline: &Deadline,
) -> Result<Value, ToolError> {
    let (mut groups, mut more) = describe(client, prefix, max_results as usize, deadline).await?;
    let mut hint = None;
    if let (true, Some(prefix)) = (groups.is_empty(), prefix) {
        let found = containing(client, prefix, max_results as usize, deadline).await?;
        hint = Some(if found.groups.is_empty() {
            format!(
                "no log group's name starts with {prefix} or contains it in any case ({} groups searched); log_groups without prefix lists them all",
                found.scanned
            )
        } else {
            format!(
                "no log group's name starts with {prefix} (a case-sensitive prefix); these contain it in any case"
            )
        });
        (groups, more) = (found.groups, found.more);
    }
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "name": g.log_group_name(),
                "stored_bytes": g.stored_bytes(),
                "retention_days": g.retention_in_days(),
                "created": g.creation_time().map(rfc3339),
            })
        })
        .collect();
    let mut answer = json!({
        "prefix": prefix,
        "count": groups.len(),
        "log_groups": groups,
        "truncated": more,
    });
    if let Some(hint) = hint {
        answer["hint"] = Value::from(hint);
    }
    Ok(answer)
}
