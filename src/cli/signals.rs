//! Ctrl-C and SIGTERM → the executor's interrupt. The first signal stops
//! new work and lets the run end with a partial report; a second exits at
//! once, for when even that takes too long.

use tokio::signal::unix::{SignalKind, signal};

use crate::model::exit_code;
use crate::run::cancel::StopHandle;

/// Runs until the process ends; spawn it next to the run.
pub(super) async fn forward(handle: StopHandle) {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default action (exit) still applies.
        return;
    };
    let why = tokio::select! {
        _ = int.recv() => "interrupted by Ctrl-C (SIGINT)",
        _ = term.recv() => "interrupted by SIGTERM",
    };
    eprintln!(
        "\n{why}: starting nothing new, ending running steps and writing the partial report (again to exit at once)"
    );
    handle.stop(why);
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("second interrupt: exiting at once, no report");
    std::process::exit(exit_code::INTERRUPTED);
}
