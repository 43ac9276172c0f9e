//! Reports for hosts and steps that never ran a command: not started,
//! refused, unreachable, skipped, or failed before their command.

use std::time::Duration;

use super::cancel::StopReason;
use crate::model::report::{Captured, HostReport, HostStatus, StepReport, StepStatus};
use crate::model::{Host, Step};

pub(super) fn empty_host(host: &Host) -> HostReport {
    HostReport::empty(
        host.name.clone(),
        host.address.clone(),
        host.port,
        host.user.clone(),
        host.groups.clone(),
        HostStatus::Ok,
    )
}

/// A host the run never started: it stopped first.
pub(super) fn not_run_host(host: &Host, reason: Option<&StopReason>) -> HostReport {
    let mut report = empty_host(host);
    report.status = HostStatus::Skipped;
    report.not_run = Some(reason.map(ToString::to_string).unwrap_or_default());
    report
}

pub(super) fn refused_host(host: &Host, reason: &str) -> HostReport {
    let mut report = empty_host(host);
    report.status = HostStatus::Refused;
    report.refused = Some(reason.to_string());
    report
}

pub(super) fn skipped(step: &Step, reason: String) -> StepReport {
    bare(step, StepStatus::Skipped, reason)
}

pub(super) fn errored(step: &Step, reason: String) -> StepReport {
    bare(step, StepStatus::Error, reason)
}

fn bare(step: &Step, status: StepStatus, reason: String) -> StepReport {
    StepReport {
        name: step.name.clone(),
        command: String::new(),
        status,
        exit_status: None,
        exit_signal: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        duration: Duration::ZERO,
        failures: Vec::new(),
        reason: Some(reason),
        attempts: 0,
        waiver: None,
        session: None,
    }
}
