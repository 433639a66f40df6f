//! Text from outside (search results, alert annotations, log lines) is untrusted: whoever
//! wrote it may be trying to steer the model that reads it. [`clean`] reduces it to plain data
//! before it leaves a function: no control or invisible characters, one line, bounded length.
//!
//! Invisible characters matter more than they look: Unicode "tag" characters (U+E0000 block)
//! spell ASCII that a model reads and a person does not see, and bidirectional overrides
//! make text display differently from what it says. Both are a way to smuggle instructions
//! into an agent's context, so every format character is dropped, not just the C0/C1
//! controls.

/// Characters no untrusted text keeps: C0/C1 controls other than whitespace, Unicode format
/// characters (zero-width, bidirectional controls, the BOM, soft hyphen), the tag block and
/// the variation selectors supplement.
pub fn is_invisible(c: char) -> bool {
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
        assert_eq!(clean(&"x".repeat(10_000), 500).chars().count(), 500);
    }
}
