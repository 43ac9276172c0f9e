//! Events the executor emits while a run progresses. Reporters subscribe to
//! them; the executor never prints.

use crate::model::report::{HostReport, RunReport, StepReport};

#[derive(Debug, Clone)]
pub enum Event {
    RunStarted {
        workflow: String,
        hosts: usize,
        steps: usize,
    },
    /// A worker took the host (bounded by forks) and starts connecting.
    HostStarted {
        host: String,
    },
    /// Connected, host key verified, authenticated.
    HostConnected {
        host: String,
    },
    StepStarted {
        host: String,
        step: String,
    },
    /// A step ended (any status), rules already evaluated.
    StepFinished {
        host: String,
        step: StepReport,
    },
    /// A host is done: all steps ran, or it was unreachable.
    HostFinished {
        host: HostReport,
    },
    RunFinished {
        report: RunReport,
    },
}

pub use crate::model::report::CONTROLLER;
