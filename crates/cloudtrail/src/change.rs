//! One CloudTrail event as the answer lists it: when, what, who, from where, on what, whether
//! it failed, and what was asked.
//!
//! LookupEvents gives a few fields directly (`EventTime`, `EventName`, `EventSource`,
//! `ReadOnly`, `Username`, `Resources`) and the rest inside `CloudTrailEvent`, the full
//! record as a JSON string: `userIdentity` (who), `sourceIPAddress`, `userAgent`,
//! `awsRegion`, `errorCode`/`errorMessage`, `requestParameters`. That string is parsed
//! once per listed event; when it is missing or unreadable the event is still listed with
//! what the direct fields say.
//!
//! Everything taken from an event is text someone else chose (a role session name, a
//! resource name, a user agent, an error message quoting a request), so every string is
//! cleaned ([`common::text::clean`]) and cut: names, ARNs and addresses at
//! [`MAX_FIELD_CHARS`], error messages at [`MAX_MESSAGE_CHARS`]. Error messages are also
//! scrubbed of secrets, and request parameters become a [`crate::summary`]. The access key
//! id of the caller is never included.

use aws_sdk_cloudtrail::types::Event;
use common::text::clean;
use serde::Serialize;
use serde_json::Value;

use crate::summary::{self, scrub_and_clean};

/// Longest name, ARN, address or user agent kept, in characters.
pub const MAX_FIELD_CHARS: usize = 256;
/// Longest error message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Most resources listed per event; the rest are counted in `resources_omitted`.
pub const MAX_RESOURCES: usize = 10;

/// Who made the call, from the record's `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Who {
    /// `AssumedRole`, `IAMUser`, `Root`, `AWSService`, `FederatedUser`, … as CloudTrail
    /// writes it.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The caller's ARN (for an assumed role, the session's:
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    pub arn: Option<String>,
    /// The account the caller belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The event's `Username`: the IAM user's name or the role session's name, what the
    /// `username` lookup matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// An assumed role's session name (the last part of its ARN): often the person or the
    /// pipeline run behind the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// The role (or user) whose credentials the session uses: `sessionContext.sessionIssuer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<String>,
    /// The identity a role chain was started with (`sessionContext.sourceIdentity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The AWS service that made the call on the caller's behalf (`invokedBy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// A resource the event names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    /// `AWS::EKS::Cluster`, `AWS::EC2::SecurityGroup`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Its name, id or ARN as CloudTrail gives it.
    pub name: Option<String>,
}

/// One event of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// When the call was made, RFC 3339 (UTC, to the second).
    pub time: Option<String>,
    /// The API action: `UpdateNodegroupConfig`, `PutRolePolicy`, …
    pub event_name: Option<String>,
    /// The service: `eks.amazonaws.com`, `iam.amazonaws.com`, …
    pub event_source: Option<String>,
    /// Who made the call.
    pub who: Who,
    /// Where the call came from: an IP address, or a service name for calls AWS services
    /// make (`autoscaling.amazonaws.com`).
    pub source_ip: Option<String>,
    /// The caller's user agent (the CLI, Terraform, the console).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The resources the event names, at most [`MAX_RESOURCES`].
    pub resources: Vec<ResourceRef>,
    /// How many more resources the event names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources_omitted: Option<usize>,
    /// Whether CloudTrail counts the call as read-only.
    pub read_only: Option<bool>,
    /// The error code when the call failed (`AccessDenied`, …); absent when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The error message when the call failed, scrubbed and cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The region the call was made in (IAM and other global services: `us-east-1`).
    pub region: Option<String>,
    /// The request parameters, summarised ([`crate::summary`]); null when there were none.
    pub request_parameters: Option<String>,
    /// Whether the summary was cut at its limit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub request_parameters_truncated: bool,
    /// CloudTrail's id of the event.
    pub event_id: Option<String>,
}

/// A field of the record as cleaned text.
fn text_at(record: &Value, pointer: &str) -> Option<String> {
    match record.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(clean(s, MAX_FIELD_CHARS)),
        _ => None,
    }
}

fn field(text: Option<&str>) -> Option<String> {
    text.filter(|s| !s.is_empty())
        .map(|s| clean(s, MAX_FIELD_CHARS))
}

/// The session name of an assumed role's ARN: `…:assumed-role/<role>/<session>`.
pub fn session_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.splitn(3, '/');
    (parts.next()? == "assumed-role")
        .then(|| parts.nth(1))
        .flatten()
        .filter(|s| !s.is_empty())
}

impl Who {
    /// Who, from the record's `userIdentity`, with the event's `Username`.
    pub fn from_record(identity: Option<&Value>, username: Option<&str>) -> Self {
        let Some(id) = identity else {
            return Self {
                username: field(username),
                ..Self::default()
            };
        };
        let arn = id.get("arn").and_then(Value::as_str);
        Self {
            kind: text_at(id, "/type"),
            arn: field(arn),
            account_id: text_at(id, "/accountId"),
            username: field(username).or_else(|| text_at(id, "/userName")),
            session_name: field(arn.and_then(session_name)),
            session_issuer: text_at(id, "/sessionContext/sessionIssuer/arn"),
            source_identity: text_at(id, "/sessionContext/sourceIdentity"),
            invoked_by: text_at(id, "/invokedBy"),
        }
    }
}

/// Whether the event is read-only: the event's `ReadOnly`, else the record's `readOnly`.
/// Unknown counts as a change: a possible read shown beats a change hidden.
pub fn is_read_only(event: &Event) -> bool {
    match event.read_only() {
        Some(flag) => flag.eq_ignore_ascii_case("true"),
        None => event
            .cloud_trail_event()
            .and_then(|record| serde_json::from_str::<Value>(record).ok())
            .and_then(|record| record.get("readOnly").and_then(Value::as_bool))
            .unwrap_or(false),
    }
}

/// Unix milliseconds of an SDK timestamp.
fn millis(time: &aws_smithy_types::DateTime) -> i64 {
    time.secs()
        .saturating_mul(1000)
        .saturating_add(i64::from(time.subsec_nanos() / 1_000_000))
}

impl Change {
    /// The answer's entry for `event`, and how many secrets its summary replaced.
    pub fn from_event(event: &Event) -> (Self, usize) {
        let record: Value = event
            .cloud_trail_event()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or(Value::Null);
        let resources = event.resources();
        let time = event
            .event_time()
            .map(|t| common::time::format_rfc3339(millis(t)))
            .or_else(|| text_at(&record, "/eventTime"));
        let read_only = event
            .read_only()
            .map(|flag| flag.eq_ignore_ascii_case("true"))
            .or_else(|| record.get("readOnly").and_then(Value::as_bool));
        let error_message = record
            .get("errorMessage")
            .and_then(Value::as_str)
            .map(|m| scrub_and_clean(m, MAX_MESSAGE_CHARS));
        let summary = record.get("requestParameters").and_then(summary::summarise);
        let redactions = error_message.as_ref().map_or(0, |(_, n)| *n)
            + summary.as_ref().map_or(0, |s| s.redactions);
        let change = Self {
            time,
            event_name: field(event.event_name()).or_else(|| text_at(&record, "/eventName")),
            event_source: field(event.event_source()).or_else(|| text_at(&record, "/eventSource")),
            who: Who::from_record(record.get("userIdentity"), event.username()),
            source_ip: text_at(&record, "/sourceIPAddress"),
            user_agent: text_at(&record, "/userAgent"),
            resources: resources
                .iter()
                .take(MAX_RESOURCES)
                .map(|r| ResourceRef {
                    kind: field(r.resource_type()),
                    name: field(r.resource_name()),
                })
                .collect(),
            resources_omitted: (resources.len() > MAX_RESOURCES)
                .then(|| resources.len() - MAX_RESOURCES),
            read_only,
            error_code: text_at(&record, "/errorCode"),
            error_message: error_message.map(|(m, _)| m),
            region: text_at(&record, "/awsRegion"),
            request_parameters_truncated: summary.as_ref().is_some_and(|s| s.truncated),
            request_parameters: summary.map(|s| s.text),
            event_id: field(event.event_id()).or_else(|| text_at(&record, "/eventID")),
        };
        (change, redactions)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::Resource;
    use serde_json::json;

    use super::*;

    fn record() -> Value {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:jane.doe@example.com",
                "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/jane.doe@example.com",
                "accountId": "123456789012",
                "accessKeyId": "ASIAXAMPLEKEY1234567",
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/platform-admin",
                                      "userName": "platform-admin"},
                    "attributes": {"creationDate": "2026-01-01T00:00:00Z", "mfaAuthenticated": "false"}
                }
            },
            "eventTime": "2026-01-01T10:00:00Z",
            "eventSource": "eks.amazonaws.com",
            "eventName": "UpdateNodegroupConfig",
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "203.0.113.24",
            "userAgent": "aws-cli/2.15.30\u{200B}",
            "errorCode": "AccessDenied",
            "errorMessage": "denied; token=abcdef123456 was used",
            "requestParameters": {"name": "prod-eu", "scalingConfig": {"desiredSize": 0}},
            "readOnly": false,
            "eventID": "e-1"
        })
    }

    fn event(record: &Value) -> Event {
        Event::builder()
            .event_id("e-1")
            .event_name("UpdateNodegroupConfig")
            .read_only("false")
            .access_key_id("ASIAXAMPLEKEY1234567")
            .event_time(aws_smithy_types::DateTime::from_secs(1_767_261_600))
            .event_source("eks.amazonaws.com")
            .username("jane.doe@example.com")
            .resources(
                Resource::builder()
                    .resource_type("AWS::EKS::Cluster")
                    .resource_name("prod-eu")
                    .build(),
            )
            .cloud_trail_event(record.to_string())
            .build()
    }

    #[test]
    fn every_field_comes_from_the_event_and_its_record() {
        let (change, redactions) = Change::from_event(&event(&record()));
        assert_eq!(
            serde_json::to_value(&change).unwrap(),
            json!({
                "time": "2026-01-01T10:00:00Z",
                "event_name": "UpdateNodegroupConfig",
                "event_source": "eks.amazonaws.com",
                "who": {
                    "type": "AssumedRole",
                    "arn": "arn:aws:sts::123456789012:assumed-role/platform-admin/jane.doe@example.com",
                    "account_id": "123456789012",
                    "username": "jane.doe@example.com",
                    "session_name": "jane.doe@example.com",
                    "session_issuer": "arn:aws:iam::123456789012:role/platform-admin"
                },
                "source_ip": "203.0.113.24",
                "user_agent": "aws-cli/2.15.30",
                "resources": [{"type": "AWS::EKS::Cluster", "name": "prod-eu"}],
                "read_only": false,
                "error_code": "AccessDenied",
                "error_message": "denied; token=[redacted] was used",
                "region": "eu-west-1",
                "request_parameters": "name=prod-eu; scalingConfig.desiredSize=0",
                "event_id": "e-1"
            })
        );
        assert_eq!(redactions, 1);
        assert!(!serde_json::to_string(&change).unwrap().contains("ASIA"));
    }

    #[test]
    fn a_missing_or_broken_record_still_lists_the_event() {
        let e = Event::builder()
            .event_name("UpdateNodegroupConfig")
            .username("bob")
            .cloud_trail_event("{not json")
            .build();
        let (change, redactions) = Change::from_event(&e);
        assert_eq!(change.event_name.as_deref(), Some("UpdateNodegroupConfig"));
        assert_eq!(change.who.username.as_deref(), Some("bob"));
        assert_eq!((change.who.kind, change.request_parameters), (None, None));
        assert_eq!((change.time, redactions), (None, 0));
    }

    #[test]
    fn service_callers_and_many_resources() {
        let mut r = record();
        r["userIdentity"] = json!({"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"});
        let mut b = Event::builder().cloud_trail_event(r.to_string());
        for i in 0..13 {
            b = b.resources(Resource::builder().resource_name(format!("i-{i}")).build());
        }
        let (change, _) = Change::from_event(&b.build());
        assert_eq!(change.who.kind.as_deref(), Some("AWSService"));
        assert_eq!(
            change.who.invoked_by.as_deref(),
            Some("autoscaling.amazonaws.com")
        );
        assert_eq!(change.resources.len(), MAX_RESOURCES);
        assert_eq!(change.resources_omitted, Some(3));
        assert_eq!(change.read_only, Some(false), "from the record's readOnly");
    }

    #[test]
    fn session_names_come_from_assumed_role_arns_only() {
        assert_eq!(
            session_name("arn:aws:sts::1:assumed-role/deployer/gha-run-8812"),
            Some("gha-run-8812")
        );
        assert_eq!(session_name("arn:aws:iam::1:user/bob"), None);
        assert_eq!(session_name("arn:aws:sts::1:assumed-role/deployer"), None);
        assert_eq!(session_name("not an arn"), None);
    }

    #[test]
    fn read_only_comes_from_the_event_else_the_record() {
        let r = record();
        assert!(!is_read_only(&event(&r)));
        let b = |flag: Option<&str>, record: Value| {
            Event::builder()
                .set_read_only(flag.map(str::to_owned))
                .cloud_trail_event(record.to_string())
                .build()
        };
        assert!(is_read_only(&b(Some("true"), r.clone())));
        assert!(is_read_only(&b(None, json!({"readOnly": true}))));
        assert!(!is_read_only(&b(None, json!({}))), "unknown is a change");
    }
}
