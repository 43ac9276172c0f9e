//! `fleet completions SHELL` and `fleet man`: text generated from the
//! argument definitions, so they never drift from the real flags.

use std::io::Write;

use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs};
use super::error::CliError;
use crate::model::exit_code;

pub(super) fn completions(args: &CompletionsArgs) -> i32 {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "fleet",
        &mut std::io::stdout(),
    );
    exit_code::OK
}

pub(super) fn man() -> Result<i32, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(CliError::Output)?;
    let _ = std::io::stdout().write_all(&out);
    Ok(exit_code::OK)
}
