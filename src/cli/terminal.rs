//! Terminal facts, decided once, here: whether to colour, whether to draw
//! a live bar, whether a secret may be asked for. Everything below the
//! command line receives them as values, so renderers and the SSH layer
//! never look at a terminal themselves (and can be tested without one).

use std::env;
use std::io::IsTerminal;
use std::sync::Arc;

use crate::report::DisplayConfig;
use crate::ssh::Prompt;

/// Colour follows stdout because that is where the summary goes, and
/// honours the `NO_COLOR` and `TERM=dumb` conventions. A CI runner may fake
/// a terminal on stderr, but a redrawing bar turns its log into noise, so
/// `CI` forces plain lines.
pub(crate) fn display_config() -> DisplayConfig {
    let no_color = env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = env::var_os("TERM").is_some_and(|v| v == "dumb");
    DisplayConfig {
        color: std::io::stdout().is_terminal() && !no_color && !dumb,
        interactive: std::io::stderr().is_terminal() && env::var_os("CI").is_none(),
    }
}

/// Who answers the SSH layer's secret prompts: the terminal when stdin is
/// one and this is not CI; else nobody, and a missing secret stays missing.
pub(crate) fn secret_prompt() -> Option<Arc<dyn Prompt>> {
    let ci = env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    (std::io::stdin().is_terminal() && !ci).then(|| Arc::new(Tty) as Arc<dyn Prompt>)
}

/// Reads a line on `/dev/tty` without echo.
#[derive(Debug)]
struct Tty;

impl Prompt for Tty {
    fn ask(&self, prompt: &str) -> Option<String> {
        rpassword::prompt_password(prompt).ok()
    }
}
