//! How a finished run is judged as a whole: the one-word [`Verdict`] the
//! summary prints and the exit code a script reads, decided by one table so
//! the two can never disagree (`PASSED` exactly when the code is
//! [`exit_code::OK`]; warnings never fail a run).

use super::report::{RunReport, Totals};

/// Exit codes a script can rely on. Usage and configuration errors share
/// clap's own code (2) so every "you called it wrong" case reads the same.
pub mod exit_code {
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

    use super::{RunReport, Totals, Verdict};

    /// The exit code a finished run maps to.
    pub fn for_totals(t: &Totals) -> i32 {
        Verdict::decide(t).1
    }

    /// The exit code of a finished run: [`INTERRUPTED`] when the operator
    /// stopped it, else from its totals.
    pub fn for_report(report: &RunReport) -> i32 {
        if report.interrupted {
            INTERRUPTED
        } else {
            for_totals(&report.totals)
        }
    }
}

/// The one-word outcome of a run, in order of what the operator must fix
/// first: a failure beats a refused host, which beats an unreachable one.
/// It is `Passed` exactly when the exit code is [`exit_code::OK`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every host was reached and every step and fleet check passed,
    /// warned or was skipped.
    Passed,
    /// A step (on a host or the controller) failed, timed out or errored,
    /// or a fleet check failed.
    Failed,
    /// Nothing failed, but hosts were refused as forbidden targets: the
    /// run is incomplete and the selection probably wrong.
    Refused,
    /// Nothing failed, but some hosts could not be checked at all.
    Unreachable,
    /// Nothing failed, but the run stopped before some hosts ran.
    Incomplete,
}

impl Verdict {
    pub fn from_totals(t: &Totals) -> Self {
        Verdict::decide(t).0
    }

    /// The one decision table for the verdict and the exit code. The code
    /// is [`exit_code::INCOMPLETE`] whenever the run's picture has holes
    /// (a host not checked, a step that errored or timed out), even when
    /// the verdict is `Failed`: a script must know the picture is partial.
    fn decide(t: &Totals) -> (Verdict, i32) {
        use exit_code::{CHECKS_FAILED, INCOMPLETE, OK};
        let holes = t.hosts_unreachable
            + t.hosts_refused
            + t.hosts_skipped
            + t.steps_error
            + t.steps_timeout
            > 0;
        let failed = t.hosts_failed + t.steps_failed + t.steps_timeout + t.steps_error;
        match () {
            _ if failed + t.fleet_checks_failed > 0 => (
                Verdict::Failed,
                if holes { INCOMPLETE } else { CHECKS_FAILED },
            ),
            _ if t.hosts_refused > 0 => (Verdict::Refused, INCOMPLETE),
            _ if t.hosts_unreachable > 0 => (Verdict::Unreachable, INCOMPLETE),
            _ if t.hosts_skipped > 0 => (Verdict::Incomplete, INCOMPLETE),
            _ => (Verdict::Passed, OK),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Refused => "REFUSED",
            Verdict::Unreachable => "UNREACHABLE",
            Verdict::Incomplete => "INCOMPLETE",
        }
    }
}
