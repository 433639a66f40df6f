//! Label matchers, the language operators already use to pick alerts:
//! `severity="critical", namespace=~"prod.*"`.
//!
//! One grammar that both Prometheus and Alertmanager read the same way, so a `match` means
//! the same thing for every action:
//!
//! ```text
//! list    := matcher ( "," matcher )*          whitespace allowed around each part
//! matcher := name op value
//! name    := [a-zA-Z_][a-zA-Z0-9_]*
//! op      := "=" | "!=" | "=~" | "!~"
//! value   := '"' ( any character but " or \ | \\ | \" | \n )* '"'
//! ```
//!
//! Regexes are RE2 syntax, anchored at both ends as in PromQL. A missing label has the value
//! `""`, so `team!="db"` matches an alert without a `team` label, as in PromQL.
//!
//! What a model plausibly writes instead is read as it meant, since nothing else could be
//! meant: the list in braces as a PromQL selector has it (`{severity="critical"}`), `==` for
//! `=`, a value in single quotes, or a bare value without spaces, commas or quotes
//! (`severity=critical`, as amtool takes it).
//!
//! Everything is checked here, before any request: a syntax error names the matcher and the
//! position it stopped at. Prometheus' alert and rule APIs take no matchers, so the function
//! applies them itself ([`Matcher::matches`]); Alertmanager takes each as a `filter`
//! ([`Matcher::to_filter`]).

use std::collections::BTreeMap;

use common::ToolError;
use regex_lite::Regex;

/// Longest `match` text, in characters.
pub const MAX_MATCH_CHARS: usize = 1_000;
/// Most matchers in one `match`.
pub const MAX_MATCHERS: usize = 20;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One parsed matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: Op,
    /// The value as written, unescaped.
    pub value: String,
    /// For `=~` and `!~`: the value compiled, anchored.
    regex: Option<Regex>,
}

impl Matcher {
    /// Whether an object with `labels` satisfies this matcher (a missing label is `""`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (Op::Equal, _) => value == self.value,
            (Op::NotEqual, _) => value != self.value,
            (Op::Regex, Some(re)) => re.is_match(value),
            (Op::NotRegex, Some(re)) => !re.is_match(value),
            // Regex operators always carry their compiled regex (see `parse`).
            (Op::Regex | Op::NotRegex, None) => false,
        }
    }

    /// The matcher as one Alertmanager `filter` parameter: `name=~"value"`, re-quoted with
    /// the escapes Alertmanager reads.
    pub fn to_filter(&self) -> String {
        format!(
            "{}{}{}",
            self.name,
            self.op.as_str(),
            common::prometheus::promql_string(&self.value)
        )
    }
}

/// Whether every matcher matches `labels`.
pub fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Parses a `match` list (see the module docs). Empty text is an error: leave `match` out to
/// match everything.
pub fn parse(text: &str) -> Result<Vec<Matcher>, ToolError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > MAX_MATCH_CHARS {
        return Err(ToolError::invalid_input(format!(
            "match must be 1 to {MAX_MATCH_CHARS} characters of label matchers such as severity=\"critical\", got {chars} characters"
        )));
    }
    // `{a="x"}`: PromQL's braces around the list.
    let trimmed = text.trim();
    let text = trimmed
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let mut parser = Parser { text, at: 0 };
    let mut matchers = Vec::new();
    loop {
        parser.skip_space();
        let matcher = parser.matcher()?;
        matchers.push(matcher);
        if matchers.len() > MAX_MATCHERS {
            return Err(ToolError::invalid_input(format!(
                "match has more than {MAX_MATCHERS} matchers"
            )));
        }
        parser.skip_space();
        match parser.peek() {
            None => return Ok(matchers),
            Some(',') => parser.at += 1,
            Some(_) => return Err(parser.error("expected , between matchers")),
        }
    }
}

/// A character of a value written without quotes.
fn bare_char(c: char) -> bool {
    !matches!(c, ',' | '"' | '\'' | '`' | '{' | '}') && !c.is_whitespace()
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.at += c.len_utf8();
        }
    }

    /// An error naming where parsing stopped (1-based character position).
    fn error(&self, what: &str) -> ToolError {
        let position = self.text[..self.at].chars().count() + 1;
        let near: String = self.text[self.at..].chars().take(20).collect();
        let near = if near.is_empty() {
            "the end".to_owned()
        } else {
            format!("`{near}`")
        };
        ToolError::invalid_input(format!(
            "match: {what} at character {position} (near {near}); write matchers as name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\", separated by commas"
        ))
    }

    fn matcher(&mut self) -> Result<Matcher, ToolError> {
        let start = self.at;
        while let Some(c) = self.peek() {
            let valid =
                c == '_' || c.is_ascii_alphabetic() || (self.at > start && c.is_ascii_digit());
            if !valid {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
        }
        let name = self.text[start..self.at].to_owned();
        self.skip_space();
        let rest = &self.text[self.at..];
        let (op, len) = if rest.starts_with("=~") {
            (Op::Regex, 2)
        } else if rest.starts_with("!~") {
            (Op::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (Op::NotEqual, 2)
        } else if rest.starts_with("==") {
            (Op::Equal, 2)
        } else if rest.starts_with('=') {
            (Op::Equal, 1)
        } else {
            return Err(self.error("expected =, !=, =~ or !~ after the label name"));
        };
        self.at += len;
        self.skip_space();
        let value = self.quoted()?;
        let regex = match op {
            Op::Regex | Op::NotRegex => {
                Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    ToolError::invalid_input(format!(
                        "match: the regex of {name} is not valid: {}",
                        e.to_string().lines().last().unwrap_or_default()
                    ))
                })?)
            }
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    /// A value: in double quotes (with `\\`, `\"`, `\n` escapes), in single quotes (with
    /// `\\` and `\'`), or bare ([`bare_char`]).
    fn quoted(&mut self) -> Result<String, ToolError> {
        let quote = match self.peek() {
            Some(q @ ('"' | '\'')) => q,
            // Not an operator's character: `a=~x` is a regex, `a=!x` a typo to name.
            Some(c) if bare_char(c) && !matches!(c, '!' | '~' | '=') => return Ok(self.bare()),
            _ => return Err(self.error("expected a value in double quotes")),
        };
        self.at += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(&format!("unterminated value: missing closing {quote}")));
            };
            self.at += c.len_utf8();
            match c {
                c if c == quote => return Ok(value),
                '\\' => {
                    match self.peek() {
                        Some('\\') => value.push('\\'),
                        Some(q) if q == quote => value.push(q),
                        Some('n') if quote == '"' => value.push('\n'),
                        _ => return Err(self.error("unknown escape (only \\\\, \\\" and \\n)")),
                    }
                    self.at += 1;
                }
                c => value.push(c),
            }
        }
    }

    /// A value without quotes: up to a comma, a space, a quote or the end
    /// (`severity=critical`).
    fn bare(&mut self) -> String {
        let start = self.at;
        while let Some(c) = self.peek().filter(|c| bare_char(*c)) {
            self.at += c.len_utf8();
        }
        self.text[start..self.at].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_operator_matches_as_in_promql() {
        let alert = labels(&[("severity", "critical"), ("namespace", "prod-payments")]);
        let cases = [
            (r#"severity="critical""#, true),
            (r#"severity!="critical""#, false),
            (r#"namespace=~"prod.*""#, true),
            (r#"namespace=~"prod""#, false), // anchored
            (r#"namespace!~"staging|dev""#, true),
            (r#"team="""#, true), // a missing label is ""
            (r#"team!="db""#, true),
            (r#" severity = "critical" , namespace =~ "prod-.+" "#, true),
            (r#"severity="critical",namespace="staging""#, false),
        ];
        for (text, want) in cases {
            let matchers = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(all_match(&matchers, &alert), want, "{text}");
        }
    }

    /// What a model plausibly writes instead of the grammar, read as it meant.
    #[test]
    fn braces_double_equals_single_quotes_and_bare_values_are_read() {
        let alert = labels(&[("severity", "critical"), ("namespace", "prod-payments")]);
        for text in [
            r#"{severity="critical"}"#,
            r#"severity=="critical""#,
            "severity='critical'",
            "severity=critical",
            "severity=critical, namespace=~prod-.*",
            r#" { severity = critical , namespace!="staging" } "#,
        ] {
            let matchers = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(all_match(&matchers, &alert), "{text}");
        }
        assert_eq!(parse(r"a='it\'s'").unwrap()[0].value, "it's");
        assert!(!all_match(&parse("severity=warning").unwrap(), &alert));
    }

    #[test]
    fn escapes_are_read_and_written_back() {
        let m = &parse(r#"summary="say \"hi\"\\n\n""#).unwrap()[0];
        assert_eq!(m.value, "say \"hi\"\\n\n");
        assert_eq!(m.to_filter(), r#"summary="say \"hi\"\\n\n""#);
        assert_eq!(parse(r#"a=~"x.*""#).unwrap()[0].to_filter(), r#"a=~"x.*""#);
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        let cases = [
            ("", "1 to 1000 characters"),
            ("   ", "1 to 1000 characters"),
            ("severity", "expected =, !=, =~ or !~"),
            ("1abc=\"x\"", "expected a label name"),
            ("severity=", "expected a value in double quotes"),
            ("severity=\"critical", "unterminated value"),
            (
                "a=\"x\" b=\"y\"",
                "expected , between matchers at character 7",
            ),
            (
                "a=\"x\",",
                "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) at character 7 (near the end)",
            ),
            ("{a=\"x\"", "expected a label name"),
            ("a=\"\\t\"", "unknown escape"),
            ("a=~\"(unclosed\"", "the regex of a is not valid"),
            (
                "a=!\"x\"",
                "expected a value in double quotes at character 3",
            ),
        ];
        for (text, part) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.code, common::ErrorCode::InvalidInput, "{text}");
            assert!(e.message.contains(part), "{text}: {}", e.message);
        }
        let long = format!("a=\"{}\"", "x".repeat(1_000));
        assert!(
            parse(&long)
                .unwrap_err()
                .message
                .contains("got 1004 characters")
        );
        let many = vec!["a=\"x\""; 21].join(",");
        assert!(parse(&many).unwrap_err().message.contains("more than 20"));
    }
}
