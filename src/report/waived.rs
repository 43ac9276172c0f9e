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

#[cfg(test)]
mod tests {
    use crate::load::parse_waivers;
    use crate::model::SourceFile;
    use crate::model::fixture;

    fn waivers(text: &str) -> Vec<crate::model::Waiver> {
        parse_waivers(SourceFile::new("w.kdl", text)).expect("valid waivers")
    }

    /// WAIVED, the reason and the days left reach every format.
    #[test]
    fn a_waived_step_shows_in_every_format() {
        use crate::judge::waivers::apply;
        use crate::report::{DisplayConfig, Format, render, render_summary};
        let mut run = fixture::mixed_run();
        apply(
            &mut run,
            &waivers(
                "waiver host=\"db-8\" step=\"data\" reason=\"dumps move to cold storage on 05-09\" expires=\"2024-05-09\"\n",
            ),
        );
        let note = "dumps move to cold storage on 05-09";
        let summary = render_summary(&run, &DisplayConfig::plain());
        assert!(
            summary.contains("~ db-8 · data  WAIVED — /data above 80%"),
            "{summary}"
        );
        assert!(
            summary.contains(&format!(
                "waived: {note} (until 2024-05-09, 8 days left; w.kdl:1:1)"
            )),
            "{summary}"
        );
        assert!(summary.contains("1 waived"), "{summary}");
        for (format, expected) in [
            (Format::Json, "\"status\": \"WAIVED\"".to_string()),
            (
                Format::Junit,
                format!(
                    "<skipped message=\"waived: {note} (until 2024-05-09, 8 days left; w.kdl:1:1)\""
                ),
            ),
            (
                Format::Md,
                format!(
                    "| db-8 | data | /data above 80%, move old dumps to cold storage | {note} | 2024-05-09 | 8 |"
                ),
            ),
            (
                Format::Html,
                format!("waived: {note} (until 2024-05-09, 8 days left; w.kdl:1:1)"),
            ),
            (
                Format::Prometheus,
                "host=\"db-8\",groups=\"\",step=\"data\",status=\"waived\"} 1".to_string(),
            ),
            (
                Format::Tap,
                format!(
                    "not ok 15 - db-8: data # TODO waived: {note} (until 2024-05-09, 8 days left)"
                ),
            ),
        ] {
            let text = render(&run, format).expect("renders");
            assert!(
                text.contains(&expected),
                "{format:?}: no {expected}\n{text}"
            );
        }
    }
}
