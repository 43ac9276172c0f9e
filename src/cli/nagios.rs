//! `fleet run --nagios` at the edges of the command line: every way fleet
//! can end (a usage error before the arguments parse, a load error, a
//! finished run) becomes a plugin status line and a plugin exit status.

use crate::model::report::RunReport;
use crate::report::{nagios_code, to_nagios};

/// Whether `--nagios` is on the command line, known before clap parses it
/// so that a usage error can already answer as a plugin.
pub(super) fn requested() -> bool {
    std::env::args_os().skip(1).any(|a| a == "--nagios")
}

/// Usage, workflow or inventory error: UNKNOWN, with the error's first
/// line as the status text (the whole error is on stderr).
pub(super) fn unknown(error: &str) -> i32 {
    let first = error
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("configuration error");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    println!(
        "FLEET UNKNOWN - {}",
        crate::report::sanitize::line(first).replace('|', "/")
    );
    crate::report::nagios::UNKNOWN
}

/// Prints the status line for a finished run and returns the plugin exit
/// status; a report that could not be written (`written` non-zero) makes
/// an otherwise OK or WARNING run UNKNOWN.
pub(super) fn finish(report: &RunReport, written: i32) -> i32 {
    use crate::report::nagios::{CRITICAL, UNKNOWN};
    let mut code = nagios_code(report);
    if written != crate::model::exit_code::OK && code != CRITICAL {
        code = UNKNOWN;
    }
    print!("{}", to_nagios(report, code));
    code
}
