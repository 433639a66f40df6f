//! Search results are untrusted text written by whoever made the page. They go to a model,
//! so they are reduced to plain data before they leave the function: no markup, no entities,
//! no control or invisible characters, one line, bounded length, and only `http(s)` URLs.
//!
//! The text itself is cleaned by [`common::text::clean`]; what is particular to search
//! results (their lengths, and which URLs a result may carry) is here.

pub use common::text::clean;
use common::text::is_invisible;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest snippet kept, in characters.
pub const MAX_SNIPPET_CHARS: usize = 500;
/// Longest URL kept, in bytes; longer ones are dropped (a cut URL is a wrong URL).
pub const MAX_URL_BYTES: usize = 2_048;

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
