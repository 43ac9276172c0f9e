//! What a run found: per step, per host and for the whole run. Built by the
//! executor, read by every reporter, serialized as the JSON report. The
//! JSON shape is versioned by [`SCHEMA_VERSION`]; see `docs/report-json.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning or disappears; additions keep it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Passed,
    Skipped,
    /// Failed, but a waiver in force acknowledges the failure: reported,
    /// never fails the run (see `waivers` in docs/waivers.md).
    Waived,
    /// Only rules of severity `warn` broke.
    Warned,
    Failed,
    Timeout,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HostStatus {
    Ok,
    /// Every step passed or only warned.
    Warned,
    Failed,
    Unreachable,
    /// Selected, but in a group the workflow must never touch.
    Refused,
    /// Selected but never started: the run stopped first (Ctrl-C,
    /// `--fail-fast`, a rollout past `max-failures`); `not_run` says why.
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "PASSED",
            StepStatus::Skipped => "SKIPPED",
            StepStatus::Waived => "WAIVED",
            StepStatus::Warned => "WARNED",
            StepStatus::Failed => "FAILED",
            StepStatus::Timeout => "TIMEOUT",
            StepStatus::Error => "ERROR",
        }
    }
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Ok => "OK",
            HostStatus::Warned => "WARNED",
            HostStatus::Failed => "FAILED",
            HostStatus::Unreachable => "UNREACHABLE",
            HostStatus::Refused => "REFUSED",
            HostStatus::Skipped => "SKIPPED",
        }
    }
}

pub use super::unreachable::{Unreachable, UnreachableKind};

/// The host name `local` steps are reported under: they ran on the
/// controller, and every reporter and the history name them so.
pub const CONTROLLER: &str = "controller";

/// Output of one stream, capped per step so a runaway command cannot eat
/// the controller's memory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Captured {
    /// Captured text; invalid UTF-8 is replaced with U+FFFD (rules and
    /// the terminal see this form).
    pub text: String,
    /// The captured bytes exactly, base64 (RFC 4648, padded), present only
    /// when they are not valid UTF-8, so binary output survives the JSON
    /// report losslessly while `text` stays readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// Bytes the command wrote, including any beyond the cap.
    pub bytes: u64,
    /// True when `bytes` exceeded the cap and `text` holds only the start.
    pub truncated: bool,
}

/// One rule that did not hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleFailure {
    pub severity: crate::model::Severity,
    /// What the rule expects, e.g. `stdout contains "Leader"`.
    pub expected: String,
    /// The rule's message, rendered for this host, if it has one.
    pub message: Option<String>,
    /// What was seen instead: an excerpt of the output or the exit status.
    pub seen: String,
    /// `file:line:col` of the rule.
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    /// The command as rendered for this host.
    pub command: String,
    pub status: StepStatus,
    pub exit_status: Option<u32>,
    pub exit_signal: Option<String>,
    pub stdout: Captured,
    pub stderr: Captured,
    #[serde(
        serialize_with = "ser_ms",
        deserialize_with = "de_ms",
        rename = "duration_ms"
    )]
    pub duration: Duration,
    /// Every failed rule (status FAILED).
    pub failures: Vec<RuleFailure>,
    /// Why the step errored, timed out or was skipped.
    pub reason: Option<String>,
    /// Times the command ran (more than 1 with `retry`; 0 when not run).
    pub attempts: u32,
    /// The waiver that acknowledged this step's failure (status WAIVED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
    /// How a remote step reached its host: through the host's shared
    /// session or on a channel of its own. Absent for steps that did not
    /// run on a host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<crate::model::SessionMode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostReport {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Every group the host is in, through any parent (outer first).
    #[serde(default)]
    pub groups: Vec<String>,
    pub status: HostStatus,
    pub unreachable: Option<Unreachable>,
    /// Why a REFUSED host was not touched.
    pub refused: Option<String>,
    /// Why a SKIPPED host was never started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    #[serde(
        serialize_with = "ser_opt_ms",
        deserialize_with = "de_opt_ms",
        rename = "connect_ms"
    )]
    pub connect_time: Option<Duration>,
    #[serde(
        serialize_with = "ser_ms",
        deserialize_with = "de_ms",
        rename = "duration_ms"
    )]
    pub duration: Duration,
    pub steps: Vec<StepReport>,
    /// Values exported by this host's steps, for fleet checks and history.
    pub exports: BTreeMap<String, serde_json::Value>,
}

impl HostReport {
    /// A host as the run knows it before anything is recorded: no
    /// steps, exports or timings. Every report of a host starts here.
    pub fn empty(
        name: String,
        address: String,
        port: u16,
        user: String,
        groups: Vec<String>,
        status: HostStatus,
    ) -> HostReport {
        HostReport {
            name,
            address,
            port,
            user,
            groups,
            status,
            unreachable: None,
            refused: None,
            not_run: None,
            connect_time: None,
            duration: Duration::ZERO,
            steps: Vec::new(),
            exports: BTreeMap::new(),
        }
    }

    /// A host takes its worst step: any step failed, timed out or errored
    /// fails the host; warnings alone make it WARNED.
    pub fn status_from_steps(steps: &[StepReport]) -> HostStatus {
        HostReport::status_from_worst(steps.iter().map(|s| s.status).max())
    }

    /// The host's status from its worst step status (`None`: no steps).
    pub fn status_from_worst(worst: Option<StepStatus>) -> HostStatus {
        match worst {
            None | Some(StepStatus::Passed | StepStatus::Skipped | StepStatus::Waived) => {
                HostStatus::Ok
            }
            Some(StepStatus::Warned) => HostStatus::Warned,
            Some(_) => HostStatus::Failed,
        }
    }
}

/// A step's status from its broken rules: the worst severity decides.
pub fn status_from_failures(failures: &[RuleFailure]) -> StepStatus {
    match failures.iter().map(|f| f.severity).max() {
        None => StepStatus::Passed,
        Some(crate::model::Severity::Warn) => StepStatus::Warned,
        Some(crate::model::Severity::Fail) => StepStatus::Failed,
    }
}

/// A waiver in force that turned a FAILED step into WAIVED: why the
/// failure is accepted and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    pub reason: String,
    /// Last day the waiver holds (`YYYY-MM-DD`), if it expires.
    pub expires: Option<String>,
    /// Days from the run's start to `expires` (0: expires today).
    pub days_left: Option<i64>,
    /// `file:line:col` of the waiver.
    pub location: String,
}

impl AppliedWaiver {
    /// `waived: REASON (until 2026-12-31, 30 days left; waivers.kdl:4:5)`,
    /// as every report shows it.
    pub fn note(&self) -> String {
        let when = match (&self.expires, self.days_left) {
            (Some(until), Some(days)) => format!("until {until}, {}; ", days_left(days)),
            _ => "no expiry; ".to_string(),
        };
        format!("waived: {} ({when}{})", self.reason, self.location)
    }
}

/// `1 day left`, `30 days left`.
pub fn days_left(days: i64) -> String {
    format!("{days} day{} left", if days == 1 { "" } else { "s" })
}

/// The result of one `fleet-check`, evaluated over every host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetCheckReport {
    pub name: String,
    /// PASSED, WARNED or FAILED from its rules; ERROR when an expression
    /// could not be evaluated.
    pub status: StepStatus,
    pub failures: Vec<RuleFailure>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    /// The fleet that produced the report (a stored run may be older).
    pub fleet_version: String,
    pub workflow: String,
    pub workflow_path: String,
    pub inventory: String,
    pub inventory_path: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    #[serde(
        serialize_with = "ser_ms",
        deserialize_with = "de_ms",
        rename = "duration_ms"
    )]
    pub duration: Duration,
    /// The operator interrupted the run (Ctrl-C, SIGTERM): hosts and
    /// steps not yet run are reported SKIPPED; the results are partial.
    #[serde(default)]
    pub interrupted: bool,
    /// Why the run stopped before every host ran (interrupted,
    /// `--fail-fast`, a rollout past `max-failures`), if it did.
    pub stopped: Option<String>,
    pub totals: Totals,
    /// Parts of the workflow's `hosts` or of `--limit` that matched no
    /// host; the run went on with the hosts the other parts selected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Steps run once on the controller before the hosts (`local` blocks).
    pub local: Vec<StepReport>,
    /// Values the `local` steps exported (every host and fleet check saw
    /// them as variables).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub local_exports: BTreeMap<String, serde_json::Value>,
    pub hosts: Vec<HostReport>,
    pub fleet_checks: Vec<FleetCheckReport>,
    /// Only in a shard's partial report (`fleet run --shard`): what
    /// `fleet report merge` needs to rebuild one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Box<crate::model::shard::ShardPart>>,
}

impl RunReport {
    /// Every step with the host it ran on: the controller's `local` steps
    /// first (as [`CONTROLLER`]), then each host's in order.
    pub fn steps_by_host(&self) -> impl Iterator<Item = (&str, &StepReport)> {
        self.local.iter().map(|s| (CONTROLLER, s)).chain(
            self.hosts
                .iter()
                .flat_map(|h| h.steps.iter().map(move |s| (h.name.as_str(), s))),
        )
    }

    /// The report as pretty-printed JSON, without a trailing newline: the
    /// one form both the JSON report and the history store write.
    pub fn to_json(&self) -> String {
        // Serializing plain structs with string keys into memory cannot fail;
        // an error here would be a bug in these types, not a runtime state.
        serde_json::to_string_pretty(self).expect("RunReport serializes to JSON")
    }
}

/// Counts only grow with new fields, so reports stored before a field
/// existed still load (missing counts are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    pub hosts: usize,
    pub hosts_ok: usize,
    pub hosts_warned: usize,
    pub hosts_failed: usize,
    pub hosts_unreachable: usize,
    pub hosts_refused: usize,
    /// Hosts never started because the run stopped early.
    pub hosts_skipped: usize,
    pub steps_passed: usize,
    pub steps_warned: usize,
    pub steps_failed: usize,
    pub steps_timeout: usize,
    pub steps_error: usize,
    pub steps_skipped: usize,
    /// Failed steps a waiver in force acknowledged.
    pub steps_waived: usize,
    pub fleet_checks_passed: usize,
    pub fleet_checks_warned: usize,
    /// Failed or errored fleet checks.
    pub fleet_checks_failed: usize,
    /// Fleet checks not evaluated: the run stopped early, or a shard left
    /// them to the merge. Counted apart, never as passed.
    pub fleet_checks_skipped: usize,
    /// Failed fleet checks a waiver in force acknowledged.
    pub fleet_checks_waived: usize,
}

impl Totals {
    /// Counts hosts, their steps, the controller's `local` steps (as
    /// steps) and fleet checks.
    pub fn count(
        hosts: &[HostReport],
        local: &[StepReport],
        checks: &[FleetCheckReport],
    ) -> Totals {
        let mut t = Totals {
            hosts: hosts.len(),
            ..Totals::default()
        };
        for h in hosts {
            match h.status {
                HostStatus::Ok => t.hosts_ok += 1,
                HostStatus::Warned => t.hosts_warned += 1,
                HostStatus::Failed => t.hosts_failed += 1,
                HostStatus::Unreachable => t.hosts_unreachable += 1,
                HostStatus::Refused => t.hosts_refused += 1,
                HostStatus::Skipped => t.hosts_skipped += 1,
            }
        }
        for s in hosts.iter().flat_map(|h| &h.steps).chain(local) {
            match s.status {
                StepStatus::Passed => t.steps_passed += 1,
                StepStatus::Warned => t.steps_warned += 1,
                StepStatus::Failed => t.steps_failed += 1,
                StepStatus::Timeout => t.steps_timeout += 1,
                StepStatus::Error => t.steps_error += 1,
                StepStatus::Skipped => t.steps_skipped += 1,
                StepStatus::Waived => t.steps_waived += 1,
            }
        }
        for c in checks {
            match c.status {
                StepStatus::Passed => t.fleet_checks_passed += 1,
                StepStatus::Skipped => t.fleet_checks_skipped += 1,
                StepStatus::Waived => t.fleet_checks_waived += 1,
                StepStatus::Warned => t.fleet_checks_warned += 1,
                StepStatus::Failed | StepStatus::Timeout | StepStatus::Error => {
                    t.fleet_checks_failed += 1
                }
            }
        }
        t
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ser_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_ms(d, s),
        None => s.serialize_none(),
    }
}

fn de_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

fn de_opt_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<u64>::deserialize(d).map(|ms| ms.map(Duration::from_millis))
}
