//! Log lines are written by applications, which print secrets more often than anyone would
//! like: a connection string, a debug dump of headers, a key pasted into a config file. A
//! log read for a model is scrubbed of the obvious ones first; each is replaced by
//! `[redacted]` and counted, so the answer says that something was hidden.
//!
//! What is caught: AWS access key ids (`AKIA…`, `ASIA…`), `Bearer` tokens, JWTs, PEM private
//! keys, and `key=value` / `key: value` pairs whose key names a secret (`password`, `secret`,
//! `token`, `api_key`, `access_key`, …). It is a net for the obvious, not a guarantee: logs
//! stay data to be read with care.

use std::sync::OnceLock;

use regex_lite::Regex;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            (
                r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
                "[redacted]",
            ),
            (r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "[redacted]"),
            // A password in a URL's user information: `postgres://user:secret@host/db`.
            (
                r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s/@]+@",
                "${1}:[redacted]@",
            ),
            (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}", "Bearer [redacted]"),
            (
                r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
                "[redacted]",
            ),
            // `key=value`; the key is named so that `scrub` can keep Secrets Manager's names.
            (
                r#"(?i)\b(?P<key>[a-z0-9_.-]*(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credentials?)[a-z0-9_.-]*)(\s*[=:]\s*)("?)[^\s"',;&]+"#,
                "${1}${3}${4}[redacted]",
            ),
        ]
        .into_iter()
        .map(|(re, with)| {
            // The patterns are constants, tested below: a failure is a build defect.
            (Regex::new(re).unwrap_or_else(|e| unreachable!("{re}: {e}")), with)
        })
        .collect()
    })
}

/// `text` with every secret found replaced, and how many were.
pub fn scrub(text: &str) -> (String, usize) {
    let mut out = text.to_owned();
    let mut count = 0;
    for (re, with) in patterns() {
        let mut found = 0;
        let replaced = re.replace_all(&out, |caps: &regex_lite::Captures<'_>| {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            // An AWS name that only looks like a secret's key is kept as written.
            if let Some(key) = caps.name("key")
                && names_a_secrets_manager_thing(&out[..key.start()], key.as_str())
            {
                return whole.to_owned();
            }
            found += 1;
            let mut expanded = String::new();
            caps.expand(with, &mut expanded);
            expanded
        });
        out = replaced.into_owned();
        count += found;
    }
    (out, count)
}

/// Whether `key` (followed by `:` or `=`) is Secrets Manager's name rather than a secret's
/// key: its service prefix (`secretsmanager:GetSecretValue`, `arn:aws:secretsmanager:…`) or
/// the `secret` resource type of its ARNs (`…:123456789012:secret:db-AbCd`). Both name a
/// service and a secret; neither holds one, and hiding them hides what a policy change did.
fn names_a_secrets_manager_thing(before: &str, key: &str) -> bool {
    if key.eq_ignore_ascii_case("secretsmanager") {
        return true;
    }
    // An ARN's resource type follows `:<12-digit account>:`.
    key == "secret"
        && before.strip_suffix(':').is_some_and(|b| {
            let digits = b.bytes().rev().take_while(u8::is_ascii_digit).count();
            digits == 12 && b[..b.len() - 12].ends_with(':')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obvious_secrets_are_replaced_and_counted() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE used", "key [redacted] used"),
            (
                "Authorization: Bearer abc.def-ghi_jkl",
                "Authorization: Bearer [redacted]",
            ),
            ("password=hunter2 user=bob", "password=[redacted] user=bob"),
            ("DB_PASSWORD: \"s3cr3t\"", "DB_PASSWORD: \"[redacted]\""),
            ("api_key = abc123, next", "api_key = [redacted], next"),
            ("X-Api-Key:k123", "X-Api-Key:[redacted]"),
            (
                "dsn=\"postgres://checkout:hunter2@db.shop:5432/orders?sslmode=require\"",
                "dsn=\"postgres://checkout:[redacted]@db.shop:5432/orders?sslmode=require\"",
            ),
            (
                "Action=secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCd secret:s3cr3t",
                "Action=secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCd secret:[redacted]",
            ),
            (
                "amqp://guest:guest@rabbit:5672/ and https://example.com:8443/x",
                "amqp://guest:[redacted]@rabbit:5672/ and https://example.com:8443/x",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "token [redacted]",
            ),
        ];
        for (text, want) in cases {
            let (got, n) = scrub(text);
            assert_eq!(got, want, "{text}");
            assert!(n >= 1, "{text}");
        }
        let key = "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(scrub(key), ("a\n[redacted]\nb".to_owned(), 1));
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        for text in [
            "GET /healthz 200 3ms",
            "panic: connect to postgres: password authentication failed for user \"api\"",
            "tokens processed: 42",
        ] {
            assert_eq!(scrub(text), (text.to_owned(), 0), "{text}");
        }
    }
}
