//! Exit codes a script can rely on. Usage and configuration errors share
//! clap's own code (2) so every "you called it wrong" case reads the same.

/// Every host reached, every step passed.
pub const OK: i32 = 0;
/// All hosts reached and all steps ran, but at least one rule failed.
pub const CHECKS_FAILED: i32 = 1;
/// Bad command line, workflow or inventory: nothing was run.
pub const CONFIG_ERROR: i32 = 2;
/// A host was unreachable, or a step errored or timed out: the run's
/// picture is incomplete. Wins over `CHECKS_FAILED` when both apply.
pub const INCOMPLETE: i32 = 3;
/// The operator interrupted the run (Ctrl-C or SIGTERM); the partial
/// report was written. 128 + SIGINT, as shells report an interrupted
/// command. Wins over every other code.
pub const INTERRUPTED: i32 = 130;

use crate::results::Totals;

/// The exit code a finished run maps to.
pub fn for_totals(t: &Totals) -> i32 {
    if t.hosts_unreachable > 0
        || t.hosts_refused > 0
        || t.hosts_skipped > 0
        || t.steps_error > 0
        || t.steps_timeout > 0
    {
        INCOMPLETE
    } else if t.steps_failed > 0 || t.hosts_failed > 0 || t.fleet_checks_failed > 0 {
        CHECKS_FAILED
    } else {
        OK
    }
}

/// The exit code of a finished run: [`INTERRUPTED`] when the operator
/// stopped it, else from its totals.
pub fn for_report(report: &crate::results::RunReport) -> i32 {
    if report.interrupted {
        INTERRUPTED
    } else {
        for_totals(&report.totals)
    }
}
