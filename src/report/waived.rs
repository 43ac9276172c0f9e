//! Waived steps as the human-facing reports show them: failures a waiver
//! accepts are not problems, but must never be out of sight (see
//! docs/waivers.md).

use crate::model::Severity;
use crate::model::report::{RunReport, StepReport, StepStatus};
use crate::report::sanitize;
use crate::report::style::Paint;

/// What failed, in one phrase: the first broken `fail` rule's message,
/// else what it expected; empty when no rule is listed.
pub(crate) fn first_failure(step: &StepReport) -> String {
    step.failures
        .iter()
        .find(|f| f.severity == Severity::Fail)
        .map(|f| f.message.clone().unwrap_or_else(|| f.expected.clone()))
        .unwrap_or_default()
}

/// Every waived step of every host, in report order.
pub(crate) fn waived_steps(report: &RunReport) -> impl Iterator<Item = (&str, &StepReport)> {
    report.hosts.iter().flat_map(|h| {
        h.steps
            .iter()
            .filter(|s| s.status == StepStatus::Waived)
            .map(move |s| (h.name.as_str(), s))
    })
}

/// The summary's lines for one waived step: `~ HOST · STEP  WAIVED — what
/// failed`, then (to indent by 2) the waiver's note. `clean` makes a
/// message one safe terminal line.
pub(crate) fn summary_lines(
    host: &str,
    step: &StepReport,
    p: Paint,
    clean: impl Fn(&str) -> String,
) -> [String; 2] {
    let note = step.waiver.as_ref().map(|w| w.note()).unwrap_or_default();
    [
        format!(
            "{} {} · {}  {} — {}",
            p.yellow("~"),
            p.bold(&sanitize::line(host)),
            p.bold(&sanitize::line(&step.name)),
            p.yellow("WAIVED"),
            clean(&first_failure(step))
        ),
        p.dim(&clean(&note)).into_owned(),
    ]
}
