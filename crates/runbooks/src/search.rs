//! Which runbooks a query matches, best first, with the lines that match.
//!
//! **Words.** The query is split into words at every character that is not a letter or a
//! digit, lower-cased; words of one character and common English words (`the`, `why`, `is`,
//! …: [`STOP_WORDS`]) are dropped unless nothing else is left, duplicates once, at most
//! [`MAX_WORDS`]. Each word is matched by its stem ([`stem`]: a plural `-s`/`-es`, `-ed` or
//! `-ing` taken off) anywhere in the lower-cased text, so `crashing` finds `CrashLoopBackOff`
//! and `throttled` finds `throttling`.
//!
//! **Ranking.** Title and tags first: a runbook whose title or tags match more of the words
//! ranks above one that matches fewer, whatever its text says; then `use_when`; then the
//! number of words its text (the body, after the front matter) matches; then the number of
//! its lines that match; then its key. A runbook matches when any word matches anywhere.
//!
//! **Lines.** Up to [`MAX_LINES`] matching lines of the body, those matching the most words
//! first, shown in their order with their 1-based line numbers in the text `get` returns.

/// Words that say nothing about which runbook is meant.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "at", "be", "by", "can", "do", "does", "for", "from", "has", "have",
    "how", "i", "in", "is", "it", "its", "my", "of", "on", "or", "our", "the", "this", "to", "was",
    "we", "what", "when", "where", "which", "why", "with",
];
/// Most words of a query searched for.
pub const MAX_WORDS: usize = 20;
/// Most matching lines shown per runbook.
pub const MAX_LINES: usize = 5;

/// A query word and the stem it is matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// As the query has it, lower-cased.
    pub word: String,
    /// What is looked for.
    pub stem: String,
}

/// The words of `query` (see the module docs); empty if it has no letter or digit.
pub fn words(query: &str) -> Vec<Word> {
    let lower = query.to_lowercase();
    let all: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let meaningful: Vec<&str> = all
        .iter()
        .copied()
        .filter(|w| w.chars().count() > 1 && !STOP_WORDS.contains(w))
        .collect();
    let chosen = if meaningful.is_empty() {
        all
    } else {
        meaningful
    };
    let mut out: Vec<Word> = Vec::new();
    for word in chosen {
        let stem = stem(word);
        if out.len() < MAX_WORDS && !out.iter().any(|w| w.stem == stem) {
            out.push(Word {
                word: word.to_owned(),
                stem,
            });
        }
    }
    out
}

/// `word` without a plural `-s`/`-es`, `-ed` or `-ing`, when enough is left to mean
/// something (`nodes` → `node`, `crashes` → `crash`, `throttled` → `throttl`, `crashing` →
/// `crash`; `pods` → `pod`, but `ps`, `status` and `red` stay).
pub fn stem(word: &str) -> String {
    let len = word.chars().count();
    let cut = |suffix: &str, keep: usize| {
        word.strip_suffix(suffix)
            .filter(|rest| rest.chars().count() >= keep)
    };
    let stemmed = cut("ing", 4)
        .or_else(|| cut("ed", 4))
        .or_else(|| {
            cut("es", 3).filter(|rest| {
                rest.ends_with("sh")
                    || rest.ends_with("ch")
                    || rest.ends_with('x')
                    || rest.ends_with("ss")
            })
        })
        .or_else(|| {
            (!word.ends_with("ss") && !word.ends_with("us") && len > 3)
                .then(|| cut("s", 3))
                .flatten()
        });
    stemmed.unwrap_or(word).to_owned()
}

/// The parts of a runbook a query is matched against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// Its title.
    pub title: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its `use_when`.
    pub use_when: Option<String>,
    /// Its whole (cleaned) text.
    pub text: String,
    /// The 0-based index of the body's first line in `text`.
    pub body_start: usize,
}

/// How one runbook matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Its index in the documents searched.
    pub index: usize,
    /// Words found in its title or tags.
    pub title_or_tags: usize,
    /// Words found in its `use_when`.
    pub use_when: usize,
    /// Words found in its body.
    pub body: usize,
    /// Body lines with at least one word.
    pub body_lines: usize,
    /// Where words were found: `title`, `tags`, `use_when`, `text`.
    pub matched_in: Vec<&'static str>,
    /// The lines shown: 1-based number and text.
    pub lines: Vec<(usize, String)>,
}

/// The documents that match `words`, best first (see the module docs).
pub fn search(documents: &[&Document], words: &[Word]) -> Vec<Match> {
    let mut matches: Vec<(Match, &Document)> = documents
        .iter()
        .enumerate()
        .filter_map(|(index, doc)| score(index, doc, words).map(|m| (m, *doc)))
        .collect();
    matches.sort_by(|(a, _), (b, _)| {
        (b.title_or_tags, b.use_when, b.body, b.body_lines)
            .cmp(&(a.title_or_tags, a.use_when, a.body, a.body_lines))
            .then(a.index.cmp(&b.index))
    });
    matches.into_iter().map(|(m, _)| m).collect()
}

fn score(index: usize, doc: &Document, words: &[Word]) -> Option<Match> {
    let title = doc.title.to_lowercase();
    let tags: Vec<String> = doc.tags.iter().map(|t| t.to_lowercase()).collect();
    let use_when = doc.use_when.as_deref().unwrap_or_default().to_lowercase();
    let in_title = |w: &Word| title.contains(&w.stem);
    let in_tags = |w: &Word| tags.iter().any(|t| t.contains(&w.stem));
    let mut matched_in = Vec::new();
    if words.iter().any(in_title) {
        matched_in.push("title");
    }
    if words.iter().any(in_tags) {
        matched_in.push("tags");
    }
    let title_or_tags = words.iter().filter(|w| in_title(w) || in_tags(w)).count();
    let use_when = words.iter().filter(|w| use_when.contains(&w.stem)).count();
    if use_when > 0 {
        matched_in.push("use_when");
    }
    // Body lines: (1-based number, text, how many words it holds).
    let mut found = vec![false; words.len()];
    let mut hits: Vec<(usize, &str, usize)> = Vec::new();
    for (i, line) in doc.text.lines().enumerate().skip(doc.body_start) {
        let lower = line.to_lowercase();
        let mut n = 0;
        for (w, seen) in words.iter().zip(found.iter_mut()) {
            if lower.contains(&w.stem) {
                *seen = true;
                n += 1;
            }
        }
        if n > 0 {
            hits.push((i + 1, line, n));
        }
    }
    let body = found.iter().filter(|f| **f).count();
    if body > 0 {
        matched_in.push("text");
    }
    if matched_in.is_empty() {
        return None;
    }
    let body_lines = hits.len();
    hits.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    hits.truncate(MAX_LINES);
    hits.sort_by_key(|h| h.0);
    Some(Match {
        index,
        title_or_tags,
        use_when,
        body,
        body_lines,
        matched_in,
        lines: hits
            .into_iter()
            .map(|(n, l, _)| (n, l.to_owned()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(query: &str) -> Vec<String> {
        words(query).into_iter().map(|w| w.stem).collect()
    }

    #[test]
    fn queries_become_stemmed_words_without_filler() {
        assert_eq!(stems("Why is the pod crashing?"), ["pod", "crash"]);
        assert_eq!(
            stems("HTTP 5xx errors on checkout-api"),
            ["http", "5xx", "error", "checkout", "api"]
        );
        assert_eq!(stems("nodes NotReady, node notready"), ["node", "notready"]);
        assert_eq!(stems("AMP throttled / throttling"), ["amp", "throttl"]);
        // Only filler: it is searched for rather than nothing.
        assert_eq!(stems("what is it"), ["what", "is", "it"]);
        assert_eq!(stems("?!"), Vec::<String>::new());
        assert_eq!(words(&"w ".repeat(30)).len(), 1);
        let many: String = (0..40).map(|i| format!("word{i} ")).collect();
        assert_eq!(words(&many).len(), MAX_WORDS);
    }

    #[test]
    fn stems_keep_short_and_non_plural_words() {
        for (word, want) in [
            ("crashes", "crash"),
            ("boxes", "box"),
            ("nodes", "node"),
            ("pods", "pod"),
            ("failed", "fail"),
            ("red", "red"),
            ("status", "status"),
            ("access", "access"),
            ("ps", "ps"),
            ("ping", "ping"),
            ("restarting", "restart"),
            ("5xx", "5xx"),
        ] {
            assert_eq!(stem(word), want, "{word}");
        }
    }

    fn doc(title: &str, tags: &[&str], use_when: &str, body: &str) -> Document {
        Document {
            title: title.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            use_when: Some(use_when.into()).filter(|u: &String| !u.is_empty()),
            text: format!("---\nfront: matter\n---\n{body}"),
            body_start: 3,
        }
    }

    #[test]
    fn title_and_tag_matches_rank_above_text_matches() {
        let docs = [
            // Says "crash" and "pod" all over its text, but is about nodes.
            doc(
                "Node NotReady",
                &["nodes"],
                "",
                "A crash of kubelet.\nPods crash when a node dies.\nPod crash again.",
            ),
            doc(
                "Pod crash-looping",
                &["pods"],
                "",
                "Check the previous logs.",
            ),
            doc("HTTP 5xx burst", &[], "", "Nothing relevant."),
            doc("AMP throttling", &["crash"], "", "Unrelated."),
        ];
        let refs: Vec<&Document> = docs.iter().collect();
        let found = search(&refs, &words("pod crash"));
        let order: Vec<usize> = found.iter().map(|m| m.index).collect();
        // Both words in its title, then one in a tag, then text only; the 5xx one not at all.
        assert_eq!(order, [1, 3, 0]);
        assert_eq!(found[0].matched_in, ["title", "tags"]);
        assert_eq!(found[2].matched_in, ["text"]);
        assert_eq!((found[2].body, found[2].body_lines), (2, 3));
    }

    #[test]
    fn use_when_ranks_between_title_and_text() {
        let docs = [
            doc("A", &[], "", "the disk is full"),
            doc("B", &[], "When the disk fills up", ""),
        ];
        let refs: Vec<&Document> = docs.iter().collect();
        let found = search(&refs, &words("disk"));
        assert_eq!(found.iter().map(|m| m.index).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(found[0].matched_in, ["use_when"]);
    }

    #[test]
    fn lines_are_the_best_few_in_order_with_numbers_of_the_whole_text() {
        let body: String = (1..=10)
            .map(|i| {
                if i == 7 {
                    "oom and restart\n".to_owned()
                } else {
                    format!("line {i} restart\n")
                }
            })
            .collect();
        let docs = [doc("T", &[], "", &body)];
        let found = search(&[&docs[0]], &words("restart oom"));
        let numbers: Vec<usize> = found[0].lines.iter().map(|l| l.0).collect();
        // Line 7 of the body (10 of the text) holds both words; then the first ones.
        assert_eq!(numbers, [4, 5, 6, 7, 10]);
        assert_eq!(found[0].lines[4].1, "oom and restart");
        // The front matter is not the body.
        let front_only = search(&[&docs[0]], &words("front matter"));
        assert!(front_only.is_empty());
    }
}
