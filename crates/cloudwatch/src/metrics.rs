//! CloudWatch metrics: which exist (`list_metrics`, the discovery step before asking for
//! data, because a metric is only found with exactly its dimensions) and what one did
//! (`metric_data`).
//!
//! `metric_data` answers the way prometheus-range-query does ([`common::series`]): a summary
//! over every point (min, max, avg of the finite values; first, last, count) and the values
//! downsampled to `max_points` by keeping each bucket's lowest and highest point, so a model
//! reads a CloudWatch metric and a Prometheus range alike.

use aws_sdk_cloudwatch::{
    Client,
    types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, ScanBy},
};
use aws_smithy_types::DateTime;
use common::{
    Deadline, ToolError,
    series::{Stats, downsample, finite_stats},
};
use serde_json::{Map, Value, json};

use crate::{call, input::Request, rfc3339};

/// The service, as messages name it.
const SERVICE: &str = "CloudWatch";
/// Pages read for one answer at most.
const MAX_PAGES: usize = 20;

/// The metrics matching a [`Request::ListMetrics`].
pub async fn list(
    client: &Client,
    request: &Request,
    deadline: &Deadline,
) -> Result<Value, ToolError> {
    let Request::ListMetrics {
        namespace,
        metric_name,
        dimensions,
        max_results,
    } = request
    else {
        unreachable!("list is only called for list_metrics")
    };
    let max = *max_results as usize;
    let filters: Vec<DimensionFilter> = dimensions
        .iter()
        .map(|(name, value)| DimensionFilter::builder().name(name).value(value).build())
        .collect();
    let mut metrics = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "cloudwatch:ListMetrics",
            client
                .list_metrics()
                .set_namespace(namespace.clone())
                .set_metric_name(metric_name.clone())
                .set_dimensions((!filters.is_empty()).then(|| filters.clone()))
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        metrics.extend(page.metrics().iter().map(|m| {
            json!({
                "namespace": m.namespace(),
                "metric_name": m.metric_name(),
                "dimensions": dimensions_object(m.dimensions()),
            })
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() || metrics.len() >= max {
            break;
        }
    }
    let more = token.is_some() || metrics.len() > max;
    metrics.truncate(max);
    let mut answer = json!({
        "count": metrics.len(),
        "metrics": metrics,
        "truncated": more,
    });
    if answer["count"] == 0 {
        // An empty list reads as "the metric does not exist"; say what was matched, and how.
        answer["hint"] = Value::from(
            "no metric matched: namespace and metric_name are exact, case-sensitive names, and each dimension filter must match a dimension the metric has; list without filters to see what exists",
        );
    }
    Ok(answer)
}

fn dimensions_object(dimensions: &[Dimension]) -> Map<String, Value> {
    dimensions
        .iter()
        .filter_map(|d| Some((d.name()?.to_owned(), Value::from(d.value()?))))
        .collect()
}

/// One metric's values for a [`Request::MetricData`].
pub async fn data(
    client: &Client,
    request: &Request,
    deadline: &Deadline,
) -> Result<Value, ToolError> {
    let Request::MetricData {
        namespace,
        metric_name,
        dimensions,
        stat,
        period_s,
        start_ms,
        end_ms,
        max_points,
    } = request
    else {
        unreachable!("data is only called for metric_data")
    };
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(metric_name)
        .set_dimensions(Some(
            dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .build();
    let query = MetricDataQuery::builder()
        .id("m1")
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(*period_s as i32)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build();
    let (mut times, mut values, mut label, mut status, mut messages) =
        (Vec::new(), Vec::new(), None, None, Vec::new());
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call(
            deadline,
            SERVICE,
            "cloudwatch:GetMetricData",
            client
                .get_metric_data()
                .metric_data_queries(query.clone())
                .start_time(DateTime::from_millis(*start_ms))
                .end_time(DateTime::from_millis(*end_ms))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.take())
                .send(),
        )
        .await?;
        for result in page.metric_data_results() {
            times.extend(
                result
                    .timestamps()
                    .iter()
                    .filter_map(|t| t.to_millis().ok()),
            );
            values.extend_from_slice(result.values());
            label = label.or(result.label().map(str::to_owned));
            status = result
                .status_code()
                .map(|s| s.as_str().to_owned())
                .or(status);
            messages.extend(
                result
                    .messages()
                    .iter()
                    .filter_map(|m| m.value().map(str::to_owned)),
            );
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let points = times.len().min(values.len());
    let Stats { min, max, avg } = finite_stats(&values[..points]);
    let keep = downsample(&values[..points], *max_points as usize);
    let kept: Vec<Value> = keep
        .iter()
        .map(|&i| json!([times[i] / 1000, values[i]]))
        .collect();
    let mut answer = json!({
        "namespace": namespace,
        "metric_name": metric_name,
        "dimensions": dimensions,
        "stat": stat,
        "period_seconds": period_s,
        "start": rfc3339(*start_ms),
        "end": rfc3339(*end_ms),
        "label": label,
        "status": status,
        "summary": {
            "min": min,
            "max": max,
            "avg": avg,
            "first": values.first(),
            "last": values.get(points.saturating_sub(1)).filter(|_| points > 0),
            "count": points,
        },
        "values": kept,
        "truncated": kept.len() < points || token.is_some(),
    });
    if !messages.is_empty() {
        answer["messages"] = messages.into();
    }
    if points == 0 {
        answer["hint"] = Value::from(
            "no data points: the metric exists only with exactly its dimensions (list_metrics shows them), and has no data in this range or at this period",
        );
    }
    Ok(answer)
}
