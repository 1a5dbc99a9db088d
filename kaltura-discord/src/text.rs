//! Shared validation and shaping of member-typed text: titles, descriptions, search texts,
//! display names. One place decides trimming, length limits (in characters, not bytes) and
//! which control characters are refused, so every service treats hostile input alike. Also
//! the one lowercase-hex encoder (digests, random ids).

use crate::{Error, Result};

/// A one-line text a member typed (a title, a search): trimmed, 1 to `max_chars`
/// characters, no control characters at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SingleLine {
    /// The input's name in [`Error::InvalidInput`], e.g. `title`.
    pub(crate) field: &'static str,
    /// How messages name it, e.g. `a meeting title`.
    pub(crate) noun: &'static str,
    /// The longest accepted, in characters.
    pub(crate) max_chars: usize,
    /// The message for a blank input.
    pub(crate) empty: &'static str,
}

impl SingleLine {
    /// The trimmed text.
    pub(crate) fn check(&self, raw: &str) -> Result<String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(Error::invalid_input(self.field, self.empty));
        }
        check_length(self.field, self.noun, text, self.max_chars)?;
        if text.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                self.field,
                format!(
                    "{} may not contain control characters (line breaks, tabs …)",
                    self.noun
                ),
            ));
        }
        Ok(text.to_owned())
    }
}

/// An optional multi-line text (a description): trimmed, blank is `None`, at most
/// `max_chars` characters; line breaks and tabs are allowed, other control characters
/// (escape sequences, bells, NUL) are not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MultiLine {
    /// The input's name in [`Error::InvalidInput`], e.g. `description`.
    pub(crate) field: &'static str,
    /// How messages name it, e.g. `a meeting description`.
    pub(crate) noun: &'static str,
    /// The longest accepted, in characters.
    pub(crate) max_chars: usize,
}

impl MultiLine {
    /// The trimmed text, or `None` when blank.
    pub(crate) fn check(&self, raw: Option<&str>) -> Result<Option<String>> {
        let Some(text) = raw.map(str::trim).filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        check_length(self.field, self.noun, text, self.max_chars)?;
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(Error::invalid_input(
                self.field,
                format!("{} may not contain control characters", self.noun),
            ));
        }
        Ok(Some(text.to_owned()))
    }
}

fn check_length(field: &'static str, noun: &str, text: &str, max_chars: usize) -> Result<()> {
    // Counting stops one past the limit, so a huge input costs no more than a short one.
    let len = text.chars().take(max_chars.saturating_add(1)).count();
    if len > max_chars {
        return Err(Error::invalid_input(
            field,
            format!(
                "{noun} may be at most {max_chars} characters long, got {}",
                text.chars().count()
            ),
        ));
    }
    Ok(())
}

/// Shortens `text` to at most `max` characters, ending with `…` when cut.
/// `bytes` as lowercase hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `len` random bytes from the operating system's CSPRNG (`kaltura_client::ks::OsRandom`) as
/// lowercase hex (`2 * len` digits), for ids and references that are not secrets.
pub(crate) fn random_hex(len: usize) -> String {
    use kaltura_client::ks::RandomSource as _;
    let mut bytes = vec![0_u8; len];
    kaltura_client::ks::OsRandom.fill_bytes(&mut bytes);
    hex_lower(&bytes)
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// A name for display (a Discord display name as a Kaltura screen name): control
/// characters dropped, at most `max` characters, trimmed; `None` if nothing is left.
pub(crate) fn display_name(raw: &str, max: usize) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).take(max).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_random_hex_has_its_length() {
        assert_eq!(hex_lower(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(hex_lower(&[]), "");
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(a, random_hex(16));
    }

    const TITLE: SingleLine = SingleLine {
        field: "title",
        noun: "a title",
        max_chars: 3,
        empty: "a title is needed",
    };

    #[test]
    fn single_lines_are_trimmed_bounded_and_printable() {
        assert_eq!(TITLE.check(" éé ").unwrap(), "éé");
        assert_eq!(TITLE.check("abc").unwrap(), "abc");
        for (bad, says) in [
            ("  ", "a title is needed"),
            ("abcd", "a title may be at most 3 characters long, got 4"),
            (
                "a\tb",
                "a title may not contain control characters (line breaks, tabs …)",
            ),
        ] {
            match TITLE.check(bad) {
                Err(Error::InvalidInput { field, reason }) => {
                    assert_eq!((field, reason.as_str()), ("title", says));
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn multi_lines_allow_breaks_and_tabs_only() {
        let rule = MultiLine {
            field: "description",
            noun: "a description",
            max_chars: 5,
        };
        assert_eq!(rule.check(None).unwrap(), None);
        assert_eq!(rule.check(Some(" \n ")).unwrap(), None);
        assert_eq!(
            rule.check(Some("a\nb\tc")).unwrap().as_deref(),
            Some("a\nb\tc")
        );
        assert!(rule.check(Some("a\u{1b}[")).is_err());
        assert!(rule.check(Some("abcdef")).is_err());
    }

    #[test]
    fn truncation_and_display_names() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("a  bcd", 4), "a…");
        assert_eq!(truncate_chars("abcd", 0), "");
        assert_eq!(display_name(" Ada\u{7} ", 10).as_deref(), Some("Ada"));
        assert_eq!(display_name("\n", 10), None);
        assert_eq!(display_name(&"y".repeat(50), 10).unwrap().len(), 10);
    }
}
