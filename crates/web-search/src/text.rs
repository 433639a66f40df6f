//! Search results are untrusted text written by whoever made the page. They go to a model,
//! so they are reduced to plain data before they leave the function: no markup, no entities,
//! no control or invisible characters, one line, bounded length, and only `http(s)` URLs.
//!
//! Invisible characters matter more than they look: Unicode "tag" characters (U+E0000 block)
//! spell ASCII that a model reads and a person does not see, and bidirectional overrides
//! make text display differently from what it says. Both are a way to smuggle instructions
//! into an agent's context, so every format character is dropped, not just the C0/C1
//! controls.

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest snippet kept, in characters.
pub const MAX_SNIPPET_CHARS: usize = 500;
/// Longest URL kept, in bytes; longer ones are dropped (a cut URL is a wrong URL).
pub const MAX_URL_BYTES: usize = 2_048;

/// Characters no result text keeps: C0/C1 controls other than whitespace, Unicode format
/// characters (zero-width, bidirectional controls, the BOM, soft hyphen), the tag block and
/// the variation selectors supplement.
fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}')
}

/// One line of plain text: invisible characters removed, every run of whitespace (line
/// breaks included) turned into one space, trimmed, and cut to `max` characters with `…`.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = 1 + usize::from(pending_space);
        if chars + needed > max {
            // Room for the ellipsis: drop the last character if the line is full.
            if chars == max {
                out.pop();
            }
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// The URL if it is an absolute `http`/`https` URL with a host, at most [`MAX_URL_BYTES`], and
/// free of whitespace and control characters; otherwise `None` (a `javascript:` or
/// `data:` link, a relative path, a mangled redirect).
pub fn web_url(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("HTTPS://"))
        .or_else(|| url.strip_prefix("HTTP://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let valid = !host.is_empty()
        && !host.starts_with('@')
        && url.len() <= MAX_URL_BYTES
        && !url.chars().any(|c| c.is_whitespace() || is_invisible(c));
    valid.then(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_control_characters_are_dropped() {
        let smuggled = "see\u{200B} docs\u{202E}txt.exe\u{E0049}\u{E0047}\u{E004E}\u{0007}!";
        assert_eq!(clean(smuggled, 100), "see docstxt.exe!");
        assert_eq!(
            clean("  two\n\nlines\t and\r\nspaces  ", 100),
            "two lines and spaces"
        );
        assert_eq!(clean("soft\u{00AD}hyphen\u{FEFF}", 100), "softhyphen");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_at_a_character_boundary() {
        assert_eq!(clean("abcdef", 6), "abcdef");
        assert_eq!(clean("abcdefg", 6), "abcde…");
        assert_eq!(clean("ab cd ef", 5), "ab c…");
        assert_eq!(clean("ééééééé", 4), "ééé…");
        assert_eq!(clean("🦀🦀🦀", 2), "🦀…");
        assert_eq!(
            clean(&"x".repeat(10_000), MAX_SNIPPET_CHARS)
                .chars()
                .count(),
            500
        );
    }

    #[test]
    fn only_web_urls_pass() {
        assert_eq!(
            web_url("https://kubernetes.io/docs/?q=1#x").as_deref(),
            Some("https://kubernetes.io/docs/?q=1#x")
        );
        assert!(web_url("http://example.com").is_some());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative/path",
            "//duckduckgo.com/l/?uddg=x",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://example.com/\u{202E}",
            "ftp://example.com",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
        assert!(web_url(&format!("https://example.com/{}", "a".repeat(2_100))).is_none());
    }
}
