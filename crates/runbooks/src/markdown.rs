//! A runbook's text: cleaned for a model, its front matter read, cut to a size.
//!
//! **Cleaning.** A runbook is written by people, but anyone who can write to the bucket can
//! put text in front of the model, and a pasted command may carry a password. So, before any
//! of it leaves the function: invisible and control characters are dropped (line breaks and
//! tabs kept: Markdown needs them), and then secrets are scrubbed ([`common::scrub`]), after
//! the invisible characters so that one cannot hide a secret from the scrubber
//! (`pass\u{200B}word=…`). Line numbers are those of the cleaned text, which `get` returns.
//!
//! **Front matter.** A block between a first line `---` and the next `---` (or `...`), of
//! `key: value` lines:
//!
//! ```text
//! ---
//! title: Pod crash-looping (CrashLoopBackOff)
//! tags: [kubernetes, pods, crashloop]
//! use_when: A pod's container restarts again and again.
//! ---
//! ```
//!
//! `tags` is a `[a, b]` list, a comma list, or YAML's block list (`- a` lines); a value may
//! be quoted, and `>` or `|` continues it on the indented lines below. Other keys are
//! ignored; so is a block with no closing line (the text has no front matter then). With no
//! `title`, the first `# ` heading is the title.

use common::text::is_invisible;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most tags kept.
pub const MAX_TAGS: usize = 20;
/// Longest tag kept, in characters.
pub const MAX_TAG_CHARS: usize = 50;
/// Longest `use_when` kept, in characters.
pub const MAX_USE_WHEN_CHARS: usize = 500;
/// Lines searched for the end of the front matter: a block longer than this is text.
const MAX_FRONT_MATTER_LINES: usize = 100;

/// `text` without invisible or control characters (line breaks and tabs kept, `\r\n` as
/// `\n`), then with its secrets replaced; and how many were.
pub fn clean(text: &str) -> (String, usize) {
    let mut visible = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    visible.push('\n');
                }
            }
            '\n' | '\t' => visible.push(c),
            // Vertical tab, form feed, next line: the space they stand for.
            c if c.is_control() && c.is_whitespace() => visible.push(' '),
            c if is_invisible(c) => {}
            c => visible.push(c),
        }
    }
    common::scrub::scrub(&visible)
}

/// Bytes as text: an incomplete character at the end (the cut of a range read) is dropped,
/// anything else that is not UTF-8 replaced by U+FFFD.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// `text` cut to at most `max` bytes, at a character boundary, and at the last line break
/// if one is in the last quarter (a whole line reads better than half of one); `None` if it
/// fits.
pub fn cut(text: &str, max: usize) -> Option<&str> {
    if text.len() <= max {
        return None;
    }
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let head = &text[..at];
    match head.rfind('\n') {
        Some(line) if line >= max - max / 4 => Some(&head[..line]),
        _ => Some(head),
    }
}

/// `text` without its last line if that line is cut short (the text is the first part of a
/// longer one) and a line break is in its last quarter; else as it is.
pub fn whole_lines(text: &str) -> &str {
    match text.rfind('\n') {
        Some(line) if line >= text.len() - text.len() / 4 => &text[..line],
        _ => text,
    }
}

/// What a runbook's front matter says, each value cleaned to one line and cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    /// `title`.
    pub title: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `use_when`: the situation the runbook is for.
    pub use_when: Option<String>,
}

/// A runbook's text read: its front matter and where its body starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The front matter (empty without one).
    pub front: FrontMatter,
    /// The 0-based index of the body's first line (0 without front matter).
    pub body_start: usize,
    /// The first `# ` heading of the body, for a title when the front matter has none.
    pub heading: Option<String>,
}

/// Reads `text`'s front matter (see the module docs).
pub fn parse(text: &str) -> Parsed {
    let lines: Vec<&str> = text.lines().collect();
    let mut parsed = Parsed::default();
    let end = (lines.first().map(|l| l.trim_end()) == Some("---"))
        .then(|| {
            lines
                .iter()
                .enumerate()
                .skip(1)
                .take(MAX_FRONT_MATTER_LINES)
                .find(|(_, l)| matches!(l.trim_end(), "---" | "..."))
                .map(|(i, _)| i)
        })
        .flatten();
    if let Some(end) = end {
        parsed.front = front_matter(&lines[1..end]);
        parsed.body_start = end + 1;
    }
    parsed.heading = lines[parsed.body_start.min(lines.len())..]
        .iter()
        .find_map(|l| l.strip_prefix("# "))
        .map(|h| common::text::clean(h.trim().trim_end_matches('#'), MAX_TITLE_CHARS))
        .filter(|h| !h.is_empty());
    parsed
}

fn front_matter(lines: &[&str]) -> FrontMatter {
    let mut front = FrontMatter::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        // Keys start at the margin; indented lines belong to the key above.
        if line.starts_with([' ', '\t', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase().replace('-', "_");
        let value = value.trim();
        // The indented lines that continue this key: `- item` lines or a folded value.
        let start = i;
        while i < lines.len() && (lines[i].starts_with([' ', '\t']) || lines[i].trim().is_empty()) {
            i += 1;
        }
        let continued = &lines[start..i];
        match key.as_str() {
            "title" => {
                front.title = one_line(&folded(value, continued), MAX_TITLE_CHARS);
            }
            "use_when" => {
                front.use_when = one_line(&folded(value, continued), MAX_USE_WHEN_CHARS);
            }
            "tags" => front.tags = tags(value, continued),
            _ => {}
        }
    }
    front
}

/// A value, or (for `>`, `|` or nothing after the colon) the indented lines below it.
fn folded(value: &str, continued: &[&str]) -> String {
    if matches!(value, "" | ">" | "|" | ">-" | "|-") {
        continued
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        value.to_owned()
    }
}

/// `tags: [a, b]`, `tags: a, b` or `- a` lines below `tags:`.
fn tags(value: &str, continued: &[&str]) -> Vec<String> {
    let items: Vec<String> = if value.is_empty() {
        continued
            .iter()
            .filter_map(|l| l.trim().strip_prefix('-'))
            .map(str::to_owned)
            .collect()
    } else {
        let inner = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(value);
        inner.split(',').map(str::to_owned).collect()
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if let Some(tag) = one_line(&item, MAX_TAG_CHARS)
            && !out.iter().any(|t| t.eq_ignore_ascii_case(&tag))
            && out.len() < MAX_TAGS
        {
            out.push(tag);
        }
    }
    out
}

/// A value unquoted and cleaned to one line of at most `max` characters; `None` if empty.
fn one_line(value: &str, max: usize) -> Option<String> {
    let value = value.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value);
    Some(common::text::clean(unquoted, max)).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_gives_title_tags_and_use_when() {
        let text = "---\ntitle: Pod crash-looping (CrashLoopBackOff)\ntags: [kubernetes, pods, crashloop]\nuse_when: A pod's container restarts again and again.\n---\n# Heading\n\nStep 1.\n";
        let p = parse(text);
        assert_eq!(
            p.front,
            FrontMatter {
                title: Some("Pod crash-looping (CrashLoopBackOff)".into()),
                tags: vec!["kubernetes".into(), "pods".into(), "crashloop".into()],
                use_when: Some("A pod's container restarts again and again.".into()),
            }
        );
        assert_eq!(p.body_start, 5);
        assert_eq!(p.heading.as_deref(), Some("Heading"));
    }

    #[test]
    fn tags_take_every_list_form() {
        let tags_of = |block: &str| parse(&format!("---\n{block}\n---\nbody")).front.tags;
        let want = ["eks", "nodes", "NotReady"];
        assert_eq!(tags_of("tags: eks, nodes,NotReady"), want);
        assert_eq!(tags_of("tags: [\"eks\", 'nodes', NotReady, ]"), want);
        assert_eq!(tags_of("tags:\n  - eks\n  - nodes\n  - NotReady"), want);
        // Duplicates (in any case) once, empty items dropped, at most MAX_TAGS.
        assert_eq!(tags_of("tags: eks, EKS, , nodes"), ["eks", "nodes"]);
        let many: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        assert_eq!(
            tags_of(&format!("tags: {}", many.join(","))).len(),
            MAX_TAGS
        );
    }

    #[test]
    fn values_are_unquoted_folded_and_cleaned() {
        let p = parse(
            "---\nTitle: \"Quoted: with a colon\"\nuse-when: >\n  A node goes\n  NotReady.\nowner: sre\n# a comment\n---\n",
        );
        assert_eq!(p.front.title.as_deref(), Some("Quoted: with a colon"));
        assert_eq!(p.front.use_when.as_deref(), Some("A node goes NotReady."));
        let p = parse(&format!("---\ntitle: {}\u{202E}\n---\n", "x".repeat(300)));
        let title = p.front.title.unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn without_a_closed_block_there_is_no_front_matter() {
        for text in [
            "# Title only\n\ntext",
            "---\ntitle: never closed\n\n# Heading",
            "\n---\ntitle: not at the top\n---\n",
            "",
        ] {
            let p = parse(text);
            assert_eq!(
                (p.front.clone(), p.body_start),
                (FrontMatter::default(), 0),
                "{text:?}"
            );
        }
        assert_eq!(
            parse("# Title only\n").heading.as_deref(),
            Some("Title only")
        );
        // The block may end with `...` and have trailing spaces on its fences.
        let p = parse("--- \ntitle: t\n...\n## Not a title\n# Title #\n");
        assert_eq!(
            (p.front.title.as_deref(), p.body_start, p.heading.as_deref()),
            (Some("t"), 3, Some("Title"))
        );
    }

    #[test]
    fn cleaning_keeps_lines_drops_invisible_characters_and_scrubs_secrets() {
        let (text, found) =
            clean("a\r\nb\rc\u{200B}d\u{0007}\te\u{000B}f\npass\u{200B}word=hunter2\n");
        assert_eq!(text, "a\nb\ncd\te f\npassword=[redacted]\n");
        assert_eq!(found, 1);
        let (text, found) = clean(
            "key AKIAIOSFODNN7EXAMPLE\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nafter",
        );
        assert_eq!(text, "key [redacted]\n[redacted]\nafter");
        assert_eq!(found, 2);
    }

    #[test]
    fn bytes_cut_mid_character_lose_that_character_only() {
        let text = "héllo wörld";
        let bytes = text.as_bytes();
        assert_eq!(decode(bytes), text);
        // "ö" is two bytes; cut after its first.
        let at = text.find('ö').unwrap() + 1;
        assert_eq!(decode(&bytes[..at]), "héllo w");
        assert_eq!(decode(b"a\xffb"), "a\u{FFFD}b");
    }

    #[test]
    fn cuts_fall_on_a_line_or_character_boundary() {
        assert_eq!(cut("short", 10), None);
        assert_eq!(
            cut("line one\nline two\nline three", 22),
            Some("line one\nline two")
        );
        // No line break near the end: the character boundary.
        assert_eq!(cut("éééééé", 5), Some("éé"));
        assert_eq!(cut(&"x".repeat(100), 40).map(str::len), Some(40));
        assert_eq!(
            whole_lines("line one\nline two\nline"),
            "line one\nline two"
        );
        assert_eq!(
            whole_lines("one\ntwo three four five six"),
            "one\ntwo three four five six"
        );
    }
}
