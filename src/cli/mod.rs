//! The command line: argument definitions (`args`), the entry and the
//! `check`/`run` commands (`run`), the ad-hoc `hosts`/`exec`/`ping`
//! (`adhoc`), history commands (`history`), completions and man page
//! (`generate`), and the one place errors are printed (`error`). Terminal
//! facts (is stdin a terminal, colour, prompts) are decided here and passed
//! down.

mod adhoc;
mod args;
mod confirm;
mod error;
mod execution;
mod generate;
mod history;
mod nagios;
mod resolve;
mod run;
mod search_path;
mod shard;
mod signals;
pub(crate) mod terminal;
mod trend;

pub use args::Cli;
pub use run::main;
