//! Reading HTML the way a browser tokenizes it, without building a document tree.
//!
//! html5gum implements the WHATWG tokenizer: character references are decoded in text and
//! attributes, comments and doctypes are recognised, and (with its state switching on) the
//! contents of `<script>`, `<style>`, `<textarea>` and `<title>` are text, so markup inside
//! a script is not mistaken for elements. On top of it, [`walk`] keeps the stack of open
//! elements, which is all the structure the result pages need: void elements (`<img>`,
//! `<br>`, …) never open, and an end tag closes every element opened after its match (what a
//! tree builder does with unclosed `<p>` or `<span>`), while a stray end tag is ignored.

use html5gum::{Token, Tokenizer, emitters::default::DefaultEmitter};

/// Elements that have no end tag.
const VOID: &[&[u8]] = &[
    b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
    b"source", b"track", b"wbr",
];

/// Elements whose text is never shown.
const HIDDEN: &[&[u8]] = &[b"script", b"style", b"template", b"noscript"];

/// A start tag's name and the attributes the pages are read by.
#[derive(Debug, Default)]
pub struct Start {
    /// Tag name, lower case.
    pub name: Vec<u8>,
    /// `class`, split on whitespace.
    pub classes: Vec<String>,
    /// `id`.
    pub id: Option<String>,
    /// `href`.
    pub href: Option<String>,
}

impl Start {
    /// Whether `class` holds `name`.
    pub fn has_class(&self, name: &str) -> bool {
        self.classes.iter().any(|c| c == name)
    }
}

/// What [`walk`] reports.
#[derive(Debug)]
pub enum Event<'a> {
    /// An element opened (for a void element, [`Event::End`] follows at once).
    Start(&'a Start),
    /// The element opened by the matching [`Event::Start`] closed.
    End,
    /// Visible text (not inside `script`, `style`, `template` or `noscript`).
    Text(&'a str),
}

fn attr(tag: &html5gum::StartTag<()>, name: &[u8]) -> Option<String> {
    tag.attributes
        .get(name)
        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
}

/// Calls `visit` for every element start and end and every piece of visible text, in order.
/// Every `Start` gets exactly one `End`, also at the end of a truncated document.
pub fn walk(html: &str, mut visit: impl FnMut(Event<'_>)) {
    let mut emitter = DefaultEmitter::<()>::default();
    emitter.naively_switch_states(true);
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut hidden = 0usize;
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let start = Start {
                    name: tag.name.to_ascii_lowercase(),
                    classes: attr(&tag, b"class")
                        .map(|c| c.split_ascii_whitespace().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    id: attr(&tag, b"id"),
                    href: attr(&tag, b"href"),
                };
                visit(Event::Start(&start));
                if tag.self_closing || VOID.contains(&start.name.as_slice()) {
                    visit(Event::End);
                } else {
                    if HIDDEN.contains(&start.name.as_slice()) {
                        hidden += 1;
                    }
                    open.push(start.name);
                }
            }
            Token::EndTag(tag) => {
                let name = tag.name.to_ascii_lowercase();
                if let Some(at) = open.iter().rposition(|n| *n == name) {
                    for closed in open.drain(at..).rev() {
                        if HIDDEN.contains(&closed.as_slice()) {
                            hidden -= 1;
                        }
                        visit(Event::End);
                    }
                }
            }
            Token::String(text) if hidden == 0 => {
                visit(Event::Text(&String::from_utf8_lossy(&text)))
            }
            _ => {}
        }
    }
    for _ in open.drain(..) {
        visit(Event::End);
    }
}

/// The visible text of an HTML fragment: tags dropped, entities decoded, script and style
/// contents left out. Text without `<` or `&` is returned as is.
pub fn text(fragment: &str) -> String {
    if !fragment.contains(['<', '&']) {
        return fragment.to_owned();
    }
    let mut out = String::with_capacity(fragment.len());
    walk(fragment, |event| {
        if let Event::Text(t) = event {
            out.push_str(t);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            text("Use <strong>kubectl</strong> &amp; <em>helm</em> &#x27;now&#39;"),
            "Use kubectl & helm 'now'"
        );
        assert_eq!(
            text("a<script>x = '<b>'</script>b<style>p{}</style>c"),
            "abc"
        );
        assert_eq!(text("plain, no markup"), "plain, no markup");
        // `&not` is one of the legacy references browsers decode even without a `;`.
        assert_eq!(
            text("1 &lt; 2 &gt; 0 &copy; &zzz; &notit;"),
            "1 < 2 > 0 © &zzz; ¬it;"
        );
    }

    #[test]
    fn every_start_has_one_end() {
        let mut depth = 0i32;
        let mut max = 0;
        walk(
            "<div><p>one<p>two<img src=x><br/></div></span><ul><li>a<li>b",
            |e| match e {
                Event::Start(_) => {
                    depth += 1;
                    max = max.max(depth);
                }
                Event::End => depth -= 1,
                Event::Text(_) => {}
            },
        );
        assert_eq!(depth, 0);
        assert!(max >= 3);
    }

    #[test]
    fn markup_inside_a_script_is_text_and_hidden() {
        let mut starts = Vec::new();
        walk(
            r#"<script>var s = '<div class="result">';</script><div class="real"></div>"#,
            |e| {
                if let Event::Start(s) = e {
                    starts.push((
                        String::from_utf8_lossy(&s.name).into_owned(),
                        s.classes.clone(),
                    ));
                }
            },
        );
        assert_eq!(
            starts,
            [
                ("script".to_owned(), vec![]),
                ("div".to_owned(), vec!["real".to_owned()])
            ]
        );
    }
}
