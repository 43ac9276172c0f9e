//! Running a plan: the controller's `local` steps first, then one task per
//! host (bounded by `forks`) owning its SSH session and running its steps
//! in order, then the fleet checks over every host's results. Nothing here
//! prints or prompts: progress leaves as [`Event`]s through the caller's
//! callback, and the SSH context (with whatever the terminal may ask) is
//! built by the caller.
//!
//! - [`coordinator`]: the one loop that owns the run's state, spawns host
//!   workers batch by batch and hands every event on in order;
//! - [`host`]: one host's worker: connect, run its steps, close;
//! - [`step`]: one step on one [`CommandRunner`]: `when`/`requires`, the
//!   command with `retry`, then [`crate::judge`] for each attempt;
//! - [`local`]: commands on the controller; [`cancel`]: interrupts and
//!   [`StopReason`]s; [`event`]: what the run reports as it goes;
//!   [`rollout`]: `serial` batches and `max-failures`; [`workers`]: the
//!   host tasks and CPU-bound work beside them.

pub mod cancel;
mod coordinator;
pub mod event;
mod host;
pub mod local;
mod reports;
pub mod rlimit;
pub mod rollout;
pub mod step;
pub mod workers;

use std::sync::Arc;

pub use cancel::{Stop, StopHandle, StopReason, stop_pair};
pub use coordinator::execute;
pub use event::{CONTROLLER, Event};
pub use step::CommandRunner;

use crate::ssh::SshContext;

/// Output kept per stream per step. Larger output is counted and dropped,
/// so a runaway command cannot exhaust the controller's memory.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Hosts in flight at once.
    pub forks: usize,
    pub output_cap: usize,
    /// Keys, agent, known hosts, ssh_config and secrets for every host,
    /// built by the caller: whether it may prompt is the caller's call.
    pub ssh: Arc<SshContext>,
    /// The first failed host stops new hosts and steps from starting.
    pub fail_fast: bool,
    /// Fired by the operator (Ctrl-C, SIGTERM): nothing new starts, running
    /// steps are ended, and the partial report is marked interrupted.
    pub interrupt: Stop,
    /// Set on a shard (`--shard`): fleet checks are not judged over part of
    /// the fleet but reported SKIPPED with this reason, and judged by
    /// `fleet report merge` over every host.
    pub defer_fleet_checks: Option<String>,
}

impl ExecuteOptions {
    /// Options for a run nobody interrupts and that never fails fast.
    pub fn new(forks: usize, output_cap: usize, ssh: Arc<SshContext>) -> Self {
        ExecuteOptions {
            forks,
            output_cap,
            ssh,
            fail_fast: false,
            interrupt: Stop::never(),
            defer_fleet_checks: None,
        }
    }
}
