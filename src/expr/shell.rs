//! POSIX shell quoting for command templates, applied by construction.
//!
//! A `run` command is compiled as a template named [`COMMAND_TEMPLATE`],
//! which turns on minijinja's auto-escaping with the custom format
//! [`SHELL`]; the environment's formatter then single-quotes every value a
//! `{{ … }}` prints. A value from a host's output (`1;touch x;#`) therefore
//! reaches `sh -c` as one literal word, never as shell syntax. Command text
//! held in a variable (`aws = "aws --profile prod"`) opts out by name with
//! `{{ aws | raw }}`; the planner refuses that opt-out for values derived
//! from remote output in `local` and `sudo` steps
//! ([`crate::expr::raw_uses`]).
//!
//! Safe strings (minijinja's "already escaped" marker) are written as they
//! are: they come only from `raw`, from `join` (which quotes each item
//! through this formatter), from macros and `{% set %}` blocks (whose output
//! was formatted here) and from `escape`. The two builtins that mark
//! unquoted text safe are replaced in [`install`]: `safe` is removed (use
//! `raw`) and `tojson` returns plain text, quoted as one word.

use std::borrow::Cow;

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};

/// The auto-escape format of command templates.
pub const SHELL: AutoEscape = AutoEscape::Custom("posix-shell");

/// The template name under which commands are compiled; only this name
/// gets [`SHELL`] escaping, so messages and expressions stay plain text.
pub const COMMAND_TEMPLATE: &str = "command.sh";

/// Characters that never need quoting in a POSIX shell word. `=` and `~`
/// are left out on purpose: an unquoted `A=b` first word is an assignment,
/// a leading `~` expands to a home directory.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '+' | '%' | '@')
}

/// `text` as one POSIX shell word that means exactly `text`: unchanged when
/// every character is plain, else single-quoted with each `'` written as
/// `'\''` (inside single quotes nothing is special, not even a newline).
pub fn quote(text: &str) -> Cow<'_, str> {
    if !text.is_empty() && text.chars().all(is_plain) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str(r"'\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Cow::Owned(out)
}

/// Registers the shell formatter, `raw` and the safe `tojson` on `env`,
/// and turns [`SHELL`] escaping on for [`COMMAND_TEMPLATE`] only.
pub(super) fn install(env: &mut Environment<'static>) {
    env.set_auto_escape_callback(|name| {
        if name == COMMAND_TEMPLATE {
            SHELL
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(format);
    env.add_filter("raw", raw);
    env.remove_filter("safe");
    env.add_filter("tojson", tojson);
    env.add_filter("join", join);
}

/// `join` that keeps each item a word of its own in a command:
/// `{{ services | join(' ') }}` gives `api 'my worker'`. minijinja's own
/// `join` returns one plain string there (quoted as one word) unless an
/// item is safe. The separator is written as it is when it is only spaces
/// (it separates words), else quoted like a value, so `join(',')` makes one
/// word `a,b` and no separator can inject shell syntax. Outside commands
/// it is the plain join.
fn join(state: &State<'_, '_>, value: &Value, joiner: Option<&str>) -> Result<Value, Error> {
    let joiner = joiner.unwrap_or_default();
    let items = value.try_iter().map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot join a {}", value.kind()),
        )
        .with_source(e)
    })?;
    let mut out = String::new();
    if state.auto_escape() != SHELL {
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push_str(joiner);
            }
            match item.as_str() {
                Some(text) => out.push_str(text),
                None => out.push_str(&item.to_string()),
            }
        }
        return Ok(Value::from(out));
    }
    let separator = if joiner.chars().all(|c| c == ' ') {
        Cow::Borrowed(joiner)
    } else {
        quote(joiner)
    };
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(&separator);
        }
        out.push_str(&state.format(item)?);
    }
    Ok(Value::from_safe_string(out))
}

/// The formatter: shell-quotes in command templates, plain elsewhere.
fn format(out: &mut Output<'_>, state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    if state.auto_escape() != SHELL {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_safe() {
        let text = value.as_str().unwrap_or_default();
        return out.write_str(text).map_err(Error::from);
    }
    let text = match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        ValueKind::Number | ValueKind::Bool | ValueKind::None => value.to_string(),
        ValueKind::Seq | ValueKind::Iterable => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "a list cannot be printed in a command as it is: write `{{ items | join(' ') }}` \
                 (one quoted word per item)",
            ));
        }
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "a {other} cannot be printed in a command: pick a field (`{{{{ x.name }}}}`) or \
                     pass it as one word with `{{{{ x | tojson }}}}`"
                ),
            ));
        }
    };
    if text.contains('\0') {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "the value contains a NUL byte, which no shell command can carry",
        ));
    }
    out.write_str(&quote(&text)).map_err(Error::from)
}

/// `{{ aws | raw }}`: the value is command text, written without quoting.
/// Only for values the workflow or inventory author wrote; the planner
/// refuses it for remote output in `local` and `sudo` steps.
fn raw(value: &Value) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            Ok(Value::from_safe_string(text))
        }
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("`raw` applies to text, not to a {other}"),
        )),
    }
}

/// `tojson` as plain (unsafe) text: minijinja's own marks its output safe
/// for HTML, but JSON text is full of shell syntax (`"$(x)"`), so in a
/// command it must be quoted like any other value.
fn tojson(value: &Value) -> Result<Value, Error> {
    serde_json::to_string(value).map(Value::from).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot serialize to JSON: {e}"),
        )
    })
}

/// Strings built to break shell quoting, for the property tests (unit,
/// real sshd) and the fuzz corpus: quotes, `$()`, backticks, newlines,
/// `;|&`, globs, `~`, `=`, `\\`, `!`, non-ASCII and empty strings, mixed
/// by a seeded generator so a failure is reproducible. Never a NUL (no
/// command line can carry one; [`quote`]'s formatter refuses it).
#[doc(hidden)]
pub fn hostile_strings(seed: u64, count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "'",
        "\"",
        "`",
        "$(",
        ")",
        "$",
        "${HOME}",
        "\\",
        ";",
        "|",
        "&",
        "&&",
        "||",
        ">",
        "<",
        "*",
        "?",
        "[a-z]",
        "{a,b}",
        "~",
        "=",
        "#",
        "!",
        "%",
        "\n",
        "\r",
        "\t",
        " ",
        "  ",
        "-",
        "--",
        "'\\''",
        "\u{e9}",
        "\u{1F600}",
        "\u{202E}",
        "\u{7f}",
        "\u{1b}[31m",
        "a",
        "Z",
        "0",
        "pwned",
        "$(touch x)",
        "`id`",
        "'; rm -rf / #",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        // xorshift64*: small, seeded, good enough to mix pieces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut out = vec![String::new()];
    while out.len() < count {
        let len = usize::try_from(next() % 12).unwrap_or(0);
        let mut s = String::new();
        for _ in 0..len {
            let pick = usize::try_from(next() % (PIECES.len() as u64 + 4)).unwrap_or(0);
            match PIECES.get(pick) {
                Some(piece) => s.push_str(piece),
                // Now and then any scalar value (NUL excluded).
                None => s.push(
                    char::from_u32(u32::try_from(next() % 0x11_0000).unwrap_or(1))
                        .filter(|c| *c != '\0')
                        .unwrap_or('x'),
                ),
            }
        }
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare_and_the_rest_is_single_quoted() {
        assert_eq!(quote("nginx"), "nginx");
        assert_eq!(quote("/var/lib/x-1.2"), "/var/lib/x-1.2");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("A=b"), "'A=b'");
        assert_eq!(quote("~root"), "'~root'");
        assert_eq!(quote("1;touch x;#"), "'1;touch x;#'");
    }

    fn command(source: &str, xs: &[&str]) -> String {
        let env = crate::expr::environment(crate::expr::Clock::System);
        env.template_from_named_str(COMMAND_TEMPLATE, source)
            .and_then(|t| t.render(minijinja::context! { xs => xs }))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn join_keeps_one_word_per_item_and_quotes_other_separators() {
        assert_eq!(
            command("{{ xs | join(' ') }}", &["api", "my worker"]),
            "api 'my worker'"
        );
        assert_eq!(command("{{ xs | join(' ') }}", &["", ""]), "'' ''");
        assert_eq!(command("{{ xs | join(',') }}", &["a", "b c"]), "a,'b c'");
        assert_eq!(command("{{ xs | join(';') }}", &["a", "b"]), "a';'b");
        assert_eq!(command("{{ xs | join }}", &["a", "b"]), "ab");
        // Messages: the plain join.
        let env = crate::expr::environment(crate::expr::Clock::System);
        let message = env.render_str(
            "{{ xs | join(', ') }}",
            minijinja::context! { xs => ["a b", "c"] },
        );
        assert_eq!(message.ok().as_deref(), Some("a b, c"));
    }

    #[test]
    fn lists_maps_and_nul_are_refused_and_safe_is_gone() {
        let env = crate::expr::environment(crate::expr::Clock::System);
        let render = |source: &str| {
            env.template_from_named_str(COMMAND_TEMPLATE, source)
                .and_then(|t| t.render(minijinja::context! { xs => ["a"], m => minijinja::context! { k => 1 }, z => "a\0b" }))
                .map_err(|e| e.to_string())
        };
        assert!(render("{{ xs }}").is_err_and(|e| e.contains("join(' ')")));
        assert!(render("{{ m }}").is_err());
        assert!(render("{{ z }}").is_err_and(|e| e.contains("NUL")));
        assert!(render("{{ xs[0] | safe }}").is_err());
        assert_eq!(
            render("{{ m | tojson }}").ok().as_deref(),
            Some(r#"'{"k":1}'"#)
        );
    }
}
