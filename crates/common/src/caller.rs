//! Who is asking: the caller's identity as the entry shape proves it (docs/contract.md §1.4).
//!
//! | entry | read from | [`Caller`] |
//! |---|---|---|
//! | HTTP API (v2) with a JWT authorizer | `requestContext.authorizer.jwt.claims` | [`Caller::Jwt`]: `iss` and `sub` (or `client_id` for a machine token) |
//! | REST API (v1) with a Cognito user-pool authorizer | `requestContext.authorizer.claims` | [`Caller::Jwt`] |
//! | HTTP API (v2) or Function URL with IAM auth | `requestContext.authorizer.iam.userArn` | [`Caller::Iam`] |
//! | REST API (v1) with IAM auth | `requestContext.identity.userArn` | [`Caller::Iam`] |
//! | direct invoke with `caller` in the client context's `custom` map | the client context | [`Caller::Declared`] |
//! | direct invoke without it | | [`Caller::Direct`] |
//! | HTTP without an authorizer | | [`Caller::Anonymous`] |
//!
//! Only what API Gateway or Lambda wrote into the event counts, never the request body: a
//! caller cannot name someone else. A direct invoke is different: its event and client
//! context are whatever the invoker sent, so whoever may call `lambda:InvokeFunction` on the
//! function can claim any identity, including an HTTP caller's by sending an event of that
//! shape. Direct invokers are therefore trusted-internal callers, and IAM decides who they
//! are.
//!
//! An assumed role's ARN carries its session name
//! (`arn:aws:sts::123456789012:assumed-role/Ops/alice@example.com`), so two people behind one
//! role are two callers.

use serde_json::{Map, Value};

use crate::error::ToolError;

/// The key in the client context's `custom` map a direct invoker names its caller with.
pub const CALLER_KEY: &str = "caller";

/// Longest declared caller name, in characters.
pub const MAX_DECLARED_CALLER: usize = 256;

/// The identity a request arrived with (see the module docs for where each comes from).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A JWT validated by API Gateway's authorizer.
    Jwt {
        /// The token's issuer (`iss`), empty when the authorizer passed none.
        issuer: String,
        /// The token's subject (`sub`), or its `client_id` when it has no subject.
        subject: String,
    },
    /// An IAM principal that signed the request with SigV4.
    Iam {
        /// The principal's ARN.
        arn: String,
    },
    /// A direct invoke that named its caller in the client context.
    Declared(String),
    /// A direct invoke that named no caller.
    Direct,
    /// An HTTP request that passed no authorizer (a local emulator, or an API without auth).
    Anonymous,
}

impl Caller {
    /// The identity of an HTTP event (one with `requestContext`), or [`Caller::Anonymous`]
    /// when no authorizer vouched for one.
    pub fn of_http_event(event: &Map<String, Value>) -> Self {
        let context = event.get("requestContext");
        let at = |path: &str| {
            context
                .and_then(|c| c.pointer(path))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let claims = context.and_then(|c| {
            c.pointer("/authorizer/jwt/claims")
                .or_else(|| c.pointer("/authorizer/claims"))
        });
        if let Some(claims) = claims {
            let claim = |name: &str| {
                claims
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            if let Some(subject) = claim("sub").or_else(|| claim("client_id")) {
                return Self::Jwt {
                    issuer: claim("iss").unwrap_or_default().to_owned(),
                    subject: subject.to_owned(),
                };
            }
        }
        match at("/authorizer/iam/userArn").or_else(|| at("/identity/userArn")) {
            Some(arn) => Self::Iam {
                arn: arn.to_owned(),
            },
            None => Self::Anonymous,
        }
    }

    /// The identity of a direct invoke: the client context's `caller`, if any. A name that is
    /// blank, too long or holds control characters is refused rather than shortened, so two
    /// invokers never end up as one caller.
    pub fn of_direct_invoke(context: &lambda_runtime::Context) -> Result<Self, ToolError> {
        let Some(name) = context
            .client_context
            .as_ref()
            .and_then(|c| c.custom.get(CALLER_KEY))
        else {
            return Ok(Self::Direct);
        };
        let chars = name.chars().count();
        if name.trim().is_empty()
            || chars > MAX_DECLARED_CALLER
            || name.chars().any(char::is_control)
        {
            return Err(ToolError::invalid_input(format!(
                "the client context's `{CALLER_KEY}` must be 1 to {MAX_DECLARED_CALLER} characters without control characters, got {chars}"
            )));
        }
        Ok(Self::Declared(name.clone()))
    }
}

/// The owner name sessions, budgets and the audit line use: `jwt:<iss> <sub>`,
/// `iam:<arn>`, `caller:<name>`, `direct` or `anonymous`. Distinct callers have distinct names
/// (an issuer holds no space; an ARN and a declared name are prefixed differently).
impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Jwt { issuer, subject } => write!(f, "jwt:{issuer} {subject}"),
            Self::Iam { arn } => write!(f, "iam:{arn}"),
            Self::Declared(name) => write!(f, "caller:{name}"),
            Self::Direct => f.write_str("direct"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use lambda_runtime::Context;
    use serde_json::json;

    use super::*;

    fn of(event: Value) -> Caller {
        Caller::of_http_event(event.as_object().unwrap())
    }

    #[test]
    fn a_jwt_caller_is_its_issuer_and_subject() {
        let v2 = json!({"requestContext": {"authorizer": {"jwt": {"claims": {
            "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc", "sub": "4f1c-alice",
            "email": "alice@example.com"}, "scopes": null}}}});
        let caller = of(v2);
        assert_eq!(
            caller.to_string(),
            "jwt:https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc 4f1c-alice"
        );
        // REST (v1) with a Cognito user-pool authorizer puts the claims one level up.
        let v1 = json!({"requestContext": {"authorizer": {"claims": {"iss": "https://idp", "sub": "bob"}}}});
        assert_eq!(of(v1).to_string(), "jwt:https://idp bob");
        // A client-credentials token has no subject but a client id.
        let machine = json!({"requestContext": {"authorizer": {"jwt": {"claims": {"iss": "https://idp", "client_id": "ci-bot"}}}}});
        assert_eq!(of(machine).to_string(), "jwt:https://idp ci-bot");
    }

    #[test]
    fn an_iam_caller_is_its_principal_arn() {
        let arn = "arn:aws:sts::123456789012:assumed-role/Ops/alice@example.com";
        let v2 = json!({"requestContext": {"authorizer": {"iam": {"accessKey": "ASIAEXAMPLE", "userArn": arn}}}});
        assert_eq!(
            of(v2),
            Caller::Iam {
                arn: arn.to_owned()
            }
        );
        let v1 = json!({"requestContext": {"identity": {"userArn": arn, "sourceIp": "10.0.0.1"}}});
        assert_eq!(of(v1).to_string(), format!("iam:{arn}"));
    }

    #[test]
    fn an_http_event_without_an_authorizer_is_anonymous() {
        for event in [
            json!({"requestContext": {"domainName": "localhost", "http": {"method": "POST"}}}),
            json!({"requestContext": {"identity": {"userArn": null, "sourceIp": "10.0.0.1"}}}),
            json!({"requestContext": {"authorizer": {"jwt": {"claims": {"iss": "https://idp", "sub": "  "}}}}}),
        ] {
            assert_eq!(of(event.clone()), Caller::Anonymous, "{event}");
        }
    }

    fn context(custom: &[(&str, &str)]) -> Context {
        let custom: HashMap<&str, &str> = custom.iter().copied().collect();
        let mut context = Context::default();
        // The client context's type is not exported: build it as the runtime does, from JSON.
        context.client_context = serde_json::from_value(json!({ "custom": custom })).unwrap();
        context
    }

    #[test]
    fn a_direct_invoke_is_the_caller_it_declares_or_direct() {
        assert_eq!(
            Caller::of_direct_invoke(&Context::default()).unwrap(),
            Caller::Direct
        );
        assert_eq!(
            Caller::of_direct_invoke(&context(&[("bedrockAgentCoreToolName", "t___agent")]))
                .unwrap(),
            Caller::Direct
        );
        let declared = Caller::of_direct_invoke(&context(&[("caller", "slack-bot")])).unwrap();
        assert_eq!(declared.to_string(), "caller:slack-bot");
        for bad in [" ", "a\nb", &"x".repeat(MAX_DECLARED_CALLER + 1)] {
            let e = Caller::of_direct_invoke(&context(&[("caller", bad)])).unwrap_err();
            assert!(e.message.contains("1 to 256 characters"), "{e}");
        }
    }
}
