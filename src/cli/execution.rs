//! Running a plan from the command line: the runtime, signals, the live
//! progress display, secret masking and the report files. Shared by `run`,
//! `exec` and `ping`.

use super::args::Parallel;
use super::error::CliError;
use crate::model::exit_code;
use crate::model::report::RunReport;
use crate::plan::Plan;
use crate::report::{DisplayConfig, Progress, Redactor, ReportTarget};
use crate::run::{DEFAULT_OUTPUT_CAP, ExecuteOptions, execute};

/// Forks when neither `--forks` nor the workflow sets them.
pub const DEFAULT_FORKS: usize = 32;

pub(super) fn forks(parallel: &Parallel, workflow: Option<usize>) -> usize {
    parallel
        .forks
        .map(|f| f as usize)
        .or(workflow)
        .unwrap_or(DEFAULT_FORKS)
}

/// Runs the plan on a fresh runtime with the live progress display.
pub(super) fn execute_with_progress(
    plan: &Plan,
    forks: usize,
    display: &DisplayConfig,
    parallel: &Parallel,
) -> Result<RunReport, CliError> {
    execute_redacted(
        plan,
        forks,
        display,
        parallel,
        &Redactor::default(),
        false,
        None,
    )
}

/// [`execute_with_progress`], masking secret values in what the display
/// shows and in the report, before anything else sees them.
pub(super) fn execute_redacted(
    plan: &Plan,
    forks: usize,
    display: &DisplayConfig,
    parallel: &Parallel,
    redactor: &Redactor,
    fail_fast: bool,
    defer_fleet_checks: Option<String>,
) -> Result<RunReport, CliError> {
    let ssh_config = crate::ssh::SshConfigFile::load(parallel.ssh_config.as_deref())?;
    for warning in ssh_config.iter().flat_map(|c| &c.warnings) {
        eprintln!("warning: {warning}");
    }
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let ssh_config = ssh_config.map(std::sync::Arc::new);
    warn_insecure(plan, ssh_config.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    // Ctrl-C and SIGTERM fire the executor's interrupt (a second one exits).
    let (handle, interrupt) = crate::run::cancel::stop_pair();
    let ssh = crate::ssh::SshContext::with_prompt(super::terminal::secret_prompt())
        .with_ssh_config(ssh_config);
    let mut options = ExecuteOptions::new(forks, DEFAULT_OUTPUT_CAP, std::sync::Arc::new(ssh));
    options.fail_fast = fail_fast;
    options.interrupt = interrupt;
    options.defer_fleet_checks = defer_fleet_checks;
    let mut progress = Progress::new(display);
    let mut report = runtime.block_on(async {
        tokio::spawn(super::signals::forward(handle));
        execute(plan, &options, |e| {
            if redactor.is_empty() {
                progress.on_event(e)
            } else {
                progress.on_event(&redactor.event(e))
            }
        })
        .await
    });
    progress.finish();
    redactor.report(&mut report);
    Ok(report)
}

/// `host-key-checking "off"` (or `StrictHostKeyChecking no`) makes fleet
/// trust whoever answers; say so loudly, once, naming every such host.
fn warn_insecure(plan: &Plan, ssh_config: Option<&crate::ssh::SshConfigFile>) {
    let insecure: Vec<&str> = plan
        .hosts
        .iter()
        .filter(|h| {
            crate::ssh::target_for(&h.host, ssh_config).is_ok_and(|t| {
                t.host_key_checking == crate::model::HostKeyChecking::Off
                    || t.jump
                        .iter()
                        .any(|j| j.host_key_checking == crate::model::HostKeyChecking::Off)
            })
        })
        .map(|h| h.host.name.as_str())
        .collect();
    if !insecure.is_empty() {
        eprintln!(
            "WARNING: host key checking is OFF for {} host(s): {}. Their identity is not \
             verified: anyone on the network path can impersonate them and read what fleet \
             sends. Use \"strict\" or \"accept-new\".",
            insecure.len(),
            insecure.join(", ")
        );
    }
}

/// Writes every requested report; a failure is reported but never hides
/// the results already printed, nor stops the other reports.
pub(super) fn write_reports(
    report: &RunReport,
    targets: &[ReportTarget],
    trends: &[crate::history::Trend],
) -> i32 {
    let mut code = exit_code::OK;
    for t in targets {
        if let Err(e) = super::history::write_report_with_trends(report, t.format, &t.path, trends)
        {
            eprintln!("error: {e}");
            code = exit_code::INCOMPLETE;
        }
    }
    code
}
