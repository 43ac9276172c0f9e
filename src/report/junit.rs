//! JUnit XML, for CI systems (Jenkins, GitLab, GitHub test reporters) that
//! already know how to show failed tests.
//!
//! Layout: one `<testsuite>` per host, one `<testcase>` per step, because
//! the host is what an operator acts on and CI tools group failures by
//! suite. The controller's `local` steps form a suite named `controller`
//! and the fleet checks one named `fleet-checks`. An unreachable host is a
//! single errored case named `connect`; a refused host a skipped one.
//! FAILED steps are `<failure>`, TIMEOUT and ERROR are `<error>`, SKIPPED is
//! `<skipped>`, WARNED passes with the warnings in `<system-out>`, WAIVED
//! is `<skipped>` with the waiver's reason and expiry as its message.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::Severity;
use crate::model::report::{
    HostReport, HostStatus, RuleFailure, RunReport, StepReport, StepStatus,
};

/// The run as a JUnit XML document.
pub fn to_junit(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new(format!("{} on {}", report.workflow, report.inventory));
    junit.set_time(report.duration);
    let classname = |suite: &str| format!("{}.{suite}", report.workflow);
    if !report.local.is_empty() {
        let mut suite = TestSuite::new(crate::model::report::CONTROLLER);
        for step in &report.local {
            suite.add_test_case(step_case(
                step,
                &classname(crate::model::report::CONTROLLER),
            ));
        }
        junit.add_test_suite(suite);
    }
    for host in &report.hosts {
        junit.add_test_suite(host_suite(host, &classname(&host.name)));
    }
    if !report.fleet_checks.is_empty() {
        let mut suite = TestSuite::new("fleet-checks");
        for check in &report.fleet_checks {
            let status = status_of(check.status, &check.failures, check.reason.as_deref());
            let mut case = TestCase::new(check.name.as_str(), status);
            case.set_classname(classname("fleet-checks"));
            if let Some(out) = warnings(&check.failures) {
                case.set_system_out(out);
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

fn host_suite(host: &HostReport, classname: &str) -> TestSuite {
    let mut suite = TestSuite::new(host.name.as_str());
    suite.set_time(host.duration);
    match host.status {
        HostStatus::Unreachable => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("unreachable");
            if let Some(u) = &host.unreachable {
                status.set_message(u.kind.as_str());
                status.set_description(u.message.as_str());
            }
            let mut case = TestCase::new("connect", status);
            case.set_classname(classname);
            suite.add_test_case(case);
        }
        HostStatus::Refused => {
            let mut status = TestCaseStatus::skipped();
            if let Some(why) = &host.refused {
                status.set_message(why.as_str());
            }
            let mut case = TestCase::new("connect", status);
            case.set_classname(classname);
            suite.add_test_case(case);
        }
        _ => {
            for step in &host.steps {
                suite.add_test_case(step_case(step, classname));
            }
        }
    }
    suite
}

fn step_case(step: &StepReport, classname: &str) -> TestCase {
    let note = step.waiver.as_ref().map(|w| w.note());
    let reason = note.as_deref().or(step.reason.as_deref());
    let status = status_of(step.status, &step.failures, reason);
    let mut case = TestCase::new(step.name.as_str(), status);
    case.set_classname(classname);
    case.set_time(step.duration);
    let mut out = format!("$ {}\n{}", step.command, step.stdout.text);
    if step.stdout.truncated {
        out.push_str(&format!(
            "\n[output truncated: {} bytes written]\n",
            step.stdout.bytes
        ));
    }
    if let Some(w) = warnings(&step.failures) {
        out.push_str(&w);
    }
    case.set_system_out(out);
    if !step.stderr.text.is_empty() {
        case.set_system_err(step.stderr.text.as_str());
    }
    case
}

fn status_of(status: StepStatus, failures: &[RuleFailure], reason: Option<&str>) -> TestCaseStatus {
    let kind = match status {
        StepStatus::Passed | StepStatus::Warned => return TestCaseStatus::success(),
        // A waived failure is acknowledged: skipped, the waiver as message.
        StepStatus::Skipped | StepStatus::Waived => {
            let mut s = TestCaseStatus::skipped();
            if let Some(r) = reason {
                s.set_message(r);
            }
            return s;
        }
        StepStatus::Failed => NonSuccessKind::Failure,
        StepStatus::Timeout | StepStatus::Error => NonSuccessKind::Error,
    };
    let mut s = TestCaseStatus::non_success(kind);
    s.set_type(status.as_str());
    let fails: Vec<&RuleFailure> = failures
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .collect();
    let message = fails
        .first()
        .map(|f| f.message.clone().unwrap_or_else(|| f.expected.clone()))
        .or_else(|| reason.map(str::to_string))
        .unwrap_or_else(|| status.as_str().to_string());
    s.set_message(message);
    let mut description = String::new();
    if let Some(r) = reason {
        description.push_str(&format!("reason: {r}\n"));
    }
    for f in fails {
        description.push_str(&rule_text(f));
    }
    if !description.is_empty() {
        s.set_description(description);
    }
    s
}

fn rule_text(f: &RuleFailure) -> String {
    let mut text = format!("expected: {}\n", f.expected);
    if let Some(m) = &f.message {
        text.push_str(&format!("message:  {m}\n"));
    }
    text.push_str(&format!("seen:     {}\nrule:     {}\n", f.seen, f.location));
    text
}

fn warnings(failures: &[RuleFailure]) -> Option<String> {
    let text: String = failures
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .map(|f| format!("warning:\n{}", rule_text(f)))
        .collect();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn junit_snapshot() -> Result<(), quick_junit::SerializeError> {
        insta::assert_snapshot!("report_junit", to_junit(&fixture::mixed_run())?);
        Ok(())
    }
}
