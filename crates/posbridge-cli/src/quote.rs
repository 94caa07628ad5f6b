//! How the CLI quotes what it was given back in its messages: a value in full when it
//! is short, else a short excerpt and its length (`"AAAA…" (5242880 bytes)`), the
//! way `posbridge::error::excerpt` keeps vendor bodies short. And a last bound: no
//! line of an error the CLI prints is longer than [`MAX_LINE`] bytes, whatever the
//! input, a message from a library included.

use posbridge::error::EXCERPT_LEN;

/// The longest line of an error or warning the CLI prints, in bytes; a longer one is
/// cut, with a mark saying how long it was.
pub const MAX_LINE: usize = 1024;

/// How many characters `c` takes in `Debug` output (`"` and `\` two, a character shown
/// as `\u{…}` its escape, `'` one as in a `str`), as `posbridge::error` measures.
fn width(c: char) -> usize {
    if c == '\'' { 1 } else { c.escape_debug().count() }
}

/// The longest start of `text` whose `Debug` width is at most `max`, and whether
/// anything was left out. Reads no further than it keeps, however long `text` is.
fn head(text: &str, max: usize) -> (&str, bool) {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += width(c);
        if used > max {
            return (&text[..i], true);
        }
    }
    (text, false)
}

/// `value` quoted as `Debug` shows it when short; else its first [`EXCERPT_LEN`]
/// characters, a `…`, and its length: `"AAAA…" (5242880 bytes)`.
pub fn quote(value: &str) -> String {
    match head(value, EXCERPT_LEN) {
        (_, false) => format!("{value:?}"),
        (start, true) => format!("{:?} ({} bytes)", format!("{start}…"), value.len()),
    }
}

/// `value` as it is when short (a path, a name, a reference in a sentence); else its
/// first [`EXCERPT_LEN`] characters, a `…`, and its length: `AAAA… (5242880 bytes)`.
pub fn shorten(value: &str) -> String {
    match head(value, EXCERPT_LEN) {
        (_, false) => value.to_owned(),
        (start, true) => format!("{start}… ({} bytes)", value.len()),
    }
}

/// `message` (typically from a parser: serde_json, toml, a date parser) with every
/// quoted part longer than [`EXCERPT_LEN`] (`"…"` with `Debug` escapes, or between
/// backticks) cut to an excerpt with its length. Parsers quote the input they could
/// not take (`invalid type: string "…"`, ``unknown field `…` ``), and the input may be
/// megabytes.
pub fn shorten_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4 * MAX_LINE));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let (before, from_quote) = rest.split_at(open);
        out.push_str(before);
        let delimiter = if from_quote.starts_with('"') { '"' } else { '`' };
        let body = &from_quote[1..];
        let Some(end) = closing(body, delimiter) else {
            // No closing quote: the rest is quoted text cut short, or a lone mark.
            out.push(delimiter);
            rest = body;
            continue;
        };
        let content = &body[..end];
        // An excerpt made already (by `quote` or an earlier pass) stays as it is.
        let limit = if content.ends_with('…') {
            EXCERPT_LEN + 1
        } else {
            EXCERPT_LEN
        };
        match head(content, limit) {
            (_, false) => {
                out.push(delimiter);
                out.push_str(content);
                out.push(delimiter);
            }
            (start, true) => {
                let (start, len) = if delimiter == '"' {
                    (whole_escapes(start), unescaped_len(content))
                } else {
                    (start, content.len())
                };
                out.push(delimiter);
                out.push_str(start);
                out.push('…');
                out.push(delimiter);
                out.push_str(&format!(" ({len} bytes)"));
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Where the quote opened before `body` closes: the next `delimiter` on the same line
/// not escaped by a backslash (for `"`; backticks have no escapes).
fn closing(body: &str, delimiter: char) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => return None,
            b'\\' if delimiter == '"' => i += 2,
            b if b == delimiter as u8 => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `start` of a `Debug`-escaped text without an escape sequence cut in two at its end.
fn whole_escapes(start: &str) -> &str {
    let bytes = start.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let len = match bytes.get(i + 1) {
            None => return &start[..i],
            Some(b'u') => match start[i..].find('}') {
                Some(close) => close + 1,
                None => return &start[..i],
            },
            Some(_) => 2,
        };
        i += len;
    }
    start
}

/// The length in bytes of the text a `Debug`-escaped `escaped` shows.
fn unescaped_len(escaped: &str) -> usize {
    let mut len = 0;
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            len += c.len_utf8();
            continue;
        }
        match chars.next() {
            Some('u') => {
                let code: String = chars
                    .by_ref()
                    .take_while(|c| *c != '}')
                    .filter(char::is_ascii_hexdigit)
                    .collect();
                len += u32::from_str_radix(&code, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map_or(1, char::len_utf8);
            }
            Some(_) => len += 1,
            None => {}
        }
    }
    len
}

/// `line` when it is at most [`MAX_LINE`] bytes; else its start, cut on a character
/// boundary, and a mark with its whole length, [`MAX_LINE`] bytes in all.
pub fn bound_line(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_owned();
    }
    let mark = format!("… [line cut: {} bytes in all]", line.len());
    let mut end = MAX_LINE.saturating_sub(mark.len());
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &line[..end])
}

/// `text` for an error message: long quoted parts cut ([`shorten_quoted`]) and every
/// line bounded ([`bound_line`]).
pub fn bound_text(text: &str) -> String {
    text.split('\n')
        .map(|line| bound_line(&shorten_quoted(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("INV-1"), "\"INV-1\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(shorten("/tmp/sale.json"), "/tmp/sale.json");
        let just = "x".repeat(EXCERPT_LEN);
        assert_eq!(quote(&just), format!("{just:?}"));
    }

    #[test]
    fn long_values_become_an_excerpt_with_their_length() {
        let big = "A".repeat(5 * 1024 * 1024);
        let q = quote(&big);
        assert_eq!(q, format!("\"{}…\" (5242880 bytes)", "A".repeat(EXCERPT_LEN)));
        let s = shorten(&big);
        assert_eq!(s, format!("{}… (5242880 bytes)", "A".repeat(EXCERPT_LEN)));
        // Measured as shown: characters that `Debug` escapes count their escape.
        let escaped = quote(&"\u{7f}".repeat(1000));
        assert!(escaped.len() < 2 * EXCERPT_LEN, "{escaped}");
        assert!(escaped.ends_with("…\" (1000 bytes)"), "{escaped}");
        let sinhala = quote(&"ශ්‍රී".repeat(1000));
        assert!(sinhala.chars().count() < 2 * EXCERPT_LEN, "{sinhala}");
    }

    #[test]
    fn parser_messages_keep_their_sense_and_lose_their_bulk() {
        let big = "B".repeat(100_000);
        let m = format!("invalid type: string {big:?}, expected a decimal at line 1 column 100020");
        let s = shorten_quoted(&m);
        assert!(s.starts_with("invalid type: string \"BBBB"), "{s}");
        assert!(
            s.ends_with("…\" (100000 bytes), expected a decimal at line 1 column 100020"),
            "{s}"
        );
        let m = format!("unknown field `{big}`, expected one of `reference`, `lines`");
        let s = shorten_quoted(&m);
        assert!(
            s.ends_with("…` (100000 bytes), expected one of `reference`, `lines`"),
            "{s}"
        );
        // Escapes are not cut in two, and the length is of the text they show.
        let m = format!("bad {:?}", format!("{}\u{7f}", "x".repeat(EXCERPT_LEN - 3)).repeat(3));
        let s = shorten_quoted(&m);
        assert!(!s.contains("\\u{7…") && !s.contains("\\…"), "{s}");
        assert!(s.ends_with(&format!("({} bytes)", 3 * (EXCERPT_LEN - 2))), "{s}");
        // Short quotes, a lone quote mark and plain text stay as they are.
        for m in [
            "reference \"INV-1\" appears twice",
            "it's 5\" wide",
            "no quotes",
            "`a` and \"b\\\"c\"",
        ] {
            assert_eq!(shorten_quoted(m), m);
        }
        // Shortening twice changes nothing.
        let m = format!("a {:?} and `{big}`", big);
        let once = shorten_quoted(&m);
        assert_eq!(shorten_quoted(&once), once);
        assert_eq!(once.matches("(100000 bytes)").count(), 2, "{once}");
        let q = quote(&big);
        assert_eq!(shorten_quoted(&q), q);
        // A quote does not run on to the next line.
        let m = format!("5\" wide\n{}\n\"x\"", "y".repeat(300));
        assert_eq!(shorten_quoted(&m), m);
    }

    #[test]
    fn no_line_is_longer_than_the_bound() {
        let long = "é".repeat(MAX_LINE);
        let b = bound_line(&long);
        assert!(b.len() <= MAX_LINE, "{}", b.len());
        assert!(b.ends_with(&format!("[line cut: {} bytes in all]", long.len())), "{b}");
        assert_eq!(bound_line("short"), "short");
        let text = format!("first\n{}\nlast", "z".repeat(10 * MAX_LINE));
        let t = bound_text(&text);
        assert!(t.lines().all(|l| l.len() <= MAX_LINE), "{t}");
        assert!(t.starts_with("first\n") && t.ends_with("\nlast"), "{t}");
    }
}
