//! What stops a command before or after the run itself, and the one
//! place such an error is printed.

use super::resolve::NotFound;
use crate::load::LoadErrors;
use crate::plan::PlanError;
use crate::plan::limit::LimitError;

/// Everything that stops a command before or after the run itself.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Load(#[from] LoadErrors),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    #[error(transparent)]
    SshConfig(#[from] crate::ssh::SshConfigError),
    #[error(transparent)]
    Confirm(#[from] super::confirm::ConfirmError),
    #[error(transparent)]
    Shard(#[from] crate::plan::shard::ShardError),
    #[error(transparent)]
    Merge(#[from] crate::merge::MergeError),
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Limit(e) => CliError::Limit(e),
            PlanError::Templates(e) => CliError::Load(e),
        }
    }
}

pub(super) fn print_error(e: CliError) {
    match e {
        CliError::Load(errors) | CliError::Merge(crate::merge::MergeError::Load(errors)) => {
            eprintln!("{:?}", miette::Report::new(errors));
        }
        other => eprintln!("error: {other}"),
    }
}
