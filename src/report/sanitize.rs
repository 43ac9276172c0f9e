//! The one sanitizer for text that came from somewhere fleet does not
//! control (a host's output, an SSH server's messages, inventory values)
//! before it reaches the operator's terminal.
//!
//! A terminal obeys control characters: `ESC [ 1 A` moves the cursor up,
//! `ESC [ 2 K` erases the line, `CR` returns to its start, an OSC sequence
//! retitles the window. Text that carries them can repaint or hide lines of
//! a plan the operator is about to confirm, or of the summary that says
//! which hosts failed. So every control character is made *visible*
//! rather than dropped (the operator should see that the host tried):
//! C0 controls and DEL in caret notation (`ESC` → `^[`, `CR` → `^M`,
//! `DEL` → `^?`), C1 controls and the Unicode bidirectional overrides
//! (which reorder what a line appears to say) as `\u{9b}`, `\u{202e}`.
//!
//! Reporters call [`line`] for one-line fields and [`block`] for output
//! shown as several lines; their own colours are added after, never
//! passed through here.

use std::borrow::Cow;

/// `text` as one terminal line: every control character visible, newlines
/// included; a tab becomes two spaces.
pub fn line(text: &str) -> Cow<'_, str> {
    clean(text, false)
}

/// `text` as lines: newlines kept (a `CR LF` pair counts as one newline),
/// tabs kept, every other control character visible.
pub fn block(text: &str) -> Cow<'_, str> {
    clean(text, true)
}

fn clean(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let structural = |c: char| keep_lines && (c == '\n' || c == '\t');
    if !text
        .chars()
        .any(|c| (needs_escape(c) || c == '\t') && !structural(c))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' if keep_lines => out.push('\n'),
            '\r' if keep_lines && chars.peek() == Some(&'\n') => {}
            '\t' if keep_lines => out.push('\t'),
            '\t' => out.push_str("  "),
            c => push_visible(&mut out, c),
        }
    }
    Cow::Owned(out)
}

/// Would a terminal act on `c` rather than print it?
fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Characters that reorder the display of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_visible(out: &mut String, c: char) {
    let code = u32::from(c);
    match code {
        0x00..=0x1f => {
            out.push('^');
            // 0x40 + code is '@'..='_', always a valid char.
            out.push(char::from_u32(0x40 + code).unwrap_or('?'));
        }
        0x7f => out.push_str("^?"),
        _ if needs_escape(c) => out.push_str(&format!("\\u{{{code:x}}}")),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(line("\x1b[2K\rhidden"), "^[[2K^Mhidden");
        assert_eq!(line("up\x1b[1A"), "up^[[1A");
        assert_eq!(line("bell\x07 del\x7f nul\0"), "bell^G del^? nul^@");
        assert_eq!(line("csi\u{9b}31m"), "csi\\u{9b}31m");
        assert_eq!(line("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(line("a\nb\tc"), "a^Jb  c");
    }

    #[test]
    fn blocks_keep_their_lines() {
        assert_eq!(block("a\r\nb\n"), "a\nb\n");
        assert_eq!(block("a\rb\tc"), "a^Mb\tc");
        assert_eq!(block("x\x1b]0;title\x07"), "x^[]0;title^G");
    }

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(line("héllo wörld"), Cow::Borrowed(_)));
        assert!(matches!(block("a\nb\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn nothing_a_terminal_obeys_survives() {
        // Every char in the BMP control / format ranges.
        for code in (0u32..0x250).chain(0x2000..0x2070) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s = c.to_string();
            for cleaned in [line(&s), block(&s)] {
                assert!(
                    cleaned
                        .chars()
                        .all(|c| !needs_escape(c) || c == '\n' || c == '\t'),
                    "{code:#x} survived as {cleaned:?}"
                );
            }
        }
    }
}
